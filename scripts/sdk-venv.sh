#!/usr/bin/env bash
# A Python venv with the official `openai` and `anthropic` SDKs from PyPI, for the `keyguard serve`
# SDK tests (tests/cli/serve_sdk.rs). Idempotent: a venv that already has the pinned versions is
# left alone, so running it again costs a second.
#
#   scripts/sdk-venv.sh            install if needed, then print the venv's python on stdout
#   scripts/sdk-venv.sh --check    print it if the venv is ready, else exit 3 (never installs;
#                                  the tests call this, so the path and pins live only here)
#
# The venv lives outside the repository, at
#   ${KEYGUARD_SDK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/keyguard/sdk-venv-v$REV}
# and the tests look there (or wherever KEYGUARD_SDK_VENV points). It needs python3 with venv
# (Debian: python3-venv; scripts/test installs it) and PyPI.
#
# Exit status: 0 ready, 2 usage error, 3 not installed or could not install (the tests then skip,
# or fail under KEYGUARD_REQUIRE_ALL=1).
set -uo pipefail

# Pins: versions on PyPI when the tests were written. Bump REV with them so caches rebuild.
REV=1
PACKAGES=(openai==3.54.0 anthropic==2.12.0)

prog=sdk-venv
check=0
case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: scripts/sdk-venv.sh [--check]" >&2; exit 2 ;;
esac
PY=${KEYGUARD_PYTHON:-python3}
VENV=${KEYGUARD_SDK_VENV:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/keyguard/sdk-venv-v$REV}

# pip must behave the same whatever the caller's pip settings are.
unset PIP_USER PIP_TARGET PIP_PREFIX PIP_REQUIRE_VIRTUALENV PIP_NO_BINARY PYTHONPATH PYTHONHOME
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_WARN_SCRIPT_LOCATION=1

if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.keyguard-sdk" 2>/dev/null)" = "${PACKAGES[*]}" ]; then
    echo "$VENV/bin/python"
    exit 0
fi
if [ "$check" = 1 ]; then
    echo "$prog: no SDK venv at $VENV (run scripts/sdk-venv.sh)" >&2
    exit 3
fi

fail() {
    echo "$prog: cannot install the SDK venv: $*" >&2
    [ -s "${log:-}" ] && { echo "--- last lines of the install log:" >&2; tail -n 15 "$log" >&2; }
    exit 3
}
command -v "$PY" >/dev/null 2>&1 || fail "'$PY' not found (install python3, or set KEYGUARD_PYTHON)"
mkdir -p "$(dirname "$VENV")" 2>/dev/null || fail "cannot create $(dirname "$VENV")"
log=$(mktemp "${TMPDIR:-/tmp}/keyguard-sdk-venv.XXXXXX") || fail "no temporary file"
trap 'rm -f "$log"' EXIT
echo "$prog: installing ${PACKAGES[*]} into $VENV..." >&2
# --clear: a half-made venv from an interrupted run is rebuilt, not trusted.
"$PY" -m venv --clear "$VENV" >>"$log" 2>&1 \
    || fail "'$PY -m venv' failed (on Debian: apt-get install python3-venv)"
"$VENV/bin/python" -m pip install -q --prefer-binary "${PACKAGES[@]}" >>"$log" 2>&1 \
    || fail "pip could not install ${PACKAGES[*]} from PyPI"
"$VENV/bin/python" -c 'import openai, anthropic' >>"$log" 2>&1 || fail "the SDKs do not import"
echo "${PACKAGES[*]}" >"$VENV/.keyguard-sdk"
echo "$VENV/bin/python"
