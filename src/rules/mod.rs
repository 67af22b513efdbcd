//! The rule catalogue: the `Rule` type, the built-in rule files (TOML data compiled into the binary)
//! and their validation. Knows nothing of files, git or reports.
//!
//! A rule file holds `[[rule]]` tables; `keyguard.toml` holds extra rules as `[[rules]]` with the same
//! fields. The first capture group of `pattern` (or the group named `secret`) is the secret.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: rule `{id}`: {message}")]
    Invalid {
        file: String,
        id: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        })
    }
}

/// What a finding is: a secret itself, or code that exposes one to the browser (issue 4's lints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Secret,
    Exposure,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Secret => "secret",
            Kind::Exposure => "exposure",
        })
    }
}

/// Checksums some token formats carry; a valid one raises confidence to high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// `<prefix>_` + 30 base62 + 6 base62 digits of CRC32(prefix_ + random part): GitHub, npm.
    /// Valid: high confidence; invalid: low.
    Crc32Base62,
    /// Base64 of `user:password` (HTTP Basic, Docker `auth`): a value that does not decode to
    /// printable text with a colon is not a credential and is dropped.
    Base64Credentials,
}

/// A rule as written in a rule file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub provider: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default = "default_confidence")]
    pub confidence: Confidence,
    #[serde(default)]
    pub kind: Kind,
    /// Off unless enabled (`--all-rules`, `[scan] enable_rules`): identifiers that are not secrets
    /// themselves (bucket names, ARNs, OAuth client ids) and would be noise in most repositories.
    #[serde(default)]
    pub optional: bool,
    /// Literals of which at least one occurs near every match (ASCII case-insensitive).
    pub keywords: Vec<String>,
    /// Regex (Rust `regex` syntax) confirming a match; group `secret` or group 1 is the secret.
    pub pattern: String,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub checksum: Option<Checksum>,
    /// Bytes around a keyword hit in which the pattern is tried (default 256).
    #[serde(default)]
    pub window: Option<usize>,
    /// Regexes: a secret matching any of them is a placeholder, not a finding.
    #[serde(default)]
    pub reject: Vec<String>,
    #[serde(default)]
    pub dashboard_url: Option<String>,
    #[serde(default)]
    pub docs_url: Option<String>,
    /// One line saying what to do when this is found.
    #[serde(default)]
    pub remediation: Option<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

fn default_confidence() -> Confidence {
    Confidence::Medium
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// A validated rule; its regexes compile on first use so start-up stays cheap.
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    /// Where the rule came from (a built-in file name or a config path), for messages.
    pub origin: String,
    /// Known after parsing (`Rule::new`) or, for built-in rules, from the compiled regex.
    secret_group: OnceLock<usize>,
    regex: OnceLock<Regex>,
    reject: OnceLock<Vec<Regex>>,
    /// The keywords lowercased, for `keyword_prefix_len`.
    keywords_lower: Vec<Vec<u8>>,
}

pub const DEFAULT_WINDOW: usize = 256;
pub const DEFAULT_WINDOW_BEFORE: usize = 64;
const REGEX_SIZE_LIMIT: usize = 8 << 20;

impl Rule {
    pub fn new(spec: RuleSpec, origin: &str) -> Result<Rule, RuleError> {
        Rule::build(spec, origin, true)
    }

    /// A rule from the built-in catalogue: the same checks as `new` except parsing the regexes,
    /// which `builtin_catalogue_is_valid` does for every built-in rule. Parsing ~400 patterns
    /// (Unicode case folding above all) was most of keyguard's start-up time, which a
    /// pre-commit hook pays on every commit.
    fn builtin(spec: RuleSpec, origin: &str) -> Result<Rule, RuleError> {
        Rule::build(spec, origin, false)
    }

