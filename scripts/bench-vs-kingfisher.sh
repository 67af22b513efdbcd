#!/usr/bin/env bash
# Benchmark `keyguard scan` against Kingfisher on one directory, or on a git repository's history.
#
#   scripts/bench-vs-kingfisher.sh [DIR] [-n RUNS] [--size-mb MB] [--kingfisher-only] [--require-keyguard]
#   scripts/bench-vs-kingfisher.sh --git REPO [-n RUNS] [--kingfisher-only] [--require-keyguard]
#   scripts/bench-vs-kingfisher.sh --bundle [DIR] [-n RUNS] [--kingfisher-only] [--require-keyguard]
#   scripts/bench-vs-kingfisher.sh --make-npm-tree DIR
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
# --git REPO: whole-history mode. REPO is a local repository (a bare one, or a working tree).
# The tools run as `keyguard scan git REPO --format json -j N` and
# `kingfisher scan REPO --no-validate --git-history full --format json -j N --no-update-check -q`.
# `--git-history full` is Kingfisher's default (2.14: "full: Scan all history"; the other value,
# none, scans only the files); it is passed anyway so the printed command says what is measured and
# a release with another default still scans the history. No --branch/--since-commit: Kingfisher
# then walks all refs, as keyguard does. Steps 1-4 are as above; the table then gives, per tool:
# median wall s, median user+sys CPU s, median peak RSS MiB, the commits/blobs/bytes the tool
# says it scanned (keyguard: summary.commits/.blobs/.bytes; Kingfisher: metadata.summary.
# blobs_scanned/.bytes_scanned — it counts no commits), MB/s of its own byte count, MB/s of the
# repository's blob bytes (`git cat-file --batch-all-objects`, measured once on REPO), finding
# counts, and the keyguard/kingfisher throughput ratio (same byte count for both, so the ratio of
# median wall times) and peak-RSS ratio. MB = 10^6 bytes. Note: given a directory, Kingfisher also
# scans the files under it as plain files; for a bare repository that is its pack/index files
# (checked with --git-history none: 11 files, 113 MB for rust-lang/cargo, 0.2 s), which its
# bytes_scanned includes, and its blob count includes members of archives it unpacks.
#
# --bundle [DIR]: build-output mode, on a node_modules tree of real minified bundles and source maps.
# DIR defaults to /work/bench-npm, which is generated with --make-npm-tree (below) when it does not
# exist. keyguard runs as `keyguard scan bundle DIR --format json -j N` (source-map mapping is always
# on in `scan bundle`: findings in generated code get `original`, and maps' sourcesContent is
# scanned); Kingfisher as in directory mode plus `--no-binary --no-extract-archives`, so that both
# read the same files. Why those two (Kingfisher 2.14, `kingfisher scan --help`):
#   - `scan bundle` walks everything under DIR: node_modules, hidden files, no .gitignore (it has no
#     ignore option), symlinks not followed, and it skips binary files (counted in its summary).
#     Kingfisher's defaults also walk node_modules (it has no default path excludes: --exclude and
#     --skip-path-prefix are empty) and do not follow symlinks, but it scans binary files too: on
#     the tree below it read 201 more files (png, wasm, bcmap, ttf ...; 3.4 MB) without
#     --no-binary, and exactly keyguard's files and bytes with it (43771 files, 513956846 bytes).
#   - keyguard does not unpack archives; Kingfisher does by default (none in this tree, so it
#     changes nothing here, but it keeps other trees comparable).
#   - Kingfisher's --no-ignore is about inline `ignore` comments, not ignore files: left as is.
#     Its --max-file-size default (256 MB) and keyguard's (64 MiB) are both above the largest file
#     (19 MB); left as they are.
# The report says whether both read the same number of files and bytes (keyguard: summary.files/
# .bytes; Kingfisher: metadata.summary.blobs_scanned/.bytes_scanned) and warns when they differ.
# Finding counts are not like for like: keyguard's JSON lists every confidence level (the table's
# line below it splits them), Kingfisher reports medium and above by default. And Kingfisher 2.14
# reports nothing at all under a path containing node_modules, at any --confidence and with
# --no-dedup, although it reads and matches those files: on the same tree hard-linked to a path
# without node_modules it took the same time and reported 1 finding (a Google Maps key in
# @mui/material's docs) instead of 0. So its 0 here is that filter, not a clean tree.
#
# --make-npm-tree DIR: builds the bundle-mode input and exits. DIR (outside the repository, absent
# or empty) gets a package.json and `npm install --ignore-scripts --no-audit --no-fund
# --omit=optional --save-exact --before=2026-11-22T18:45:00Z` of the packages in NPM_PACKAGES below
# (front-end libraries that ship minified bundles and source maps; --omit=optional leaves out
# native binaries such as @napi-rs/canvas; --before pins the transitive dependencies too; firebase
# stays at 11: the registry this was built against lacks firebase 12's dependencies). Result
# (2026-11-22): 305 packages, 43972 files, 493.6 MiB (18091 .js, 1134 .mjs, 64 .cjs, 1848 .map,
# 152 .css; plus .d.ts and the rest). Needs node and npm, and the npm registry.
#
# Environment: BENCH_WORK, KF_VENV (default /work/kf-venv), KF_EXTRA_ARGS, KG_EXTRA_ARGS,
# CARGO_TARGET_DIR (honoured: keyguard is built there and taken from there),
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
GIT_MODE=0
BUNDLE_MODE=0
DEFAULT_NPM_DIR=/work/bench-npm
MAKE_NPM=""
# --make-npm-tree: the bundle-mode input. Exact versions; see the header.
NPM_PACKAGES=(monaco-editor@0.57.0 echarts@6.1.0 three@0.187.0 pdfjs-dist@5.6.205 typescript@5.9.3
    react@19.3.1 react-dom@19.3.1 @mui/material@9.5.0 @emotion/react@11.14.0 @emotion/styled@11.14.1
    bootstrap@5.3.9 jquery@4.0.0 d3@7.9.2 rxjs@7.8.2 lodash@4.18.1 firebase@11.10.0 chart.js@4.6.1
    leaflet@1.9.4 vue@3.5.45 @angular/core@21.2.26 moment@2.31.0 antd@6.6.8)
