//! Provider adapters: one module per provider, each declaring what it can do with a key — verify
//! (is it live?), create (a new key by API), revoke (kill a key by API) — and the dashboard and
//! steps for what must be done by hand. Knows nothing of the command line, prompts or reports.
//!
//! Rules every adapter follows (enforced by `http`): requests go only to the provider's official
//! host or its `KEYGUARD_<PROVIDER>_API_BASE` override; no redirect is followed; one deadline per
//! call; 429, 5xx, redirects and transport failures are `unknown`, never `dead`; a verification
//! never spends money and never changes anything; the key travels only in the header the
//! provider expects, and no text that leaves an adapter (verdict details, errors) quotes it.

pub mod batch;
pub mod http;

mod anthropic;
mod aws;
mod cohere;
mod deepseek;
mod github;
mod google;
mod groq;
mod huggingface;
mod mistral;
mod openai;
mod openrouter;
mod replicate;
mod sendgrid;
mod slack;
mod stripe;
mod twilio;
mod xai;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use crate::finding::Secret;
pub use http::{Base, BaseError, CallError, DEFAULT_TIMEOUT, Http, Reply};

/// What a verification concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Live,
    Dead,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Dead => "dead",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verification's answer: the status, what the provider said of the key's owner (account,
/// key name) when it says anything, and why, in keyguard's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// The account, organisation or key name the provider reported, if any.
    pub account: Option<String>,
    /// One line: why this status (e.g. "HTTP 401 invalid_api_key", "timed out after 10s").
    pub detail: String,
}

impl Verdict {
    pub fn live(account: Option<String>, detail: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Live,
            account: account.map(|a| crate::sanitize::escape(&a).into_owned()),
            detail: detail.into(),
        }
    }

    pub fn dead(detail: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Dead,
            account: None,
            detail: detail.into(),
        }
    }

    pub fn unknown(detail: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Unknown,
            account: None,
            detail: detail.into(),
        }
    }

    /// Removes every copy of `key` from the texts a provider filled (some echo the key in error
    /// messages or names). Adapters call it before returning.
    /// The detail is escaped too: adapters put provider text in it (Slack's workspace URL), and
    /// it reaches terminals and the incident record.
    pub fn scrubbed(mut self, key: &Secret) -> Verdict {
        self.detail = crate::sanitize::escape(&scrub(&self.detail, key)).into_owned();
        self.account = self.account.map(|a| scrub(&a, key));
        self
    }
}

/// `text` with the key, and any run of key-like characters sharing 8 or more consecutive
/// characters with it, replaced by `<key>`. Providers quote a key's head ("Incorrect API key
/// provided: sk-proj-abc***xyz") and may wrap it in anything (`key=…`, `"…"`, `token_…`, a tab,
/// a JSON field we print as an account name), so a run is cut only at characters the key does
/// not contain, and it goes if any 8 of its characters in a row are in the key.
pub fn scrub(text: &str, key: &Secret) -> String {
    let k = String::from_utf8_lossy(key.expose());
    let k = k.trim();
    if k.is_empty() {
        return text.to_string();
    }
    let out = text.replace(k, "<key>");
    const QUOTE: usize = 8;
    if k.chars().count() < QUOTE {
        return out;
    }
    let in_run = |c: char| c.is_alphanumeric() || (!c.is_whitespace() && k.contains(c));
    // One string per run, its 8-character windows sliced from it (the proxy scrubs forwarded
    // headers on every request: no allocation per window).
    let quotes_key = |run: &[char]| {
        let s: String = run.iter().collect();
        let at: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        at.windows(QUOTE + 1)
            .any(|w| k.contains(&s[w[0]..w[QUOTE]]))
    };
    let chars: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while i < chars.len() {
        if !in_run(chars[i]) {
            result.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && in_run(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        if quotes_key(run) {
            result.push_str("<key>");
        } else {
            result.extend(run);
        }
    }
    result
}

/// What an adapter can do by API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub verify: bool,
    pub create: bool,
    pub revoke: bool,
}

/// What a person does by hand: where, and the steps.
#[derive(Debug, Clone, Copy)]
pub struct Manual {
    /// Where keys are managed (create, delete, roll).
    pub dashboard: &'static str,
    /// Steps to create a replacement key by hand.
    pub create: &'static [&'static str],
    /// Steps to revoke (delete, disable) the old key by hand.
    pub revoke: &'static [&'static str],
    /// Where to look for use of the key by someone else (usage, billing, audit log).
    pub usage: &'static str,
}

