//! Everything the CLI writes: standard output with a closed pipe reported as a value (never a
//! panic), and human text with control characters made visible so that a hostile policy or
//! manifest cannot drive the terminal.

use std::borrow::Cow;
use std::io::{ErrorKind, Write};

/// Standard output was closed by the reader (`fargate-sim … | head`): stop writing, clean up,
/// and end with [`crate::exit::Exit::PipeClosed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Writes `text` to standard output as it is (JSON, SARIF: already escaped by serde).
///
/// # Errors
/// [`Closed`] when the reader went away; any other write error is reported the same way,
/// since nothing more can be shown.
pub fn raw(text: &str) -> Result<(), Closed> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::Interrupted => raw(text),
        Err(_) => Err(Closed),
    }
}

/// Writes human text to standard output with control characters escaped (see [`visible`]).
///
/// # Errors
/// [`Closed`], as for [`raw`].
pub fn human(text: &str) -> Result<(), Closed> {
    raw(&visible(text))
}

/// Writes one human line to standard error (errors, notes, progress), escaped like [`human`].
/// A closed standard error is ignored: there is nowhere left to report it.
pub fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(visible(line).as_bytes());
    let _ = err.write_all(b"\n");
}

/// `text` with every character that a terminal interprets shown as an escape instead: C0
/// controls other than newline and tab (ESC among them), DEL, C1 controls, and the Unicode
/// bidirectional overrides and isolates (which reorder what is shown). Plain text is borrowed.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut s = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            s.push_str(&c.escape_unicode().to_string());
        } else {
            s.push(c);
        }
    }
    Cow::Owned(s)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_sent() {
        assert_eq!(
            visible("eks.amazonaws.com\u{1b}[2J\u{7}"),
            "eks.amazonaws.com\\u{1b}[2J\\u{7}"
        );
    }

    #[test]
    fn bidi_overrides_and_c1_controls_are_shown() {
        assert_eq!(visible("a\u{202e}b\u{9b}c"), "a\\u{202e}b\\u{9b}c");
    }

    #[test]
    fn newlines_tabs_and_plain_unicode_pass_unchanged() {
        let text = "line 1\n\tline 2 — naïve ✓\n";
        assert!(matches!(visible(text), Cow::Borrowed(t) if t == text));
    }
}
