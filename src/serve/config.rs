//! `[serve]` and `[[serve.routes]]` of `keyguard.toml`: where the proxy listens, which origins
//! may call it, how large a body may be, how long an upstream may stay silent
//! (`upstream_idle_timeout`), and the routes (provider, where its key comes from, the upstream,
//! the allowed models, the `max_tokens` ceiling, the `anthropic-beta` names a client may use,
//! whether media may be referenced by URL or file id: `remote_media`, default false).
//!
//! `config.rs` carries `[serve]` through as an opaque table; this module parses it from the
//! file's text itself (so errors name the line, as `config.rs` does) and owns no other section.
//! `store` and `[serve.limits]` belong to the store module: they are accepted here and ignored.
//!
//! Rules this module enforces:
//! - A key is a reference, `keychain:NAME` or `env:VAR`, never a value: a literal key in a file
//!   anyone with the repository can read is refused, and the error never quotes it.
//! - A config file cannot send a key anywhere but its provider's official host (DESIGN.md,
//!   "Provider endpoints"): for `openai`, `anthropic` and `gemini` an `upstream` other than the
//!   official one is refused; only `KEYGUARD_<PROVIDER>_API_BASE` moves it. `openai-compatible`
//!   has no official host, so it needs an `upstream`, and [`Route::check_key`] refuses to send it
//!   a key whose format is a known provider's.
//!
//! Official hosts: the same as the verify adapters (`src/providers/openai.rs`, `anthropic.rs`,
//! `google.rs`).

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::finding::Secret;
use crate::providers::http::{Base, BaseError, override_base, override_var};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024;
/// The ceiling when a route names none: enough for a chat answer, small enough that a stolen
/// client token cannot run up long generations.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// Seconds an upstream may stay silent (before its head, or between two chunks of a stream):
/// long enough for a slow first token of a large model, short enough that a stalled upstream
/// does not hold a client for ever.
pub const DEFAULT_UPSTREAM_IDLE_TIMEOUT: u64 = 120;
/// Concurrent client connections: enough for a reverse proxy's pool or a team's browsers, few
/// enough that held-open connections cannot use up the process's file descriptors (often 1024),
/// which the upstream connections and the store share.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ServeConfigError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The provider API a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    Gemini,
    OpenAiCompatible,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::OpenAiCompatible,
    ];

    pub fn id(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::OpenAiCompatible => "openai-compatible",
        }
    }

    pub fn parse(name: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|p| p.id() == name)
    }

    pub fn official(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com"),
            ProviderKind::OpenAiCompatible => None,
        }
    }

    /// The request body shape the proxy rewrites for this route.
    pub fn wire(self) -> Wire {
        match self {
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => Wire::OpenAi,
            ProviderKind::Anthropic => Wire::Anthropic,
            ProviderKind::Gemini => Wire::Gemini,
        }
    }

    /// The catalogue's provider names whose keys this route may carry (`keychain::identify`).
    fn key_providers(self) -> &'static [&'static str] {
        match self {
            ProviderKind::OpenAi => &["openai"],
            ProviderKind::Anthropic => &["anthropic"],
            ProviderKind::Gemini => &["google"],
            ProviderKind::OpenAiCompatible => &[],
        }
    }
}

/// The three body and stream shapes the proxy understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

/// Where a route's provider key comes from. Holds a name, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An entry of the keychain (`keyguard key set NAME`).
    Keychain(String),
    /// An environment variable of the `serve` process.
    Env(String),
}

#[derive(Debug, Clone)]
pub struct Route {
    pub provider: ProviderKind,
    pub key: KeySource,
    pub upstream: Base,
    /// The allowed models; the first is the default.
    pub models: Vec<String>,
    /// The ceiling for `max_tokens` (and its synonyms).
    pub max_tokens: u32,
    /// `anthropic-beta` feature names a client may turn on (Anthropic routes only); empty means
    /// none is forwarded. Betas can enable costly or risky features (longer outputs, tools that
    /// act on the operator's account), so the operator opts in to each by name.
    pub anthropic_beta: Vec<String>,
    /// Whether a request may reference media by URL or file id (`remote_media = true`). Off by
    /// default: the input tokens of a fetched image, PDF or video are not in the body, so the
    /// daily token reservation cannot see them (see `rewrite`).
    pub remote_media: bool,
}

impl Route {
    pub fn default_model(&self) -> &str {
        &self.models[0]
    }

    pub fn allows(&self, model: &str) -> bool {
        self.models.iter().any(|m| m == model)
    }