/// An admin credential some adapters need for `create` or `revoke`: what it is, and the
/// environment variable or keychain entry it is read from (never argv).
#[derive(Debug, Clone, Copy)]
pub struct AdminSpec {
    /// e.g. "an OpenAI admin key (sk-admin-…, from an organization Owner)".
    pub what: &'static str,
    /// Environment variable read when no `--admin-key NAME` keychain entry is named.
    pub env: &'static str,
    /// Provider rule ids the admin credential's format must match (empty: any).
    pub rules: &'static [&'static str],
}

/// A non-secret setting an adapter needs for some operations (an OpenAI project id, an AWS user
/// name), given as `--param NAME=VALUE` or `KEYGUARD_<PROVIDER>_<NAME>`.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub help: &'static str,
}

/// Which rules find the two halves of a two-part key.
#[derive(Debug, Clone, Copy)]
pub struct Pairing {
    pub id_rules: &'static [&'static str],
    pub secret_rules: &'static [&'static str],
}

/// A key an adapter made.
pub struct Created {
    pub key: Secret,
    /// The provider's id for it, if it has one.
    pub id: Option<String>,
    /// What the provider calls it (its name or label).
    pub name: Option<String>,
    pub detail: String,
}

/// What a revocation did.
#[derive(Debug, Clone)]
pub struct Revoked {
    /// e.g. "deleted key key_abc from project proj_x".
    pub detail: String,
    /// False when the provider's own word is that the action can be undone (AWS Inactive,
    /// Google undelete within 30 days, Anthropic inactive).
    pub permanent: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider} has no API for this; do it by hand")]
    NotSupported { provider: &'static str },
    #[error("this needs {what}; set {env} or name a keychain entry with --admin-key NAME")]
    NeedsAdmin {
        what: &'static str,
        env: &'static str,
    },
    #[error("this needs the {provider} setting `{name}` ({help}): pass --param {name}=VALUE")]
    NeedsParam {
        provider: &'static str,
        name: &'static str,
        help: &'static str,
    },
    #[error("{0}")]
    Call(#[from] CallError),
    /// The provider answered, and refused or could not do it; in keyguard's words.
    #[error("{0}")]
    Refused(String),
}

impl ProviderError {
    pub fn refused(reply: &Reply, what: &str) -> ProviderError {
        let code = error_code(&reply.json());
        ProviderError::Refused(match code {
            Some(c) => format!("{what}: HTTP {} ({c})", reply.status),
            None => format!("{what}: HTTP {}", reply.status),
        })
    }
}

/// Non-secret settings for one run.
pub type Params = BTreeMap<String, String>;

/// Everything an adapter call may use. Built per provider by the command.
pub struct Cx<'a> {
    pub http: &'a Http,
    pub provider: &'static str,
    /// `KEYGUARD_<PROVIDER>_API_BASE`, resolved by the command (`http::override_base`): when set
    /// it replaces every official host of the provider.
    pub base_override: Option<&'a Base>,
    /// The admin credential, when the user configured one.
    pub admin: Option<&'a Secret>,
    pub params: &'a Params,
}

