#!/usr/bin/env bash
# Speed and memory of `keyguard serve`, with LiteLLM's proxy as the anchor, in one run:
#   - proxy CPU time per request (utime+stime of the proxy's processes from /proc/PID/stat,
#     before and after a load run, divided by the requests), non-streaming and streaming;
#   - added latency p50/p99 at a fixed rate (the proxy path minus the same load sent straight to
#     the mock upstream, same rate and duration);
#   - keyguard's RSS after every 10,000 of 100,000 requests (it should stay flat; one keyguard
#     process serves every run, so with -n 3 it has seen 300,000 by the end);
#   - the same CPU and latency figures for LiteLLM's proxy (`litellm --config`, one worker, a
#     master key and no database: the least work LiteLLM does per request; it refuses to start
#     without a master key) on the same mock.
#
# Usage: scripts/bench-serve.sh [-n RUNS] [--rate RPS] [--duration SECS] [--chunks N]
#                               [--litellm-rate RPS] [--mem-requests N] [--no-litellm]
# With -n > 1 the table of each run is printed, then the medians. KEYGUARD_BENCH_BIN=PATH measures
# another keyguard binary (a build from before a change, say); KEYGUARD_BENCH_KEEP=1 keeps the
# temporary directory (oha's JSON, the logs).
#
# keyguard runs as a user would: its default SQLite store (in the temporary directory; the
# `memory` store cannot hold a token issued by `keyguard token issue`, another process), one log
# line per request (to a file), generous limits, one openai route with key = "env:...".
#
# Everything runs on this one machine: the load generator (oha), the mock upstream
# (examples/mock_upstream.rs) and the proxy share its cores, so figures on a small or busy machine
# are upper bounds. CPU per request is the figure least sensitive to that.
#
# Tools live outside the repository, in $KEYGUARD_BENCH_TOOLS (default: the repository's parent
# directory/bench-tools), installed on first use: oha by `cargo install --locked`, LiteLLM by pip
# into a venv ($LITELLM_VENV, default $KEYGUARD_BENCH_TOOLS/litellm-venv).
#
# Secrets: the provider key is a fake made here at run time (it matches no provider's format) and
# reaches keyguard and LiteLLM only through the environment. The client credentials (a keyguard
# token issued at run time into a throwaway store in a temporary directory deleted at exit, and
# LiteLLM's master key, random, made here) are fakes too; oha takes headers only as -H
# arguments, so they are on oha's command line for the run.
set -euo pipefail

RUNS=1
RATE=1000
DURATION=10
CHUNKS=20
LITELLM_RATE=25
MEM_REQUESTS=100000
LITELLM=1
while [ $# -gt 0 ]; do
    case "$1" in
    -n | --rate | --duration | --chunks | --litellm-rate | --mem-requests)
        if [ $# -lt 2 ]; then
            echo "bench-serve.sh: $1 needs a value (see --help)" >&2
            exit 2
        fi ;;&
    -n) RUNS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --chunks) CHUNKS="$2"; shift 2 ;;
    --litellm-rate) LITELLM_RATE="$2"; shift 2 ;;
    --mem-requests) MEM_REQUESTS="$2"; shift 2 ;;
    --no-litellm) LITELLM=0; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-serve.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for v in RUNS RATE DURATION CHUNKS LITELLM_RATE MEM_REQUESTS; do
    if ! [[ "${!v}" =~ ^[1-9][0-9]*$ ]]; then
        echo "bench-serve.sh: ${v,,} must be a positive whole number, not '${!v}'" >&2
        exit 2
    fi
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${KEYGUARD_BENCH_TOOLS:-$(dirname "$ROOT")/bench-tools}"
LITELLM_VENV="${LITELLM_VENV:-$TOOLS/litellm-venv}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TCK="$(getconf CLK_TCK)"

log() { echo "bench-serve: $*" >&2; }

# --- tools -------------------------------------------------------------------------------------
OHA="$(command -v oha || true)"
if [ -z "$OHA" ]; then
    OHA="$TOOLS/oha/bin/oha"
    if [ ! -x "$OHA" ]; then
        log "installing oha into $TOOLS/oha (first use; a few minutes)"
        cargo install oha --locked --quiet --root "$TOOLS/oha"
    fi
fi
if [ "$LITELLM" = 1 ] && [ ! -x "$LITELLM_VENV/bin/litellm" ]; then
    log "installing LiteLLM's proxy into $LITELLM_VENV (first use; a few minutes)"
    python3 -m venv "$LITELLM_VENV"
    "$LITELLM_VENV/bin/pip" install --quiet 'litellm[proxy]'
fi

log "building (release)"
(cd "$ROOT" && cargo build --release --quiet --bin keyguard --example mock_upstream)
# KEYGUARD_BENCH_BIN: another keyguard binary to measure (say, a build from before a change).
KEYGUARD="${KEYGUARD_BENCH_BIN:-$TARGET/release/keyguard}"
MOCK="$TARGET/release/examples/mock_upstream"

