//! Placeholder rejection: documented examples, template variables and filler that look like keys
//! but are not. Applied to every secret before it becomes a match.

use aho_corasick::AhoCorasick;
use std::sync::LazyLock;

/// Substrings (ASCII case-insensitive) that mark a value as a placeholder or a reference to one.
const MARKERS: &[&str] = &[
    "example",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpassword",
    "my_api_key",
    "my-api-key",
    "api_key_here",
    "key-here",
    "key_here",
    "token_here",
    "token-here",
    "secret_here",
    "secret-here",
    "xxxxx",
    "*****",
    "•••",
    "changeme",
    "change_me",
    "change-me",
    "replace_me",
    "replace-me",
    "replaceme",
    "insert_",
    "insert-your",
    "redacted",
    "${",
    "{{",
    "}}",
    "<%",
    "process.env",
    "import.meta.env",
    "os.environ",
    "getenv",
    "env::var",
    "secrets.",
    "dummy",
    "0123456789",
    "123456789",
    "abcdefghij",
    "1234567890",
];

static MARKER_SET: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(MARKERS)
        .expect("placeholder markers build")
});

/// Words that, anywhere on a line, say its value is not a real credential.
const LINE_MARKERS: &[&str] = &["placeholder", "dummy", "fake", "changeme", "redacted"];

static LINE_MARKER_SET: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(LINE_MARKERS)
        .expect("line markers build")
});

/// Whether the line around `start..end` in `haystack` says its value is a placeholder
/// (`api_key = "..."  # placeholder`). Applied to provider-less rules, whose only evidence is the
/// shape of an assignment; a provider's key format is stronger evidence than a comment.
pub fn line_says_placeholder(haystack: &[u8], start: usize, end: usize) -> bool {
    const REACH: usize = 512;
    let lo = start.saturating_sub(REACH);
    let hi = (end + REACH).min(haystack.len());
    let line_start = memchr::memrchr(b'\n', &haystack[lo..start]).map_or(lo, |p| lo + p + 1);
    let line_end = memchr::memchr(b'\n', &haystack[end..hi]).map_or(hi, |p| end + p);
    LINE_MARKER_SET.is_match(&haystack[line_start..line_end])
}

/// Whether `secret` (whose first `prefix_len` bytes are a fixed prefix such as `sk-proj-`) is a
/// placeholder rather than a key.
pub fn is_placeholder(secret: &[u8], prefix_len: usize) -> bool {
    // Markers are looked for where a placeholder shows them, at the start: a long multi-line
    // secret (a PEM body) may by chance run on into unrelated text that holds one.
    let head = &secret[..secret.len().min(256)];
    let head = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    if MARKER_SET.is_match(head) {
        return true;
    }
    let body = &secret[prefix_len.min(secret.len())..];
    if body.is_empty() {
        return true;
    }
    // Template syntax around the whole value: <api-key>, [TOKEN], %KEY%, $KEY.
    let (first, last) = (body[0], body[body.len() - 1]);
    if matches!((first, last), (b'<', b'>') | (b'[', b']') | (b'%', b'%')) || first == b'$' {
        return true;
    }
    // Filler: one character, or a short repeated unit, over most of the body.
    let mut counts = [0u32; 256];
    for &b in body {
        counts[b as usize] += 1;
    }
    let distinct = counts.iter().filter(|&&c| c > 0).count();
    let max = *counts.iter().max().unwrap() as usize;
    if body.len() >= 8 && (distinct <= 2 || max * 10 >= body.len() * 6) {
        return true;
    }
    if body.len() >= 16 && distinct <= 4 {
        return true;
    }
    // A run of one character: filler in a key-shaped template (`sk_live_00000000…`). Random key
    // material never has one. Runs of `A` are base64 for zero bytes, which some formats carry
    // (Dropbox long-lived tokens), and long binary encodings (PEM bodies) are exempt.
    if body.len() < 256 {
        let mut run = 1;
        for w in body.windows(2) {
            run = if w[0] == w[1] && w[0].is_ascii_alphanumeric() && w[0] != b'A' {
                run + 1
            } else {
                1
            };
            if run >= 8 {
                return true;
            }
        }
    }
    // A short unit repeated: "abababab", "123123123".
    if body.len() >= 12 {
        for period in 2..=4 {
            let same = body
                .iter()
                .zip(&body[period..])
                .filter(|(a, b)| a == b)
                .count();
            if same * 10 >= (body.len() - period) * 9 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_placeholders() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "your-api-key-here",
            "${OPENAI_API_KEY}",
            "process.env.OPENAI_API_KEY",
            "sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "<your token>",
            "ghp_000000000000000000000000000000000000",
            "sk_live_51Hq3kLmN00000000000000000000",
        ] {
            assert!(is_placeholder(p.as_bytes(), 0), "{p}");
        }
        for p in [
            "sk-abababababababababababababab",
            "sk-123412341234123412341234",
        ] {
            assert!(is_placeholder(p.as_bytes(), 3), "{p}");
        }
    }

    #[test]
    fn placeholder_lines() {
        let text = b"a = 1\napi_key: \"Zq9vKd82LmNx0Pw\"  # placeholder\nb = 2\n";
        let at = text.windows(3).position(|w| w == b"Zq9").unwrap();
        assert!(line_says_placeholder(text, at, at + 15));
        let text = b"api_key: \"Zq9vKd82LmNx0Pw\"\n# placeholder on the next line\n";
        assert!(!line_says_placeholder(text, 10, 25));
    }

    #[test]
    fn keeps_random_keys() {
        for k in [
            "sk-proj-Q8vJt3LmZr0KfXw2YpN7sHcB4uDg",
            "AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
            "hunter2isnotgood",
            "Zq9vKd82LmNx0PwRt5",
        ] {
            assert!(!is_placeholder(k.as_bytes(), 0), "{k}");
        }
    }
}
