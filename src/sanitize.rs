//! Escapes text from scanned files (paths, snippets) before it reaches a terminal or report, so a
//! file cannot drive the user's terminal: control characters, bidi overrides and zero-width
//! characters are shown as `\u{..}` escapes.

use std::borrow::Cow;

fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width, LRM/RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}')
}

pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_dangerous) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like `escape`, but keeps line breaks: for multi-line messages (errors) printed to a terminal.
pub fn escape_lines(text: &str) -> String {
    text.split('\n')
        .map(|l| escape(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes quoted values from a parser's message (`invalid type: string "sk-proj-…"`): a config
/// file can hold a key in the wrong place, and an error message must not print it.
pub fn scrub_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        match rest[open + 1..].find('"') {
            Some(len) => {
                out.push_str("\"…\"");
                rest = &rest[open + 1 + len + 1..];
            }
            None => {
                out.push_str("\"…");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes a path for display (lossy for non-UTF-8 names).
pub fn path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_values() {
        assert_eq!(
            scrub_quoted_values("invalid type: string \"sk-proj-abc\", expected a sequence"),
            "invalid type: string \"…\", expected a sequence"
        );
        assert_eq!(
            scrub_quoted_values("unknown field `exlude`"),
            "unknown field `exlude`"
        );
        assert_eq!(escape_lines("a\x1b\nb"), "a\\u{1b}\nb");
    }

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("plain/path.rs"), "plain/path.rs");
        assert_eq!(escape("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(escape("l1\nl2"), "l1\\nl2");
    }
}
