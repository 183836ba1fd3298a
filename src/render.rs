//! Human rendering shared by the subcommands: a finding with its source line underlined.

use std::path::Path;

use iam_sim::{Diagnostic, LineIndex};

/// `file:line:col: severity CODE name: message`, the source line with the span underlined,
/// and the help sentence.
pub fn diagnostic(d: &Diagnostic, path: &Path, text: &str, idx: &LineIndex) -> String {
    let start = idx.line_col(text, d.span.start);
    let end = idx.line_col(text, d.span.end);
    let width = if end.line == start.line {
        end.column.saturating_sub(start.column).max(1)
    } else {
        1
    };
    let mut s = format!(
        "{}:{start}: {} {} {}: {}\n",
        path.display(),
        d.severity(),
        d.code,
        d.name(),
        d.message
    );
    let line = idx.line_text(text, start.line);
    let at = idx
        .line_start(start.line)
        .map_or(0, |ls| d.span.start.saturating_sub(ls));
    s.push_str(&underline_at(line, start.line, at, width, 2));
    if let Some(h) = &d.help {
        s.push_str(&format!("  help: {h}\n"));
    }
    s
}

/// The source line `line` with a caret under column `column`.
pub fn source_line(text: &str, line: usize, column: usize, indent: usize) -> String {
    let idx = LineIndex::new(text);
    underline(idx.line_text(text, line), line, column, 1, indent)
}

/// As [`underline`], for the character at byte `at` of the line: the window around it is found
/// from there, in time that does not grow with the line.
fn underline_at(src: Option<&str>, line: usize, at: usize, width: usize, indent: usize) -> String {
    let Some(src) = src else {
        return String::new();
    };
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    // Up to 60 characters before it, counted back from it.
    let before = src[..at].char_indices().rev().take(60);
    let (from, caret_at) = before.fold((at, 0), |(_, n), (i, _)| (i, n + 1));
    let window = &src[from..];
    underline(Some(window), line, caret_at + 1, width, indent)
}

fn underline(src: Option<&str>, line: usize, column: usize, width: usize, indent: usize) -> String {
    let Some(src) = src else {
        return String::new();
    };
    let pad = " ".repeat(indent);
    let num = line.to_string();
    let gutter = " ".repeat(num.len());
    // Keep very long lines readable: show at most 120 characters around the column (without
    // collecting the whole line: a minified document is one long line with many findings).
    let from = column.saturating_sub(60);
    let shown: String = src.chars().skip(from).take(120).collect();
    let shown_len = shown.chars().count();
    let caret_at = column.saturating_sub(1).saturating_sub(from);
    let width = width.min(shown_len.saturating_sub(caret_at)).max(1);
    format!(
        "{pad}{num} | {shown}\n{pad}{gutter} | {}{}\n",
        " ".repeat(caret_at),
        "^".repeat(width)
    )
}
