#!/usr/bin/env python3
"""Generate a deterministic, realistic source tree for benchmarking secret scanners.

    scripts/gen-bench-tree.py OUT_DIR [--size-mb 400] [--seed 1] [--keys 200] [--dense] [--jobs N]

The tree looks like a polyglot monorepo: TypeScript/JavaScript packages (with a few minified
bundles whose single lines run to several MB), Python, Go, Rust and Java services, JSON and YAML
configuration, Markdown docs, HTML, CSS, lock files, and a few .env and config files. The text is
code-shaped (identifiers, string literals, comments, URLs, base64 blobs, hex hashes, UUIDs), with
the ordinary words secret scanners key on (token, password, secret, key, api_key, `sk-`, ...)
appearing at a realistic rate in code that holds no secret, plus placeholders and near misses.

A small number of FAKE key-shaped strings (--keys, default 200) are planted. Every one is made
here, at run time, from the seeded random generator: random bodies in the providers' shapes (with
correct CRC32 checksums where the format has one). None is a real key and none is copied from
anywhere. Their locations go to OUT_DIR.planted.json, beside the tree (never inside it, so that
scanners do not see them twice); the file holds each key's kind, path, line and a SHA-256 of the
key, not the key itself.

--dense writes text in which nearly every line carries a keyword, a placeholder or a near miss
(`ghp_` + too few characters, `AKIA` + lower case, `sk-proj-...`), to stress a scanner's confirm
step rather than its prefilter.

The same (seed, size, keys, dense) always gives byte-identical output, whatever --jobs is.
"""

import argparse
import base64
import hashlib
import json
import math
import os
import random
import shutil
import string
import sys
import time
import zlib
from multiprocessing import Pool

MB = 1024 * 1024
ALNUM = string.ascii_letters + string.digits
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # GitHub/npm checksum order
URLSAFE = ALNUM + "-_"
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

WORDS = """user account order payment invoice cart item product session request response handler
config client server cache queue event message stream buffer record entry index query result error
status state store context router route service worker task job schedule metric logger auth profile
settings option value field schema model view component layout theme style button modal form input
list table row column page render update create delete fetch load save parse format validate
transform build resolve connect retry timeout limit offset count total batch chunk file path dir
upload download image asset bundle module plugin hook filter map reduce sort merge diff patch version
release deploy cluster node pod region zone tenant team member role permission policy audit report
export import notify email sms webhook callback channel subscription billing plan price currency tax
discount coupon shipping address country locale label title description summary content body header
footer sidebar nav menu search hint tooltip dialog toast spinner loader avatar icon badge chart graph
widget dashboard panel feature flag experiment cohort segment funnel pipeline stage step runner
artifact registry manifest snapshot backup restore archive migration seed fixture mock stub spec
suite case assert expect matcher reporter coverage lint check rule scope target source sink origin
peer link edge vertex tree leaf branch commit blob diff hunk line word""".split()

# words that make scanners look twice, used inside ordinary identifiers
HOT_WORDS = ["token", "key", "secret", "password", "auth", "credential", "apiKey", "api_key",
             "accessToken", "refreshToken", "csrfToken", "passwd", "private", "sessionKey"]
# ... and how often each ends an identifier (about 1 identifier in 250 gets one). With the decoy
# lines below this gives, per 10,000 lines, roughly: key ~100, token ~50, secret ~10, password ~10,
# api_key ~10 -- the order of a real web/service monorepo (rust-lang/cargo has key 71, token 28,
# secret 6, password 2); --dense is the place for more.
HOT_SUFFIX = [("key", 90), ("token", 20), ("auth", 10), ("secret", 3), ("password", 3),
              ("credential", 2), ("apikey", 2), ("private", 3)]
HOT_SUFFIX_RATE = 0.004
DECOY_RATE = 0.006  # share of statements that are ordinary code mentioning keys, tokens, passwords

NOUNS = WORDS[:120]
VERBS = """get set fetch load save parse format validate transform build resolve connect retry
handle process render update create delete find list compute apply merge emit dispatch subscribe
register init start stop flush reset open close read write send receive encode decode serialize
normalize sanitize map filter reduce sort group collect wrap unwrap ensure check verify""".split()

SENTENCE_WORDS = """the a an of to in for on with by from at as is are be this that it we you
should must will can may not only when if then else while until after before because so but and or
value request user data cache result error state config service field handler returns called
updated created removed ignored retried stored loaded parsed validated ensures keeps avoids uses
default current next previous first last empty missing invalid stale pending ready done""".split()

TLDS = ["com", "io", "dev", "net", "org", "cloud"]
HOSTS = ["api", "cdn", "static", "auth", "events", "metrics", "hooks", "assets", "www", "docs",
         "status", "billing", "search", "upload", "media"]
ORGS = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell",
        "soylent", "cyberdyne", "wonka", "aperture", "oscorp", "massive", "contoso"]


class Vocab:
    """Per-process pools of identifiers and phrases, built from a seed."""

    def __init__(self, seed):
        r = random.Random(f"vocab:{seed}")
        self.r = r
        camel, snake, pascal, const = [], [], [], []
        for _ in range(3000):
            n = r.choice((1, 2, 2, 2, 3, 3))
            parts = [r.choice(WORDS) for _ in range(n)]
            if r.random() < 0.35:
                parts.insert(0, r.choice(VERBS))
            if r.random() < HOT_SUFFIX_RATE:
                parts.append(r.choices([w for w, _ in HOT_SUFFIX], [n for _, n in HOT_SUFFIX])[0])
            camel.append(parts[0] + "".join(p.capitalize() for p in parts[1:]))
            snake.append("_".join(parts))
            pascal.append("".join(p.capitalize() for p in parts))
            const.append("_".join(p.upper() for p in parts))
        self.camel, self.snake, self.pascal, self.const = camel, snake, pascal, const
        self.sentences = []
        for _ in range(2000):
            n = r.randint(4, 14)
            s = " ".join(r.choice(SENTENCE_WORDS + NOUNS) for _ in range(n))
            self.sentences.append(s[0].upper() + s[1:])
        self.urls = []
        for _ in range(600):
            host = f"{r.choice(HOSTS)}.{r.choice(ORGS)}.{r.choice(TLDS)}"
            segs = "/".join(r.choice(NOUNS) for _ in range(r.randint(1, 4)))
            self.urls.append(f"https://{host}/{'v' + str(r.randint(1, 3)) + '/' if r.random() < 0.5 else ''}{segs}")
        self.pkgs = [f"{r.choice(['', '@' + r.choice(ORGS) + '/'])}{r.choice(NOUNS)}-{r.choice(NOUNS)}"
                     for _ in range(800)]
        self.pkgs += [r.choice(NOUNS) + r.choice(["", "js", "-core", "-utils", "ify", "-kit"]) for _ in range(400)]


# --------------------------------------------------------------------------------------------
# Fake keys (random bodies, generated here; never real, never copied)
# --------------------------------------------------------------------------------------------

def rand_str(r, alphabet, n):
    return "".join(r.choice(alphabet) for _ in range(n))


def base62_6(n):
    out = []
    for _ in range(6):
        out.append(BASE62[n % 62])
        n //= 62
    return "".join(reversed(out))


def checksummed(r, prefix):
    body = rand_str(r, ALNUM, 30)
    return prefix + body + base62_6(zlib.crc32(body.encode()) & 0xFFFFFFFF)


def pem_body(r, lines, head=""):
    raw = head + base64.b64encode(r.getrandbits(8 * 48 * lines).to_bytes(48 * lines, "big")).decode()
    raw = raw[: 64 * lines - r.randint(0, 40)]
    return "\n".join(raw[i:i + 64] for i in range(0, len(raw), 64))


