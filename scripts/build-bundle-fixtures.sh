#!/usr/bin/env bash
# Rebuilds the front-end bundle fixtures under fixtures/bundles/ from their committed sources.
#
#   scripts/build-bundle-fixtures.sh           rebuild and overwrite the committed output
#   scripts/build-bundle-fixtures.sh --check   rebuild in a temporary directory and compare with
#                                              the committed output (exit 1 if anything differs)
#
# The output (dist/, dist-inline/, the third-party bundle) is committed, so the tests need neither
# node nor npm; only this script does (node ^20.19 or >= 22.12, for Vite 8, and npm). Each app is
# copied to a temporary directory and built there with `npm ci` from its package-lock.json, so no
# node_modules/ ever appears in the repository. Versions are pinned exactly and Vite's file names
# carry no content hash, so a rebuild reproduces the same bytes.
#
# The keys in the .env files are fake and randomly generated (see fixtures/bundles/README.md).
set -euo pipefail

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
bundles=$root/fixtures/bundles

for tool in node npm tar diff; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 2; }
done
if ! node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit((maj === 20 && min >= 19) || (maj === 22 && min >= 12) || maj > 22 ? 0 : 1);
'; then
  echo "$0: Vite 8 needs node ^20.19 or >= 22.12 (this is $(node --version))" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/keyguard-bundles.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Quiet, reproducible npm; and no key from the caller's environment: Vite lets an exported
# VITE_* variable override .env, which would put a different (maybe real) key into the fixtures.
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export npm_config_loglevel=warn npm_config_omit_lockfile_registry_resolved=true
unset VITE_OPENAI_API_KEY VITE_ANTHROPIC_API_KEY NODE_ENV || true  # keyguard:allow (variable names, no values)

status=0

# publish SRC_DIR OUT_DIR: copy a built OUT_DIR (relative to the temporary copy SRC_DIR) back into
# the fixture, or compare it with the committed one under --check.
publish() {
  local name=$1 tmp=$2 out=$3
  local dest=$bundles/$name/$out
  if [ "$check" = 1 ]; then
    if ! diff -r "$tmp/$out" "$dest" >/dev/null 2>&1; then
      echo "differs: fixtures/bundles/$name/$out" >&2
      diff -rq "$tmp/$out" "$dest" >&2 || true
      status=1
    else
      echo "same:    fixtures/bundles/$name/$out"
    fi
  else
    rm -rf "$dest"
    cp -R "$tmp/$out" "$dest"
    echo "built:   fixtures/bundles/$name/$out"
  fi
}

# copy_sources NAME: the fixture's sources (everything but node_modules/ and build output,
# dotfiles such as .env included) into $work/NAME.
copy_sources() {
  local name=$1
  mkdir -p "$work/$name"
  (cd "$bundles/$name" &&
    tar --exclude=./node_modules --exclude=./dist --exclude=./dist-inline \
      --exclude='./bootstrap.bundle.min.js*' --exclude='./LICENSE*' -cf - .) |
    (cd "$work/$name" && tar -xf -)
}

# A Vite app: `npm ci`, `npm run build` (see its package.json), then each output directory.
build_app() {
  local name=$1; shift
  echo "== $name" >&2
  copy_sources "$name"
  (cd "$work/$name" && npm ci --no-save >&2 && npm run --silent build >&2)
  local out
  for out in "$@"; do publish "$name" "$work/$name" "$out"; done
}

build_app vite-fetch dist dist-inline
build_app vite-sdk dist

# The third-party bundle is not built: it is copied as published, with its licences.
echo "== third-party" >&2
copy_sources third-party
(cd "$work/third-party" && npm ci --no-save >&2)
mkdir -p "$work/third-party/out"
nm=$work/third-party/node_modules
cp "$nm/bootstrap/dist/js/bootstrap.bundle.min.js" \
  "$nm/bootstrap/dist/js/bootstrap.bundle.min.js.map" "$work/third-party/out/"
cp "$nm/bootstrap/LICENSE" "$work/third-party/out/LICENSE.bootstrap"
cp "$nm/@popperjs/core/LICENSE.md" "$work/third-party/out/LICENSE.popper.md"
for f in bootstrap.bundle.min.js bootstrap.bundle.min.js.map LICENSE.bootstrap LICENSE.popper.md; do
  if [ "$check" = 1 ]; then
    if cmp -s "$work/third-party/out/$f" "$bundles/third-party/$f"; then
      echo "same:    fixtures/bundles/third-party/$f"
    else
      echo "differs: fixtures/bundles/third-party/$f" >&2
      status=1
    fi
  else
    cp "$work/third-party/out/$f" "$bundles/third-party/$f"
    echo "built:   fixtures/bundles/third-party/$f"
  fi
done

exit "$status"
