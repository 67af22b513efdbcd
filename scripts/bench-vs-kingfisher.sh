#!/usr/bin/env bash
# Benchmark `keyguard scan` against Kingfisher on one directory.
#
#   scripts/bench-vs-kingfisher.sh [DIR] [-n RUNS] [--size-mb MB] [--kingfisher-only] [--require-keyguard]
#
# DIR defaults to /work/bench-tree, which is generated (scripts/gen-bench-tree.py, seed 1) when it
# does not exist. Any other directory works too (e.g. a checked-out real repository).
#
# What it does, printing every command it runs:
#   1. installs /usr/bin/time (apt) and Kingfisher (pip package kingfisher-bin, into a venv outside
#      the repository) when they are missing;
#   2. builds keyguard with `cargo build --release`; if that fails, or the binary has no `scan`
#      command yet, keyguard is skipped with a message (or the script fails, with --require-keyguard);
#   3. before every run, waits while rustc/cargo run or the CPUs are otherwise busy (skews the numbers);
#   4. runs each tool once to warm up (page cache, Kingfisher's compiled rule cache), keeping that
#      run's JSON report, then N timed runs of each, interleaved (alternating which goes first),
#      measuring wall time and peak RSS with `/usr/bin/time -f '%e %M %U %S'`; a run during which
#      other processes used the CPUs (machine busy time minus the tool's own) is run again;
#   5. prints a table: median seconds, MiB/s (of DIR's total file bytes), peak RSS, finding counts,
#      the keyguard/kingfisher throughput ratio and, when DIR has a planted-key manifest beside it
#      (DIR.planted.json, written by gen-bench-tree.py), how many planted keys each tool found.
#
# Both tools use all cores (-j $(nproc)). Kingfisher runs with --no-validate --git-history none
# --format json (and --no-update-check, so it makes no network call); otherwise its defaults.
# Everything the script writes goes to $BENCH_WORK (default /work/bench-work), outside the repository.
#
# Environment: BENCH_WORK, KF_VENV (default /work/kf-venv), KF_EXTRA_ARGS, KG_EXTRA_ARGS,
# RUSTC_WAIT_MAX (seconds to wait for a compile or other busy work to end, default 1800),
# IDLE_BUSY_MAX (a run starts only when the CPUs were less than this % busy over the last second, default 15).

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_DIR=/work/bench-tree
DIR=""
RUNS=5
SIZE_MB=400
KF_ONLY=0
REQUIRE_KG=0
WORK="${BENCH_WORK:-/work/bench-work}"
KF_VENV="${KF_VENV:-/work/kf-venv}"
RUSTC_WAIT_MAX="${RUSTC_WAIT_MAX:-1800}"
THREADS="$(nproc)"

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        -n|--runs) RUNS="$2"; shift 2 ;;
        --size-mb) SIZE_MB="$2"; shift 2 ;;
        --kingfisher-only) KF_ONLY=1; shift ;;
        --require-keyguard) REQUIRE_KG=1; shift ;;
        -h|--help) usage 0 ;;
        -*) echo "unknown option: $1" >&2; usage 2 ;;
        *) [[ -z "$DIR" ]] || { echo "only one DIR, please" >&2; exit 2; }; DIR="$1"; shift ;;
    esac
done
DIR="${DIR:-$DEFAULT_DIR}"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "-n wants a positive number" >&2; exit 2; }

case "$(realpath -m "$WORK")/" in
    "$REPO"/*) echo "BENCH_WORK ($WORK) is inside the repository; pick a directory outside it" >&2; exit 2 ;;
esac
mkdir -p "$WORK"

log() { printf '\n== %s\n' "$*"; }
# Prints a command (shell-quoted, so it can be pasted) and runs it.
run() { printf '+'; printf ' %q' "$@"; printf '\n'; "$@"; }

# ---------------------------------------------------------------------------- tools
log "tools"
if [[ ! -x /usr/bin/time ]]; then
    run apt-get update -qq
    run apt-get install -y -qq time
fi
if [[ ! -x "$KF_VENV/bin/kingfisher" ]]; then
    run python3 -m venv "$KF_VENV"
    run "$KF_VENV/bin/pip" install -q kingfisher-bin
fi
# The pip package's `kingfisher` is a Python shim around a static binary: time the binary itself.
KF_BIN="$(ls "$KF_VENV"/lib/python3*/site-packages/kingfisher/bin/kingfisher 2>/dev/null | head -n1 || true)"
[[ -x "$KF_BIN" ]] || KF_BIN="$KF_VENV/bin/kingfisher"
echo "kingfisher: $KF_BIN ($("$KF_BIN" --version))"