def make_key(r, kind):
    """Returns (key_text, multi_line) for a planted key of `kind`."""
    if kind == "github-classic-pat":
        return checksummed(r, "ghp_"), False
    if kind == "github-oauth":
        return checksummed(r, "gho_"), False
    if kind == "github-fine-grained-pat":
        return "github_pat_" + rand_str(r, ALNUM, 22) + "_" + rand_str(r, ALNUM, 59), False
    if kind == "openai-project-key":
        return "sk-proj-" + rand_str(r, URLSAFE, 74) + "T3BlbkFJ" + rand_str(r, URLSAFE, 74), False
    if kind == "openai-legacy-key":
        return "sk-" + rand_str(r, ALNUM, 20) + "T3BlbkFJ" + rand_str(r, ALNUM, 20), False
    if kind == "anthropic-api-key":
        return "sk-ant-api03-" + rand_str(r, URLSAFE, 93) + "AA", False
    if kind == "aws-access-key":
        return "AKIA" + rand_str(r, B32, 16), False
    if kind == "slack-bot-token":
        return (f"xoxb-{rand_str(r, string.digits, r.randint(10, 13))}-"
                f"{rand_str(r, string.digits, r.randint(10, 13))}-{rand_str(r, ALNUM, 24)}"), False
    if kind == "slack-webhook":
        return (f"https://hooks.slack.com/services/T{rand_str(r, string.ascii_uppercase + string.digits, 10)}"
                f"/B{rand_str(r, string.ascii_uppercase + string.digits, 10)}/{rand_str(r, ALNUM, 24)}"), False
    if kind == "stripe-live-secret":
        return "sk_live_" + rand_str(r, ALNUM, r.choice((24, 99))), False
    if kind == "stripe-restricted":
        return "rk_live_" + rand_str(r, ALNUM, r.choice((24, 99))), False
    if kind == "gitlab-pat":
        return "glpat-" + rand_str(r, URLSAFE, 20), False
    if kind == "google-api-key":
        return "AIza" + rand_str(r, URLSAFE, 35), False
    if kind == "groq-api-key":
        return "gsk_" + rand_str(r, ALNUM, 52), False
    if kind == "npm-token":
        return checksummed(r, "npm_"), False
    if kind == "huggingface-token":
        return "hf_" + rand_str(r, string.ascii_letters, 34), False
    if kind == "sendgrid-api-key":
        return "SG." + rand_str(r, URLSAFE, 22) + "." + rand_str(r, URLSAFE, 43), False
    if kind == "private-key-rsa":
        return ("-----BEGIN RSA PRIVATE KEY-----\n" + pem_body(r, 25, "MIIEpAIBAAKCAQEA")
                + "\n-----END RSA PRIVATE KEY-----"), True
    if kind == "private-key-pkcs8":
        return ("-----BEGIN PRIVATE KEY-----\n" + pem_body(r, 26, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
                + "\n-----END PRIVATE KEY-----"), True
    if kind == "private-key-ec":
        return ("-----BEGIN EC PRIVATE KEY-----\n" + pem_body(r, 3, "MHcCAQEEI")
                + "\n-----END EC PRIVATE KEY-----"), True
    if kind == "private-key-openssh":
        return ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + pem_body(r, 6, "b3BlbnNzaC1rZXktdjEAAAAA")
                + "\n-----END OPENSSH PRIVATE KEY-----"), True
    raise ValueError(kind)


KEY_WEIGHTS = [
    ("github-classic-pat", 22), ("github-oauth", 4), ("github-fine-grained-pat", 8),
    ("openai-project-key", 24), ("openai-legacy-key", 4), ("anthropic-api-key", 16),
    ("aws-access-key", 16), ("slack-bot-token", 10), ("slack-webhook", 5),
    ("stripe-live-secret", 12), ("stripe-restricted", 3), ("gitlab-pat", 10),
    ("google-api-key", 14), ("groq-api-key", 7), ("npm-token", 7), ("huggingface-token", 7),
    ("sendgrid-api-key", 7), ("private-key-rsa", 5), ("private-key-pkcs8", 3),
    ("private-key-ec", 2), ("private-key-openssh", 3),
]

ENV_NAMES = {
    "github": ["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT", "CI_GITHUB_TOKEN"],
    "openai": ["OPENAI_API_KEY", "OPENAI_KEY", "LLM_API_KEY"],
    "anthropic": ["ANTHROPIC_API_KEY", "CLAUDE_API_KEY"],
    "aws": ["AWS_ACCESS_KEY_ID"],
    "slack": ["SLACK_BOT_TOKEN", "SLACK_TOKEN", "SLACK_WEBHOOK_URL"],
    "stripe": ["STRIPE_SECRET_KEY", "STRIPE_API_KEY", "STRIPE_KEY"],
    "gitlab": ["GITLAB_TOKEN", "GL_TOKEN", "CI_DEPLOY_TOKEN"],
    "google": ["GOOGLE_API_KEY", "FIREBASE_API_KEY", "MAPS_API_KEY", "GEMINI_API_KEY"],
    "groq": ["GROQ_API_KEY"],
    "npm": ["NPM_TOKEN", "NODE_AUTH_TOKEN"],
    "huggingface": ["HF_TOKEN", "HUGGINGFACE_TOKEN"],
    "sendgrid": ["SENDGRID_API_KEY", "MAIL_API_KEY"],
}


def provider_of(kind):
    return kind.split("-")[0]


# --------------------------------------------------------------------------------------------
# Small random values
# --------------------------------------------------------------------------------------------

