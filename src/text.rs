//! Wrapping human text to the width keyguard keeps its output within (100 columns), for lines
//! that are built from data of unbounded length: provider notes, plans, lists of names.
//!
//! Greedy wrapping at spaces, counted in `char`s: keyguard's own text uses only single-width
//! characters (`…`, `→`). A word longer than the line (a URL) is kept whole rather than broken,
//! so it stays clickable and copyable. clap wraps `--help` itself; its wrapper is not public, and
//! this is too small to earn the `textwrap` crate.

/// The widest a line of keyguard's human output gets.
pub const WIDTH: usize = 100;

/// `text` wrapped to `width` columns: the first line starts with `first`, the others with `rest`
/// (a hanging indent). Runs of spaces collapse to one.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut len = first.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let n = word.chars().count();
        if !empty && len + 1 + n > width {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            len = rest.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += n;
        empty = false;
    }
    lines.push(line);
    lines
}

/// `wrap` joined with newlines.
pub fn fill(text: &str, width: usize, first: &str, rest: &str) -> String {
    wrap(text, width, first, rest).join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_with_a_hanging_indent() {
        let got = wrap("one two three four five six", 14, "- ", "  ");
        assert_eq!(got, ["- one two", "  three four", "  five six"]);
        for l in &got {
            assert!(l.chars().count() <= 14, "{l}");
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_kept_whole() {
        let url = "https://example.com/a/very/long/path";
        let got = wrap(&format!("see {url} now"), 20, "", "  ");
        assert_eq!(got, ["see".to_string(), format!("  {url}"), "  now".into()]);
    }

    #[test]
    fn counts_characters_not_bytes() {
        // Ten `…` are 30 bytes but ten columns: they fit a line of 12.
        let dots = "…".repeat(10);
        assert_eq!(
            wrap(&format!("{dots} x"), 12, "", ""),
            [format!("{dots} x")]
        );
    }

    #[test]
    fn empty_text_is_the_indent_alone() {
        assert_eq!(wrap("", 10, "> ", "  "), ["> "]);
    }
}