KG_BIN="$REPO/target/release/keyguard"
KG_REV=""
HAVE_KG=0
if [[ "$KF_ONLY" == 1 ]]; then
    echo "keyguard: skipped (--kingfisher-only)"
else
    if (cd "$REPO" && run cargo build --release); then
        if "$KG_BIN" scan --help >/dev/null 2>&1; then
            HAVE_KG=1
            # time a private copy: a rebuild in the repository during the runs must not swap binaries
            KG_REV="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
            git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock build.rs 2>/dev/null || KG_REV="$KG_REV+dirty"
            run cp "$KG_BIN" "$WORK/keyguard"
            KG_BIN="$WORK/keyguard"
            echo "keyguard: $KG_BIN ($("$KG_BIN" --version 2>/dev/null || echo 'version unknown'), built from $KG_REV)"
        else
            echo "keyguard: SKIPPED — '$KG_BIN scan --help' fails: the scan command is not there yet"
        fi
    else
        echo "keyguard: SKIPPED — 'cargo build --release' failed"
    fi
    if [[ "$HAVE_KG" == 0 && "$REQUIRE_KG" == 1 ]]; then
        echo "--require-keyguard: giving up" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------------------- input
log "input"
if [[ ! -d "$DIR" ]]; then
    if [[ "$DIR" == "$DEFAULT_DIR" ]]; then
        run python3 "$REPO/scripts/gen-bench-tree.py" "$DIR" --size-mb "$SIZE_MB" --seed 1
    else
        echo "no such directory: $DIR" >&2
        exit 2
    fi
