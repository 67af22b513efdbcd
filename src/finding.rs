//! Findings: what a match becomes once a source has said where it is. Owns the secret type,
//! redaction, the stable secret hash and the finding fingerprint.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::rules::{Confidence, Kind, Rule, Severity};

/// A secret value. `Debug` and `Display` never show it; only `expose` does.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(Box<[u8]>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Secret {
        Secret(bytes.into())
    }

    /// The raw value. Call sites are the few places allowed to handle it: hashing, redaction,
    /// `--show-secrets` output, inline-allow matching.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Where a source can place a commit (filled by the git source).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommitInfo {
    pub id: String,
    pub author: String,
    pub email: String,
    pub date: String,
    pub summary: String,
}

/// A position in an original source file, through a source map (filled by the bundle source).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OriginalPosition {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Validation {
    pub status: String,
    pub checked_at: String,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule_id: String,
    pub kind: Kind,
    pub provider: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Relative to the scanned root as the user named it.
    pub path: String,
    /// Relative to the scanned root itself: what `[allow] paths` globs match.
    pub rel_path: String,
    /// 1-based line; 1-based column in Unicode scalar values.
    pub line: usize,
    pub column: usize,
    pub secret: Secret,
    pub secret_redacted: String,
    pub secret_hash: String,
    pub fingerprint: String,
    pub commit: Option<CommitInfo>,
    pub reachable: Option<bool>,
    pub present_at_head: Option<bool>,
    pub original: Option<OriginalPosition>,
    pub validation: Option<Validation>,
    /// The line carries an inline `keyguard:allow` comment.
    pub inline_allowed: bool,
    /// A few characters of the line before and after the secret (escaped; other matches on the
    /// line blanked), for the human report: on a 2 MB minified line this is all that is shown.
    pub context: Option<(String, String)>,
}

impl Finding {
    pub fn new(
        rule: &Rule,
        confidence: Confidence,
        secret: &[u8],
        path: String,
        line: usize,
        column: usize,
    ) -> Finding {
        let secret_hash = secret_hash(secret);
        let fingerprint = fingerprint(rule.id(), &secret_hash, &path, line, column, None);
        Finding {
            rule_id: rule.id().to_string(),
            kind: rule.spec.kind,
            provider: rule.spec.provider.clone(),
            title: rule.spec.title.clone(),
            severity: rule.spec.severity,
            confidence,
            secret_redacted: match rule.spec.kind {
                Kind::Secret => redact(secret, rule.keyword_prefix_len(secret)),
                // Not a key: the code that exposes one, shown as it is.
                Kind::Exposure => excerpt(secret),
            },
            secret: Secret::new(secret),
            secret_hash,
            fingerprint,
            rel_path: path.clone(),
            path,
            line,
            column,
            commit: None,
            reachable: None,
            present_at_head: None,
            original: None,
            validation: None,
            inline_allowed: false,
            context: None,
        }
    }
}

impl Finding {
    /// Recomputes the fingerprint once a source has set the final path or the commit.
    pub fn refresh_fingerprint(&mut self) {
        self.fingerprint = fingerprint(
            &self.rule_id,
            &self.secret_hash,
            &self.path,
            self.line,
            self.column,
            self.commit.as_ref().map(|c| c.id.as_str()),
        );
    }
}

/// Stable hash of the secret alone: the same key anywhere has the same hash, so one leaked key found
/// in ten places is one key to rotate. Domain-separated SHA-256, 128 bits in hex.
pub fn secret_hash(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"keyguard secret v1\0");
    h.update(secret);
    hex(&h.finalize()[..16])
}

/// Stable id of one finding: rule, secret and location.
pub fn fingerprint(
    rule_id: &str,
    secret_hash: &str,
    path: &str,
    line: usize,
    column: usize,
    commit: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [rule_id, secret_hash, path, commit.unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(format!("{line}:{column}").as_bytes());
    hex(&h.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The redacted form shown everywhere by default: the key's public prefix (`sk-proj-`), an
/// ellipsis and the last four characters, which is enough to tell keys apart and to find one in a
/// provider's dashboard, and never enough to use it. Short secrets (passwords) show no tail.
/// `prefix_len` is the byte length of the keyword the secret starts with (ASCII: keywords are);
/// at most 16 bytes of it, up to any whitespace, are shown.
pub fn redact(secret: &[u8], prefix_len: usize) -> String {
    let prefix_len = secret[..prefix_len.min(secret.len())]
        .iter()
        .take(16)
        .take_while(|b| b.is_ascii_graphic())
        .count();
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.chars().collect();
    let body = chars.len() - prefix_len;
    let prefix: String = chars[..prefix_len].iter().collect();
    let mut out = crate::sanitize::escape(&prefix).into_owned();
    out.push('…');
    if body >= 16 {
        let tail: String = chars[chars.len() - 4..].iter().collect();
        out.push_str(&crate::sanitize::escape(&tail));
    }
    out
}

/// How an exposure finding shows its matched text (a variable name, an SDK option, an API URL):
/// in full up to `EXCERPT_CHARS` characters, then an ellipsis; escaped like all file-derived text.
pub fn excerpt(text: &[u8]) -> String {
    const EXCERPT_CHARS: usize = 80;
    let text = String::from_utf8_lossy(text);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    let mut out = crate::sanitize::escape(&head).into_owned();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_prefix_and_tail_only() {
        assert_eq!(
            redact(b"sk-proj-Q8vJt3LmZr0KfXw2YpN7sHcB4uDgXy9Z", 8),
            "sk-proj-…Xy9Z"
        );
        assert_eq!(redact(b"hunter2", 0), "…");
        assert_eq!(format!("{:?}", Secret::new(b"abc")), "Secret(<3 bytes>)");
    }

    #[test]
    fn exposures_show_their_text() {
        const NAME: &str = "VITE_OPENAI_API_KEY"; // keyguard:allow (the exposure rule's own case)
        assert_eq!(excerpt(NAME.as_bytes()), NAME);
        assert_eq!(
            excerpt(b"'anthropic-dangerous-direct-browser-access':\n 'true'"),
            "'anthropic-dangerous-direct-browser-access':\\n 'true'"
        );
        let long = format!("https://api.openai.com/{}", "v".repeat(100));
        assert_eq!(excerpt(long.as_bytes()), format!("{}…", &long[..80]));
        let rules = crate::rules::RuleSet::builtin();
        let rule = |id: &str| rules.rules().iter().find(|r| r.id() == id).unwrap();
        let exposure = Finding::new(
            rule("client-public-env-secret"),
            Confidence::Medium,
            NAME.as_bytes(),
            "a/.env".into(),
            1,
            1,
        );
        assert_eq!(exposure.kind, Kind::Exposure);
        assert_eq!(exposure.secret_redacted, NAME);
        assert_eq!(exposure.secret_hash, secret_hash(NAME.as_bytes()));
        let key = b"sk-proj-Q8vJt3LmZr0KfXw2YpN7sHcB4uDgXy9Z";
        let secret = Finding::new(
            rule("openai-project-api-key"),
            Confidence::High,
            key,
            "a/.env".into(),
            1,
            21,
        );
        assert_eq!(secret.secret_redacted, "sk-proj-…Xy9Z");
    }

    #[test]
    fn hash_depends_on_secret_only() {
        assert_eq!(secret_hash(b"k1"), secret_hash(b"k1"));
        assert_ne!(secret_hash(b"k1"), secret_hash(b"k2"));
        assert_eq!(secret_hash(b"k1").len(), 32);
    }
}