impl Cx<'_> {
    /// The base for one of the provider's official hosts (or the override).
    pub fn base(&self, official: &'static str) -> Base {
        match self.base_override {
            Some(b) => b.clone(),
            None => Base::official(official),
        }
    }

    pub fn param(&self, spec: &ParamSpec) -> Result<&str, ProviderError> {
        self.params
            .get(spec.name)
            .map(String::as_str)
            .ok_or(ProviderError::NeedsParam {
                provider: self.provider,
                name: spec.name,
                help: spec.help,
            })
    }

    pub fn admin(&self, spec: &AdminSpec) -> Result<&Secret, ProviderError> {
        self.admin.ok_or(ProviderError::NeedsAdmin {
            what: spec.what,
            env: spec.env,
        })
    }

    /// Sends `request`, mapping a transport failure to an `unknown` verdict.
    pub fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<Reply, Verdict> {
        self.http
            .send(request)
            .map_err(|e| Verdict::unknown(e.to_string()))
    }
}

/// One run's network side: the client, and each provider's base override checked once (an
/// invalid `KEYGUARD_<PROVIDER>_API_BASE` is an error before any request).
pub struct Session {
    http: Http,
    overrides: BTreeMap<&'static str, Option<Base>>,
}

impl Session {
    pub fn new(timeout: std::time::Duration) -> Session {
        Session {
            http: Http::new(timeout),
            overrides: BTreeMap::new(),
        }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Resolves `p`'s base override. Returns the warning to print when one is set (once per
    /// provider per run).
    pub fn prepare(&mut self, p: &dyn Provider) -> Result<Option<String>, BaseError> {
        if self.overrides.contains_key(p.id()) {
            return Ok(None);
        }
        let base = http::override_base(p.id())?;
        let warning = base.as_ref().map(|b| {
            format!(
                "{} is set: {} requests go to {} instead of the official host",
                http::override_var(p.id()),
                p.name(),
                crate::sanitize::escape(b.url())
            )
        });
        self.overrides.insert(p.id(), base);
        Ok(warning)
    }

    /// Points `p` at `base` without reading the environment (tests of code that takes a
    /// `Session`; setting variables in a multi-threaded test process is not sound).
    pub fn set_override(&mut self, p: &dyn Provider, base: Base) {
        self.overrides.insert(p.id(), Some(base));
    }

    /// The context for calls to `p` (`prepare` first; unprepared providers use official hosts).
    pub fn cx<'a>(
        &'a self,
        p: &dyn Provider,
        admin: Option<&'a Secret>,
        params: &'a Params,
    ) -> Cx<'a> {
        Cx {
            http: &self.http,
            provider: p.id(),
            base_override: self.overrides.get(p.id()).and_then(Option::as_ref),
            admin,
            params,
        }
    }
}

/// One provider. Implementations are unit structs registered in `ALL`.
pub trait Provider: Send + Sync {
    /// The catalogue's provider id (`openai`, `google`): the one findings carry.
    fn id(&self) -> &'static str;
    /// Other names a user may type (`gemini` for `google`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// The provider's name for people.
    fn name(&self) -> &'static str;
    /// Catalogue rule ids whose keys this adapter can verify. Findings of other rules of the same
    /// provider (an OAuth client id, a webhook URL) are not keys it can check.
    fn rules(&self) -> &'static [&'static str];
    fn capabilities(&self) -> Capabilities;
    fn manual(&self) -> Manual;
    fn admin(&self) -> Option<AdminSpec> {
        None
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    /// For keys made of two parts (AWS access key id + secret, Twilio SID + secret): the adapter
    /// takes them joined as `ID:SECRET`, and `scan --verify` joins an id finding with a secret
    /// finding of the same file to verify them together.
    fn pairing(&self) -> Option<Pairing> {
        None
    }
    /// Checks `key` looks like one of this provider's keys before any network call. The default
    /// asks the catalogue which rule the whole value matches.
    fn check_format(&self, key: &Secret) -> Result<(), String> {
        check_format_by_rules(self.name(), self.rules(), key)
    }
    /// The least time between the starts of two verification requests to this provider when
    /// many keys are checked (`keyguard verify`, `scan --verify`): 500 keys of one provider must
    /// not look like an attack or trip its rate limit.
    fn min_interval(&self) -> std::time::Duration {
        batch::DEFAULT_MIN_INTERVAL
    }
    /// Is `key` live? Never changes anything, never spends money.
    fn verify(&self, cx: &Cx, key: &Secret) -> Verdict;
    fn create(&self, _cx: &Cx) -> Result<Created, ProviderError> {
        Err(ProviderError::NotSupported {
            provider: self.name(),
        })
    }
    fn revoke(&self, _cx: &Cx, _key: &Secret) -> Result<Revoked, ProviderError> {
        Err(ProviderError::NotSupported {
            provider: self.name(),
        })
    }
    /// `create` when the key being replaced is known, as in the rotate playbook. Adapters whose
    /// new key depends on the old one (its kind, its owner, or the old key itself serving as the
    /// credential, as an AWS user may manage their own access keys) override it; the default
    /// ignores `old`.
    /// Whether `create_replacing` can work with no admin credential, the old key serving as the
    /// credential (an AWS user manages their own access keys; a Twilio key pair makes its
    /// sibling). The rotate playbook then tries the API before asking for a key by hand.
    fn creates_with_old_key(&self) -> bool {
        false
    }
    fn create_replacing(&self, cx: &Cx, old: &Secret) -> Result<Created, ProviderError> {
        let _ = old;
        self.create(cx)
    }
}

