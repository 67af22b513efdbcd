//! Every rule against its own examples, through the real engine with the whole catalogue loaded
//! (so a positive must survive overlap resolution against every other rule).

use std::sync::Arc;

use super::*;
use crate::engine::Scanner;

fn scanner() -> Scanner {
    Scanner::new(Arc::new(RuleSet::builtin())).expect("catalogue compiles")
}

#[test]
fn builtin_catalogue_is_valid() {
    let set = RuleSet::builtin();
    for rule in set.rules() {
        // Compile eagerly here so a bad pattern fails the test rather than a scan.
        let _ = rule.regex();
        let _ = rule.rejects();
        // `RuleSet::builtin` skips parsing at start-up; the full checks run here instead, and the
        // secret's group found by parsing must be the one taken from the compiled regex.
        let checked = Rule::new(rule.spec.clone(), &rule.origin)
            .unwrap_or_else(|e| panic!("{}: {e}", rule.origin));
        assert_eq!(
            checked.secret_group(),
            rule.secret_group(),
            "{}: rule `{}`: secret group",
            rule.origin,
            rule.id()
        );
        assert!(
            !rule.spec.examples.is_empty(),
            "{}: rule `{}` has no examples",
            rule.origin,
            rule.id()
        );
    }
}

#[test]
fn every_rule_matches_its_examples() {
    let scanner = scanner();
    let mut failures = Vec::new();
    for (i, rule) in scanner.rules().rules().iter().enumerate() {
        for ex in &rule.spec.examples {
            let found = scanner.scan(ex.as_bytes());
            if !found.iter().any(|m| m.rule == i) {
                let got: Vec<&str> = found
                    .iter()
                    .map(|m| scanner.rules().get(m.rule).id())
                    .collect();
                failures.push(format!(
                    "{}: `{}` misses its example {ex:?} (found {got:?})",
                    rule.origin,
                    rule.id()
                ));
            }
        }
        for ex in &rule.spec.negative_examples {
            if scanner.scan(ex.as_bytes()).iter().any(|m| m.rule == i) {
                failures.push(format!(
                    "{}: `{}` matches its negative example {ex:?}",
                    rule.origin,
                    rule.id()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