# --- processes ---------------------------------------------------------------------------------
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ -n "${KEYGUARD_BENCH_KEEP:-}" ]; then
        log "kept $WORK (oha's JSON, the logs)"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() { # URL, what: waits until the URL answers (any status), up to 5 minutes (LiteLLM
    # takes a minute to start on a busy 2-core machine)
    for _ in $(seq 3000); do
        if python3 - "$1" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
PY
        sleep 0.1
    done
    log "$2 did not start; its log:"
    tail -n 30 "$WORK/$2.log" >&2 || true
    exit 1
}

# The fake provider key: random, in the environment only.
BENCH_PROVIDER_KEY="pk-bench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export BENCH_PROVIDER_KEY
# LiteLLM wants its master key to start with sk- (random here; a fake like the rest).
LITELLM_MASTER_KEY="sk-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"

MOCK_PORT="$(free_port)"
"$MOCK" --listen "127.0.0.1:$MOCK_PORT" --chunks "$CHUNKS" 2>"$WORK/mock.log" &
PIDS+=($!)
MOCK_URL="http://127.0.0.1:$MOCK_PORT"
wait_for "$MOCK_URL/v1/models" mock

KG_PORT="$(free_port)"
cat >"$WORK/keyguard.toml" <<EOF
[serve]
listen = "127.0.0.1:$KG_PORT"
store = "sqlite:serve.db"

[[serve.routes]]
provider = "openai"
key = "env:BENCH_PROVIDER_KEY"
models = ["gpt-4o-mini"]
max_tokens = 256

[serve.limits]
requests_per_minute = 1000000000
requests_per_day = 1000000000000
tokens_per_day = 1000000000000000
EOF
TOKEN="$(cd "$WORK" && "$KEYGUARD" token issue --user bench)"
(cd "$WORK" && KEYGUARD_OPENAI_API_BASE="$MOCK_URL" exec "$KEYGUARD" serve) 2>"$WORK/keyguard.log" &
KG_PID=$!
PIDS+=($KG_PID)
KG_URL="http://127.0.0.1:$KG_PORT"
wait_for "$KG_URL/healthz" keyguard

if [ "$LITELLM" = 1 ]; then
    LL_PORT="$(free_port)"
    cat >"$WORK/litellm.yaml" <<EOF
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: $MOCK_URL/v1
      api_key: os.environ/BENCH_PROVIDER_KEY
litellm_settings:
  telemetry: false
EOF
    # The local model cost map: LiteLLM would otherwise fetch it from GitHub at start.
    LITELLM_MASTER_KEY="$LITELLM_MASTER_KEY" LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR \
        "$LITELLM_VENV/bin/litellm" --config "$WORK/litellm.yaml" --host 127.0.0.1 \
        --port "$LL_PORT" --num_workers 1 >"$WORK/litellm.log" 2>&1 &
    LL_PID=$!
    PIDS+=($LL_PID)
    LL_URL="http://127.0.0.1:$LL_PORT"
    wait_for "$LL_URL/health/liveliness" litellm
fi

# --- measuring ---------------------------------------------------------------------------------
descendants() { # PID: the PID and all its descendants
    echo "$1"
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do descendants "$c"; done
}

cpu_ticks() { # PID: utime+stime of the PID and its descendants, in clock ticks
    local t=0 p f
    for p in $(descendants "$1"); do
        f="$(cat /proc/"$p"/stat 2>/dev/null)" || continue
        # Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
        set -- ${f##*) }
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status; }

BODY_PLAIN='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":64}'
BODY_STREAM='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":64,"stream":true,"stream_options":{"include_usage":true}}'

# load URL BODY OUT [oha args...]: one oha run; its JSON in OUT. Fails unless every answer is 200.
load() {
    local url="$1" body="$2" out="$3"
    shift 3
    local auth=()
    case "$url" in
    "$KG_URL"*) auth=(-H "Authorization: Bearer $TOKEN") ;;
    "${LL_URL:-none}"*) auth=(-H "Authorization: Bearer $LITELLM_MASTER_KEY") ;;
    esac
    "$OHA" --no-tui --output-format json -m POST -T application/json -d "$body" "${auth[@]}" \
        "$@" "$url/v1/chat/completions" >"$out"
    python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
codes = r.get("statusCodeDistribution", {})
bad = {k: v for k, v in codes.items() if k != "200"}
# A -z run ends with the requests then in flight cut off: not a failure.
errs = {k: v for k, v in r.get("errorDistribution", {}).items() if k != "aborted due to deadline"}
if bad or errs or not codes:
    sys.exit(f"bench-serve: {sys.argv[1]}: not every answer was 200: {codes} {errs}")
PY
}