/// Every adapter, in the order `keyguard rotate --help` lists them.
static ALL: &[&dyn Provider] = &[
    // LLM providers first: what keyguard's users leak most.
    &openai::OpenAi,
    &anthropic::Anthropic,
    &google::Google,
    &groq::Groq,
    &mistral::Mistral,
    &openrouter::OpenRouter,
    &xai::Xai,
    &deepseek::DeepSeek,
    &cohere::Cohere,
    &huggingface::HuggingFace,
    &replicate::Replicate,
    // Then the rest of the stack.
    &github::GitHub,
    &stripe::Stripe,
    &aws::Aws,
    &slack::Slack,
    &twilio::Twilio,
    &sendgrid::SendGrid,
];

pub fn all() -> &'static [&'static dyn Provider] {
    ALL
}

/// The adapter for a name a user typed (id or alias, any case).
pub fn find(name: &str) -> Option<&'static dyn Provider> {
    let name = name.to_ascii_lowercase();
    ALL.iter()
        .copied()
        .find(|p| p.id() == name || p.aliases().contains(&name.as_str()))
}

/// The adapter that can verify findings of `rule_id`, if any.
pub fn for_rule(rule_id: &str) -> Option<&'static dyn Provider> {
    ALL.iter().copied().find(|p| p.rules().contains(&rule_id))
}

/// The adapter and rule for a bare key value, recognised by format.
pub fn identify(key: &Secret) -> Option<(&'static dyn Provider, String)> {
    let rules = crate::keychain::matching_rules(key.expose());
    rules
        .iter()
        .find_map(|r| for_rule(r).map(|p| (p, r.clone())))
        .or_else(|| identify_pair(key))
}

/// A two-part key joined as `ID:SECRET` matches no catalogue rule whole (the rules find each half
/// by its context); the adapters that take pairs recognise it by their own `check_format`.
fn identify_pair(key: &Secret) -> Option<(&'static dyn Provider, String)> {
    if !key.expose().contains(&b':') {
        return None;
    }
    let value = key.expose();
    let id = &value[..value.iter().position(|b| *b == b':')?];
    ALL.iter().copied().find_map(|p| {
        let pairing = p.pairing()?;
        p.check_format(key).ok()?;
        // The rule of the id half (Twilio's AC… account SID or SK… API key SID), by the rule's
        // pattern alone: the catalogue rules want a keyword nearby that a bare pair lacks.
        let rule = pairing
            .id_rules
            .iter()
            .find(|r| id_pattern_matches(r, id))
            .or(pairing.id_rules.first())?;
        Some((p, rule.to_string()))
    })
}

/// Whether the built-in rule `rule_id`'s pattern matches all of `id`.
fn id_pattern_matches(rule_id: &str, id: &[u8]) -> bool {
    // The keychain's compiled built-in rules: a second `RuleSet::builtin` would compile every
    // pattern again.
    let Some(rules) = crate::keychain::builtin_rules() else {
        return false;
    };
    rules.rules().iter().filter(|r| r.id() == rule_id).any(|r| {
        r.regex().captures(id).is_some_and(|c| {
            c.get(r.secret_group())
                .is_some_and(|m| m.start() == 0 && m.end() == id.len())
        })
    })
}