    /// Checked once the key is read (at start and on reload): a key whose format is another
    /// provider's is refused, so a route (or an `openai-compatible` upstream) can never carry,
    /// say, the OpenAI key to another host. The message names the formats, never the key.
    pub fn check_key(&self, key: &Secret) -> Result<(), String> {
        let Some(id) = crate::keychain::identify(key.expose()) else {
            return Ok(());
        };
        let allowed = self.provider.key_providers();
        if allowed.contains(&id.provider.as_str()) {
            return Ok(());
        }
        Err(match self.provider {
            ProviderKind::OpenAiCompatible => format!(
                "the key for the openai-compatible route to {} has the format of {} {} ({}); a key of a known provider is sent only to that provider's route",
                self.upstream.url(),
                crate::providers::article(&id.title),
                id.title,
                id.redacted
            ),
            p => format!(
                "the key for the {} route has the format of {} {} ({}), not of a {} key",
                p.id(),
                crate::providers::article(&id.title),
                id.title,
                id.redacted,
                p.id()
            ),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Exact origins (`scheme://host[:port]`) allowed by CORS; empty means none.
    pub cors_origins: Vec<String>,
    pub max_body_bytes: u64,
    /// Longest silence allowed between two pieces of an upstream answer (and before its head).
    pub upstream_idle_timeout: std::time::Duration,
    pub routes: Vec<Route>,
    /// `metrics_token = "env:VAR"`: the variable holding the bearer token `GET /metrics` needs
    /// (required off loopback for /metrics to be served at all).
    pub metrics_token: Option<String>,
    /// At most this many client connections at once; the rest wait in the listen backlog.
    pub max_connections: usize,
}

impl ServeConfig {
    pub fn load(path: &Path) -> Result<ServeConfig, ServeConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ServeConfig::parse(&text, &path.display().to_string())
    }

    /// Parses the `[serve]` section of a keyguard.toml's text; `name` is how errors name the file.
    /// The base override variables are read from the environment.
    pub fn parse(text: &str, name: &str) -> Result<ServeConfig, ServeConfigError> {
        ServeConfig::parse_with(text, name, |p| {
            override_base(p.id()).map_err(|e| e.to_string())
        })
    }

    /// `parse` with the override lookup given (tests do not touch the process environment).
    pub fn parse_with(
        text: &str,
        name: &str,
        overrides: impl Fn(ProviderKind) -> Result<Option<Base>, String>,
    ) -> Result<ServeConfig, ServeConfigError> {
        let invalid = |message: String| ServeConfigError::Invalid {
            path: name.to_string(),
            message,
        };
        let file: RawFile = toml::from_str(text)
            .map_err(|e| invalid(crate::config::describe_toml_error(text, &e)))?;
        let Some(raw) = file.serve else {
            return Err(invalid(
                "no [serve] section (add one with at least one [[serve.routes]]; see `keyguard serve --help`)".to_string(),
            ));
        };
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = crate::config::line_col(text, span.start);
            format!("line {line}, column {col}")
        };

        let listen = match &raw.listen {
            None => DEFAULT_LISTEN.parse().expect("the default address parses"),
            Some(l) => l.get_ref().parse().map_err(|_| {
                invalid(format!(
                    "{}: `listen` must be an address and port such as \"127.0.0.1:8787\"",
                    at(l.span())
                ))
            })?,
        };
        let mut cors_origins = Vec::new();
        for o in raw.cors_origins.unwrap_or_default() {
            let origin = check_origin(o.get_ref())
                .map_err(|why| invalid(format!("{}: `cors_origins`: {why}", at(o.span()))))?;
            cors_origins.push(origin);
        }
        let max_body_bytes = match raw.max_body_bytes {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(s) => match s.get_ref() {
                RawSize::Bytes(n) if *n > 0 => *n as u64,
                RawSize::Text(t) if crate::config::parse_size(t).is_ok_and(|n| n > 0) => {
                    crate::config::parse_size(t).unwrap_or(DEFAULT_MAX_BODY_BYTES)
                }
                _ => {
                    return Err(invalid(format!(
                        "{}: `max_body_bytes` must be a positive size (try 65536 or \"64KiB\")",
                        at(s.span())
                    )));
                }
            },
        };

        let upstream_idle_timeout = match &raw.upstream_idle_timeout {
            None => DEFAULT_UPSTREAM_IDLE_TIMEOUT,
            Some(t) => u64::try_from(*t.get_ref())
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| {
                    invalid(format!(
                        "{}: `upstream_idle_timeout` must be whole seconds from 1 to 3600 (e.g. 120)",
                        at(t.span())
                    ))
                })?,
        };
        let upstream_idle_timeout = std::time::Duration::from_secs(upstream_idle_timeout);
        let metrics_token = match &raw.metrics_token {
            None => None,
            Some(t) => Some(
                t.get_ref()
                    .trim()
                    .strip_prefix("env:")
                    .filter(|var| crate::run::check_env_name(var).is_ok())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        // Never quoted: it may be the token itself.
                        invalid(format!(
                            "{}: `metrics_token` must name an environment variable, e.g. metrics_token = \"env:KEYGUARD_METRICS_TOKEN\", not hold the token",
                            at(t.span())
                        ))
                    })?,
            ),
        };
        let max_connections = match &raw.max_connections {
            None => DEFAULT_MAX_CONNECTIONS,
            Some(m) => usize::try_from(*m.get_ref())
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| {
                    invalid(format!(
                        "{}: `max_connections` must be a whole number from 1 to 100000 (default {DEFAULT_MAX_CONNECTIONS})",
                        at(m.span())
                    ))
                })?,
        };

        if raw.routes.is_empty() {
            return Err(invalid(
                "[serve] has no routes: add a [[serve.routes]] with provider, key and models"
                    .to_string(),
            ));
        }
        let mut routes = Vec::new();
        for (i, r) in raw.routes.into_iter().enumerate() {
            let here = |span: std::ops::Range<usize>| format!("{} (route {})", at(span), i + 1);
            let provider = ProviderKind::parse(r.provider.get_ref()).ok_or_else(|| {
                invalid(format!(
                    "{}: unknown provider `{}` (use one of: {})",
                    here(r.provider.span()),
                    crate::sanitize::escape(r.provider.get_ref()),
                    ProviderKind::ALL.map(ProviderKind::id).join(", ")
                ))
            })?;
            let key = parse_key_source(r.key.get_ref(), provider)
                .map_err(|why| invalid(format!("{}: `key`: {why}", here(r.key.span()))))?;
            let upstream = resolve_upstream(provider, r.upstream.as_ref(), &overrides).map_err(
                |why| match &r.upstream {
                    Some(u) => invalid(format!("{}: `upstream`: {why}", here(u.span()))),
                    None => invalid(format!("{}: {why}", here(r.provider.span()))),
                },
            )?;
            let models: Vec<String> = r
                .models
                .as_ref()
                .map(|m| m.get_ref().iter().map(|s| s.trim().to_string()).collect())
                .unwrap_or_default();
            let models_span = r.models.as_ref().map_or(r.provider.span(), |m| m.span());
            if models.is_empty() || models.iter().any(|m| !is_model_name(m)) {
                return Err(invalid(format!(
                    "{}: `models` must list at least one model name (letters, digits, `-`, `_`, `.`, `:`, `/`, `@`); the first is the default, e.g. models = [\"gpt-4o-mini\"]",
                    here(models_span)
                )));
            }
            let max_tokens = match &r.max_tokens {
                None => DEFAULT_MAX_TOKENS,
                Some(m) => u32::try_from(*m.get_ref())
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        invalid(format!(
                            "{}: `max_tokens` must be a positive whole number (the ceiling for one answer, e.g. 1024)",
                            here(m.span())
                        ))
                    })?,
            };
            let mut anthropic_beta = Vec::new();
            if let Some(b) = &r.anthropic_beta {
                if provider != ProviderKind::Anthropic {
                    return Err(invalid(format!(
                        "{}: `anthropic_beta` applies to anthropic routes only",
                        here(b.span())
                    )));
                }
                for name in b.get_ref() {
                    let name = name.trim();
                    let ok = !name.is_empty()
                        && name.len() <= 100
                        && name
                            .bytes()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
                    if !ok {
                        return Err(invalid(format!(
                            "{}: `anthropic_beta` lists beta names such as \"prompt-caching-2024-07-31\" (lowercase letters, digits and `-`), not `{}`",
                            here(b.span()),
                            crate::sanitize::escape(&name.chars().take(40).collect::<String>())
                        )));
                    }
                    anthropic_beta.push(name.to_string());
                }
            }
            routes.push(Route {
                provider,
                key,
                upstream,
                models,
                max_tokens,
                anthropic_beta,
                remote_media: r.remote_media.unwrap_or(false),
            });
        }
        // Endpoints are per API shape (`/v1/chat/completions`, `/v1/messages`, Gemini's paths),
        // so two routes of one shape would make the model the only way to pick one: refuse
        // a model listed twice for the same shape, which would be ambiguous.
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[..i] {
                if a.provider.wire() == b.provider.wire()
                    && let Some(m) = a.models.iter().find(|m| b.allows(m))
                {
                    return Err(invalid(format!(
                        "route {}: model `{m}` is already served by an earlier {} route; a model may be listed once per API",
                        i + 1,
                        b.provider.id()
                    )));
                }
            }
        }
        Ok(ServeConfig {
            listen,
            cors_origins,
            max_body_bytes,
            upstream_idle_timeout,
            routes,
            metrics_token,
            max_connections,
        })
    }

    /// Whether `listen` is on this machine only. The issue's contract: binding elsewhere needs an
    /// explicit flag (and a reminder about TLS and a reverse proxy); the server checks this.
    pub fn listen_is_loopback(&self) -> bool {
        self.listen.ip().is_loopback()
    }

    /// The route of API shape `wire` that serves `model`, or, with no model named, the first
    /// route of that shape (whose first model is the default).
    pub fn route_for(&self, wire: Wire, model: Option<&str>) -> Option<&Route> {
        let mut of_wire = self.routes.iter().filter(|r| r.provider.wire() == wire);
        match model {
            Some(m) => of_wire.find(|r| r.allows(m)),
            None => of_wire.next(),
        }
    }

    /// Every model allowed for API shape `wire`, in configuration order (for `GET /v1/models`
    /// and the "model not allowed" message).
    pub fn models_for(&self, wire: Wire) -> Vec<&str> {
        self.routes
            .iter()
            .filter(|r| r.provider.wire() == wire)
            .flat_map(|r| r.models.iter().map(String::as_str))
            .collect()
    }
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    serve: Option<RawServe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServe {
    listen: Option<Spanned<String>>,
    cors_origins: Option<Vec<Spanned<String>>>,
    max_body_bytes: Option<Spanned<RawSize>>,
    upstream_idle_timeout: Option<Spanned<i64>>,
    metrics_token: Option<Spanned<String>>,
    max_connections: Option<Spanned<i64>>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    /// Owned by the store module (`store = "sqlite:…"`, `[serve.limits]`); accepted here so the
    /// typo check above does not reject them.
    #[allow(dead_code)]
    store: Option<toml::Value>,
    #[allow(dead_code)]
    limits: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSize {
    Bytes(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    provider: Spanned<String>,
    key: Spanned<String>,
    upstream: Option<Spanned<String>>,
    models: Option<Spanned<Vec<String>>>,
    max_tokens: Option<Spanned<i64>>,
    anthropic_beta: Option<Spanned<Vec<String>>>,
    remote_media: Option<bool>,
}

/// `keychain:NAME` or `env:VAR`. Anything else is refused; a value that looks like a key gets
/// the reason spelled out. The value itself is never quoted: it may be the key.
fn parse_key_source(value: &str, provider: ProviderKind) -> Result<KeySource, String> {
    let suggestion = format!(
        "store the key with `keyguard key set {p}` and write key = \"keychain:{p}\", or pass it in the environment with key = \"env:{var}\"",
        p = provider_key_name(provider),
        var = default_env_var(provider)
    );
    let value = value.trim();
    if let Some(name) = value.strip_prefix("keychain:") {
        if !crate::run::is_key_name(name) {
            return Err(
                "`keychain:` must be followed by a key name (letters, digits, `-`, `_` and `.`, at most 64 characters), not a key".to_string(),
            );
        }
        return Ok(KeySource::Keychain(name.to_string()));
    }
    if let Some(var) = value.strip_prefix("env:") {
        let ok = crate::run::check_env_name(var).is_ok()
            && crate::keychain::identify(var.as_bytes()).is_none();
        if !ok {
            return Err(
                "`env:` must be followed by an environment variable name (letters, digits and `_`), not a key".to_string(),
            );
        }
        return Ok(KeySource::Env(var.to_string()));
    }
    if let Some(id) = crate::keychain::identify(value.as_bytes()) {
        return Err(format!(
            "this looks like {} {} ({}) written into the file; a literal key is refused, because anyone who can read the file or the repository would have it. Revoke it if the file was ever committed or shared, then {suggestion}",
            crate::providers::article(&id.title),
            id.title,
            id.redacted
        ));
    }
    Err(format!(
        "must be a reference, \"keychain:NAME\" or \"env:VAR\", never the key itself: {suggestion}"
    ))
}

fn provider_key_name(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::OpenAiCompatible => "upstream",
        p => p.id(),
    }
}

fn default_env_var(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::OpenAi => "OPENAI_API_KEY",
        ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
        ProviderKind::Gemini => "GEMINI_API_KEY",
        ProviderKind::OpenAiCompatible => "UPSTREAM_API_KEY",
    }
}