class Gen:
    """Per-file generator state: the file's own rng plus the shared vocab."""

    def __init__(self, rng, vocab, dense):
        self.r = rng
        self.v = vocab
        self.dense = dense
        r = rng
        self.rand = r.random
        self.ri = r.randint
        self.ch = r.choice

    # values
    def camel(self):
        return self.ch(self.v.camel)

    def snake(self):
        return self.ch(self.v.snake)

    def pascal(self):
        return self.ch(self.v.pascal)

    def const(self):
        return self.ch(self.v.const)

    def sentence(self):
        return self.ch(self.v.sentences)

    def url(self):
        return self.ch(self.v.urls)

    def hexs(self, n):
        return f"{self.r.getrandbits(4 * n):0{n}x}"

    def uuid(self):
        h = self.hexs(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[self.ri(0, 3)]}{h[17:20]}-{h[20:]}"

    def b64(self, nbytes):
        return base64.b64encode(self.r.getrandbits(8 * nbytes).to_bytes(nbytes, "big")).decode()

    def num(self):
        x = self.rand()
        if x < 0.5:
            return str(self.ri(0, 100))
        if x < 0.8:
            return str(self.ri(100, 100000))
        return f"{self.rand() * 1000:.2f}"

    def semver(self):
        return f"{self.ri(0, 12)}.{self.ri(0, 40)}.{self.ri(0, 30)}"

    def strlit(self):
        x = self.rand()
        if x < 0.35:
            return self.sentence()
        if x < 0.55:
            return self.url()
        if x < 0.7:
            return self.snake()
        if x < 0.78:
            return self.uuid()
        if x < 0.85:
            return self.hexs(self.ch((7, 12, 40, 64)))
        if x < 0.9:
            return f"{self.ch(NOUNS)}/{self.ch(NOUNS)}.{self.ch(['json', 'ts', 'png', 'svg', 'yaml', 'md'])}"
        return self.ch(NOUNS).capitalize()

    # ordinary code that mentions the hot words but holds no secret
    def decoy(self, lang):
        ch, c, s, C = self.ch, self.camel, self.snake, self.const
        env = ch(["OPENAI_API_KEY", "GITHUB_TOKEN", "STRIPE_SECRET_KEY", "DATABASE_PASSWORD",
                  "JWT_SECRET", "API_KEY", "AUTH_TOKEN", "SLACK_BOT_TOKEN", "AWS_SECRET_ACCESS_KEY",
                  "ANTHROPIC_API_KEY", "SESSION_SECRET", "NPM_TOKEN", "GROQ_API_KEY"])
        near = self.near_miss()
        if lang in ("js", "ts"):
            return ch([
                f"const apiKey = process.env.{env};",
                f"if (!token) throw new Error(\"missing auth token for {c()}\");",
                "headers['Authorization'] = `Bearer ${token}`;",
                f"const {{ password, ...{c()} }} = user;",
                f"// TODO: rotate the secret key used by {c()} before the next release",
                "const cacheKey = `${prefix}:${id}`;",
                f"const tokenizer = new Tokenizer({{ maxTokens: {self.ri(256, 8192)} }});",
                f"  secretName: '{s().replace('_', '-')}-credentials',",
                f"  apiKey: '{near}', // placeholder, set {env} instead",
                f"if (key.startsWith('sk-') || key.startsWith('ghp_')) return redact(key);",
                f"export const TOKEN_TTL_SECONDS = {self.ri(60, 86400)};",
                f"  <input type=\"password\" name=\"password\" autoComplete=\"current-password\" />",
                f"items.forEach((item) => map.set(item.key, item.{c()}));",
                f"const refreshToken = await {c()}.refresh(session.refreshToken);",
                f"  'x-api-key': config.apiKey,",
                f"const task-list = document.querySelector('.task-{s()}');".replace("task-list", "taskList"),
                f"throw new Error(`invalid api_key: expected ${{'sk-'}}… got ${{typeof key}}`);",
            ])
        if lang == "py":
            return ch([
                f"api_key = os.environ.get(\"{env}\")",
                "password = getpass.getpass(\"Password: \")",
                f"SECRET_KEY = env(\"DJANGO_SECRET_KEY\", default=None)",
                "token = request.headers.get(\"X-Auth-Token\")",
                f"self.tokenizer = AutoTokenizer.from_pretrained({s()}_model)",
                f"    if not key.startswith((\"sk-\", \"sk-proj-\", \"sk-ant-\")):",
                f"        raise ValueError(\"api_key must look like {near}\")",
                f"{s()}_token_count = len(tokens)",
                f"    password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())",
                f"    # the secret is read from the vault at start-up, never from this file",
                f"client = OpenAI(api_key=os.environ[\"{env}\"])",
                f"for key, value in sorted({s()}.items()):",
            ])
        if lang == "go":
            return ch([
                f"\tapiKey := os.Getenv(\"{env}\")",
                "\tif token == \"\" {\n\t\treturn nil, errors.New(\"missing token\")\n\t}",
                f"\treq.Header.Set(\"Authorization\", \"Bearer \"+token)",
                f"\t// SecretKey is loaded from the environment; see {env}",
                f"\tkey := fmt.Sprintf(\"%s:%d\", {c()}, id)",
                f"\tif strings.HasPrefix(tok, \"ghp_\") || strings.HasPrefix(tok, \"sk-\") {{",
                f"\tpassword, err := term.ReadPassword(int(os.Stdin.Fd()))",
            ])
        if lang == "rs":
            return ch([
                f"    let api_key = std::env::var(\"{env}\")?;",
                "    let token = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());",
                f"    // The secret never leaves this module; see {c()}.",
                f"    if key.starts_with(\"sk-\") {{ return Err(Error::InvalidKey); }}",
                f"    let password = rpassword::prompt_password(\"password: \")?;",
                f"    map.entry(key.clone()).or_insert_with(Vec::new).push({s()});",
            ])
        if lang == "java":
            return ch([
                f"        String apiKey = System.getenv(\"{env}\");",
                f"        if (token == null) throw new IllegalStateException(\"missing token\");",
                f"    @Value(\"${{security.jwt.secret}}\")\n    private String jwtSecret;",
                f"        String password = passwordEncoder.encode(rawPassword);",
                f"        // secret key rotation is handled by {self.pascal()}Service",
            ])
        if lang == "yaml":
            return ch([
                f"  key: ${{{{ runner.os }}}}-cargo-${{{{ hashFiles('**/Cargo.lock') }}}}",
                f"  token: ${{{{ secrets.{env} }}}}",
                f"      secretName: {s().replace('_', '-')}-tls",
                f"    passwordSecretRef:\n      name: db-credentials\n      key: password",
                f"  api_key: \"{near}\"  # placeholder",
                f"  cache-key: {self.hexs(40)}",
            ])
        if lang == "json":
            return ch([
                f"\"tokenEndpoint\": \"{self.url()}/oauth/token\"",
                f"\"apiKeyHeader\": \"x-api-key\"",
                f"\"passwordMinLength\": {self.ri(8, 16)}",
                f"\"secretRef\": \"{s()}\"",
                f"\"keywords\": [\"token\", \"secret\", \"api-key\", \"{self.ch(NOUNS)}\"]",
                f"\"apiKey\": \"{near}\"",
            ])
        if lang == "md":
            return ch([
                f"Set `{env}` in your environment; never commit the key itself.",
                f"Your API key looks like `{near}`; keep it out of source control.",
                f"The `token` option controls how {self.sentence().lower()}.",
                f"    export {env}=\"<your key here>\"",
                f"| `api_key` | string | The secret key for {self.ch(NOUNS)}; read from `{env}`. |",
            ])
        return f"# {env}: see the secrets manager"

    def near_miss(self):
        ch = self.ch
        return ch([
            "sk-...", "sk-proj-...", "sk-your-key-here", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "ghp_" + rand_str(self.r, ALNUM, self.ri(6, 20)), "AKIA" + rand_str(self.r, string.ascii_lowercase, 16),
            "xoxb-your-bot-token", "glpat-xxxxxxxxxxxxxxxxxxxx", "sk_live_" + "x" * 24,
            "sk-ant-api03-...", "gsk_...", "<api-key>", "${API_KEY}", "{{ token }}",
            "sk-" + rand_str(self.r, ALNUM, self.ri(4, 12)), "AIza" + "X" * 35,
            "npm_" + rand_str(self.r, ALNUM, 12), "hf_" + "*" * 20, "sk_test_" + "0" * 24,
        ])

    def dense_line(self, lang):
        """A line that trips keyword prefilters and should be rejected by a confirm step."""
        x = self.rand()
        if x < 0.45:
            return self.decoy(lang)
        c, s, ch = self.camel, self.snake, self.ch
        near = self.near_miss()
        if x < 0.75:
            kw = ch(["token", "secret", "password", "api_key", "apiKey", "key", "auth", "private_key",
                     "client_secret", "access_token", "bearer"])
            val = ch([near, self.uuid(), s(), self.url(), "", "null", "changeme", "*" * 8,
                      self.hexs(ch((8, 12, 16))), "${" + kw.upper() + "}", "sk-" + c(), "ghp_" + c()])
            if lang in ("py", "yaml", "toml", "env"):
                return f"{s()}_{kw} = \"{val}\"" if lang != "env" else f"{s().upper()}_{kw.upper()}={val}"
            if lang == "go":
                return f"\t{c()}{kw.capitalize()} := \"{val}\""
            if lang == "json":
                return f"\"{c()}{kw.capitalize()}\": \"{val}\""
            if lang == "md":
                return f"- `{kw}`: {self.sentence().lower()} (e.g. `{val}`)"
            return f"  const {c()}{kw.capitalize()} = \"{val}\";"
        return ch([
            f"-----BEGIN CERTIFICATE----- is expected before the {self.ch(NOUNS)} chain",
            f"// matches sk-, sk-proj-, sk-ant-, ghp_, gho_, github_pat_, glpat-, xoxb-, xoxp-, AKIA, AIza, SG.",
            f"password: {c()} token: {c()} secret: {c()} key: {c()}",
            f"Authorization: Basic {self.b64(ch((6, 9)))}",
            f"ssh-rsa AAAAB3NzaC1yc2E{self.b64(ch((30, 60)))} {s()}@{ch(ORGS)}",
            f"risk-{s()} task-{s()} disk-{s()} mask-{s()} desk-{s()}",
            f"{ch(['PRIVATE_KEY', 'SECRET', 'TOKEN'])}_PATH=/etc/{ch(ORGS)}/{s()}.pem",
        ])


# --------------------------------------------------------------------------------------------
# Content generators, one per kind. Each returns a list of "blocks" (strings, newline inside
# allowed); plants are inserted between blocks by plant_block().
# --------------------------------------------------------------------------------------------

def js_expr(g):
    x = g.rand()
    if x < 0.25:
        return f"{g.camel()}.{g.camel()}({g.camel()})"
    if x < 0.45:
        return f"\"{g.strlit()}\""
    if x < 0.55:
        return g.num()
    if x < 0.7:
        return f"await {g.camel()}({g.camel()}, {{ {g.camel()}: {g.camel()} }})"
    if x < 0.8:
        return f"{g.camel()}.map(({g.ch('xyabe')}) => {g.ch('xyabe')}.{g.camel()})"
    if x < 0.9:
        return f"`${{{g.camel()}}}/{g.ch(NOUNS)}/${{{g.camel()}}}`"
    return f"new {g.pascal()}({g.camel()})"


def js_stmt(g, ind, ts):
    x = g.rand()
    if g.dense and x < 0.6:
        return ind + g.dense_line("ts" if ts else "js").lstrip()
    if x < DECOY_RATE:
        return ind + g.decoy("ts" if ts else "js").lstrip()
    if x < 0.35:
        t = f": {g.pascal()}" if ts and g.rand() < 0.3 else ""
        return f"{ind}const {g.camel()}{t} = {js_expr(g)};"
    if x < 0.5:
        return f"{ind}{g.camel()}.{g.camel()} = {js_expr(g)};"
    if x < 0.6:
        return f"{ind}if ({g.camel()} {g.ch(['===', '!==', '>', '<'])} {js_expr(g)}) {{\n{ind}  return {js_expr(g)};\n{ind}}}"
    if x < 0.7:
        return f"{ind}// {g.sentence()}"
    if x < 0.78:
        return f"{ind}logger.{g.ch(['info', 'debug', 'warn'])}(\"{g.sentence()}\", {{ {g.camel()} }});"
    if x < 0.86:
        return f"{ind}for (const {g.camel()} of {g.camel()}) {{\n{ind}  {g.camel()}.push({js_expr(g)});\n{ind}}}"
    if x < 0.93:
        return f"{ind}try {{\n{ind}  await {g.camel()}.{g.camel()}();\n{ind}}} catch (err) {{\n{ind}  throw new {g.pascal()}Error(\"{g.sentence()}\", {{ cause: err }});\n{ind}}}"
    return f"{ind}return {js_expr(g)};"


