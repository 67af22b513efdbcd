//! Report writers: human, JSON (DESIGN.md's contract) and SARIF 2.1.0. They consume findings and
//! write to any `io::Write`; they never decide what is found or suppressed.

pub mod human;
pub mod json;
pub mod sarif;

use std::collections::HashSet;

use crate::finding::Finding;
use crate::rules::RuleSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
    pub commits: u64,
    pub blobs: u64,
    pub skipped_binary: u64,
    pub skipped_too_large: u64,
    pub skipped_unreadable: u64,
    pub suppressed: u64,
    pub duration_ms: u64,
}

pub struct Report<'a> {
    /// "tree", "git", "staged" or "bundle".
    pub source: &'a str,
    pub findings: &'a [Finding],
    pub summary: Summary,
    pub show_secrets: bool,
    pub rules: &'a RuleSet,
}

impl Report<'_> {
    /// Distinct keys among the findings (exposure findings are code, not keys).
    pub fn distinct_secrets(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.kind == crate::rules::Kind::Secret)
            .map(|f| f.secret_hash.as_str())
            .collect::<HashSet<_>>()
            .len()
    }

    pub fn write(
        &self,
        format: Format,
        out: &mut dyn std::io::Write,
        color: bool,
    ) -> std::io::Result<()> {
        match format {
            Format::Human => human::write(self, out, color),
            Format::Json => json::write(self, out),
            Format::Sarif => sarif::write(self, out),
        }
    }
}
