#!/usr/bin/env bash
# Runs CMD... with a private Redis server (a unix socket in a temporary directory, no TCP port, no
# persistence) and KEYGUARD_TEST_REDIS_URL naming it, for the Redis store tests. The server is
# stopped and its directory removed when CMD ends. Without redis-server, CMD runs without the
# variable: the Redis tests then skip with a notice (or fail under KEYGUARD_REQUIRE_ALL=1).
set -euo pipefail
if ! command -v redis-server >/dev/null; then
  echo "with-redis.sh: redis-server is missing; the Redis store tests will skip" >&2
  exec "$@"
fi
dir=$(mktemp -d)
chmod 700 "$dir"
cleanup() {
  if [ -f "$dir/redis.pid" ]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --dir "$dir" \
  --save '' --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
for _ in $(seq 50); do
  [ -S "$dir/redis.sock" ] && break
  sleep 0.1
done
if [ ! -S "$dir/redis.sock" ]; then
  echo "with-redis.sh: redis-server did not start:" >&2
  cat "$dir/redis.log" >&2 || true
  exit 1
fi
export KEYGUARD_TEST_REDIS_URL="redis+unix://$dir/redis.sock"
# Not exec: the EXIT trap must still stop the server.
status=0
"$@" || status=$?
exit "$status"