fi
DIR="$(cd "$DIR" && pwd)"
read -r NFILES NBYTES < <(find "$DIR" -type f -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d %d\n", n, s}')
MANIFEST="${DIR%/}.planted.json"
[[ -f "$MANIFEST" ]] || MANIFEST=""
echo "$DIR: $NFILES files, $(awk -v b="$NBYTES" 'BEGIN {printf "%.1f", b/1048576}') MiB${MANIFEST:+; planted-key manifest $MANIFEST}"

# ---------------------------------------------------------------------------- commands
# Kingfisher unpacks archives it finds (e.g. .crate/.tar.gz test fixtures) into $TMPDIR. With $TMPDIR
# on this project's VMs' ext4 root (mounted with `discard`), its system time grew on every run
# (2 s -> 12 s over ten runs on rust-lang/cargo; stable at ~0.5 s on tmpfs), apparently the file
# system's doing rather than Kingfisher's: so it gets a tmpfs TMPDIR when there is one
# (KF_TMPDIR=/tmp, or any directory, to choose).
KF_TMPDIR="${KF_TMPDIR:-}"
if [[ -z "$KF_TMPDIR" && -d /dev/shm && -w /dev/shm ]]; then KF_TMPDIR=/dev/shm/kingfisher-bench-tmp; fi
KF_TMPDIR="${KF_TMPDIR:-/tmp}"
mkdir -p "$KF_TMPDIR"
KF_CMD=(env TMPDIR="$KF_TMPDIR" "$KF_BIN" scan "$DIR" --no-validate --git-history none --format json -j "$THREADS" --no-update-check -q)
# shellcheck disable=SC2206
[[ -n "${KF_EXTRA_ARGS:-}" ]] && KF_CMD+=($KF_EXTRA_ARGS)
KG_CMD=()
if [[ "$HAVE_KG" == 1 ]]; then
    KG_CMD=("$KG_BIN" scan "$DIR" --format json)
    if "$KG_BIN" scan --help 2>/dev/null | grep -q -- '--threads'; then
        KG_CMD+=(-j "$THREADS")
    fi
    # shellcheck disable=SC2206
    [[ -n "${KG_EXTRA_ARGS:-}" ]] && KG_CMD+=($KG_EXTRA_ARGS)
fi

# Percentage of CPU time not idle over the last second, machine-wide.
cpu_busy() {
    local a b
    read -r -a a < <(head -n1 /proc/stat)
    sleep 1
    read -r -a b < <(head -n1 /proc/stat)
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

# Waits while a compile (rustc/cargo) or anything else keeps the CPUs busy: other work on a
# shared machine skews the numbers. Gives up waiting after $RUSTC_WAIT_MAX seconds, with a warning.
wait_idle() {
    local waited=0 busy
    while :; do
        busy="$(cpu_busy)"
        if pgrep -x rustc >/dev/null || pgrep -x cargo >/dev/null; then
            busy="compiling"
        elif (( busy < ${IDLE_BUSY_MAX:-15} )); then
            BUSY_BEFORE="$busy%"
            return 0
        fi
        if (( waited == 0 )); then echo "   (waiting: machine busy [$busy]; other work skews the numbers)"; fi
        if (( waited >= RUSTC_WAIT_MAX )); then
            echo "   WARNING: machine still busy [$busy] after ${RUSTC_WAIT_MAX}s; measuring anyway" >&2
            BUSY_BEFORE="$busy"
            return 0
        fi
        sleep 9; waited=$((waited + 10))
    done
}

# Busy CPU ticks (USER_HZ) machine-wide since boot.
busy_ticks() {
    local a i t=0
    read -r -a a < <(head -n1 /proc/stat)
    for i in 1 2 3 6 7 8; do t=$((t + a[i])); done
    echo "$t"
}

# timed TOOL OUTFILE -- CMD...: runs CMD -o OUTFILE under /usr/bin/time and reports wall time and
# peak RSS. Exit codes that mean "ran fine": keyguard 0/1 (1 = findings), kingfisher 0/200/205.
# A timed run (OUTFILE /dev/null) is kept in $WORK/times.txt only if nothing else used the CPUs
# meanwhile: the machine's busy CPU time during the run, less the tool's own user+sys time, must
# stay under max(0.2 s, 5% of wall x cores); otherwise it is reported as contended and run again
# (up to 3 times; then kept, marked).
timed() {
    local tool="$1" out="$2"; shift 3
    local ok tf="$WORK/time.$$" rc attempt hz ncpu
    hz="$(getconf CLK_TCK)"; ncpu="$(nproc)"
    case "$tool" in keyguard) ok=" 0 1 " ;; kingfisher) ok=" 0 200 205 " ;; esac
    for attempt in 1 2 3 4; do
        wait_idle
        printf '+ /usr/bin/time -f %q -o %q' '%e %M %U %S' "$tf"; printf ' %q' "$@" -o "$out"; printf '   [cpu busy before: %s]\n' "$BUSY_BEFORE"
        local b0 b1; b0="$(busy_ticks)"; rc=0
        /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" -o "$out" 2>"$WORK/$tool.stderr" || rc=$?
        b1="$(busy_ticks)"
        if [[ "$ok" != *" $rc "* ]]; then
            echo "$tool exited $rc; its stderr:" >&2
            tail -n 20 "$WORK/$tool.stderr" >&2
            exit 1
        fi
        local secs kb usr sys other limit verdict
        read -r secs kb usr sys < <(grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$tf" | tail -n1)
        rm -f "$tf"
        read -r other limit verdict < <(awk -v b="$((b1 - b0))" -v hz="$hz" -v u="$usr" -v s="$sys" -v w="$secs" -v n="$ncpu" \
            'BEGIN { o = b / hz - u - s; l = 0.05 * w * n; if (l < 0.2) l = 0.2; printf "%.2f %.2f %s\n", o, l, (o > l ? "contended" : "ok") }')
        echo "   $tool: ${secs}s (cpu ${usr}u+${sys}s), peak RSS $((kb / 1024)) MiB, exit $rc; other work on the CPUs meanwhile ${other}s -> $verdict"
        if [[ "$out" != /dev/null ]]; then return 0; fi
        if [[ "$verdict" == ok || "$attempt" == 4 ]]; then
            [[ "$verdict" == ok ]] || { echo "   (kept although contended)"; CONTENDED=$((CONTENDED + 1)); }
            echo "$tool $secs $kb" >>"$WORK/times.txt"
            return 0
        fi
        echo "   (run again: another process used the CPUs during it)"
    done
}

# ---------------------------------------------------------------------------- runs
TAG="$(basename "$DIR")"
BUSY_BEFORE="?"
CONTENDED=0
: >"$WORK/times.txt"
log "warm-up (reports kept for the finding counts)"
timed kingfisher "$WORK/$TAG.kingfisher.json" -- "${KF_CMD[@]}"
if [[ "$HAVE_KG" == 1 ]]; then timed keyguard "$WORK/$TAG.keyguard.json" -- "${KG_CMD[@]}"; fi

log "$RUNS timed runs each, interleaved"
for ((i = 1; i <= RUNS; i++)); do
    echo "-- run $i"
    if [[ "$HAVE_KG" == 1 && $((i % 2)) == 1 ]]; then
        timed keyguard /dev/null -- "${KG_CMD[@]}"
        timed kingfisher /dev/null -- "${KF_CMD[@]}"
    elif [[ "$HAVE_KG" == 1 ]]; then
        timed kingfisher /dev/null -- "${KF_CMD[@]}"
        timed keyguard /dev/null -- "${KG_CMD[@]}"
    else
        timed kingfisher /dev/null -- "${KF_CMD[@]}"
    fi
done

# ---------------------------------------------------------------------------- report
log "results"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
HAVE_KG="$HAVE_KG" KG_REV="$KG_REV" CONTENDED="$CONTENDED" DIR="$DIR" NFILES="$NFILES" NBYTES="$NBYTES" MANIFEST="$MANIFEST" WORK="$WORK" \
TAG="$TAG" RUNS="$RUNS" THREADS="$THREADS" CPU="$CPU" python3 - <<'PY'
import json, os, statistics

env = os.environ
work, tag, root = env["WORK"], env["TAG"], env["DIR"].rstrip("/") + "/"
nbytes = int(env["NBYTES"])
MiB = 1024 * 1024
tools = ["keyguard", "kingfisher"] if env["HAVE_KG"] == "1" else ["kingfisher"]

times = {t: [] for t in tools}
for line in open(os.path.join(work, "times.txt")):
    t, s, kb = line.split()
    times[t].append((float(s), int(kb)))


def rel(p):
    return p[len(root):] if p.startswith(root) else p.lstrip("./")


def load(tool):
    """(findings as [(rule, path, line, col)], bytes the tool says it scanned or None)"""
    try:
        d = json.load(open(os.path.join(work, f"{tag}.{tool}.json")))
    except Exception as e:  # noqa: BLE001
        print(f"  ({tool}: report unreadable: {e})")
        return None, None
    out = []
    if tool == "kingfisher":
        for f in d.get("findings", []):
            x = f["finding"]
            out.append((f["rule"]["id"], rel(x["path"]), x.get("line"), x.get("column_start")))
        scanned = d.get("metadata", {}).get("summary", {}).get("bytes_scanned")
    else:
        for f in d.get("findings", []):
            out.append((f.get("rule_id"), rel(f.get("path", "")), f.get("line"), f.get("column")))
        scanned = d.get("summary", {}).get("bytes")
    return out, scanned


planted = []
if env.get("MANIFEST"):
    planted = json.load(open(env["MANIFEST"]))["planted"]


def match(findings):
    """Planted keys found: a finding on the plant's line whose column falls inside the key."""
    by_line = {}
    for p in planted:  # a plant covers line..end_line (PEM blocks, AWS key id + secret pairs)
        for ln in range(p["line"], p.get("end_line", p["line"]) + 1):
            by_line.setdefault((p["path"], ln), []).append(p)
    hit, extra = set(), 0
    for rule, path, line, col in findings:
        cands = by_line.get((path, line), [])
        if not cands:
            extra += 1
            continue
        if len(cands) == 1 or col is None:
            best = cands[0]
        else:  # several keys on one line (minified bundles): nearest start column
            best = min(cands, key=lambda p: (p["line"] != line, abs(p["column"] - col)))
        hit.add(best["id"])
    return hit, extra


rows, reports = {}, {}
for t in tools:
    secs = [s for s, _ in times[t]]
    kbs = [k for _, k in times[t]]
    med = statistics.median(secs)
    findings, scanned = load(t)
    reports[t] = findings
    rows[t] = dict(med=med, lo=min(secs), hi=max(secs), mibs=nbytes / MiB / med, rss=max(kbs) / 1024,
                   n=None if findings is None else len(findings), scanned=scanned)

print(f"input    {env['DIR']}: {env['NFILES']} files, {nbytes / MiB:.1f} MiB")
if env.get("KG_REV"):
    print(f"keyguard built from commit {env['KG_REV']}")
print(f"machine  {os.cpu_count()} cores ({env['CPU']}); both tools -j {env['THREADS']}; "
      f"{env['RUNS']} timed runs each after one warm-up; warm page cache")
print()
hdr = f"{'tool':<11} {'median s':>9} {'min-max s':>13} {'MiB/s':>8} {'peak RSS MiB':>13} {'findings':>9} {'MiB scanned*':>13}"
if planted:
    hdr += f" {'planted found':>14}"
print(hdr)
print("-" * len(hdr))
for t in tools:
    r = rows[t]
    line = (f"{t:<11} {r['med']:>9.2f} {r['lo']:>6.2f}-{r['hi']:<6.2f} {r['mibs']:>8.1f} {r['rss']:>13.0f} "
            f"{'?' if r['n'] is None else r['n']:>9} "
            f"{'?' if r['scanned'] is None else format(r['scanned'] / MiB, '.1f'):>13}")
    if planted and reports[t] is not None:
        hit, extra = match(reports[t])
        line += f" {len(hit):>6}/{len(planted):<7}"
    print(line)
print()
if "keyguard" in rows:
    ratio = rows["keyguard"]["mibs"] / rows["kingfisher"]["mibs"]
    print(f"throughput ratio keyguard/kingfisher: {ratio:.2f}x")
print("MiB/s = the input's total file bytes / median wall time. *MiB scanned: as the tool reports it.")
if env.get("CONTENDED", "0") != "0":
    print(f"WARNING: {env['CONTENDED']} timed run(s) kept although other work used the CPUs during them")
print("all runs (s): " + "; ".join(f"{t}: " + " ".join(f"{s:.2f}" for s, _ in times[t]) for t in tools))

if planted:
    print()
    for t in tools:
        if reports[t] is None:
            continue
        hit, extra = match(reports[t])
        missed = [p for p in planted if p["id"] not in hit]
        kinds = {}
        for p in missed:
            kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
        print(f"{t}: {len(hit)}/{len(planted)} planted keys found; {extra} findings elsewhere"
              + (f"; missed by kind: {dict(sorted(kinds.items()))}" if kinds else ""))
        for p in missed[:15]:
            print(f"   missed {p['kind']:<24} {p['path']}:{p['line']}:{p['column']}  {p['preview']}")
        if len(missed) > 15:
            print(f"   ... {len(missed) - 15} more")
PY
echo
if [[ "$HAVE_KG" == 1 ]]; then echo "reports: $WORK/$TAG.kingfisher.json $WORK/$TAG.keyguard.json"
else echo "report: $WORK/$TAG.kingfisher.json"; fi
echo "commands:"
printf '  kingfisher:'; printf ' %q' "${KF_CMD[@]}" -o /dev/null; printf '\n'
if [[ "$HAVE_KG" == 1 ]]; then printf '  keyguard:  '; printf ' %q' "${KG_CMD[@]}" -o /dev/null; printf '\n'; fi