def gen_js(g, target, ts=False):
    blocks, size = [], 0
    imports = []
    for _ in range(g.ri(2, 10)):
        imports.append(f"import {{ {g.camel()}, {g.pascal()} }} from \"{g.ch(g.v.pkgs)}\";")
    blocks.append("\n".join(imports))
    size += len(blocks[0])
    while size < target:
        x = g.rand()
        if x < 0.55:
            args = ", ".join(g.camel() + (f": {g.pascal()}" if ts else "") for _ in range(g.ri(0, 3)))
            body = "\n".join(js_stmt(g, "  ", ts) for _ in range(g.ri(2, 14)))
            doc = f"/**\n * {g.sentence()}.\n * @param {g.camel()} {g.sentence().lower()}\n */\n" if g.rand() < 0.4 else ""
            b = f"{doc}export {'async ' if g.rand() < 0.4 else ''}function {g.camel()}({args}) {{\n{body}\n}}"
        elif x < 0.75:
            members = []
            for _ in range(g.ri(1, 5)):
                body = "\n".join(js_stmt(g, "    ", ts) for _ in range(g.ri(1, 8)))
                members.append(f"  {g.camel()}({g.camel()}) {{\n{body}\n  }}")
            b = f"export class {g.pascal()} {'extends ' + g.pascal() + ' ' if g.rand() < 0.3 else ''}{{\n" + "\n\n".join(members) + "\n}"
        elif x < 0.85 and ts:
            fields = "\n".join(f"  {g.camel()}{'?' if g.rand() < 0.3 else ''}: {g.ch(['string', 'number', 'boolean', g.pascal(), g.pascal() + '[]'])};" for _ in range(g.ri(2, 10)))
            b = f"export interface {g.pascal()} {{\n{fields}\n}}"
        elif x < 0.92:
            b = f"export const {g.const()} = {{\n" + "\n".join(f"  {g.camel()}: {js_expr(g)}," for _ in range(g.ri(2, 12))) + "\n};"
        else:
            b = js_stmt(g, "", ts)
        blocks.append(b)
        size += len(b) + 2
    return blocks