/// `check_format` by the catalogue: the whole value must match one of `rules`.
pub fn check_format_by_rules(name: &str, rules: &[&str], key: &Secret) -> Result<(), String> {
    let matched = crate::keychain::matching_rules(key.expose());
    if matched.iter().any(|r| rules.contains(&r.as_str())) {
        return Ok(());
    }
    let redacted = crate::finding::redact(key.expose(), 0);
    let a = article(name);
    Err(match matched.first() {
        Some(other) => format!(
            "the key {redacted} does not look like {a} {name} key (its format matches the rule `{other}`)"
        ),
        None => format!("the key {redacted} does not look like {a} {name} key"),
    })
}

/// "a" or "an" before a provider's name, as it is said: an OpenAI, an AWS, an xAI ("ex-AI").
pub fn article(name: &str) -> &'static str {
    match name.chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U' | 'a' | 'e' | 'i' | 'o' | 'u' | 'x') => "an",
        _ => "a",
    }
}

/// A provider's machine-readable error code from common JSON error shapes: OpenAI
/// `{"error":{"code"|"type"}}`, Anthropic `{"error":{"type"}}`, Google `{"error":{"status"}}`,
/// Slack `{"error":"…"}`. Only short code-like strings are returned (never a message, which may
/// quote the key).
pub fn error_code(body: &serde_json::Value) -> Option<String> {
    let candidates = [
        body.pointer("/error/code"),
        body.pointer("/error/status"),
        body.pointer("/error/type"),
        body.pointer("/error"),
        body.pointer("/code"),
        body.pointer("/type"),
    ];
    candidates.into_iter().flatten().find_map(|v| {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let code_like = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        code_like.then_some(s)
    })
}

/// The common shape of a verification by one authenticated GET: 2xx live, `dead_statuses` dead,
/// everything else unknown. `account` reads the owner from a live reply.
pub fn verify_by_status(
    cx: &Cx,
    key: &Secret,
    request: reqwest::blocking::RequestBuilder,
    dead_statuses: &[u16],
    account: impl Fn(&serde_json::Value) -> Option<String>,
) -> Verdict {
    verify_reply(cx, key, request, |reply| {
        classify(reply, dead_statuses, account)
    })
}

/// Sends a verification request and reads its reply with `read`; a failed send is its own
/// (unknown) verdict. Either way the verdict is scrubbed of the key here, once, for every adapter.
pub fn verify_reply(
    cx: &Cx,
    key: &Secret,
    request: reqwest::blocking::RequestBuilder,
    read: impl FnOnce(&Reply) -> Verdict,
) -> Verdict {
    match cx.send(request) {
        Ok(reply) => read(&reply),
        Err(v) => v,
    }
    .scrubbed(key)
}

/// The verdict for a reply under the common rules (see `verify_by_status`).
pub fn classify(
    reply: &Reply,
    dead_statuses: &[u16],
    account: impl Fn(&serde_json::Value) -> Option<String>,
) -> Verdict {
    if let Some(why) = reply.inconclusive() {
        return Verdict::unknown(why);
    }
    let code = error_code(&reply.json());
    let with_code = |s: String| match &code {
        Some(c) => format!("{s} ({c})"),
        None => s,
    };
    if reply.is_success() {
        Verdict::live(account(&reply.json()), format!("HTTP {}", reply.status))
    } else if dead_statuses.contains(&reply.status) {
        Verdict::dead(with_code(format!("HTTP {}", reply.status)))
    } else {
        Verdict::unknown(with_code(format!("unexpected HTTP {}", reply.status)))
    }
}

/// A string field of a JSON reply, for account names.
pub fn json_str(body: &serde_json::Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(120).collect())
}