NPM_BEFORE=2026-11-22T18:45:00Z
WORK="${BENCH_WORK:-/work/bench-work}"
KF_VENV="${KF_VENV:-/work/kf-venv}"
RUSTC_WAIT_MAX="${RUSTC_WAIT_MAX:-1800}"
THREADS="$(nproc)"

usage() { sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        -n|--runs) RUNS="$2"; shift 2 ;;
        --size-mb) SIZE_MB="$2"; shift 2 ;;
        --kingfisher-only) KF_ONLY=1; shift ;;
        --require-keyguard) REQUIRE_KG=1; shift ;;
        --git) [[ $# -ge 2 && -z "$DIR" ]] || { echo "--git wants one REPO (and no DIR)" >&2; exit 2; }
               GIT_MODE=1; DIR="$2"; shift 2 ;;
        --bundle) BUNDLE_MODE=1; shift ;;
        --make-npm-tree) [[ $# -ge 2 ]] || { echo "--make-npm-tree wants a DIR" >&2; exit 2; }
               MAKE_NPM="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "unknown option: $1" >&2; usage 2 ;;
        *) [[ -z "$DIR" ]] || { echo "only one DIR, please" >&2; exit 2; }; DIR="$1"; shift ;;
    esac
done
[[ "$GIT_MODE" == 0 || -n "$DIR" ]] || { echo "--git wants a REPO" >&2; exit 2; }
[[ "$GIT_MODE" == 0 || "$BUNDLE_MODE" == 0 ]] || { echo "--git and --bundle do not go together" >&2; exit 2; }
[[ "$BUNDLE_MODE" == 1 ]] && DEFAULT_DIR="$DEFAULT_NPM_DIR"
DIR="${DIR:-$DEFAULT_DIR}"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "-n wants a positive number" >&2; exit 2; }

