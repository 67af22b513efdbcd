//! Suppression: inline `keyguard:allow` comments, `[allow]` in keyguard.toml, and a baseline (an
//! earlier JSON report). Baselines are keyed on rule and secret, never on line numbers, so editing
//! a file neither resurrects an accepted finding nor hides a new key.

use std::collections::HashSet;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::bytes::Regex;

use crate::config::AllowConfig;
use crate::finding::Finding;

#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    #[error("cannot read baseline {path}: {message}")]
    Baseline { path: String, message: String },
    #[error("{config}: [allow] {message}")]
    Allow { config: String, message: String },
}

#[derive(Default)]
pub struct Suppressor {
    paths: Option<Gitignore>,
    rules: HashSet<String>,
    hashes: HashSet<String>,
    patterns: Vec<Regex>,
    baseline: HashSet<(String, String)>,
}

impl Suppressor {
    pub fn from_config(
        allow: &AllowConfig,
        config_name: &str,
    ) -> Result<Suppressor, SuppressError> {
        let err = |message: String| SuppressError::Allow {
            config: config_name.to_string(),
            message,
        };
        let paths = if allow.paths.is_empty() {
            None
        } else {
            let mut b = GitignoreBuilder::new("");
            for p in &allow.paths {
                b.add_line(None, p)
                    .map_err(|e| err(format!("paths: `{p}`: {e}")))?;
            }
            Some(b.build().map_err(|e| err(format!("paths: {e}")))?)
        };
        let mut patterns = Vec::new();
        for (i, p) in allow.patterns.iter().enumerate() {
            // Neither the pattern nor the regex crate's message (which quotes it) is echoed: an
            // allow pattern may spell out the very key it allows.
            let re = Regex::new(p).map_err(|e| {
                let kind = match e {
                    regex::Error::CompiledTooBig(_) => "too large",
                    _ => "not a valid regex",
                };
                err(format!("patterns[{i}] is {kind}"))
            })?;
            patterns.push(re);
        }
        Ok(Suppressor {
            paths,
            rules: allow.rules.iter().cloned().collect(),
            hashes: allow.secret_hashes.iter().cloned().collect(),
            patterns,
            baseline: HashSet::new(),
        })
    }

    /// Loads an earlier `--format json` report as a baseline.
    pub fn load_baseline(&mut self, path: &Path) -> Result<(), SuppressError> {
        let err = |message: String| SuppressError::Baseline {
            path: crate::sanitize::path(path),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "not JSON ({e}); a baseline is a report written with --format json"
            ))
        })?;
        let findings = doc
            .get("findings")
            .and_then(|f| f.as_array())
            .ok_or_else(|| err("not a keyguard JSON report: no `findings` array".into()))?;
        for (i, f) in findings.iter().enumerate() {
            let field = |name: &str| {
                f.get(name)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| err(format!("finding {i} has no `{name}`")))
            };
            // An exposure's "secret" is code (a variable name), the same text in every
            // project: a baseline hides it only where it was, not everywhere.
            let identity = if f.get("kind").and_then(|k| k.as_str()) == Some("exposure") {
                format!("{}@{}", field("secret_hash")?, field("path")?)
            } else {
                field("secret_hash")?
            };
            self.baseline.insert((field("rule_id")?, identity));
        }
        Ok(())
    }

    /// Whether a finding is hidden, and why (for `--verbose` style messages).
    pub fn suppressed(&self, f: &Finding) -> Option<&'static str> {
        if f.inline_allowed {
            return Some("inline keyguard:allow");
        }
        if self.rules.contains(&f.rule_id) {
            return Some("[allow] rules");
        }
        if self.hashes.contains(&f.secret_hash) {
            return Some("[allow] secret_hashes");
        }
        // An empty rel_path: the file lies outside the directory of the keyguard.toml.
        if let Some(paths) = &self.paths
            && !f.rel_path.is_empty()
            && paths
                .matched_path_or_any_parents(&f.rel_path, false)
                .is_ignore()
        {
            return Some("[allow] paths");
        }
        if self.patterns.iter().any(|p| p.is_match(f.secret.expose())) {
            return Some("[allow] patterns");
        }
        let identity = if f.kind == crate::rules::Kind::Exposure {
            format!("{}@{}", f.secret_hash, f.path)
        } else {
            f.secret_hash.clone()
        };
        if self.baseline.contains(&(f.rule_id.clone(), identity)) {
            return Some("baseline");
        }
        None
    }

    /// Splits findings into (kept, number suppressed).
    pub fn apply(&self, findings: Vec<Finding>) -> (Vec<Finding>, usize) {
        let before = findings.len();
        let kept: Vec<Finding> = findings
            .into_iter()
            .filter(|f| self.suppressed(f).is_none())
            .collect();
        let n = before - kept.len();
        (kept, n)
    }
}