/// Runs an adapter's verification with the format checked first.
pub fn verify_checked(p: &dyn Provider, cx: &Cx, key: &Secret) -> Verdict {
    if let Err(why) = p.check_format(key) {
        return Verdict::unknown(why);
    }
    // Adapters scrub their own verdicts; this is the rotate playbook's one way in, so it does
    // not depend on each of them remembering.
    p.verify(cx, key).scrubbed(key)
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    /// A key-shaped value made at run time (no key-shaped literal in the source).
    fn fake_key(prefix: &str, seed: u64, len: usize, alphabet: &[u8]) -> Secret {
        let mut x = seed;
        let body: String = (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(x >> 33) as usize % alphabet.len()] as char
            })
            .collect();
        Secret::new(format!("{prefix}{body}").as_bytes())
    }

    #[test]
    fn scrub_removes_quotes_of_the_key_wherever_a_provider_puts_them() {
        let alnum = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let key = fake_key("sk-proj-", 7, 48, alnum);
        let k = std::str::from_utf8(key.expose()).unwrap().to_string();
        let (head, middle) = (&k[..14], &k[20..32]);
        for text in [
            format!(
                "Incorrect API key provided: key={head}***{}",
                &k[k.len() - 4..]
            ),
            format!("{{\"name\":\"{head}\"}}"),
            format!("token_{middle}_revoked"),
            format!("owner\t{middle}"),
            format!("(\u{2018}{head}\u{2019})"),
            format!("user:{k}@example"),
            format!("{k}{k}"),
        ] {
            let out = scrub(&text, &key);
            for i in 0..=k.len() - 8 {
                assert!(!out.contains(&k[i..i + 8]), "{text:?} -> {out:?}");
            }
        }
        // Text that quotes nothing of the key is left as it is.
        for plain in ["HTTP 401 (invalid_api_key)", "acme-corp: live", "sk-proj"] {
            assert_eq!(scrub(plain, &key), plain);
        }

        // A two-part key with `/` and `+` in its secret, quoted in part.
        let secret = fake_key(
            "",
            3,
            40,
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789/+",
        );
        let s = std::str::from_utf8(secret.expose()).unwrap().to_string();
        let pair = Secret::new(format!("AKIA{}:{s}", &s[..16].to_uppercase()).as_bytes());
        let out = scrub(&format!("signature for {}/… rejected", &s[..20]), &pair);
        assert!(!out.contains(&s[..8]), "{out}");

        // What a provider put in a detail cannot drive a terminal.
        let v =
            Verdict::unknown("auth.test ok (https://x.example/\x1b]0;owned\x07)").scrubbed(&key);
        assert!(!v.detail.contains('\x1b'), "{}", v.detail);

        // A short key is still removed whole.
        let short = Secret::new(b"q7Zt9");
        assert_eq!(scrub("echo q7Zt9!", &short), "echo <key>!");
    }

    /// An adapter that forgets to scrub: it echoes the key in its detail and account.
    struct Echo;
    impl Provider for Echo {
        fn id(&self) -> &'static str {
            "echo"
        }
        fn name(&self) -> &'static str {
            "Echo"
        }
        fn rules(&self) -> &'static [&'static str] {
            &[]
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                verify: true,
                create: false,
                revoke: false,
            }
        }
        fn manual(&self) -> Manual {
            Manual {
                dashboard: "",
                create: &[],
                revoke: &[],
                usage: "",
            }
        }
        fn check_format(&self, _: &Secret) -> Result<(), String> {
            Ok(())
        }
        fn verify(&self, _: &Cx, key: &Secret) -> Verdict {
            let k = String::from_utf8_lossy(key.expose()).into_owned();
            Verdict::live(Some(format!("owner of {k}")), format!("key={k}"))
        }
    }

    #[test]
    fn verify_checked_scrubs_whatever_the_adapter_returns() {
        let key = fake_key("ek_", 11, 32, b"abcdefghijklmnopqrstuvwxyz0123456789");
        let k = String::from_utf8_lossy(key.expose()).into_owned();
        let http = Http::new(std::time::Duration::from_secs(1));
        let params = Params::new();
        let cx = Cx {
            http: &http,
            provider: "echo",
            base_override: None,
            admin: None,
            params: &params,
        };
        let v = verify_checked(&Echo, &cx, &key);
        let shown = format!("{} {}", v.detail, v.account.unwrap_or_default());
        assert!(!shown.contains(&k[3..15]), "{shown}");
    }

    #[test]
    fn scrub_removes_the_key_and_quoted_heads() {
        let key = Secret::new(b"sk-proj-abcdefghijklmnopqrstuvwxyz0123456789");
        let text = "Incorrect API key provided: sk-proj-abcdefgh***6789. You can find...";
        let out = scrub(text, &key);
        assert!(!out.contains("sk-proj-abcdefgh"), "{out}");
        let full = format!(
            "key {} here",
            "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
        );
        assert_eq!(scrub(&full, &key), "key <key> here");
    }

    #[test]
    fn error_codes_are_read_but_messages_are_not() {
        let openai = serde_json::json!({"error":{"message":"Incorrect API key provided: sk-abc","type":"invalid_request_error","code":"invalid_api_key"}});
        assert_eq!(error_code(&openai).as_deref(), Some("invalid_api_key"));
        let slack = serde_json::json!({"ok":false,"error":"invalid_auth"});
        assert_eq!(error_code(&slack).as_deref(), Some("invalid_auth"));
        let message_only = serde_json::json!({"error":"Invalid API Key provided: sk_live_abc"});
        assert_eq!(error_code(&message_only), None);
    }

    /// `n` characters of `alphabet`, seeded: fake key material made at run time.
    fn fake(alphabet: &[u8], n: usize, seed: usize) -> String {
        (0..n)
            .map(|i| alphabet[(i * 7 + seed * 13 + i * i * 3) % alphabet.len()] as char)
            .collect()
    }

    #[test]
    fn a_joined_pair_is_identified_by_the_rule_of_its_id_half() {
        let hex = b"0123456789abcdef";
        let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let cases = [
            (
                format!("SK{}:{}", fake(hex, 32, 1), fake(alnum, 32, 2)),
                "twilio",
                "twilio-api-key-sid",
            ),
            (
                format!("AC{}:{}", fake(hex, 32, 3), fake(hex, 32, 4)),
                "twilio",
                "twilio-account-sid",
            ),
            (
                format!("AKIA{}:{}", fake(upper, 16, 5), fake(alnum, 40, 6)),
                "aws",
                "aws-access-key-id",
            ),
        ];
        for (key, provider, rule) in cases {
            let (p, got) = identify(&Secret::new(key.as_bytes())).expect("identified");
            assert_eq!((p.id(), got.as_str()), (provider, rule), "{}", &key[..4]);
        }
    }

    #[test]
    fn format_refusals_use_the_right_article() {
        let key = Secret::new(b"not-a-key-of-either");
        let openai = check_format_by_rules("OpenAI", &["openai-project-api-key"], &key);
        assert!(openai.unwrap_err().contains("like an OpenAI key"));
        let groq = check_format_by_rules("Groq", &["groq-api-key"], &key);
        assert!(groq.unwrap_err().contains("like a Groq key"));
        assert_eq!(article("xAI"), "an");
        assert_eq!(article("AWS"), "an");
        assert_eq!(article("Stripe"), "a");
    }

    #[test]
    fn names_and_aliases_resolve() {
        assert_eq!(find("OpenAI").map(|p| p.id()), Some("openai"));
        assert!(find("nonesuch").is_none());
        for p in all() {
            assert!(!p.rules().is_empty(), "{} lists no rules", p.id());
            let catalogue = crate::rules::RuleSet::builtin();
            for r in p.rules() {
                let rule = catalogue
                    .rules()
                    .iter()
                    .find(|x| x.spec.id == *r)
                    .unwrap_or_else(|| panic!("{}: no rule {r}", p.id()));
                assert_eq!(rule.spec.provider, p.id(), "{r}");
            }
        }
    }
}