case "$(realpath -m "$WORK")/" in
    "$REPO"/*) echo "BENCH_WORK ($WORK) is inside the repository; pick a directory outside it" >&2; exit 2 ;;
esac
mkdir -p "$WORK"

log() { printf '\n== %s\n' "$*"; }
# Prints a command (shell-quoted, so it can be pasted) and runs it.
run() { printf '+'; printf ' %q' "$@"; printf '\n'; "$@"; }

# make_npm_tree DIR: the bundle-mode input (see --make-npm-tree in the header).
make_npm_tree() {
    local d="$1"
    case "$(realpath -m "$d")/" in
        "$REPO"/*) echo "$d is inside the repository; pick a directory outside it" >&2; exit 2 ;;
    esac
    if [[ -e "$d" && -n "$(ls -A "$d" 2>/dev/null)" ]]; then
        echo "$d exists and is not empty; remove it first (or pick another directory)" >&2
        exit 2
    fi
    command -v npm >/dev/null || { echo "--make-npm-tree needs npm (and node)" >&2; exit 2; }
    log "npm tree $d"
    mkdir -p "$d"
    printf '{"name": "bench-npm", "version": "1.0.0", "private": true}\n' >"$d/package.json"
    (cd "$d" && run npm install --ignore-scripts --no-audit --no-fund --omit=optional --save-exact \
        --before="$NPM_BEFORE" "${NPM_PACKAGES[@]}")
    find "$d" -type f -printf '%s %f\n' | awk '{n++; s+=$1}
        $2 ~ /\.js$/ {js++} $2 ~ /\.mjs$/ {mjs++} $2 ~ /\.cjs$/ {cjs++} $2 ~ /\.map$/ {map++} $2 ~ /\.css$/ {css++}
        END {printf "%d files, %.1f MiB (%d .js, %d .mjs, %d .cjs, %d .map, %d .css)\n", n, s/1048576, js, mjs, cjs, map, css}'
}
if [[ -n "$MAKE_NPM" ]]; then
    make_npm_tree "$MAKE_NPM"
    exit 0
fi

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

# cargo builds into $CARGO_TARGET_DIR when it is set (relative to the directory cargo runs in).
KG_TARGET="${CARGO_TARGET_DIR:-target}"
[[ "$KG_TARGET" == /* ]] || KG_TARGET="$REPO/$KG_TARGET"
KG_BIN="$KG_TARGET/release/keyguard"
KG_SCAN=(scan)
[[ "$GIT_MODE" == 1 ]] && KG_SCAN=(scan git)
[[ "$BUNDLE_MODE" == 1 ]] && KG_SCAN=(scan bundle)
KG_REV=""
HAVE_KG=0
if [[ "$KF_ONLY" == 1 ]]; then
    echo "keyguard: skipped (--kingfisher-only)"
else
    if (cd "$REPO" && run cargo build --release); then
        if "$KG_BIN" "${KG_SCAN[@]}" --help >/dev/null 2>&1; then
            HAVE_KG=1
            # time a private copy: a rebuild in the repository during the runs must not swap binaries
            KG_REV="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
            git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock build.rs 2>/dev/null || KG_REV="$KG_REV+dirty"
            run cp "$KG_BIN" "$WORK/keyguard"
            KG_BIN="$WORK/keyguard"
            echo "keyguard: $KG_BIN ($("$KG_BIN" --version 2>/dev/null || echo 'version unknown'), built from $KG_REV)"
        else
            echo "keyguard: SKIPPED — '$KG_BIN ${KG_SCAN[*]} --help' fails: the ${KG_SCAN[*]} command is not there yet"
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
if [[ "$GIT_MODE" == 1 ]]; then
    [[ -d "$DIR" ]] || { echo "no such repository: $DIR" >&2; exit 2; }
    DIR="$(cd "$DIR" && pwd)"
    # Our own benchmark input, so plain git is fine here: object counts and blob bytes, once.
    printf '+ git -C %q cat-file --batch-all-objects %q | awk ...\n' "$DIR" "--batch-check=%(objecttype) %(objectsize)"
    read -r NCOMMITS NBLOBS NBYTES < <(git -C "$DIR" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' |
        awk '$1 == "commit" {c++} $1 == "blob" {b++; s += $2} END {printf "%d %d %.0f\n", c, b, s}')
    (( NBLOBS > 0 )) || { echo "$DIR: not a git repository, or it has no blobs" >&2; exit 2; }
    DISK_BYTES="$(find "$DIR" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s}')"
    NFILES=0
    MANIFEST=""
    echo "$DIR: $NCOMMITS commits, $NBLOBS blobs, $(awk -v b="$NBYTES" 'BEGIN {printf "%.1f", b/1e6}') MB of blobs ($(awk -v b="$DISK_BYTES" 'BEGIN {printf "%.1f", b/1e6}') MB on disk)"
elif [[ ! -d "$DIR" ]]; then
    if [[ "$BUNDLE_MODE" == 1 && "$DIR" == "$DEFAULT_NPM_DIR" ]]; then
        make_npm_tree "$DIR"
    elif [[ "$DIR" == "$DEFAULT_DIR" ]]; then
        run python3 "$REPO/scripts/gen-bench-tree.py" "$DIR" --size-mb "$SIZE_MB" --seed 1
    else
        echo "no such directory: $DIR" >&2
        exit 2
    fi
fi
DIR="$(cd "$DIR" && pwd)"
if [[ "$GIT_MODE" == 0 ]]; then
    read -r NFILES NBYTES < <(find "$DIR" -type f -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d %d\n", n, s}')
    MANIFEST="${DIR%/}.planted.json"
    [[ -f "$MANIFEST" ]] || MANIFEST=""
    echo "$DIR: $NFILES files, $(awk -v b="$NBYTES" 'BEGIN {printf "%.1f", b/1048576}') MiB${MANIFEST:+; planted-key manifest $MANIFEST}"
fi
INPUT_KINDS=""
if [[ "$BUNDLE_MODE" == 1 ]]; then
    INPUT_KINDS="$(find "$DIR" -type f -printf '%f\n' | awk '$1 ~ /\.(js|mjs|cjs)$/ {js++} $1 ~ /\.map$/ {map++} $1 ~ /\.css$/ {css++}
        END {printf "%d .js/.mjs/.cjs, %d .map, %d .css", js, map, css}')"
    echo "   of which $INPUT_KINDS"
fi

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
KF_HISTORY=none
[[ "$GIT_MODE" == 1 ]] && KF_HISTORY=full
KF_CMD=(env TMPDIR="$KF_TMPDIR" "$KF_BIN" scan "$DIR" --no-validate --git-history "$KF_HISTORY" --format json -j "$THREADS" --no-update-check -q)
# --bundle: the files keyguard's `scan bundle` reads (no binaries, no archive members); see the header.
[[ "$BUNDLE_MODE" == 1 ]] && KF_CMD+=(--no-binary --no-extract-archives)
# shellcheck disable=SC2206
[[ -n "${KF_EXTRA_ARGS:-}" ]] && KF_CMD+=($KF_EXTRA_ARGS)
KG_CMD=()
if [[ "$HAVE_KG" == 1 ]]; then
    KG_CMD=("$KG_BIN" "${KG_SCAN[@]}" "$DIR" --format json)
    if "$KG_BIN" "${KG_SCAN[@]}" --help 2>/dev/null | grep -q -- '--threads'; then
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
# peak RSS. OUTFILE /dev/null marks a timed run, whose report goes to the scratch file
# $WORK/TOOL.timed.json (overwritten every run): keyguard refuses to write to anything but a regular
# file, and both tools should do the same output work. Exit codes that mean "ran fine": keyguard 0/1 (1 = findings), kingfisher 0/200/205.
# A timed run (OUTFILE /dev/null) is kept in $WORK/times.txt only if nothing else used the CPUs
# meanwhile: the machine's busy CPU time during the run, less the tool's own user+sys time, must
# stay under max(0.2 s, 5% of wall x cores); otherwise it is reported as contended and run again
# (up to 3 times; then kept, marked).
timed() {
    local tool="$1" out="$2"; shift 3
    local ok tf="$WORK/time.$$" rc attempt hz ncpu dest="$out"
    [[ "$out" == /dev/null ]] && dest="$WORK/$tool.timed.json"
    hz="$(getconf CLK_TCK)"; ncpu="$(nproc)"
    case "$tool" in keyguard) ok=" 0 1 " ;; kingfisher) ok=" 0 200 205 " ;; esac
    for attempt in 1 2 3 4; do
        wait_idle
        printf '+ /usr/bin/time -f %q -o %q' '%e %M %U %S' "$tf"; printf ' %q' "$@" -o "$dest"; printf '   [cpu busy before: %s]\n' "$BUSY_BEFORE"
        local b0 b1; b0="$(busy_ticks)"; rc=0
        /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" -o "$dest" 2>"$WORK/$tool.stderr" || rc=$?
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
            echo "$tool $secs $kb $usr $sys" >>"$WORK/times.txt"
            return 0
        fi
        echo "   (run again: another process used the CPUs during it)"
    done
}

# ---------------------------------------------------------------------------- runs
TAG="$(basename "$DIR")"
[[ "$GIT_MODE" == 1 ]] && TAG="$(basename "$DIR" .git).history"
[[ "$BUNDLE_MODE" == 1 ]] && TAG="$(basename "$DIR").bundle"
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
if [[ "$GIT_MODE" == 1 ]]; then
HAVE_KG="$HAVE_KG" KG_REV="$KG_REV" CONTENDED="$CONTENDED" DIR="$DIR" NCOMMITS="$NCOMMITS" NBLOBS="$NBLOBS" NBYTES="$NBYTES" \
DISK_BYTES="$DISK_BYTES" WORK="$WORK" TAG="$TAG" RUNS="$RUNS" THREADS="$THREADS" CPU="$CPU" python3 - <<'PY'
import json, os, statistics

env = os.environ
work, tag = env["WORK"], env["TAG"]
nbytes = int(env["NBYTES"])
MB, MiB = 1e6, 1024 * 1024
tools = ["keyguard", "kingfisher"] if env["HAVE_KG"] == "1" else ["kingfisher"]

runs = {t: [] for t in tools}  # (wall s, peak RSS KiB, user+sys s)
for line in open(os.path.join(work, "times.txt")):
    t, s, kb, usr, sys_ = line.split()
    runs[t].append((float(s), int(kb), float(usr) + float(sys_)))


def load(tool):
    """(findings, commits, blobs, bytes) as the tool's JSON report gives them; None where it does not."""
    try:
        d = json.load(open(os.path.join(work, f"{tag}.{tool}.json")))
    except Exception as e:  # noqa: BLE001
        print(f"  ({tool}: report unreadable: {e})")
        return None, None, None, None
    if tool == "kingfisher":
        sm = d.get("metadata", {}).get("summary", {})
        return len(d.get("findings", [])), None, sm.get("blobs_scanned"), sm.get("bytes_scanned")
    sm = d.get("summary", {})
    return len(d.get("findings", [])), sm.get("commits"), sm.get("blobs"), sm.get("bytes")


rows = {}
for t in tools:
    wall = [r[0] for r in runs[t]]
    n, commits, blobs, scanned = load(t)
    med = statistics.median(wall)
    rows[t] = dict(med=med, lo=min(wall), hi=max(wall), cpu=statistics.median(r[2] for r in runs[t]),
                   rss=statistics.median(r[1] for r in runs[t]) / 1024, n=n, commits=commits, blobs=blobs,
                   scanned=scanned, own=None if scanned is None else scanned / MB / med, repo=nbytes / MB / med)

print(f"input    {env['DIR']} (whole history): {env['NCOMMITS']} commits, {env['NBLOBS']} blobs, "
      f"{nbytes / MB:.1f} MB of blobs (git cat-file --batch-all-objects); {int(env['DISK_BYTES']) / MB:.1f} MB on disk")
if env.get("KG_REV"):
    print(f"keyguard built from commit {env['KG_REV']}")
print(f"machine  {os.cpu_count()} cores ({env['CPU']}); both tools -j {env['THREADS']}; "
      f"{env['RUNS']} timed runs each after one warm-up; warm page cache")
print()


def f(v, spec):
    return "-" if v is None else format(v, spec)


hdr = (f"{'tool':<11} {'wall s':>7} {'min-max s':>13} {'CPU s':>7} {'RSS MiB':>8} {'commits':>8} {'blobs':>7} "
       f"{'MB scanned':>11} {'MB/s own':>9} {'MB/s repo':>10} {'findings':>9}")
print(hdr)
print("-" * len(hdr))
for t in tools:
    r = rows[t]
    print(f"{t:<11} {r['med']:>7.2f} {r['lo']:>6.2f}-{r['hi']:<6.2f} {r['cpu']:>7.2f} {r['rss']:>8.0f} "
          f"{f(r['commits'], 'd'):>8} {f(r['blobs'], 'd'):>7} {f(None if r['scanned'] is None else r['scanned'] / MB, '.1f'):>11} "
          f"{f(r['own'], '.1f'):>9} {r['repo']:>10.1f} {f(r['n'], 'd'):>9}")
print()
if "keyguard" in rows:
    kg, kf = rows["keyguard"], rows["kingfisher"]
    print(f"throughput ratio keyguard/kingfisher (repository blob bytes / median wall, i.e. wall-time ratio): "
          f"{kg['repo'] / kf['repo']:.2f}x")
    print(f"peak RSS ratio keyguard/kingfisher (medians): {kg['rss'] / kf['rss']:.2f}x")
    print(f"CPU time ratio keyguard/kingfisher (user+sys medians): {kg['cpu'] / kf['cpu']:.2f}x")
print("wall s, CPU s (user+sys), RSS MiB (peak): medians over the timed runs. MB = 10^6 bytes.")
print("commits/blobs/MB scanned: as each tool's JSON report says (keyguard: summary.commits/.blobs/.bytes, binary blobs")
print("  not counted; Kingfisher: metadata.summary.blobs_scanned/.bytes_scanned, which include the files under the")
print("  repository path scanned as plain files, e.g. a bare repository's packs, and members of archives it unpacks).")
print("MB/s own = the tool's own MB scanned / median wall; MB/s repo = the repository's blob bytes / median wall.")
if env.get("CONTENDED", "0") != "0":
    print(f"WARNING: {env['CONTENDED']} timed run(s) kept although other work used the CPUs during them")
for t in tools:
    print(f"all runs {t}: " + "; ".join(f"{s:.2f}s cpu {c:.2f}s {kb / 1024:.0f}MiB" for s, kb, c in runs[t]))
PY
else
HAVE_KG="$HAVE_KG" KG_REV="$KG_REV" CONTENDED="$CONTENDED" DIR="$DIR" NFILES="$NFILES" NBYTES="$NBYTES" MANIFEST="$MANIFEST" WORK="$WORK" \
TAG="$TAG" RUNS="$RUNS" THREADS="$THREADS" CPU="$CPU" BUNDLE="$BUNDLE_MODE" INPUT_KINDS="$INPUT_KINDS" python3 - <<'PY'
import json, os, statistics

env = os.environ
work, tag, root = env["WORK"], env["TAG"], env["DIR"].rstrip("/") + "/"
nbytes = int(env["NBYTES"])
MiB = 1024 * 1024
tools = ["keyguard", "kingfisher"] if env["HAVE_KG"] == "1" else ["kingfisher"]

bundle = env.get("BUNDLE") == "1"
times = {t: [] for t in tools}  # (wall s, peak RSS KiB, user+sys s)
for line in open(os.path.join(work, "times.txt")):
    t, s, kb, usr, sys_ = line.split()[:5]
    times[t].append((float(s), int(kb), float(usr) + float(sys_)))


def rel(p):
    return p[len(root):] if p.startswith(root) else p.lstrip("./")


def load(tool):
    """(findings as [(rule, path, line, col)], bytes and files the tool says it scanned or None, report)"""
    try:
        d = json.load(open(os.path.join(work, f"{tag}.{tool}.json")))
    except Exception as e:  # noqa: BLE001
        print(f"  ({tool}: report unreadable: {e})")
        return None, None, None, None
    out = []
    if tool == "kingfisher":
        for f in d.get("findings", []):
            x = f["finding"]
            out.append((f["rule"]["id"], rel(x["path"]), x.get("line"), x.get("column_start")))
        sm = d.get("metadata", {}).get("summary", {})
        scanned, files = sm.get("bytes_scanned"), sm.get("blobs_scanned")
    else:
        for f in d.get("findings", []):
            out.append((f.get("rule_id"), rel(f.get("path", "")), f.get("line"), f.get("column")))
        scanned, files = d.get("summary", {}).get("bytes"), d.get("summary", {}).get("files")
    return out, scanned, files, d


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


rows, reports, raw = {}, {}, {}
for t in tools:
    secs = [s for s, _, _ in times[t]]
    kbs = [k for _, k, _ in times[t]]
    med = statistics.median(secs)
    findings, scanned, files, raw[t] = load(t)
    reports[t] = findings
    rows[t] = dict(med=med, lo=min(secs), hi=max(secs), mibs=nbytes / MiB / med, rss=max(kbs) / 1024,
                   cpu=statistics.median(c for _, _, c in times[t]),
                   n=None if findings is None else len(findings), scanned=scanned, files=files)

print(f"input    {env['DIR']}: {env['NFILES']} files, {nbytes / MiB:.1f} MiB"
      + (f" ({env['INPUT_KINDS']})" if env.get("INPUT_KINDS") else ""))
if bundle:
    print("mode     --bundle: keyguard scan bundle (source maps on) vs kingfisher --no-binary --no-extract-archives")
if env.get("KG_REV"):
    print(f"keyguard built from commit {env['KG_REV']}")
print(f"machine  {os.cpu_count()} cores ({env['CPU']}); both tools -j {env['THREADS']}; "
      f"{env['RUNS']} timed runs each after one warm-up; warm page cache")
print()
hdr = (f"{'tool':<11} {'median s':>9} {'min-max s':>13} {'CPU s':>7} {'MiB/s':>8} {'peak RSS MiB':>13} {'findings':>9} "
       f"{'files*':>7} {'MiB scanned*':>13}")
if planted:
    hdr += f" {'planted found':>14}"
print(hdr)
print("-" * len(hdr))
for t in tools:
    r = rows[t]
    line = (f"{t:<11} {r['med']:>9.2f} {r['lo']:>6.2f}-{r['hi']:<6.2f} {r['cpu']:>7.2f} {r['mibs']:>8.1f} {r['rss']:>13.0f} "
            f"{'?' if r['n'] is None else r['n']:>9} {'?' if r['files'] is None else r['files']:>7} "
            f"{'?' if r['scanned'] is None else format(r['scanned'] / MiB, '.1f'):>13}")
    if planted and reports[t] is not None:
        hit, extra = match(reports[t])
        line += f" {len(hit):>6}/{len(planted):<7}"
    print(line)
print()
if "keyguard" in rows:
    ratio = rows["keyguard"]["mibs"] / rows["kingfisher"]["mibs"]
    print(f"throughput ratio keyguard/kingfisher: {ratio:.2f}x")
    print(f"CPU time ratio keyguard/kingfisher (user+sys medians): {rows['keyguard']['cpu'] / rows['kingfisher']['cpu']:.2f}x")
    kg, kf = rows["keyguard"], rows["kingfisher"]
    if None not in (kg["files"], kf["files"], kg["scanned"], kf["scanned"]):
        if (kg["files"], kg["scanned"]) == (kf["files"], kf["scanned"]):
            print(f"both read the same {kg['files']} files, {kg['scanned']} bytes")
        else:
            print(f"WARNING: the tools read different inputs: keyguard {kg['files']} files, {kg['scanned']} bytes; "
                  f"kingfisher {kf['files']} files, {kf['scanned']} bytes")
print("median s, CPU s (user+sys): medians over the timed runs; peak RSS: the largest over them.")
print("MiB/s = the input's total file bytes / median wall time. *files, MiB scanned: as the tool reports it")
print("  (keyguard: summary.files/.bytes, binary files not counted; Kingfisher: metadata.summary.blobs_scanned/.bytes_scanned).")
if env.get("CONTENDED", "0") != "0":
    print(f"WARNING: {env['CONTENDED']} timed run(s) kept although other work used the CPUs during them")
print("all runs (s): " + "; ".join(f"{t}: " + " ".join(f"{s:.2f}" for s, _, _ in times[t]) for t in tools))

if bundle:
    from collections import Counter
    print()
    for t in tools:
        d = raw.get(t)
        if d is None:
            continue
        if t == "keyguard":
            fs = d.get("findings", [])
            conf = Counter(f.get("confidence") for f in fs)
            rules = Counter(f.get("rule_id") for f in fs)
            mapped = sum(1 for f in fs if f.get("original"))
            sm = d.get("summary", {})
            print(f"keyguard: {len(fs)} findings ({sm.get('distinct_secrets', '?')} distinct secrets) in "
                  f"{len({f.get('path') for f in fs})} files; {mapped} with `original` (source-mapped); by confidence "
                  + ", ".join(f"{k} {v}" for k, v in sorted(conf.items(), key=lambda kv: str(kv[0]))))
        else:
            rules = Counter(f["rule"]["id"] for f in d.get("findings", []))
            print(f"kingfisher: {sum(rules.values())} findings"
                  + (" (it reports nothing under node_modules paths; see the header)" if "/node_modules/" in root or
                     os.path.isdir(os.path.join(root, "node_modules")) else ""))
        if rules:
            print("   rules: " + ", ".join(f"{r} {n}" for r, n in rules.most_common(10))
                  + (f", ... {len(rules) - 10} more" if len(rules) > 10 else ""))

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
fi
echo
if [[ "$HAVE_KG" == 1 ]]; then echo "reports: $WORK/$TAG.kingfisher.json $WORK/$TAG.keyguard.json"
else echo "report: $WORK/$TAG.kingfisher.json"; fi
echo "commands:"
printf '  kingfisher:'; printf ' %q' "${KF_CMD[@]}" -o "$WORK/kingfisher.timed.json"; printf '\n'
if [[ "$HAVE_KG" == 1 ]]; then printf '  keyguard:  '; printf ' %q' "${KG_CMD[@]}" -o "$WORK/keyguard.timed.json"; printf '\n'; fi