/// The override variable wins; then the official host; an `upstream` in the file may only
/// repeat the official host (or, for `openai-compatible`, is the host).
fn resolve_upstream(
    provider: ProviderKind,
    upstream: Option<&Spanned<String>>,
    overrides: &impl Fn(ProviderKind) -> Result<Option<Base>, String>,
) -> Result<Base, String> {
    let configured = match upstream {
        // The value is not quoted back: a URL with credentials in it is one reason to refuse.
        Some(u) => Some(Base::parse(u.get_ref().trim()).map_err(|e| match e {
            BaseError::Invalid { why, .. } => format!(
                "not a usable base URL: {why} (expected e.g. \"https://llm.example.com/v1\")"
            ),
        })?),
        None => None,
    };
    if let Some(o) = overrides(provider)? {
        return Ok(o);
    }
    match (provider.official(), configured) {
        (Some(official), None) => Ok(Base::official(official)),
        (Some(official), Some(c)) if c.url() == official => Ok(Base::official(official)),
        (Some(official), Some(_)) => Err(format!(
            "a configuration file cannot send the {} key anywhere but {official}; for a test server or an egress proxy set {} in the environment instead",
            provider.id(),
            override_var(provider.id())
        )),
        (None, Some(c)) => {
            let url = reqwest::Url::parse(c.url()).map_err(|_| "not a URL".to_string())?;
            let host = url.host_str().unwrap_or_default();
            let loopback = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback());
            if url.scheme() != "https" && !loopback {
                return Err(
                    "must be https (plain http is accepted only for a server on this machine: localhost, 127.0.0.1, ::1)".to_string(),
                );
            }
            Ok(c)
        }
        (None, None) => Err(format!(
            "an openai-compatible route needs `upstream` (e.g. \"https://api.together.xyz\"), or {} in the environment",
            override_var(provider.id())
        )),
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, no path. `*` is refused: a proxy that
/// spends money must name who may call it from a page.
fn check_origin(origin: &str) -> Result<String, String> {
    let o = origin.trim();
    if o == "*" {
        return Err("`*` is not accepted; list the exact origins of your pages (e.g. \"https://app.example.com\")".to_string());
    }
    let url = reqwest::Url::parse(o)
        .map_err(|_| "not an origin (expected e.g. \"http://localhost:5173\")".to_string())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(
            "an origin is scheme://host[:port] with no path (e.g. \"http://localhost:5173\")"
                .to_string(),
        );
    }
    Ok(url.origin().ascii_serialization())
}

