//! Findings: parse errors and validation results are the same kind of value.

use std::fmt;

use crate::codes::Code;

/// A byte range in the policy text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineCol {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Turns byte offsets into lines and columns for one text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// Whether each line is ASCII: its columns are then byte distances, found without counting
    /// (a minified document is one long line, and it may carry thousands of findings).
    ascii: Vec<bool>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let ascii = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(text.len());
                text.as_bytes()
                    .get(start..end)
                    .is_some_and(<[u8]>::is_ascii)
            })
            .collect();
        Self { starts, ascii }
    }

    /// The byte offset where line `line` (from 1) starts, if the text has that line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }

    /// The text of line `line` (from 1) without its line end, if the text has that line.
    pub fn line_text<'t>(&self, text: &'t str, line: usize) -> Option<&'t str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).map_or(text.len(), |next| next - 1);
        let l = text.get(start..end.max(start))?;
        Some(l.strip_suffix('\r').unwrap_or(l))
    }

    /// The line and column of byte `offset` in `text` (the text this index was built from).
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let offset = offset.min(text.len());
        let column = if self.ascii.get(line - 1).copied().unwrap_or(false) {
            offset.saturating_sub(start)
        } else {
            text.get(start..offset).unwrap_or("").chars().count()
        };
        LineCol {
            line,
            column: column + 1,
        }
    }
}

/// Severity, following IAM Access Analyzer's four finding types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A suggestion.
    Suggestion,
    /// A general warning.
    Warning,
    /// A security warning.
    SecurityWarning,
    /// An error: IAM would reject the document, or the engine cannot interpret it.
    Error,
}

impl Severity {
    /// The lowercase name used in JSON output (`error`, `security-warning`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::SecurityWarning => "security-warning",
            Severity::Warning => "warning",
            Severity::Suggestion => "suggestion",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Its kind: the stable code (`IAM001`), from which its name and severity come.
    pub code: Code,
    /// One line, lowercase start, no final period.
    pub message: String,
    /// One actionable sentence, when there is one.
    pub help: Option<String>,
    /// The smallest offending token.
    pub span: Span,
    /// JSON path of the offending element, e.g. `Statement[1].Condition.ArnLike.aws:SourceArn`.
    pub path: String,
}

impl Diagnostic {
    /// A finding of kind `code` without help text.
    pub fn new(code: Code, message: String, span: Span, path: String) -> Self {
        Self {
            code,
            message,
            help: None,
            span,
            path,
        }
    }

    /// Its kebab-case name, e.g. `json-syntax` (its code's).
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.code.name()
    }

    /// Its severity (its code's).
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// Adds help text.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.name(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_on_lines_with_and_without_ascii() {
        let text = "{\n  \"a\": \"é\", \"b\": 1,\n  \"c\": 2\n}";
        let idx = LineIndex::new(text);
        let b = text.find("\"b\"").unwrap_or(0);
        let c = text.find("\"c\"").unwrap_or(0);
        // Line 2 holds `é` (two bytes): the column counts it once.
        assert_eq!(
            idx.line_col(text, b),
            LineCol {
                line: 2,
                column: 13
            }
        );
        assert_eq!(idx.line_col(text, c), LineCol { line: 3, column: 3 });
        assert_eq!(idx.line_start(3), Some(text.find("  \"c\"").unwrap_or(0)));
    }
}
