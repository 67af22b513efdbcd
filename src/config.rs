//! `keyguard.toml`: found in the scanned root or the current directory, or named by `--config`.
//! Sections this module owns: `[scan]`, `[[rules]]`, `[allow]`, and of `[serve]` the keys the store
//! needs (`store`, `[serve.limits]`). `[env]` and the rest of `[serve]` belong to later commands and
//! are carried through untouched.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::rules::RuleSpec;

pub const FILE_NAME: &str = "keyguard.toml";
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub scan: ScanConfig,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub allow: AllowConfig,
    #[serde(default)]
    pub env: Option<toml::Table>,
    #[serde(default)]
    pub serve: ServeConfig,
    /// Where it was read from (None for the built-in defaults).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Gitignore-style globs, relative to the scanned root: files never read.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Bytes, or a string such as "64MiB" / "10MB".
    #[serde(default, deserialize_with = "de_size")]
    pub max_file_size: Option<u64>,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    /// Optional rules to turn on (see `keyguard rules --all`).
    #[serde(default)]
    pub enable_rules: Vec<String>,
    /// Turn on every optional rule.
    #[serde(default)]
    pub all_rules: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowConfig {
    /// Gitignore-style globs, relative to the scanned root: findings there are suppressed.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Rule ids whose findings are suppressed.
    #[serde(default)]
    pub rules: Vec<String>,
    /// `secret_hash` values (from a report) of keys known to be harmless, e.g. test keys.
    #[serde(default)]
    pub secret_hashes: Vec<String>,
    /// Regexes over the secret value.
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// `[serve]`: what `keyguard token` and the proxy's store use. The proxy's own keys are accepted
/// (so a complete section loads) and left for `keyguard serve` to parse.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// `memory`, `sqlite:PATH` (relative to this file's directory) or `redis://HOST:PORT/DB`.
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub limits: crate::serve::store::Limits,
    #[serde(default)]
    pub listen: Option<toml::Value>,
    #[serde(default)]
    pub cors_origins: Option<toml::Value>,
    #[serde(default)]
    pub max_body_bytes: Option<toml::Value>,
    #[serde(default)]
    pub upstream_idle_timeout: Option<toml::Value>,
    #[serde(default)]
    pub routes: Option<toml::Value>,
    #[serde(default)]
    pub metrics_token: Option<toml::Value>,
    #[serde(default)]
    pub max_connections: Option<toml::Value>,
}

impl Config {
    /// Reads `--config FILE`, or else `keyguard.toml` in the first scanned directory, or else in the
    /// current directory; none is fine.
    pub fn discover(explicit: Option<&Path>, roots: &[PathBuf]) -> Result<Config, ConfigError> {
        if let Some(p) = explicit {
            return Config::load(p);
        }
        let mut candidates: Vec<PathBuf> = roots
            .iter()
            .filter(|r| r.is_dir())
            .map(|r| r.join(FILE_NAME))
            .take(1)
            .collect();
        candidates.push(PathBuf::from(FILE_NAME));
        for c in candidates {
            if c.is_file() {
                return Config::load(&c);
            }
        }
        Ok(Config::default())
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: describe_toml_error(&text, &e),
        })?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    /// How messages name this configuration: its path, or `keyguard.toml` for the defaults.
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| FILE_NAME.to_string(), |p| p.display().to_string())
    }

    pub fn max_file_size(&self) -> u64 {
        self.scan.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE)
    }
}

fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct SizeVisitor;
    impl serde::de::Visitor<'_> for SizeVisitor {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a size: a number of bytes, or a string such as \"64MiB\"")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("a size cannot be negative"))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_size(v).map(Some).map_err(E::custom)
        }
    }
    d.deserialize_any(SizeVisitor)
}

/// Parses "1048576", "512KiB", "10MB", "64 MiB", "1G".
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    // The value is not echoed: a key pasted into the wrong field must not reach an error message.
    let n: u64 = num
        .parse()
        .map_err(|_| "not a size (try 1048576, \"512KiB\" or \"64MiB\")".to_string())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1 << 20,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1 << 30,
        _ => return Err("unknown size unit (use B, KB, KiB, MB, MiB, GB or GiB)".to_string()),
    };
    n.checked_mul(mult)
        .ok_or_else(|| "size too large".to_string())
}

/// Renders a TOML error as "line L, column C: message", the way users look for it in an editor,
/// with a did-you-mean for unknown keys.
pub fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let mut message = crate::sanitize::scrub_quoted_values(err.message().trim_end());
    if let Some(hint) = did_you_mean(&message) {
        message.push_str(&format!(" (did you mean `{hint}`?)"));
    }
    match err.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {message}")
        }
        None => message,
    }
}

/// serde's message is "unknown field `exlude`, expected one of `exclude`, `max_file_size`".
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    expected
        .into_iter()
        .map(|c| (edit_distance(unknown, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("10 MB"), Ok(10_000_000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn serve_section_parses_store_and_limits_and_keeps_the_rest() {
        let text = r#"
[serve]
listen = "127.0.0.1:8787"
store = "redis://127.0.0.1:6379/0"
cors_origins = ["http://localhost:5173"]
max_body_bytes = 65536

[[serve.routes]]
provider = "openai"
key = "keychain:openai"
models = ["gpt-4o-mini"]
max_tokens = 1024

[serve.limits]
requests_per_minute = 20
requests_per_day = 1000
tokens_per_day = 200000
"#;
        let c: Config = toml::from_str(text).unwrap();
        assert_eq!(c.serve.store.as_deref(), Some("redis://127.0.0.1:6379/0"));
        assert_eq!(c.serve.limits.requests_per_minute, Some(20));
        assert_eq!(c.serve.limits.requests_per_day, Some(1000));
        assert_eq!(c.serve.limits.tokens_per_day, Some(200000));
        assert!(c.serve.routes.is_some());

        let text = "[serve.limits]\nrequests_per_dya = 5\n";
        let err = toml::from_str::<Config>(text).unwrap_err();
        let msg = describe_toml_error(text, &err);
        assert!(msg.contains("did you mean `requests_per_day`?"), "{msg}");
        let text = "[serve]\nstroe = \"memory\"\n";
        let err = toml::from_str::<Config>(text).unwrap_err();
        assert!(describe_toml_error(text, &err).contains("did you mean `store`?"));
    }

    #[test]
    fn unknown_key_gets_a_suggestion_and_a_line() {
        let text = "[scan]\nexlude = [\"x\"]\n";
        let err = toml::from_str::<Config>(text).unwrap_err();
        let msg = describe_toml_error(text, &err);
        assert!(msg.starts_with("line 2, column 1:"), "{msg}");
        assert!(msg.contains("did you mean `exclude`?"), "{msg}");
    }
}