fn is_model_name(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 128
        && m.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'@')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-valid fake OpenAI key, made at run time (never a literal in the source).
    pub(crate) fn fake_openai_key() -> String {
        let body: String = (0..156u32)
            .map(|i| b"AbCdEfGhJkMnPqRsTuVwXyZ23456789"[((i * 7 + 5) % 31) as usize] as char)
            .collect();
        format!("sk-proj-{body}")
    }

    fn fake_anthropic_key() -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let body: String = (0..93u32)
            .map(|i| ALPHABET[((i * 29 + 21 + i * i) % 64) as usize] as char)
            .collect();
        format!("sk-ant-api03-{body}AA")
    }

    fn no_overrides(_: ProviderKind) -> Result<Option<Base>, String> {
        Ok(None)
    }

    fn parse(text: &str) -> Result<ServeConfig, String> {
        ServeConfig::parse_with(text, "keyguard.toml", no_overrides).map_err(|e| e.to_string())
    }

    const FULL: &str = r#"
[scan]
exclude = ["dist"]

[serve]
listen = "127.0.0.1:9999"
store = "memory"
cors_origins = ["http://localhost:5173", "https://app.example.com/"]
max_body_bytes = "128KiB"

[[serve.routes]]
provider = "openai"
key = "keychain:openai"
models = ["gpt-4o-mini", "gpt-4.1-mini"]
max_tokens = 512

