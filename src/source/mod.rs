//! Where bytes come from. Each source yields `(origin, bytes)` to the engine and turns the engine's
//! byte offsets into lines and columns. Sources never know rules.

pub mod git;
pub mod staged;
pub mod tree;

use std::sync::atomic::AtomicU64;

use crate::engine::Scanner;
use crate::finding::Finding;

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
            let (line, column, _) = index.locate(m.start);
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
            f
        })
        .collect()
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
