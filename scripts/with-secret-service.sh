#!/usr/bin/env bash
# Runs CMD... inside a private D-Bus session with an unlocked GNOME Keyring (Secret Service), so
# the keychain tests exercise a real store on a headless machine. Exports
# KEYGUARD_TEST_SECRET_SERVICE=1 for the tests to know the store is there.
# Exits 3 without running CMD when dbus-run-session or gnome-keyring-daemon is missing.
set -euo pipefail
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "with-secret-service.sh: dbus-run-session or gnome-keyring-daemon is missing" >&2
  exit 3
fi
# A throwaway keyring in a throwaway home: the developer's own keyring is never touched.
# rustup and cargo keep finding their homes when HOME moves.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
tmp_home=$(mktemp -d)
trap 'rm -rf "$tmp_home"' EXIT
export HOME="$tmp_home" XDG_RUNTIME_DIR="$tmp_home/run" XDG_DATA_HOME="$tmp_home/.local/share" \
  XDG_CONFIG_HOME="$tmp_home/.config" XDG_CACHE_HOME="$tmp_home/.cache"
mkdir -p "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
# Not exec: the EXIT trap must still run to remove the temporary home once the session ends.
status=0
dbus-run-session -- bash -c '
  # --unlock reads the password of this throwaway login keyring from stdin and creates it.
  printf "keyguard-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  export KEYGUARD_TEST_SECRET_SERVICE=1
  exec "$@"
' with-secret-service "$@" || status=$?
exit "$status"
