//! Where bytes come from. Each source yields `(origin, bytes)` to the engine and turns the engine's
//! byte offsets into lines and columns. Sources never know rules.

pub mod bundle;
pub mod git;
pub mod staged;
pub mod tree;

use std::sync::atomic::AtomicU64;

use crate::engine::Scanner;
use crate::finding::Finding;
use crate::sanitize::escape;

/// Counters for the report summary, shared by every source.
#[derive(Debug, Default)]
pub struct Stats {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub commits: AtomicU64,
    pub blobs: AtomicU64,
    pub binary: AtomicU64,
    pub too_large: AtomicU64,
    pub unreadable: AtomicU64,
}

/// The marker that suppresses findings on its line.
pub const INLINE_ALLOW: &[u8] = b"keyguard:allow";

/// How many leading bytes decide whether content is binary (as git and ripgrep do: a NUL byte).
const BINARY_SNIFF: usize = 8 << 10;

pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF)]).is_some()
}

/// Scans `bytes` and turns matches into findings at `path`, with 1-based lines and columns
/// (columns count Unicode scalar values) and the inline-allow flag.
pub fn scan_bytes(scanner: &Scanner, bytes: &[u8], path: &str, rel_path: &str) -> Vec<Finding> {
    let matches = scanner.scan(bytes);
    if matches.is_empty() {
        return Vec::new();
    }
    let mut index = LineIndex::new(bytes);
    // Lines holding the allow marker, found once per file: checking each finding's whole line
    // would be quadratic on a minified line with many keys.
    let allowed_lines: Vec<usize> = {
        let mut markers = LineIndex::new(bytes);
        memchr::memmem::find_iter(bytes, INLINE_ALLOW)
            .map(|p| markers.locate(p).0)
            .collect()
    };
    matches
        .into_iter()
        .map(|m| {
            let rule = scanner.rules().get(m.rule);
            let (line, column, line_start) = index.locate(m.start);
            let mut f = Finding::new(
                rule,
                m.confidence,
                &bytes[m.start..m.end],
                path.to_string(),
                line,
                column,
            );
            f.rel_path = rel_path.to_string();
            f.inline_allowed = allowed_lines.binary_search(&line).is_ok();
            let (before, mut after) = context(bytes, (m.start, m.end), line_start);
            // An exposure matches a variable name; what is assigned to it is the
            // secret itself, however short: never shown.
            if rule.spec.kind == crate::rules::Kind::Exposure
                && let Some(i) = after.find(['=', ':'])
            {
                after.truncate(i + 1);
                after.push('…');
            }
            f.context = Some((before, after));
            f
        })
        .collect()
}

/// Characters of context either side of a secret.
const CONTEXT_CHARS: usize = 32;

/// Up to `CONTEXT_CHARS` characters of the secret's line before and after it, escaped, with
/// anything that could itself be a secret masked (`mask_tokens`), so that the context of one
/// finding never shows another key, whether or not a rule reported it.
fn context(bytes: &[u8], (start, end): (usize, usize), line_start: usize) -> (String, String) {
    let line_end = memchr::memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |i| end + i);
    let back = char_offset_back(&bytes[line_start..start], CONTEXT_CHARS);
    let fwd = char_offset_fwd(&bytes[end..line_end], CONTEXT_CHARS);
    // Tokens are masked whole, so look at them whole: a window edge must not cut a token into
    // pieces too short to be masked.
    let mut from = start - back;
    while from > line_start && is_token_byte(bytes[from - 1]) {
        from -= 1;
    }
    let mut to = end + fwd;
    while to < line_end && is_token_byte(bytes[to]) {
        to += 1;
    }
    let before = mask_tokens(&bytes[from..start]);
    let after = mask_tokens(&bytes[end..to]);
    (
        if from > line_start {
            format!("…{before}")
        } else {
            before
        },
        if to < line_end {
            format!("{after}…")
        } else {
            after
        },
    )
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'~')
        || b >= 0x80
}

/// The text, escaped, with every run of token characters that could be a credential replaced by
/// `…`: runs of 8 or more with a digit in them, and any run of 20 or more. Words of code
/// (`function`, `apiKey`, `document`) stay readable; keys, passwords with digits, hashes and
/// long encoded values do not show.
fn mask_tokens(text: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let run = text[i..].iter().take_while(|&&b| is_token_byte(b)).count();
        if run == 0 {
            out.push_str(&String::from_utf8_lossy(&text[i..i + 1]));
            i += 1;
            continue;
        }
        let token = &text[i..i + run];
        if (run >= 8 && token.iter().any(u8::is_ascii_digit)) || run >= 20 {
            out.push('…');
        } else {
            out.push_str(&String::from_utf8_lossy(token));
        }
        i += run;
    }
    escape(&out).into_owned()
}

/// Bytes spanned by the last `n` characters of `b`.
fn char_offset_back(b: &[u8], n: usize) -> usize {
    let mut chars = 0;
    for (i, &c) in b.iter().enumerate().rev() {
        if (c & 0xC0) != 0x80 {
            chars += 1;
            if chars == n {
                return b.len() - i;
            }
        }
    }
    b.len()
}

/// Bytes spanned by the first `n` characters of `b`.
fn char_offset_fwd(b: &[u8], n: usize) -> usize {
    let mut chars = 0;
    for (i, &c) in b.iter().enumerate() {
        if (c & 0xC0) != 0x80 {
            if chars == n {
                return i;
            }
            chars += 1;
        }
    }
    b.len()
}

/// Offsets to (line, column) for offsets visited in increasing order, in time linear in the input
/// however many findings share one long line.
pub struct LineIndex<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
    line_start: usize,
    column: usize,
}

impl<'a> LineIndex<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineIndex {
            bytes,
            offset: 0,
            line: 1,
            line_start: 0,
            column: 1,
        }
    }

    /// Returns (line, column, byte offset of the line's start). Offsets must not decrease.
    pub fn locate(&mut self, offset: usize) -> (usize, usize, usize) {
        if offset < self.offset {
            *self = LineIndex::new(self.bytes);
        }
        let span = &self.bytes[self.offset..offset];
        if let Some(last_nl) = memchr::memrchr(b'\n', span) {
            self.line += memchr::memchr_iter(b'\n', span).count();
            self.line_start = self.offset + last_nl + 1;
            self.column = 1 + count_chars(&self.bytes[self.line_start..offset]);
        } else {
            self.column += count_chars(span);
        }
        self.offset = offset;
        (self.line, self.column, self.line_start)
    }
}

/// Unicode scalar values in a byte string (invalid bytes count one each).
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_lines_and_chars() {
        let text = "ab\ncdé f\n\nxyz".as_bytes();
        let mut idx = LineIndex::new(text);
        assert_eq!(idx.locate(0), (1, 1, 0));
        assert_eq!(idx.locate(1), (1, 2, 0));
        assert_eq!(idx.locate(3), (2, 1, 3));
        let f = text.iter().position(|&b| b == b'f').unwrap();
        assert_eq!(idx.locate(f).0..idx.locate(f).2, 2..3);
        assert_eq!(idx.locate(f).1, 5);
        let y = text.len() - 2;
        assert_eq!(idx.locate(y), (4, 2, text.len() - 3));
        assert_eq!(idx.locate(0), (1, 1, 0));
    }
}
