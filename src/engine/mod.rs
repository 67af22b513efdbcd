//! Matching: one literal prefilter over every rule's keywords (`prefilter`), regex confirmation
//! in a bounded window around each keyword hit, then placeholder, entropy and checksum checks that
//! decide the confidence. Scans a byte slice and returns matches with byte offsets; knows nothing
//! of files, git or reports.
//!
//! Cost: the prefilter is one pass over the input. A rule's regex only ever runs on merged windows
//! of bounded size around hits, so a multi-megabyte minified line costs no more than many short
//! lines, and no input makes the work quadratic.

pub mod checksum;
pub mod entropy;
pub mod placeholder;
pub mod prefilter;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use regex::bytes::RegexSet;

use crate::rules::{Checksum, Confidence, Kind, Rule, RuleSet};
use prefilter::Prefilter;

/// How far a window may grow past its nominal edge to avoid cutting a token in half.
const MAX_TOKEN_EXTENSION: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Rule validation rejects these; the check here keeps a hand-built `RuleSet` from reaching
    /// the prefilter, which needs two bytes per keyword.
    #[error("rule {rule}: keyword {keyword:?} is shorter than two bytes")]
    ShortKeyword { rule: String, keyword: String },
}

/// One confirmed secret in the scanned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in the scanner's `RuleSet`.
    pub rule: usize,
    /// Byte span of the secret.
    pub start: usize,
    pub end: usize,
    /// Byte span of the whole regex match (secret plus context).
    pub match_start: usize,
    pub match_end: usize,
    pub confidence: Confidence,
}

/// A compiled rule set ready to scan bytes. Cheap to share across threads.
#[derive(Debug)]
pub struct Scanner {
    rules: Arc<RuleSet>,
    prefilter: Prefilter,
    /// Prefilter keyword index → the rules that keyword belongs to.
    keyword_rules: Vec<Vec<u32>>,
    /// Prefilter keyword index → its length in bytes.
    keyword_lens: Vec<usize>,
    /// Prefilter pattern id → (bytes before, bytes after) a hit to search: the widest of its rules.
    keyword_windows: Vec<(usize, usize)>,
    /// Prefilter pattern id → a set of its rules' patterns, for keywords shared by several rules:
    /// one pass over a window tells which rules can match there at all. Built on first use.
    keyword_sets: Vec<OnceLock<Option<RegexSet>>>,
}

impl Scanner {
    pub fn new(rules: Arc<RuleSet>) -> Result<Scanner, EngineError> {
        let mut keywords: Vec<Vec<u8>> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            for kw in &rule.spec.keywords {
                if kw.len() < 2 {
                    return Err(EngineError::ShortKeyword {
                        rule: rule.spec.id.clone(),
                        keyword: kw.clone(),
                    });
                }
                let lower = kw.as_bytes().to_ascii_lowercase();
                match keywords.iter().position(|k| *k == lower) {
                    Some(p) => {
                        if !keyword_rules[p].contains(&(i as u32)) {
                            keyword_rules[p].push(i as u32)
                        }
                    }
                    None => {
                        keywords.push(lower);
                        keyword_rules.push(vec![i as u32]);
                    }
                }
            }
        }
        let keyword_windows = keyword_rules
            .iter()
            .map(|rs| {
                rs.iter().fold((0, 0), |(b, a), &r| {
                    let rule = rules.get(r as usize);
                    (b.max(rule.window_before()), a.max(rule.window()))
                })
            })
            .collect();
        let keyword_sets = keyword_rules.iter().map(|_| OnceLock::new()).collect();
        Ok(Scanner {
            rules,
            prefilter: Prefilter::new(&keywords),
            keyword_lens: keywords.iter().map(Vec::len).collect(),
            keyword_rules,
            keyword_windows,
            keyword_sets,
        })
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// All matches in `haystack`, ordered by position, one per secret span.
    pub fn scan(&self, haystack: &[u8]) -> Vec<Match> {
        // (keyword, window start, window end) for every keyword hit.
        let mut windows: Vec<(u32, usize, usize)> = Vec::new();
        self.prefilter.for_each_match(haystack, |k, start| {
            let (before, after) = self.keyword_windows[k];
            windows.push((
                k as u32,
                start.saturating_sub(before),
                (start + self.keyword_lens[k] + after).min(haystack.len()),
            ));
        });
        if windows.is_empty() {
            return Vec::new();
        }
        windows.sort_unstable();
        let mut matches = Vec::new();
        let mut i = 0;
        while i < windows.len() {
            // Merge on extended edges: an extended end sits on a non-token byte, so the next
            // window's start, extended backwards, cannot reach into this one.
            let (keyword, start, end) = windows[i];
            i += 1;
            let mut end = extend_forward(haystack, end);
            while i < windows.len() && windows[i].0 == keyword && windows[i].1 <= end {
                end = extend_forward(haystack, end.max(windows[i].2));
                i += 1;
            }
            let start = extend_back(haystack, start);
            let rules = &self.keyword_rules[keyword as usize];
            if rules.len() == 1 {
                self.confirm(rules[0] as usize, haystack, start, end, &mut matches);
                continue;
            }
            match self.keyword_set(keyword as usize) {
                Some(set) => {
                    for i in set.matches(&haystack[start..end]).iter() {
                        self.confirm(rules[i] as usize, haystack, start, end, &mut matches);
                    }
                }
                None => {
                    for &r in rules {
                        self.confirm(r as usize, haystack, start, end, &mut matches);
                    }
                }
            }
        }
        resolve_overlaps(&self.rules, matches)
    }