[[serve.routes]]
provider = "anthropic"
key = "env:ANTHROPIC_API_KEY"
models = ["claude-sonnet-4-5"]

[serve.limits]
requests_per_minute = 20
"#;

    #[test]
    fn metrics_token_is_a_variable_name_and_max_connections_is_bounded() {
        let routes = "[[serve.routes]]\nprovider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]\n";
        let c = parse(&format!("[serve]\n{routes}")).unwrap();
        assert_eq!(c.metrics_token, None);
        assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
        let c = parse(&format!(
            "[serve]\nmetrics_token = \"env:KG_METRICS\"\nmax_connections = 8\n{routes}"
        ))
        .unwrap();
        assert_eq!(c.metrics_token.as_deref(), Some("KG_METRICS"));
        assert_eq!(c.max_connections, 8);
        // A token written into the file is refused and not quoted back.
        let literal = fake_openai_key();
        let e = parse(&format!("[serve]\nmetrics_token = \"{literal}\"\n{routes}")).unwrap_err();
        assert!(e.contains("line 2") && e.contains("env:"), "{e}");
        assert!(!e.contains(&literal[..20]), "{e}");
        for bad in ["0", "-1", "1000000"] {
            let e = parse(&format!("[serve]\nmax_connections = {bad}\n{routes}")).unwrap_err();
            assert!(e.contains("max_connections"), "{e}");
        }
    }

    #[test]
    fn full_example_parses() {
        let c = parse(FULL).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(
            c.cors_origins,
            ["http://localhost:5173", "https://app.example.com"]
        );
        assert_eq!(c.max_body_bytes, 128 * 1024);
        assert_eq!(c.routes.len(), 2);
        let o = &c.routes[0];
        assert_eq!(o.provider, ProviderKind::OpenAi);
        assert_eq!(o.key, KeySource::Keychain("openai".into()));
        assert_eq!(o.upstream.url(), "https://api.openai.com");
        assert_eq!(o.default_model(), "gpt-4o-mini");
        assert_eq!(o.max_tokens, 512);
        let a = &c.routes[1];
        assert_eq!(a.key, KeySource::Env("ANTHROPIC_API_KEY".into()));
        assert_eq!(a.upstream.url(), "https://api.anthropic.com");
        assert_eq!(a.max_tokens, DEFAULT_MAX_TOKENS);
        assert_eq!(
            c.route_for(Wire::Anthropic, None).unwrap().provider,
            a.provider
        );
        assert_eq!(c.models_for(Wire::OpenAi), ["gpt-4o-mini", "gpt-4.1-mini"]);
    }

    #[test]
    fn defaults() {
        let c = parse(
            "[serve]\n[[serve.routes]]\nprovider = \"gemini\"\nkey = \"env:GEMINI_API_KEY\"\nmodels = [\"gemini-2.0-flash\"]\n",
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert!(c.listen_is_loopback());
        let public = parse(&format!(
            "[serve]\nlisten = \"0.0.0.0:8787\"\n{}",
            &route("provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]")[8..]
        ))
        .unwrap();
        assert!(!public.listen_is_loopback());
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(c.cors_origins.is_empty());
        assert_eq!(
            c.routes[0].upstream.url(),
            "https://generativelanguage.googleapis.com"
        );
    }

    fn route(extra: &str) -> String {
        format!("[serve]\n[[serve.routes]]\n{extra}\n")
    }

    #[test]
    fn literal_key_is_refused_without_being_echoed() {
        for key in [fake_openai_key(), fake_anthropic_key()] {
            let text = route(&format!(
                "provider = \"openai\"\nkey = \"{key}\"\nmodels = [\"m\"]"
            ));
            let err = parse(&text).unwrap_err();
            assert!(!err.contains(&key[..20]), "{err}");
            assert!(!err.contains(&key[key.len() - 12..]), "{err}");
            assert!(err.contains("line 4"), "{err}");
            assert!(err.contains("literal key is refused"), "{err}");
            assert!(err.contains("keychain:openai"), "{err}");
            assert!(err.contains("env:OPENAI_API_KEY"), "{err}");
        }
        // Not key-shaped, but still not a reference.
        let err = parse(&route(
            "provider = \"openai\"\nkey = \"hunter2\"\nmodels = [\"m\"]",
        ))
        .unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("must be a reference"), "{err}");
    }

    #[test]
    fn key_hidden_behind_a_prefix_is_refused() {
        for prefix in ["keychain:", "env:"] {
            let key = fake_openai_key();
            let err = parse(&route(&format!(
                "provider = \"openai\"\nkey = \"{prefix}{key}\"\nmodels = [\"m\"]"
            )))
            .unwrap_err();
            assert!(!err.contains(&key[..20]), "{err}");
            assert!(err.contains("not a key"), "{err}");
        }
    }

    #[test]
    fn unknown_provider_lists_the_known_ones() {
        let err = parse(&route(
            "provider = \"openia\"\nkey = \"env:K\"\nmodels = [\"m\"]",
        ))
        .unwrap_err();
        assert!(err.contains("unknown provider `openia`"), "{err}");
        assert!(
            err.contains("openai, anthropic, gemini, openai-compatible"),
            "{err}"
        );
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn typo_gets_a_suggestion() {
        let err = parse(&route(
            "provider = \"openai\"\nkey = \"env:K\"\nmodel = [\"m\"]",
        ))
        .unwrap_err();
        assert!(err.contains("did you mean `models`?"), "{err}");
        let err = parse("[serve]\nmax_body_byte = 10\n").unwrap_err();
        assert!(err.contains("did you mean `max_body_bytes`?"), "{err}");
    }

    #[test]
    fn models_are_required() {
        for models in ["", "models = []", "models = [\"\"]", "models = [\"a b\"]"] {
            let err = parse(&route(&format!(
                "provider = \"openai\"\nkey = \"env:K\"\n{models}"
            )))
            .unwrap_err();
            assert!(err.contains("`models` must list"), "{models}: {err}");
        }
    }

    #[test]
    fn bad_numbers_and_addresses() {
        let err = parse(&route(
            "provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]\nmax_tokens = 0",
        ))
        .unwrap_err();
        assert!(err.contains("`max_tokens` must be a positive"), "{err}");
        let err = parse("[serve]\nlisten = \"everywhere\"\n").unwrap_err();
        assert!(err.contains("`listen` must be"), "{err}");
        let err = parse("[serve]\nmax_body_bytes = -1\n").unwrap_err();
        assert!(err.contains("`max_body_bytes` must be a positive"), "{err}");
        let err = parse("[serve]\ncors_origins = [\"*\"]\n").unwrap_err();
        assert!(err.contains("`*` is not accepted"), "{err}");
        let err = parse("[serve]\ncors_origins = [\"http://a.test/path\"]\n").unwrap_err();
        assert!(err.contains("no path"), "{err}");
        let err = parse("[serve]\n").unwrap_err();
        assert!(err.contains("no routes"), "{err}");
        let err = parse("[scan]\n").unwrap_err();
        assert!(err.contains("no [serve] section"), "{err}");
    }

    #[test]
    fn anthropic_beta_is_an_allow_list_of_names_on_anthropic_routes() {
        let c = parse(&route(
            "provider = \"anthropic\"\nkey = \"env:K\"\nmodels = [\"m\"]\nanthropic_beta = [\"prompt-caching-2024-07-31\"]",
        ))
        .unwrap();
        assert_eq!(c.routes[0].anthropic_beta, ["prompt-caching-2024-07-31"]);
        assert_eq!(
            c.upstream_idle_timeout.as_secs(),
            DEFAULT_UPSTREAM_IDLE_TIMEOUT
        );
        let none = parse(&route(
            "provider = \"anthropic\"\nkey = \"env:K\"\nmodels = [\"m\"]",
        ))
        .unwrap();
        assert!(none.routes[0].anthropic_beta.is_empty());
        let err = parse(&route(
            "provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]\nanthropic_beta = [\"x\"]",
        ))
        .unwrap_err();
        assert!(err.contains("anthropic routes only"), "{err}");
        let err = parse(&route(
            "provider = \"anthropic\"\nkey = \"env:K\"\nmodels = [\"m\"]\nanthropic_beta = [\"a,b\"]",
        ))
        .unwrap_err();
        assert!(err.contains("lowercase letters"), "{err}");
        let err = parse(&format!(
            "[serve]\nupstream_idle_timeout = 0\n{}",
            &route("provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]")["[serve]\n".len()..]
        ))
        .unwrap_err();
        assert!(err.contains("upstream_idle_timeout"), "{err}");
    }

    #[test]
    fn remote_media_is_off_unless_a_route_turns_it_on() {
        let base = "provider = \"gemini\"\nkey = \"env:K\"\nmodels = [\"m\"]";
        assert!(!parse(&route(base)).unwrap().routes[0].remote_media);
        let on = parse(&route(&format!("{base}\nremote_media = true"))).unwrap();
        assert!(on.routes[0].remote_media);
        let err = parse(&route(&format!("{base}\nremote_media = \"yes\""))).unwrap_err();
        assert!(
            err.contains("line 6") && err.contains("expected a boolean"),
            "{err}"
        );
        let err = parse(&route(&format!("{base}\nremote_medias = true"))).unwrap_err();
        assert!(err.contains("did you mean `remote_media`?"), "{err}");
    }

    #[test]
    fn config_cannot_move_an_official_provider() {
        let err = parse(&route(
            "provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]\nupstream = \"https://evil.example\"",
        ))
        .unwrap_err();
        assert!(err.contains("KEYGUARD_OPENAI_API_BASE"), "{err}");
        assert!(err.contains("line 6"), "{err}");
        // Repeating the official host is fine.
        let c = parse(&route(
            "provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"m\"]\nupstream = \"https://api.openai.com/\"",
        ))
        .unwrap();
        assert_eq!(c.routes[0].upstream.url(), "https://api.openai.com");
        assert!(!c.routes[0].upstream.overridden());
    }

    #[test]
    fn the_override_variable_wins() {
        let text = route("provider = \"anthropic\"\nkey = \"env:K\"\nmodels = [\"m\"]");
        let c = ServeConfig::parse_with(&text, "k.toml", |p| {
            assert_eq!(p, ProviderKind::Anthropic);
            Ok(Some(Base::parse("http://127.0.0.1:9000").unwrap()))
        })
        .unwrap();
        assert_eq!(c.routes[0].upstream.url(), "http://127.0.0.1:9000");
        assert!(c.routes[0].upstream.overridden());
        assert_eq!(
            override_var(ProviderKind::OpenAiCompatible.id()),
            "KEYGUARD_OPENAI_COMPATIBLE_API_BASE"
        );
    }

    #[test]
    fn openai_compatible_needs_a_safe_upstream() {
        let base = "provider = \"openai-compatible\"\nkey = \"env:K\"\nmodels = [\"llama\"]";
        let err = parse(&route(base)).unwrap_err();
        assert!(err.contains("needs `upstream`"), "{err}");
        let err = parse(&route(&format!(
            "{base}\nupstream = \"http://llm.example\""
        )))
        .unwrap_err();
        assert!(err.contains("must be https"), "{err}");
        for ok in [
            "https://llm.example/v1",
            "http://localhost:11434",
            "http://127.0.0.1:8000",
            "http://[::1]:8000",
        ] {
            let c = parse(&route(&format!("{base}\nupstream = \"{ok}\""))).unwrap();
            assert_eq!(c.routes[0].upstream.url(), ok);
        }
        let err = parse(&route(&format!(
            "{base}\nupstream = \"https://user:pw@llm.example\""
        )))
        .unwrap_err();
        assert!(err.contains("credentials"), "{err}");
        assert!(!err.contains(":pw"), "{err}");
    }

    #[test]
    fn check_key_refuses_another_providers_key() {
        let compat = parse(&route(
            "provider = \"openai-compatible\"\nkey = \"env:K\"\nmodels = [\"llama\"]\nupstream = \"https://llm.example\"",
        ))
        .unwrap();
        let openai_key = Secret::new(fake_openai_key().as_bytes());
        let err = compat.routes[0].check_key(&openai_key).unwrap_err();
        assert!(err.contains("OpenAI"), "{err}");
        assert!(!err.contains(&fake_openai_key()[..20]), "{err}");
        assert!(
            compat.routes[0]
                .check_key(&Secret::new(b"local-token"))
                .is_ok()
        );

        let anthropic = parse(&route(
            "provider = \"anthropic\"\nkey = \"env:K\"\nmodels = [\"c\"]",
        ))
        .unwrap();
        assert!(anthropic.routes[0].check_key(&openai_key).is_err());
        let ak = Secret::new(fake_anthropic_key().as_bytes());
        assert!(anthropic.routes[0].check_key(&ak).is_ok());
    }

    #[test]
    fn a_model_is_listed_once_per_api() {
        let text = format!(
            "{}[[serve.routes]]\nprovider = \"openai-compatible\"\nkey = \"env:L\"\nupstream = \"https://llm.example\"\nmodels = [\"x\", \"gpt-4o-mini\"]\n",
            route("provider = \"openai\"\nkey = \"env:K\"\nmodels = [\"gpt-4o-mini\"]")
        );
        let err = parse(&text).unwrap_err();
        assert!(err.contains("`gpt-4o-mini` is already served"), "{err}");
    }
}