# fixed URL BODY RATE NAME [PID]: a fixed-rate run (with oha's latency correction: a late request
# counts from when it should have been sent). Appends NAME p50/p99 (ms), requests and, for a PID,
# its CPU ms per request to $RESULTS.
fixed() {
    local url="$1" body="$2" rate="$3" name="$4" pid="${5:-}"
    load "$url" "$body" "$WORK/warm.json" -q "$rate" -z 2s --latency-correction -c 50
    local before after
    [ -n "$pid" ] && before="$(cpu_ticks "$pid")"
    load "$url" "$body" "$WORK/$name.json" -q "$rate" -z "${DURATION}s" --latency-correction -c 50
    [ -n "$pid" ] && after="$(cpu_ticks "$pid")"
    python3 - "$WORK/$name.json" "$name" "${before:-0}" "${after:-0}" "$TCK" >>"$RESULTS" <<'PY'
import json, sys
path, name, before, after, tck = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = json.load(open(path))
n = sum(r["statusCodeDistribution"].values())
p = r["latencyPercentiles"]
cpu = (after - before) / tck * 1000 / n if after else float("nan")
print(name, p["p50"] * 1000, p["p99"] * 1000, n, cpu)
PY
}

memory() { # RSS of keyguard after every tenth of MEM_REQUESTS, alternating plain and streaming
    local step=$((MEM_REQUESTS / 10)) i body
    echo "rss_start $(rss_kib "$KG_PID")" >>"$RESULTS"
    for i in $(seq 10); do
        if [ $((i % 2)) = 1 ]; then body="$BODY_PLAIN"; else body="$BODY_STREAM"; fi
        load "$KG_URL" "$body" "$WORK/mem.json" -n "$step" -c 32
        echo "rss_$i $(rss_kib "$KG_PID")" >>"$RESULTS"
    done
}

report() { # TITLE RUN|all: the table of one run, or the medians of all
    python3 - "$ALL" "$1" "$2" "$RATE" "$LITELLM_RATE" "$MEM_REQUESTS" "$LITELLM" <<'PY'
import statistics, sys
path, title, which, rate, ll_rate, mem, ll = sys.argv[1:8]
rows = {}
for line in open(path):
    run, name, *vals = line.split()
    if which != "all" and run != which:
        continue
    rows.setdefault(name, []).append([float(v) for v in vals])
def med(name, i):
    return statistics.median(r[i] for r in rows[name])
def added(proxy, direct, i):
    return statistics.median(p[i] - d[i] for p, d in zip(rows[proxy], rows[direct]))
print(f"\n== keyguard serve{' vs LiteLLM' if ll == '1' else ''}: {title} ==")
print(f"{'':34}{'keyguard':>12}{'LiteLLM':>12}{'ratio':>9}")
for mode, label in (("plain", "non-streaming"), ("stream", "streaming")):
    kg = med(f"keyguard_{mode}", 3)
    line = f"{'CPU ms/request, ' + label:34}{kg:12.3f}"
    if ll == "1":
        l = med(f"litellm_{mode}", 3)
        line += f"{l:12.2f}{l / kg:8.0f}x"
    print(line)
for mode, label in (("plain", "non-streaming"), ("stream", "streaming")):
    for i, q in ((0, "p50"), (1, "p99")):
        line = f"{'added ' + q + ' ms, ' + label:34}{added(f'keyguard_{mode}', f'direct_{mode}', i):12.3f}"
        if ll == "1":
            line += f"{added(f'litellm_{mode}', f'directll_{mode}', i):12.2f}"
        print(line)
for mode, label in (("plain", "non-streaming"), ("stream", "streaming")):
    print(f"{'direct p50/p99 ms, ' + label:34}{med(f'direct_{mode}', 0):6.3f}/{med(f'direct_{mode}', 1):.3f}")
print(f"(keyguard and direct at {rate} req/s; LiteLLM and its direct baseline at {ll_rate} req/s, all for the same duration)")
rss = [f"rss_{i}" for i in range(1, 11)]
mib = [med(n, 0) / 1024 for n in rss]
print(f"keyguard RSS MiB after each {int(mem) // 10} of {mem} requests (odd: non-streaming, even: streaming; "
      f"{med('rss_start', 0) / 1024:.1f} before):")
print("  " + " ".join(f"{m:.1f}" for m in mib) + f"   (last minus first: {mib[-1] - mib[0]:+.1f})")
PY
}

ALL="$WORK/all"
: >"$ALL"
for run in $(seq "$RUNS"); do
    RESULTS="$WORK/run$run"
    : >"$RESULTS"
    log "run $run/$RUNS: ${DURATION}s per measurement at $RATE req/s (LiteLLM at $LITELLM_RATE req/s)"
    for mode in plain stream; do
        if [ $mode = plain ]; then body="$BODY_PLAIN"; else body="$BODY_STREAM"; fi
        fixed "$MOCK_URL" "$body" "$RATE" "direct_$mode"
        fixed "$KG_URL" "$body" "$RATE" "keyguard_$mode" "$KG_PID"
        if [ "$LITELLM" = 1 ]; then
            fixed "$MOCK_URL" "$body" "$LITELLM_RATE" "directll_$mode"
            fixed "$LL_URL" "$body" "$LITELLM_RATE" "litellm_$mode" "$LL_PID"
        fi
    done
    memory
    sed "s/^/$run /" "$RESULTS" >>"$ALL"
    report "run $run of $RUNS" "$run"
done
if [ "$RUNS" -gt 1 ]; then
    report "medians of $RUNS runs" all
fi
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); load generator, mock and proxies share them"
