//! Property tests: the engine takes untrusted bytes. Whatever the input, scanning never panics,
//! every match lies inside the input with the secret inside the match, matches are ordered and
//! those of one kind disjoint, and a key found alone is still found wherever it is embedded.

use std::sync::{Arc, OnceLock};

use keyguard::engine::Scanner;
use keyguard::rules::RuleSet;
use proptest::prelude::*;

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(|| {
        let mut rules = RuleSet::builtin();
        rules.select_optional(true, &[]);
        Scanner::new(Arc::new(rules)).unwrap()
    })
}

/// Input made of pieces scanners care about: keywords, key-ish runs, quotes, separators, noise.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "sk-proj-",
            "ghp_",
            "AKIA",
            "xoxb-",
            "password",
            "token",
            "secret",
            "=",
            ":",
            "\"",
            "'",
            "\n",
            " ",
            "\\\"",
            "-----BEGIN PRIVATE KEY-----",
            "postgres://",
            "@",
            "://",
            "sk-ant-api03-",
            "AIza",
            "eyJ",
            "mistral_api_key",
            "é",
            "\u{202e}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        "[A-Za-z0-9_-]{1,60}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn scanning_never_panics_and_spans_are_sane(parts in prop::collection::vec(fragment(), 0..60)) {
        let input: Vec<u8> = parts.concat();
        let matches = scanner().scan(&input);
        // Matches of one kind are disjoint; an exposure may overlap a secret.
        let mut last_end = std::collections::HashMap::new();
        let mut last_start = 0;
        for m in &matches {
            prop_assert!(m.match_start <= m.start && m.start < m.end && m.end <= m.match_end);
            prop_assert!(m.match_end <= input.len());
            prop_assert!(m.start >= last_start, "matches out of order");
            last_start = m.start;
            let end = last_end.entry(scanner().rules().get(m.rule).spec.kind).or_insert(0);
            prop_assert!(m.start >= *end, "matches of one kind overlap");
            *end = m.end;
        }
    }

    #[test]
    fn a_key_is_found_wherever_it_is_embedded(
        before in "[ -~\n]{0,300}",
        after in "[ -~\n]{0,300}",
        body in "[A-Za-z0-9]{30}",
    ) {
        let sum = keyguard::engine::checksum::crc32_base62(body.as_bytes());
        let key = format!("ghp_{body}{}", std::str::from_utf8(&sum).unwrap());
        let input = format!("{before}\n{key}\n{after}");
        let found = scanner()
            .scan(input.as_bytes())
            .iter()
            .any(|m| &input.as_bytes()[m.start..m.end] == key.as_bytes());
        prop_assert!(found);
    }
}