    fn keyword_set(&self, keyword: usize) -> Option<&RegexSet> {
        self.keyword_sets[keyword]
            .get_or_init(|| {
                let patterns = self.keyword_rules[keyword]
                    .iter()
                    .map(|&r| self.rules.get(r as usize).spec.pattern.as_str());
                // Too large a set is not an error: its rules then run one by one.
                regex::bytes::RegexSetBuilder::new(patterns)
                    .size_limit(32 << 20)
                    .unicode(false)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    fn confirm(
        &self,
        rule_index: usize,
        haystack: &[u8],
        start: usize,
        end: usize,
        out: &mut Vec<Match>,
    ) {
        let rule = self.rules.get(rule_index);
        let window = &haystack[start..end];
        let group = rule.secret_group();
        for caps in rule.regex().captures_iter(window) {
            let Some(secret) = caps.get(group) else {
                continue;
            };
            let whole = caps.get(0).expect("group 0 always matches");
            let bytes = secret.as_bytes();
            if rule.is_generic()
                && placeholder::line_says_placeholder(
                    haystack,
                    start + secret.start(),
                    start + secret.end(),
                )
            {
                continue;
            }
            // The same span found again through another keyword's window is collapsed by
            // `resolve_overlaps`.
            if let Some(confidence) = judge(rule, bytes) {
                out.push(Match {
                    rule: rule_index,
                    start: start + secret.start(),
                    end: start + secret.end(),
                    match_start: start + whole.start(),
                    match_end: start + whole.end(),
                    confidence,
                });
            }
        }
    }
}

/// Applies the placeholder, reject, entropy and checksum checks; `None` drops the match.
fn judge(rule: &Rule, secret: &[u8]) -> Option<Confidence> {
    if secret.is_empty() {
        return None;
    }
    let prefix_len = rule.keyword_prefix_len(secret);
    if placeholder::is_placeholder(secret, prefix_len) {
        return None;
    }
    if rule.rejects().iter().any(|r| r.is_match(secret)) {
        return None;
    }
    if let Some(min) = rule.spec.min_entropy
        && entropy::shannon(&secret[prefix_len..]) < min
    {
        return None;
    }
    let confidence = match rule.spec.checksum {
        None => rule.spec.confidence,
        Some(Checksum::Crc32Base62) => match checksum::verify_crc32_base62(secret) {
            Some(true) => Confidence::High,
            _ => Confidence::Low,
        },
        Some(Checksum::Base64Credentials) if checksum::is_base64_credentials(secret) => {
            rule.spec.confidence
        }
        Some(Checksum::Base64Credentials) => return None,
    };
    Some(confidence)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=' | b'.')
}

fn extend_back(h: &[u8], mut start: usize) -> usize {
    let limit = start.saturating_sub(MAX_TOKEN_EXTENSION);
    while start > limit && is_token_byte(h[start - 1]) {
        start -= 1;
    }
    start
}

fn extend_forward(h: &[u8], mut end: usize) -> usize {
    let limit = (end + MAX_TOKEN_EXTENSION).min(h.len());
    while end < limit && is_token_byte(h[end]) {
        end += 1;
    }
    end
}

/// Where rules overlap on one secret, keeps the most specific: a provider rule beats a generic
/// one, then higher confidence, then the longer secret, then catalogue order. Kinds never
/// compete: an exposure (a `VITE_` variable named for a key) and the key assigned to it are both
/// kept, so matches of different kinds may overlap.
fn resolve_overlaps(rules: &RuleSet, mut matches: Vec<Match>) -> Vec<Match> {
    if matches.len() < 2 {
        return matches;
    }
    let rank = |m: &Match| {
        (
            !rules.get(m.rule).is_generic(),
            m.confidence,
            m.end - m.start,
            std::cmp::Reverse(m.rule),
        )
    };
    matches.sort_by_key(|m| std::cmp::Reverse(rank(m)));
    // Kept spans of one kind are disjoint, so the one starting last before `m.end` is the only
    // candidate for an overlap with `m`.
    let mut taken: HashMap<Kind, BTreeMap<usize, usize>> = HashMap::new();
    let mut kept: Vec<Match> = Vec::with_capacity(matches.len());
    for m in matches {
        let taken = taken.entry(rules.get(m.rule).spec.kind).or_default();
        let overlaps = taken
            .range(..m.end)
            .next_back()
            .is_some_and(|(_, &end)| end > m.start);
        if !overlaps {
            taken.insert(m.start, m.end);
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| (m.start, m.end, m.rule));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RuleSpec, Severity};

    fn rule(id: &str, kind: Kind, confidence: Confidence, pattern: &str) -> Rule {
        let spec = RuleSpec {
            id: id.into(),
            provider: "test".into(),
            title: id.into(),
            severity: Severity::High,
            confidence,
            kind,
            optional: false,
            keywords: vec!["TEST_".into()],
            pattern: pattern.into(),
            min_entropy: None,
            checksum: None,
            window: None,
            reject: Vec::new(),
            dashboard_url: None,
            docs_url: None,
            remediation: None,
            examples: Vec::new(),
            negative_examples: Vec::new(),
        };
        Rule::new(spec, "test").unwrap()
    }

    #[test]
    fn kinds_never_compete_in_overlaps() {
        let mut set = RuleSet::default();
        // Two secret rules overlapping each other, and an exposure rule overlapping both.
        for r in [
            rule("whole", Kind::Secret, Confidence::Low, r"(TEST_\w+=\w+)"),
            rule("value", Kind::Secret, Confidence::High, r"TEST_\w+=(\w+)"),
            rule("name", Kind::Exposure, Confidence::Low, r"(TEST_\w+)="),
            rule(
                "line",
                Kind::Exposure,
                Confidence::Medium,
                r"(TEST_\w+=\w+)",
            ),
        ] {
            set.push(r).unwrap();
        }
        let scanner = Scanner::new(Arc::new(set)).unwrap();
        let text = b"x TEST_NAME=Q7vK2mZp y";
        let found: Vec<(&str, &[u8])> = scanner
            .scan(text)
            .iter()
            .map(|m| (scanner.rules().get(m.rule).id(), &text[m.start..m.end]))
            .collect();
        // Within a kind the higher confidence wins; across kinds both stand.
        assert_eq!(
            found,
            vec![
                ("line", &b"TEST_NAME=Q7vK2mZp"[..]),
                ("value", &b"Q7vK2mZp"[..]),
            ]
        );
    }
}