    fn build(spec: RuleSpec, origin: &str, parse_patterns: bool) -> Result<Rule, RuleError> {
        let invalid = |message: String| RuleError::Invalid {
            file: origin.to_string(),
            id: spec.id.clone(),
            message,
        };
        if spec.id.is_empty()
            || !spec
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "id must be lowercase letters, digits and '-'".into(),
            ));
        }
        if spec.keywords.is_empty() || spec.keywords.iter().any(|k| k.len() < 2) {
            return Err(invalid(
                "keywords must list at least one literal of two or more bytes".into(),
            ));
        }
        // Parsing (not compiling) validates the syntax and finds the secret's group cheaply; the
        // catalogue's ~400 regexes compile lazily, on a rule's first keyword hit.
        let secret_group = OnceLock::new();
        if parse_patterns {
            let hir = parse(&spec.pattern).map_err(|e| invalid(format!("pattern: {e}")))?;
            let group = secret_group_of(&hir)
                .ok_or_else(|| invalid("pattern has no capture group for the secret".into()))?;
            let _ = secret_group.set(group);
            for r in &spec.reject {
                parse(r).map_err(|e| invalid(format!("reject: {e}")))?;
            }
        }
        if let Some(e) = spec.min_entropy
            && !(0.0..=8.0).contains(&e)
        {
            return Err(invalid("min_entropy must be between 0 and 8".into()));
        }
        let keywords_lower = spec
            .keywords
            .iter()
            .map(|k| k.as_bytes().to_ascii_lowercase())
            .collect();
        Ok(Rule {
            spec,
            origin: origin.to_string(),
            secret_group,
            regex: OnceLock::new(),
            reject: OnceLock::new(),
            keywords_lower,
        })
    }

    /// Compiles the rule's regexes now, reporting what fails (size limits are only known here).
    /// Used for rules from a user's config, so a bad one is an error before scanning starts.
    pub fn compile_now(&self) -> Result<(), RuleError> {
        let invalid = |message: String| RuleError::Invalid {
            file: self.origin.clone(),
            id: self.spec.id.clone(),
            message,
        };
        let re = compile(&self.spec.pattern).map_err(|e| invalid(format!("pattern: {e}")))?;
        let _ = self.regex.set(re);
        let mut rejects = Vec::new();
        for r in &self.spec.reject {
            rejects.push(compile(r).map_err(|e| invalid(format!("reject: {e}")))?);
        }
        let _ = self.reject.set(rejects);
        Ok(())
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn regex(&self) -> &Regex {
        self.regex
            .get_or_init(|| compile(&self.spec.pattern).expect("validated in Rule::new"))
    }

    pub fn rejects(&self) -> &[Regex] {
        self.reject.get_or_init(|| {
            self.spec
                .reject
                .iter()
                .map(|r| compile(r).expect("validated in Rule::new"))
                .collect()
        })
    }

    /// Length in bytes of the longest keyword the secret starts with (ASCII case-insensitively),
    /// shorter than the secret: its public prefix (`sk-proj-`), which placeholder and entropy
    /// checks skip and redaction shows.
    pub fn keyword_prefix_len(&self, secret: &[u8]) -> usize {
        self.keywords_lower
            .iter()
            .filter(|k| secret.len() > k.len() && secret[..k.len()].eq_ignore_ascii_case(k))
            .map(|k| k.len())
            .max()
            .unwrap_or(0)
    }

    /// A provider-less rule: it loses overlaps to provider rules.
    pub fn is_generic(&self) -> bool {
        self.spec.provider == "generic"
    }

    pub fn secret_group(&self) -> usize {
        *self.secret_group.get_or_init(|| {
            // The same choice as `secret_group_of`: the group named `secret`, else group 1.
            let re = self.regex();
            re.capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(1)
        })
    }

    pub fn window(&self) -> usize {
        self.spec.window.unwrap_or(DEFAULT_WINDOW)
    }

    /// Bytes before a keyword hit in which a match may start. A match nearly always begins at
    /// its keyword or a few bytes before it (an identifier's start, a quote), so the default is
    /// short; a rule whose keyword can sit far inside or after the match sets `window`.
    pub fn window_before(&self) -> usize {
        self.spec.window.unwrap_or(DEFAULT_WINDOW_BEFORE)
    }
}

fn parse(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())
}

/// The index of the group named `secret`, else group 1.
fn secret_group_of(hir: &regex_syntax::hir::Hir) -> Option<usize> {
    fn walk(h: &regex_syntax::hir::Hir, named: &mut Option<usize>, max: &mut usize) {
        use regex_syntax::hir::HirKind;
        match h.kind() {
            HirKind::Capture(c) => {
                *max = (*max).max(c.index as usize);
                if c.name.as_deref() == Some("secret") {
                    *named = Some(c.index as usize);
                }
                walk(&c.sub, named, max);
            }
            HirKind::Concat(hs) | HirKind::Alternation(hs) => {
                hs.iter().for_each(|h| walk(h, named, max))
            }
            HirKind::Repetition(r) => walk(&r.sub, named, max),
            _ => {}
        }
    }
    let (mut named, mut max) = (None, 0);
    walk(hir, &mut named, &mut max);
    named.or((max >= 1).then_some(1))
}

/// Rules match bytes with ASCII classes (`\w`, `\d`, `\s`, case folding): keys are ASCII, and
/// Unicode classes made each compiled rule several times larger. Over a varied input (cargo's
/// whole history) every rule ends up compiled: peak memory fell from 340 to 200 MB, findings and
/// the conformance figures unchanged.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .unicode(false)
        .build()
}

/// The set of rules a scan uses.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in catalogue. Panics only if a built-in file is broken, which a unit test prevents.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_RULE_FILES {
            for spec in parse_rule_file(name, text).expect("built-in rule files parse") {
                set.push(Rule::builtin(spec, name).expect("built-in rules are valid"))
                    .expect("built-in rule ids are unique");
            }
        }
        set
    }

    pub fn push(&mut self, rule: Rule) -> Result<(), RuleError> {
        if self.rules.iter().any(|r| r.id() == rule.id()) {
            return Err(RuleError::Invalid {
                file: rule.origin.clone(),
                id: rule.id().to_string(),
                message: "a rule with this id already exists".into(),
            });
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Drops optional rules unless `all` is set or their id is in `enabled`; returns the ids in
    /// `enabled` that name no rule.
    pub fn select_optional(&mut self, all: bool, enabled: &[String]) -> Vec<String> {
        let unknown = enabled
            .iter()
            .filter(|id| !self.rules.iter().any(|r| r.id() == id.as_str()))
            .cloned()
            .collect();
        if !all {
            self.rules
                .retain(|r| !r.spec.optional || enabled.iter().any(|e| e == r.id()));
        }
        unknown
    }

    /// Drops the rules whose id is listed; returns the ids that matched no rule.
    pub fn disable(&mut self, ids: &[String]) -> Vec<String> {
        let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let known: HashSet<String> = self.rules.iter().map(|r| r.id().to_string()).collect();
        self.rules.retain(|r| !wanted.contains(r.id()));
        ids.iter()
            .filter(|i| !known.contains(*i))
            .cloned()
            .collect()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, index: usize) -> &Rule {
        &self.rules[index]
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Parses one rule file (`[[rule]]` tables).
pub fn parse_rule_file(name: &str, text: &str) -> Result<Vec<RuleSpec>, RuleError> {
    let file: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: name.to_string(),
        message: crate::config::describe_toml_error(text, &e),
    })?;
    Ok(file.rule)
}

#[cfg(test)]
mod tests;