def gen_bundle(g, target):
    """A minified bundle: a license banner, one enormous line, and an inline source map."""
    v = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"
    ch, ri = g.ch, g.ri

    def n():
        return ch(v) + (ch(v) if g.rand() < 0.4 else "")

    parts, size = [], 0
    body_target = int(target * g.ch((0.75, 0.85, 1.0)))
    while size < body_target:
        x = g.rand()
        if g.dense and x < 0.3:
            p = f"{n()}.{g.camel()}=\"{g.near_miss()}\";{n()}[\"{g.ch(HOT_WORDS)}\"]={n()}.{g.camel()}"
        elif x < 0.3:
            p = f"function {n()}({n()},{n()},{n()}){{var {n()}={n()}({ri(0, 9999)}),{n()}={n()}.{g.camel()};return {n()}.{g.camel()}({n()},\"{g.strlit()}\")}}"
        elif x < 0.5:
            p = f"{n()}.{g.camel()}=function({n()}){{return {n()}&&{n()}.{g.camel()}?{n()}:{{default:{n()}}}}}"
        elif x < 0.62:
            p = f"var {n()}={{{','.join(f'{g.camel()}:{chr(34) + g.strlit() + chr(34) if g.rand() < 0.6 else g.num()}' for _ in range(ri(2, 8)))}}}"
        elif x < 0.72:
            p = f"{ri(0, 99999)}:function({n()},{n()},{n()}){{\"use strict\";{n()}.r({n()});{n()}.d({n()},{{{g.camel()}:function(){{return {n()}}}}})}}"
        elif x < 0.8:
            p = f"{n()}=\"{g.url()}\",{n()}={n()}.fetch({n()}+\"/{g.ch(NOUNS)}\",{{method:\"{g.ch(['GET', 'POST', 'PUT'])}\",headers:{{\"Content-Type\":\"application/json\"}}}})"
        elif x < 0.86:
            p = f"{n()}.createElement(\"{g.ch(['div', 'span', 'button', 'svg', 'path', 'li'])}\",{{className:\"{g.snake().replace('_', '-')} {g.snake().replace('_', '-')}\",\"aria-label\":\"{g.sentence()}\"}})"
        elif x < 0.9:
            p = f"{n()}=\"data:image/svg+xml;base64,{g.b64(ri(60, 600))}\""
        elif x < 0.93:
            p = f"{n()}.{g.camel()}=function(){{if(!{n()}.token)throw Error(\"Missing auth token\");return{{Authorization:\"Bearer \"+{n()}.token}}}}"
        elif x < 0.95:
            p = f"{n()}[\"{g.uuid()}\"]={n()}.{g.camel()}"
        else:
            p = f"for(var {n()}=0;{n()}<{n()}.length;{n()}++){n()}+={n()}[{n()}]*{ri(2, 97)}"
        parts.append(p)
        size += len(p) + 1
    line = ";".join(parts) + ";"
    banner = f"/*! {g.ch(g.v.pkgs)} v{g.semver()} | (c) {ri(2015, 2025)} {g.ch(ORGS).capitalize()} Inc. | MIT License */"
    blocks = [banner, "!function(){" + line + "}();"]
    rest = target - len(line)
    if rest > 1000:
        blocks.append("//# sourceMappingURL=data:application/json;charset=utf-8;base64," + g.b64(rest * 3 // 4))
    return blocks


def py_stmt(g, ind):
    x = g.rand()
    if g.dense and x < 0.6:
        return ind + g.dense_line("py").lstrip()
    if x < DECOY_RATE:
        return ind + g.decoy("py").lstrip()
    if x < 0.35:
        return f"{ind}{g.snake()} = {g.snake()}.{g.snake()}({g.snake()}, {g.snake()}={g.ch(['True', 'None', g.num(), repr(g.strlit())])})"
    if x < 0.45:
        return f"{ind}if {g.snake()} is None:\n{ind}    raise {g.pascal()}Error({g.strlit()!r})"
    if x < 0.55:
        return f"{ind}# {g.sentence()}"
    if x < 0.65:
        return f"{ind}logger.{g.ch(['info', 'debug', 'warning'])}(\"{g.sentence()} %s\", {g.snake()})"
    if x < 0.75:
        return f"{ind}for {g.snake()} in {g.snake()}:\n{ind}    {g.snake()}.append({g.snake()}.{g.snake()})"
    if x < 0.85:
        return f"{ind}{g.snake()} = {{{', '.join(repr(g.snake()) + ': ' + repr(g.strlit()) for _ in range(g.ri(1, 4)))}}}"
    return f"{ind}return {g.snake()}"


def gen_py(g, target):
    blocks = ["\n".join([f'"""{g.sentence()}."""', "", "from __future__ import annotations", ""]
                        + [f"import {g.ch(['os', 'sys', 'json', 'logging', 're', 'time', 'typing', 'asyncio', 'dataclasses'])}" for _ in range(g.ri(2, 6))]
                        + [f"from {g.snake()}.{g.snake()} import {g.pascal()}, {g.snake()}" for _ in range(g.ri(0, 5))]
                        + ["", "logger = logging.getLogger(__name__)"])]
    size = len(blocks[0])
    while size < target:
        if g.rand() < 0.6:
            doc = f'    """{g.sentence()}."""\n' if g.rand() < 0.5 else ""
            body = "\n".join(py_stmt(g, "    ") for _ in range(g.ri(2, 14)))
            b = f"def {g.snake()}({', '.join(g.snake() for _ in range(g.ri(0, 4)))}):\n{doc}{body}"
        else:
            methods = []
            for _ in range(g.ri(1, 5)):
                body = "\n".join(py_stmt(g, "        ") for _ in range(g.ri(1, 8)))
                methods.append(f"    def {g.snake()}(self, {g.snake()}):\n{body}")
            b = f"class {g.pascal()}({g.ch(['object', 'BaseModel', 'Exception', g.pascal()])}):\n    \"\"\"{g.sentence()}.\"\"\"\n\n" + "\n\n".join(methods)
        blocks.append(b)
        size += len(b) + 3
    return blocks


def go_stmt(g):
    x = g.rand()
    if g.dense and x < 0.6:
        return "\t" + g.dense_line("go").lstrip()
    if x < DECOY_RATE:
        return g.decoy("go")
    if x < 0.35:
        return f"\t{g.camel()}, err := {g.camel()}.{g.pascal()}(ctx, {g.camel()})\n\tif err != nil {{\n\t\treturn nil, fmt.Errorf(\"{g.sentence().lower()}: %w\", err)\n\t}}"
    if x < 0.5:
        return f"\t{g.camel()} := {g.ch(['make(map[string]' + g.pascal() + ')', '&' + g.pascal() + '{}', str(g.ri(0, 1000)), chr(34) + g.strlit() + chr(34)])}"
    if x < 0.6:
        return f"\t// {g.sentence()}"
    if x < 0.7:
        return f"\tlog.Printf(\"{g.sentence()}: %v\", {g.camel()})"
    if x < 0.8:
        return f"\tfor _, {g.camel()} := range {g.camel()} {{\n\t\t{g.camel()} = append({g.camel()}, {g.camel()}.{g.pascal()})\n\t}}"
    return f"\t{g.camel()}.{g.pascal()} = {g.camel()}"


def gen_go(g, target):
    imports = "\n".join(f"\t\"{g.ch(['context', 'fmt', 'errors', 'net/http', 'os', 'strings', 'time', 'encoding/json', 'sync', 'log'])}\"" for _ in range(g.ri(2, 7)))
    blocks = [f"// Package {g.ch(NOUNS)} {g.sentence().lower()}.\npackage {g.ch(NOUNS)}\n\nimport (\n{imports}\n\t\"github.com/{g.ch(ORGS)}/{g.ch(NOUNS)}/{g.ch(NOUNS)}\"\n)"]
    size = len(blocks[0])
    while size < target:
        x = g.rand()
        if x < 0.6:
            body = "\n".join(go_stmt(g) for _ in range(g.ri(2, 12)))
            b = f"// {g.pascal()} {g.sentence().lower()}.\nfunc ({g.ch('sabc')} *{g.pascal()}) {g.pascal()}(ctx context.Context, {g.camel()} {g.ch(['string', 'int', '*' + g.pascal()])}) (*{g.pascal()}, error) {{\n{body}\n\treturn nil, nil\n}}"
        elif x < 0.85:
            fields = "\n".join(f"\t{g.pascal()} {g.ch(['string', 'int64', 'bool', 'time.Time', '[]string', '*' + g.pascal()])} `json:\"{g.snake()}\"`" for _ in range(g.ri(2, 10)))
            b = f"type {g.pascal()} struct {{\n{fields}\n}}"
        else:
            b = "const (\n" + "\n".join(f"\t{g.pascal()} = \"{g.strlit()}\"" for _ in range(g.ri(2, 8))) + "\n)"
        blocks.append(b)
        size += len(b) + 2
    return blocks


def rs_stmt(g):
    x = g.rand()
    if g.dense and x < 0.6:
        return "    " + g.dense_line("rs").lstrip()
    if x < DECOY_RATE:
        return g.decoy("rs")
    if x < 0.35:
        return f"    let {g.snake()} = {g.snake()}.{g.snake()}(&{g.snake()})?;"
    if x < 0.5:
        return f"    let mut {g.snake()}: {g.ch(['Vec<' + g.pascal() + '>', 'HashMap<String, u64>', 'Option<' + g.pascal() + '>', 'usize'])} = Default::default();"
    if x < 0.6:
        return f"    // {g.sentence()}."
    if x < 0.7:
        return f"    tracing::{g.ch(['debug', 'info', 'warn'])}!(\"{g.sentence()}: {{:?}}\", {g.snake()});"
    if x < 0.8:
        return f"    for {g.snake()} in {g.snake()}.iter() {{\n        {g.snake()}.push({g.snake()}.clone());\n    }}"
    return f"    if {g.snake()}.is_empty() {{\n        return Err(Error::{g.pascal()}(\"{g.sentence()}\".into()));\n    }}"


def gen_rs(g, target):
    blocks = [f"//! {g.sentence()}.\n\n" + "\n".join(f"use {g.ch(['std', 'crate', 'serde', 'anyhow', 'tokio'])}::{g.snake()}::{g.pascal()};" for _ in range(g.ri(2, 8)))]
    size = len(blocks[0])
    while size < target:
        x = g.rand()
        if x < 0.55:
            body = "\n".join(rs_stmt(g) for _ in range(g.ri(2, 12)))
            b = f"/// {g.sentence()}.\npub fn {g.snake()}({g.snake()}: &{g.pascal()}) -> Result<{g.pascal()}, Error> {{\n{body}\n    Ok(Default::default())\n}}"
        elif x < 0.8:
            fields = "\n".join(f"    pub {g.snake()}: {g.ch(['String', 'u64', 'bool', 'Vec<String>', 'Option<' + g.pascal() + '>'])}," for _ in range(g.ri(2, 10)))
            b = f"#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct {g.pascal()} {{\n{fields}\n}}"
        else:
            b = "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn " + g.snake() + "() {\n" + "\n".join("    " + rs_stmt(g) for _ in range(g.ri(2, 6))) + "\n    }\n}"
        blocks.append(b)
        size += len(b) + 2
    return blocks


def gen_java(g, target):
    pkg = f"com.{g.ch(ORGS)}.{g.ch(NOUNS)}.{g.ch(NOUNS)}"
    head = f"package {pkg};\n\n" + "\n".join(f"import {g.ch(['java.util', 'java.io', 'org.springframework.stereotype', 'com.fasterxml.jackson.annotation', 'javax.inject'])}.{g.pascal()};" for _ in range(g.ri(3, 10)))
    blocks = [head + f"\n\n/**\n * {g.sentence()}.\n */\n@{g.ch(['Service', 'Component', 'RestController', 'Entity'])}\npublic class {g.pascal()} {{"]
    size = len(blocks[0])
    while size < target:
        lines = []
        for _ in range(g.ri(2, 12)):
            x = g.rand()
            if g.dense and x < 0.6:
                lines.append("        " + g.dense_line("java").lstrip())
            elif x < DECOY_RATE:
                lines.append(g.decoy("java"))
            elif x < 0.4:
                lines.append(f"        {g.pascal()} {g.camel()} = {g.camel()}.{g.camel()}({g.camel()});")
            elif x < 0.55:
                lines.append(f"        // {g.sentence()}")
            elif x < 0.7:
                lines.append(f"        if ({g.camel()} == null) {{\n            throw new {g.pascal()}Exception(\"{g.sentence()}\");\n        }}")
            elif x < 0.85:
                lines.append(f"        log.info(\"{g.sentence()} {{}}\", {g.camel()});")
            else:
                lines.append(f"        {g.camel()}.set{g.pascal()}({g.camel()}.get{g.pascal()}());")
        b = f"    /**\n     * {g.sentence()}.\n     */\n    public {g.pascal()} {g.camel()}({g.pascal()} {g.camel()}) {{\n" + "\n".join(lines) + f"\n        return {g.camel()};\n    }}"
        blocks.append(b)
        size += len(b) + 2
    blocks.append("}")
    return blocks


def json_value(g, depth):
    x = g.rand()
    if depth < 3 and x < 0.15:
        items = ",\n".join("  " * (depth + 1) + f"\"{g.camel()}\": {json_value(g, depth + 1)}" for _ in range(g.ri(1, 6)))
        return "{\n" + items + "\n" + "  " * depth + "}"
    if depth < 3 and x < 0.25:
        return "[" + ", ".join(json.dumps(g.strlit()) for _ in range(g.ri(1, 5))) + "]"
    if x < 0.65:
        return json.dumps(g.strlit())
    if x < 0.8:
        return g.num()
    if x < 0.9:
        return g.ch(["true", "false", "null"])
    return json.dumps(g.uuid())


def gen_json(g, target):
    blocks, size = [], 0
    while size < target:
        if g.dense and g.rand() < 0.6:
            b = "  " + g.dense_line("json")
        elif g.rand() < DECOY_RATE:
            b = "  " + g.decoy("json")
        else:
            b = f"  \"{g.camel()}\": {json_value(g, 1)}"
        blocks.append(b)
        size += len(b) + 2
    return blocks


def gen_yaml(g, target):
    blocks, size = [], 0
    kind = g.ch(["k8s", "workflow", "compose", "config"])
    if kind == "k8s":
        blocks.append(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {g.snake().replace('_', '-')}\n  labels:\n    app: {g.ch(NOUNS)}")
    elif kind == "workflow":
        blocks.append(f"name: {g.sentence()}\non:\n  push:\n    branches: [main]\n  pull_request:")
    elif kind == "compose":
        blocks.append("version: \"3.9\"\nservices:")
    else:
        blocks.append(f"# {g.sentence()}")
    while size < target:
        x = g.rand()
        if g.dense and x < 0.6:
            b = g.dense_line("yaml")
        elif x < 2 * DECOY_RATE:
            b = g.decoy("yaml")
        elif x < 0.5:
            b = f"{g.snake()}:\n" + "\n".join(f"  {g.snake()}: {g.ch([g.num(), g.snake(), json.dumps(g.strlit()), 'true', 'false'])}" for _ in range(g.ri(1, 8)))
        elif x < 0.7:
            b = f"{g.snake()}:\n" + "\n".join(f"  - name: {g.snake().replace('_', '-')}\n    image: {g.ch(ORGS)}/{g.ch(NOUNS)}:{g.semver()}\n    env:\n      - name: {g.const()}\n        value: \"{g.strlit()}\"" for _ in range(g.ri(1, 3)))
        elif x < 0.85:
            b = f"# {g.sentence()}"
        else:
            b = f"{g.snake()}:\n  run: |\n    {g.ch(['cargo test --workspace', 'npm ci && npm run build', 'go test ./...', 'pytest -q'])}\n    echo \"{g.sentence()}\""
        blocks.append(b)
        size += len(b) + 1
    return blocks


def gen_md(g, target):
    blocks = [f"# {g.sentence()}"]
    size = len(blocks[0])
    while size < target:
        x = g.rand()
        if g.dense and x < 0.6:
            b = g.dense_line("md")
        elif x < 2 * DECOY_RATE:
            b = g.decoy("md")
        elif x < 0.45:
            b = " ".join(g.sentence() + "." for _ in range(g.ri(2, 7)))
        elif x < 0.6:
            b = f"## {g.sentence()}"
        elif x < 0.75:
            b = "\n".join(f"- {g.sentence()} ([docs]({g.url()}))" for _ in range(g.ri(2, 6)))
        elif x < 0.9:
            lang = g.ch(["bash", "js", "python", "toml"])
            body = {"bash": f"npm install {g.ch(g.v.pkgs)}\n{g.ch(['npm', 'cargo', 'go'])} run {g.ch(NOUNS)}",
                    "js": f"import {{ {g.camel()} }} from \"{g.ch(g.v.pkgs)}\";\nconst {g.camel()} = {g.camel()}({{ {g.camel()}: true }});",
                    "python": f"from {g.snake()} import {g.pascal()}\n{g.snake()} = {g.pascal()}()",
                    "toml": f"[{g.snake()}]\n{g.snake()} = {g.num()}"}[lang]
            b = f"```{lang}\n{body}\n```"
        else:
            b = "| name | type | description |\n|---|---|---|\n" + "\n".join(f"| `{g.camel()}` | {g.ch(['string', 'number', 'boolean'])} | {g.sentence()} |" for _ in range(g.ri(2, 8)))
        blocks.append(b)
        size += len(b) + 2
    return blocks


def gen_html(g, target):
    blocks = [f"<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>{g.sentence()}</title>\n  <link rel=\"stylesheet\" href=\"/assets/{g.ch(NOUNS)}.{g.hexs(8)}.css\">\n</head>\n<body>"]
    size = len(blocks[0])
    while size < target:
        x = g.rand()
        if g.dense and x < 0.5:
            b = f"  <!-- {g.dense_line('md')} -->"
        elif x < 0.6:
            b = f"  <div class=\"{g.snake().replace('_', '-')}\">\n    <h2>{g.sentence()}</h2>\n    <p>{g.sentence()}. {g.sentence()}.</p>\n    <a href=\"{g.url()}\">{g.ch(NOUNS)}</a>\n  </div>"
        elif x < 0.75:
            b = f"  <form action=\"/{g.ch(NOUNS)}\" method=\"post\">\n    <input type=\"hidden\" name=\"csrf_token\" value=\"{g.hexs(32)}\">\n    <input type=\"password\" name=\"password\" placeholder=\"Password\">\n  </form>"
        elif x < 0.85:
            b = f"  <img alt=\"{g.ch(NOUNS)}\" src=\"data:image/png;base64,{g.b64(g.ri(200, 3000))}\">"
        else:
            b = f"  <script src=\"/assets/{g.ch(NOUNS)}.{g.hexs(8)}.js\" integrity=\"sha384-{g.b64(48)}\" crossorigin=\"anonymous\"></script>"
        blocks.append(b)
        size += len(b) + 1
    blocks.append("</body>\n</html>")
    return blocks


def gen_css(g, target):
    blocks, size = [], 0
    while size < target:
        x = g.rand()
        sel = "." + g.snake().replace("_", "-") + g.ch(["", "", "", "", ":hover", " > ." + g.ch(NOUNS), "--active"])
        if g.rand() < 0.01:
            sel += "-task-list"
        if x < 0.85:
            props = "\n".join(f"  {g.ch(['color', 'margin', 'padding', 'display', 'border', 'font-size', 'mask-image', 'background-color', 'grid-template-columns'])}: {g.ch(['#' + g.hexs(6), str(g.ri(0, 64)) + 'px', 'flex', 'none', '1px solid #' + g.hexs(3), 'var(--' + g.snake().replace('_', '-') + ')'])};" for _ in range(g.ri(1, 8)))
            b = f"{sel} {{\n{props}\n}}"
        elif x < 0.95:
            b = f"{sel} {{\n  background-image: url(\"data:image/png;base64,{g.b64(g.ri(100, 2000))}\");\n}}"
        else:
            b = f"/* {g.sentence()} */"
        blocks.append(b)
        size += len(b) + 2
    return blocks


def gen_lock(g, target, flavour):
    blocks, size = [], 0
    if flavour == "package-lock":
        blocks.append("{\n  \"name\": \"" + g.ch(NOUNS) + "\",\n  \"lockfileVersion\": 3,\n  \"packages\": {")
        while size < target:
            p = g.ch(g.v.pkgs)
            b = (f"    \"node_modules/{p}\": {{\n      \"version\": \"{g.semver()}\",\n"
                 f"      \"resolved\": \"https://registry.npmjs.org/{p}/-/{p.split('/')[-1]}-{g.semver()}.tgz\",\n"
                 f"      \"integrity\": \"sha512-{g.b64(64)}\",\n      \"license\": \"MIT\"\n    }},")
            blocks.append(b)
            size += len(b) + 1
        blocks.append("  }\n}")
    elif flavour == "yarn":
        blocks.append("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1")
        while size < target:
            p = g.ch(g.v.pkgs)
            v = g.semver()
            b = (f"\"{p}@^{v}\":\n  version \"{v}\"\n  resolved \"https://registry.yarnpkg.com/{p}/-/{p.split('/')[-1]}-{v}.tgz#{g.hexs(40)}\"\n"
                 f"  integrity sha512-{g.b64(64)}")
            blocks.append(b)
            size += len(b) + 2
    elif flavour == "cargo":
        blocks.append("# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4")
        while size < target:
            b = (f"[[package]]\nname = \"{g.snake().replace('_', '-')}\"\nversion = \"{g.semver()}\"\n"
                 f"source = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{g.hexs(64)}\"")
            if g.rand() < 0.5:
                b += "\ndependencies = [\n" + "\n".join(f" \"{g.snake().replace('_', '-')}\"," for _ in range(g.ri(1, 6))) + "\n]"
            blocks.append(b)
            size += len(b) + 2
    else:  # go.sum
        while size < target:
            m = f"github.com/{g.ch(ORGS)}/{g.ch(NOUNS)}-{g.ch(NOUNS)}"
            v = g.semver()
            b = f"{m} v{v} h1:{g.b64(32)}\n{m} v{v}/go.mod h1:{g.b64(32)}"
            blocks.append(b)
            size += len(b) + 1
    return blocks


def gen_config(g, target, flavour):
    blocks, size = [], 0
    while size < target:
        x = g.rand()
        if g.dense and x < 0.6:
            blocks.append(g.dense_line("env" if flavour == "env" else "toml"))
        elif flavour == "env":
            blocks.append(g.ch([f"{g.const()}={g.ch([g.num(), 'true', 'false', g.url(), g.snake()])}",
                                f"# {g.sentence()}",
                                f"{g.ch(['DATABASE_PASSWORD', 'API_KEY', 'JWT_SECRET', 'AUTH_TOKEN'])}=",
                                f"{g.const()}_URL={g.url()}"]))
        elif flavour == "toml":
            blocks.append(g.ch([f"[{g.snake()}]", f"{g.snake()} = {g.ch([g.num(), json.dumps(g.strlit()), 'true'])}",
                                f"# {g.sentence()}"]))
        elif flavour == "ini":
            blocks.append(g.ch([f"[{g.snake()}]", f"{g.snake()} = {g.ch([g.num(), g.strlit(), 'yes'])}",
                                f"; {g.sentence()}"]))
        else:  # properties
            blocks.append(g.ch([f"{g.snake().replace('_', '.')}={g.ch([g.num(), g.strlit(), 'true'])}",
                                f"# {g.sentence()}", "spring.datasource.password=${DB_PASSWORD}"]))
        size += len(blocks[-1]) + 1
    return blocks


def gen_pem_file(g, target):
    # a certificate chain (public material) as the file's own content; plants add the private key
    blocks = []
    for _ in range(g.ri(1, 2)):
        blocks.append("-----BEGIN CERTIFICATE-----\n" + pem_body(g.r, 18, "MIID") + "\n-----END CERTIFICATE-----")
    return blocks


# --------------------------------------------------------------------------------------------
# Planting
# --------------------------------------------------------------------------------------------

def plant_block(g, lang, kind, key, multi):
    """A block of text in `lang` that holds `key` the way people leave keys in such files."""
    prov = provider_of(kind)
    var = g.ch(ENV_NAMES.get(prov, ["SECRET_KEY"]))
    aws_secret = None
    if kind == "aws-access-key":
        aws_secret = rand_str(g.r, ALNUM + "/+", 40)
    if multi:
        if lang in ("py",):
            return f"PRIVATE_KEY = \"\"\"{key}\n\"\"\""
        if lang in ("js", "ts"):
            return f"const privateKey = `{key}\n`;"
        if lang == "yaml":
            return "tls.key: |\n" + "\n".join("  " + l for l in key.split("\n"))
        if lang == "md":
            return f"```\n{key}\n```"
        return key
    if lang == "env":
        if aws_secret:
            return f"AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={aws_secret}"
        return f"{var}={key}"
    if lang == "py":
        if aws_secret:
            return f"boto3.client(\"s3\", aws_access_key_id=\"{key}\", aws_secret_access_key=\"{aws_secret}\")"
        return g.ch([f"{var} = \"{key}\"", f"client = {g.pascal()}(api_key=\"{key}\")",
                     f"DEFAULTS = {{\"token\": \"{key}\"}}"])
    if lang in ("js", "ts"):
        if aws_secret:
            return f"const s3 = new S3Client({{ credentials: {{ accessKeyId: \"{key}\", secretAccessKey: \"{aws_secret}\" }} }});"
        return g.ch([f"const {var} = \"{key}\";", f"export const config = {{ apiKey: '{key}' }};",
                     f"headers.Authorization = `Bearer {key}`;"])
    if lang == "bundle":
        if aws_secret:
            return f"var Qk={{accessKeyId:\"{key}\",secretAccessKey:\"{aws_secret}\"}}"
        return f"var Zq={{apiKey:\"{key}\",baseURL:\"{g.url()}\"}}"
    if lang == "go":
        if aws_secret:
            return f"var awsCreds = credentials.NewStaticCredentials(\"{key}\", \"{aws_secret}\", \"\")"
        return f"const {g.camel()}Token = \"{key}\""
    if lang == "rs":
        if aws_secret:
            return f"const AWS_ACCESS_KEY_ID: &str = \"{key}\";\nconst AWS_SECRET_ACCESS_KEY: &str = \"{aws_secret}\";"
        return f"const {var}: &str = \"{key}\";"
    if lang == "java":
        if aws_secret:
            return f"    private static final BasicAWSCredentials CREDS = new BasicAWSCredentials(\"{key}\", \"{aws_secret}\");"
        return f"    private static final String {var} = \"{key}\";"
    if lang == "json":
        if aws_secret:
            return f"  \"accessKeyId\": \"{key}\",\n  \"secretAccessKey\": \"{aws_secret}\""
        return f"  \"{g.ch(['apiKey', 'token', 'authToken', 'secret'])}\": \"{key}\""
    if lang == "yaml":
        if aws_secret:
            return f"aws_access_key_id: {key}\naws_secret_access_key: {aws_secret}"
        return f"{var.lower()}: {key}"
    if lang == "md":
        if aws_secret:
            return f"```bash\nexport AWS_ACCESS_KEY_ID={key}\nexport AWS_SECRET_ACCESS_KEY={aws_secret}\n```"
        return f"```bash\nexport {var}={key}\n```"
    if lang == "html":
        return f"  <script>window.__CONFIG__ = {{ apiKey: \"{key}\" }};</script>"
    if lang in ("toml", "ini", "properties"):
        if aws_secret:
            return f"aws_access_key_id = {key}\naws_secret_access_key = {aws_secret}"
        return f"{var.lower()} = \"{key}\"" if lang == "toml" else f"{var.lower()}={key}"
    return f"{var}={key}"


def insert_plants(g, blocks, lang, plants):
    """Inserts plant blocks between content blocks; returns (text, [(plant_index, line)])."""
    if lang == "bundle":
        banner, code = blocks[0], blocks[1]
        locs = []
        pieces, last = [], 0
        cuts = sorted(g.ri(len("!function(){"), max(len("!function(){"), len(code) - 10)) for _ in plants)
        for (idx, kind, key, multi), cut in zip(plants, cuts):
            semi = code.find(";", cut)
            if semi < 0:
                semi = len(code) - 4
            pieces.append(code[last:semi + 1])
            pieces.append(plant_block(g, "bundle", kind, key, multi) + ";")
            last = semi + 1
            locs.append(idx)
        pieces.append(code[last:])
        out = [banner, "".join(pieces)] + blocks[2:]
        return "\n".join(out) + "\n", [(i, 2, 2) for i in locs]
    positions = sorted(g.ri(1, max(1, len(blocks))) for _ in plants)
    out, locs = [], []
    sep = ",\n" if lang == "json" else ("\n\n" if lang in ("js", "ts", "py", "go", "rs", "java", "md", "css") else "\n")
    pi = 0
    line = 1
    if lang == "json":
        out.append("{")
        line += 1
    for bi in range(len(blocks) + 1):
        while pi < len(plants) and positions[pi] == bi:
            idx, kind, key, multi = plants[pi]
            text = plant_block(g, lang, kind, key, multi)
            before = text[: text.find(key.split("\n")[0])]
            locs.append((idx, line + before.count("\n"), line + text.count("\n")))
            out.append(text)
            line += text.count("\n") + sep.count("\n")
            pi += 1
        if bi < len(blocks):
            out.append(blocks[bi])
            line += blocks[bi].count("\n") + sep.count("\n")
    body = sep.join(out[1:] if lang == "json" else out)
    if lang == "json":
        return "{\n" + body + "\n}\n", locs
    return body + "\n", locs


# --------------------------------------------------------------------------------------------
# The plan: which files, how big, which plants
# --------------------------------------------------------------------------------------------

# kind -> (share of bytes, median size, sigma, max size, lang for plants, max files or None)
KINDS = {
    "ts":        (0.15, 5000, 1.0, 400_000, "ts", None),
    "js":        (0.08, 4500, 1.0, 400_000, "js", None),
    "bundle":    (0.10, 3 * MB, 0.5, 9 * MB, "bundle", None),
    "py":        (0.10, 5000, 1.0, 300_000, "py", None),
    "go":        (0.10, 6000, 1.0, 300_000, "go", None),
    "rs":        (0.07, 6000, 1.0, 300_000, "rs", None),
    "java":      (0.08, 5000, 0.9, 200_000, "java", None),
    "json":      (0.07, 3000, 1.4, 4 * MB, "json", None),
    "yaml":      (0.04, 1500, 1.0, 100_000, "yaml", None),
    "md":        (0.06, 4000, 1.0, 200_000, "md", None),
    "html":      (0.03, 8000, 1.0, 300_000, "html", None),
    "css":       (0.04, 6000, 1.0, 400_000, None, None),
    "lock":      (0.08, 300_000, 1.0, 6 * MB, None, None),
    "config":    (0.01, 600, 0.8, 20_000, "config", 60),
    "pem":       (0.01, 2000, 0.1, 4000, "pem", 6),
}

# where planted keys are left: share by kind of file (private keys have their own table)
PLANT_SHARE = {"config": 25, "ts": 12, "js": 8, "py": 12, "bundle": 8, "json": 8, "yaml": 8,
               "md": 7, "go": 4, "rs": 3, "java": 4, "html": 1}
PEM_PLANT_SHARE = {"pem": 10, "yaml": 4, "py": 2, "js": 2, "md": 2}

PKG_NAMES = ["web", "admin", "mobile", "ui-kit", "design-system", "api-client", "sdk", "shared",
             "analytics", "checkout", "auth", "notifications", "search", "editor", "charts",
             "billing", "onboarding", "i18n", "forms", "router", "state", "telemetry", "player", "maps"]
SVC_NAMES = ["gateway", "orders", "payments", "inventory", "users", "ledger", "ingest", "scheduler",
             "mailer", "reports", "pricing", "catalog", "fraud", "exports", "webhooks", "ml-serving"]


FIXED_NAMES = {"package.json", "README.md", "CHANGELOG.md", "Cargo.lock", "yarn.lock", "package-lock.json",
               "go.sum", "docker-compose.yml", "application.properties", "config.ini"}


def plan_tree(seed, total_bytes, n_keys, dense):
    r = random.Random(f"plan:{seed}")
    files = []
    used_paths = set()

    def uniq(path):
        # a clash renames the directory, so that file names keep their meaning (Cargo.lock, .env)
        d, base = os.path.split(path)
        stem, ext = os.path.splitext(base)
        fixed = base.startswith(".") or base in FIXED_NAMES
        p, i = path, 2
        while p in used_paths:
            p = f"{d}-{i}/{base}" if fixed else f"{d}/{stem}-{i}{ext}"
            i += 1
        used_paths.add(p)
        return p

    def sub():
        return "/".join(r.choice(NOUNS) for _ in range(r.randint(0, 3)))

    def name(ext):
        parts = [r.choice(NOUNS) for _ in range(r.randint(1, 2))]
        return (r.choice(["", "use-", "", ""]) + "-".join(parts) if ext in ("ts", "js", "tsx") else "_".join(parts)) + "." + ext

    def path_for(kind):
        p = r.choice(PKG_NAMES)
        s = r.choice(SVC_NAMES)
        if kind == "ts":
            ext = r.choice(["ts", "ts", "tsx"])
            return f"packages/{p}/src/{sub()}/{name(ext)}".replace("//", "/")
        if kind == "js":
            return r.choice([f"packages/{p}/lib/{sub()}/{name('js')}", f"tools/{r.choice(NOUNS)}/{name('js')}",
                             f"packages/{p}/test/{name('test.js')}"]).replace("//", "/")
        if kind == "bundle":
            return f"apps/{r.choice(['web', 'admin', 'docs'])}/dist/assets/{r.choice(['index', 'vendor', 'main', 'chunk'])}-{r.getrandbits(32):08x}.js"
        if kind == "py":
            return r.choice([f"services/{s}/app/{sub()}/{name('py')}", f"ml/{r.choice(NOUNS)}/{name('py')}",
                             f"services/{s}/tests/test_{name('py')}"]).replace("//", "/")
        if kind == "go":
            return f"services/{s}/internal/{sub()}/{name('go')}".replace("//", "/")
        if kind == "rs":
            return f"crates/{r.choice(NOUNS)}-{r.choice(NOUNS)}/src/{name('rs')}"
        if kind == "java":
            return f"services/{s}-jvm/src/main/java/com/acme/{r.choice(NOUNS)}/{''.join(x.capitalize() for x in name('java')[:-5].split('_'))}.java"
        if kind == "json":
            return r.choice([f"packages/{p}/package.json", f"config/{name('json')}", f"packages/{p}/fixtures/{name('json')}",
                             f"packages/{p}/src/locales/{r.choice(['en', 'de', 'fr', 'ja', 'pt-BR'])}.json", f"data/{name('json')}"])
        if kind == "yaml":
            return r.choice([f"deploy/k8s/{s}/{name('yaml')}", f".github/workflows/{name('yml')}",
                             f"services/{s}/docker-compose.yml", f"config/{name('yaml')}"])
        if kind == "md":
            return r.choice([f"docs/{sub()}/{name('md')}", f"packages/{p}/README.md", f"services/{s}/README.md",
                             f"packages/{p}/CHANGELOG.md"]).replace("//", "/")
        if kind == "html":
            return r.choice([f"apps/web/public/{name('html')}", f"docs/site/{name('html')}"])
        if kind == "css":
            return r.choice([f"packages/{p}/src/styles/{name('css')}", f"apps/web/dist/assets/index-{r.getrandbits(32):08x}.css"])
        if kind == "lock":
            return r.choice([f"packages/{p}/package-lock.json", f"packages/{p}/yarn.lock", f"services/{s}-rs/Cargo.lock",
                             f"services/{s}/go.sum", f"crates/{r.choice(NOUNS)}-{r.choice(NOUNS)}/Cargo.lock"])
        if kind == "config":
            return r.choice([f"services/{s}/.env", f"services/{s}/.env.local", f"packages/{p}/.env.production",
                             f"config/{name('toml')}", f"services/{s}/config.ini", f"services/{s}-jvm/src/main/resources/application.properties",
                             f"packages/{p}/.npmrc", f"apps/{r.choice(['web', 'admin', 'docs'])}/.env"])
        if kind == "pem":
            return f"deploy/certs/{r.choice(SVC_NAMES)}.{r.choice(['pem', 'key'])}"
        raise ValueError(kind)

    for kind, (share, median, sigma, mx, _lang, max_files) in KINDS.items():
        budget = int(total_bytes * share)
        got = 0
        count = 0
        while (got < budget or count < 1) and (max_files is None or count < max_files):
            size = int(min(mx, max(200, r.lognormvariate(math.log(median), sigma))))
            size = min(size, max(200, budget - got)) if budget - got > 200 else size
            files.append([uniq(path_for(kind)), kind, size, r.getrandbits(64), []])
            got += size
            count += 1

    # choose the keys: first the kind of file they are left in, then the file
    by_kind = {}
    for j, f in enumerate(files):
        by_kind.setdefault(f[1], []).append(j)
    kinds, weights = zip(*KEY_WEIGHTS)
    for i in range(n_keys):
        kind = r.choices(kinds, weights)[0]
        table = PEM_PLANT_SHARE if kind.startswith("private-key") else PLANT_SHARE
        fk = r.choices(list(table), list(table.values()))[0]
        cands = by_kind.get(fk) or by_kind["ts"]
        # bigger files are a little likelier to hold a key, as in life
        j = r.choices(cands, [1 + min(files[c][2], 100_000) / 20_000 for c in cands])[0]
        files[j][4].append((i, kind))
    return files


def lang_of(kind, path):
    if kind == "config":
        base = os.path.basename(path)
        if base.startswith(".env") or base == ".npmrc":
            return "env"
        return {".toml": "toml", ".ini": "ini", ".properties": "properties"}.get(os.path.splitext(path)[1], "env")
    if kind == "ts":
        return "ts"
    return KINDS[kind][4] or kind


_VOCAB = None


def build_file(args):
    out_dir, seed, dense, entry = args
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = Vocab(seed)
    path, kind, size, fseed, plants = entry
    r = random.Random(fseed)
    g = Gen(r, _VOCAB, dense)
    keyrng = random.Random(f"keys:{seed}:{fseed}")
    made = []
    for idx, kkind in plants:
        key, multi = make_key(keyrng, kkind)
        made.append((idx, kkind, key, multi))
    lang = lang_of(kind, path)
    if kind in ("ts", "js"):
        blocks = gen_js(g, size, ts=(kind == "ts"))
    elif kind == "bundle":
        blocks = gen_bundle(g, size)
    elif kind == "py":
        blocks = gen_py(g, size)
    elif kind == "go":
        blocks = gen_go(g, size)
    elif kind == "rs":
        blocks = gen_rs(g, size)
    elif kind == "java":
        blocks = gen_java(g, size)
    elif kind == "json":
        blocks = gen_json(g, size)
    elif kind == "yaml":
        blocks = gen_yaml(g, size)
    elif kind == "md":
        blocks = gen_md(g, size)
    elif kind == "html":
        blocks = gen_html(g, size)
    elif kind == "css":
        blocks = gen_css(g, size)
    elif kind == "lock":
        base = os.path.basename(path)
        flavour = {"package-lock.json": "package-lock", "yarn.lock": "yarn", "Cargo.lock": "cargo"}.get(base, "gosum")
        blocks = gen_lock(g, size, flavour)
    elif kind == "config":
        blocks = gen_config(g, size, lang)
    elif kind == "pem":
        blocks = gen_pem_file(g, size)
    else:
        raise ValueError(kind)
    if lang == "java" and made:
        # keep plants inside the class body
        tail = blocks.pop()
        text, locs = insert_plants(g, blocks, lang, made)
        text = text + tail + "\n"
    else:
        text, locs = insert_plants(g, blocks, lang, made)
    data = text.encode()
    full = os.path.join(out_dir, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    # verify each plant really sits on the recorded line
    lines = None
    manifest = []
    for (idx, line, end_line), (_i, kkind, key, _m) in zip(sorted(locs, key=lambda t: t[0]), sorted(made, key=lambda t: t[0])):
        first = key.split("\n")[0]
        if lines is None:
            lines = text.split("\n")
        got = lines[line - 1]
        col = got.find(first)
        if col < 0:
            raise AssertionError(f"plant {idx} not on line {line} of {path}")
        # end_line: the plant's last line (PEM blocks, AWS key id + secret pairs span several)
        manifest.append({"id": idx, "kind": kkind, "path": path, "line": line, "column": col + 1,
                         "end_line": end_line,
                         "preview": first[:8] + "…" + first[-4:] if len(first) > 16 else first[:6] + "…",
                         "sha256": hashlib.sha256(key.encode()).hexdigest()})
    return len(data), kind, manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--size-mb", type=float, default=400,
                    help="target size in MiB (default 400); files end on whole blocks, so the tree "
                         "comes out about 5%% larger")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keys", type=int, default=200, help="fake keys to plant (default 200)")
    ap.add_argument("--dense", action="store_true", help="text dense with keywords and near misses")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    a = ap.parse_args()

    out = os.path.abspath(a.out_dir)
    here = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    if out == here or out.startswith(here + os.sep):
        sys.exit(f"refusing to write inside the repository ({here}); pick a directory outside it")
    if os.path.exists(out):
        if not a.force and os.listdir(out):
            sys.exit(f"{out} exists and is not empty (use --force to replace it)")
        shutil.rmtree(out)
    os.makedirs(out)

    t0 = time.time()
    files = plan_tree(a.seed, int(a.size_mb * MB), a.keys, a.dense)
    jobs = [(out, a.seed, a.dense, f) for f in files]
    total, by_kind, manifest = 0, {}, []
    if a.jobs > 1:
        with Pool(a.jobs) as pool:
            results = pool.imap(build_file, jobs, chunksize=16)
            for n, kind, m in results:
                total += n
                by_kind[kind] = by_kind.get(kind, [0, 0])
                by_kind[kind][0] += 1
                by_kind[kind][1] += n
                manifest.extend(m)
    else:
        for j in jobs:
            n, kind, m = build_file(j)
            total += n
            by_kind.setdefault(kind, [0, 0])
            by_kind[kind][0] += 1
            by_kind[kind][1] += n
            manifest.extend(m)
    manifest.sort(key=lambda e: e["id"])
    meta = {"generator": "keyguard scripts/gen-bench-tree.py", "seed": a.seed, "size_mb": a.size_mb,
            "dense": a.dense, "files": len(files), "bytes": total,
            "note": "FAKE keys with random bodies made by the generator; none is real.",
            "planted": manifest}
    with open(out.rstrip("/") + ".planted.json", "w") as f:
        json.dump(meta, f, indent=1)
    dt = time.time() - t0
    print(f"wrote {len(files)} files, {total / MB:.1f} MiB to {out} in {dt:.1f}s "
          f"({len(manifest)} fake keys planted; manifest {out.rstrip('/')}.planted.json)")
    for kind, (n, b) in sorted(by_kind.items(), key=lambda kv: -kv[1][1]):
        print(f"  {kind:8s} {n:7d} files {b / MB:9.1f} MiB")


if __name__ == "__main__":
    main()
