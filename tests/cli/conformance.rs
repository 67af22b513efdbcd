//! The Nosey Parker rule examples in ../shared/peer-examples are a conformance suite for the
//! catalogue: keyguard must find ≥ 90 % of the positives and flag ≤ 2 % of the negatives.
//! The data belongs to another project, so it is read from ../shared at run time, never copied.

use std::collections::BTreeMap;
use std::sync::Arc;

use keyguard::engine::{Match, Scanner};
use keyguard::rules::{Kind, RuleSet};

use crate::support;

/// The secrets found in `text`: the suite is about secrets, so client-exposure lints (a
/// `REACT_APP_..._PASSWORD` read by client code is one, and no secret) are left out.
fn secrets(scanner: &Scanner, text: &str) -> Vec<Match> {
    scanner
        .scan(text.as_bytes())
        .into_iter()
        .filter(|m| scanner.rules().get(m.rule).spec.kind == Kind::Secret)
        .collect()
}

#[test]
fn noseyparker_examples() {
    let path = support::shared_dir().join("peer-examples/noseyparker-rule-examples.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        support::skip_missing(&format!("{}", path.display()));
        return;
    };
    let full = Scanner::new(Arc::new(RuleSet::builtin())).unwrap();
    let mut default_rules = RuleSet::builtin();
    default_rules.select_optional(false, &[]);
    let default = Scanner::new(Arc::new(default_rules)).unwrap();
    // A negative example says one Nosey Parker rule must not match a text. When the same text is a
    // positive of another of its rules (an `xoxp-` token is a negative for "Slack Bot Token" and a
    // positive for "Slack User Token"), a catalogue that finds it is right, so such texts are not
    // counted as negatives: keyguard's rules do not map one-to-one onto Nosey Parker's.
    let positives: std::collections::HashSet<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["expect"] == "match")
        .map(|v| v["text"].as_str().unwrap().to_string())
        .collect();
    let (mut pos, mut found, mut neg, mut flagged, mut ambiguous) = (0, 0, 0, 0, 0);
    let (mut found_default, mut flagged_default) = (0, 0);
    let scanner = &full;
    let mut misses: BTreeMap<String, usize> = BTreeMap::new();
    let mut false_hits = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        let text = v["text"].as_str().unwrap();
        let rule = format!(
            "{} {}",
            v["rule"].as_str().unwrap(),
            v["name"].as_str().unwrap()
        );
        let hits = secrets(scanner, text);
        match v["expect"].as_str().unwrap() {
            "match" => {
                pos += 1;
                if hits.is_empty() {
                    *misses.entry(rule).or_default() += 1;
                } else {
                    found += 1;
                }
                if !secrets(&default, text).is_empty() {
                    found_default += 1;
                }
            }
            _ if positives.contains(text) => ambiguous += 1,
            _ => {
                neg += 1;
                if !secrets(&default, text).is_empty() {
                    flagged_default += 1;
                }
                if !hits.is_empty() {
                    flagged += 1;
                    let ids: Vec<_> = hits
                        .iter()
                        .map(|m| scanner.rules().get(m.rule).id())
                        .collect();
                    false_hits.push(format!("{rule}: {ids:?}"));
                }
            }
        }
    }
    let recall = found as f64 / pos as f64;
    let fp_rate = flagged as f64 / neg as f64;
    println!(
        "conformance: found {found}/{pos} positives ({:.1} %), flagged {flagged}/{neg} negatives ({:.1} %); {ambiguous} negatives are positives of another rule, not counted",
        recall * 100.0,
        fp_rate * 100.0
    );
    println!(
        "  default rules only (optional identifier rules off): found {found_default}/{pos} ({:.1} %), flagged {flagged_default}/{neg}",
        found_default as f64 / pos as f64 * 100.0
    );
    for (rule, n) in &misses {
        println!("  missed {n}: {rule}");
    }
    for f in &false_hits {
        println!("  flagged negative: {f}");
    }
    assert!(
        recall >= 0.90,
        "recall {:.1} % is below 90 %",
        recall * 100.0
    );
    assert!(
        fp_rate <= 0.02,
        "false-positive rate {:.1} % is above 2 %",
        fp_rate * 100.0
    );
}
