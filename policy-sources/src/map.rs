//! Source maps: from a policy's text as it was validated back to the file it came from.
//!
//! A policy embedded in a Terraform plan is a JSON string inside JSON (every quote escaped); one
//! in a CloudFormation template is a tree in JSON or YAML that is rendered to policy JSON. Either
//! way the validator sees other text than the file holds, and each finding's span is carried back
//! through a [`SourceMap`].

use iam_sim::Span;

/// A stretch of the validated text and where it came from in the file. Verbatim stretches (as
/// long in both) map character by character; others map to the whole file stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    text: (usize, usize),
    file: (usize, usize),
    /// The text and the file hold the same bytes here.
    verbatim: bool,
}

impl Segment {
    fn verbatim(&self) -> bool {
        self.verbatim
    }
    fn contains(&self, at: usize) -> bool {
        self.text.0 <= at && at < self.text.1.max(self.text.0 + 1)
    }
}

/// Maps spans of a validated text to spans of its file.
#[derive(Debug, Clone)]
pub enum SourceMap {
    /// Segments that may nest (a key inside its object); the innermost one that holds an
    /// offset decides.
    Segments(Segments),
    /// The text is the value of the JSON string literal at file bytes `at..at + len`: offsets
    /// are carried through its escapes when a span is mapped (a plan's policies have an escape
    /// every few characters, and findings are few, so nothing is stored per escape).
    Literal {
        /// Where the literal starts (its opening quote).
        at: usize,
        /// Its length, quotes included.
        len: usize,
        /// Its escapes, listed the first time a span is mapped.
        escapes: std::sync::OnceLock<Vec<Escape>>,
    },
}

/// An escape of a literal: where its character is in the value, where the escape is in the
/// literal, and how long each is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escape {
    text: u32,
    raw: u32,
    text_len: u8,
    raw_len: u8,
}

impl Default for SourceMap {
    fn default() -> Self {
        SourceMap::Segments(Segments::default())
    }
}

/// The segments of a [`SourceMap::Segments`].
#[derive(Debug, Clone, Default)]
pub struct Segments {
    segments: Vec<Segment>,
    sorted: bool,
}

impl SourceMap {
    /// The map of a text that is the file's bytes `at..at + len`, unchanged.
    #[must_use]
    pub fn verbatim(at: usize, len: usize) -> Self {
        let mut m = Segments::default();
        m.push_verbatim((0, len), (at, at + len));
        SourceMap::Segments(m)
    }

    /// The file span of a text span: character for character where the text is the file's
    /// bytes, the whole of an escape or a rewritten node otherwise. `file` is the file's text
    /// (a literal is read again from it).
    #[must_use]
    pub fn map(&self, span: Span, file: &str) -> Span {
        match self {
            SourceMap::Segments(s) => {
                let m = s.map(span);
                // A finding about part of a rewritten node (the opening brace of a policy that
                // is a YAML mapping) points at the node's first line, not all its lines.
                match s.innermost(span.start) {
                    Some(seg)
                        if !seg.verbatim() && span.end - span.start < seg.text.1 - seg.text.0 =>
                    {
                        let first_line = file
                            .get(m.start..m.end)
                            .and_then(|t| t.find('\n'))
                            .map_or(m.end, |n| m.start + n);
                        Span::new(m.start, first_line.max(m.start))
                    }
                    _ => m,
                }
            }
            SourceMap::Literal { at, len, escapes } => {
                let Some(raw) = file.get(*at..*at + *len) else {
                    return Span::new(0, 0);
                };
                let escapes = escapes.get_or_init(|| list_escapes(raw));
                let start = literal_point(raw, escapes, span.start, false);
                let end = if span.end > span.start {
                    literal_point(raw, escapes, span.end - 1, true)
                } else {
                    start
                };
                Span::new(at + start, at + end.max(start))
            }
        }
    }
}

/// The escapes of the literal `raw` (quotes included), in order.
fn list_escapes(raw: &str) -> Vec<Escape> {
    let b = raw.as_bytes();
    let close = b.len().saturating_sub(1);
    let mut out = Vec::new();
    let (mut i, mut text) = (1, 0);
    while i < close {
        let Some(run) = memchr::memchr(b'\\', &b[i..close]) else {
            break;
        };
        i += run;
        text += run;
        let (raw_len, text_len) = match b.get(i + 1) {
            Some(b'u') => {
                let hi = raw
                    .get(i + 2..i + 6)
                    .and_then(|h| u16::from_str_radix(h, 16).ok());
                let pair = hi.is_some_and(|h| (0xD800..0xDC00).contains(&h))
                    && raw.get(i + 6..i + 8) == Some("\\u");
                if pair {
                    (12, 4)
                } else {
                    let c = hi
                        .and_then(|h| char::from_u32(u32::from(h)))
                        .map_or(1, char::len_utf8);
                    (6, c)
                }
            }
            _ => (2, 1),
        };
        out.push(Escape {
            text: u32::try_from(text).unwrap_or(u32::MAX),
            raw: u32::try_from(i).unwrap_or(u32::MAX),
            text_len: text_len as u8,
            raw_len,
        });
        text += text_len;
        i += usize::from(raw_len);
    }
    out
}

/// Where in the literal `raw` the value's byte `off` comes from: its first byte (or, with
/// `end`, just past its last) — an escape as a whole, any other byte as itself.
fn literal_point(raw: &str, escapes: &[Escape], off: usize, end: bool) -> usize {
    let close = raw.len().saturating_sub(1);
    // The last escape at or before `off`.
    let k = escapes.partition_point(|e| e.text as usize <= off);
    let (text, i) = match k.checked_sub(1).map(|k| escapes[k]) {
        Some(e) if off < e.text as usize + usize::from(e.text_len) => {
            let at = e.raw as usize;
            return if end { at + usize::from(e.raw_len) } else { at };
        }
        Some(e) => (
            e.text as usize + usize::from(e.text_len),
            e.raw as usize + usize::from(e.raw_len),
        ),
        None => (0, 1),
    };
    (i + (off - text) + usize::from(end)).min(close)
}

impl Segments {
    /// Records that text `text` is file bytes `file`, byte for byte.
    pub fn push_verbatim(&mut self, text: (usize, usize), file: (usize, usize)) {
        debug_assert_eq!(text.1 - text.0, file.1 - file.0);
        self.sorted = false;
        self.segments.push(Segment {
            text,
            file,
            verbatim: true,
        });
    }

    /// Records that text `text` came from file bytes `file`, written differently (a YAML
    /// scalar rendered as JSON, a resolved intrinsic): any span inside maps to all of it.
    pub fn push(&mut self, text: (usize, usize), file: (usize, usize)) {
        self.sorted = false;
        self.segments.push(Segment {
            text,
            file,
            verbatim: false,
        });
    }

    /// The finished map: segments sorted for lookups (by start, the outer of two with the
    /// same start first).
    #[must_use]
    pub fn finish(mut self) -> SourceMap {
        self.segments
            .sort_by(|a, b| a.text.0.cmp(&b.text.0).then(b.text.1.cmp(&a.text.1)));
        self.sorted = true;
        SourceMap::Segments(self)
    }

    fn innermost(&self, at: usize) -> Option<&Segment> {
        debug_assert!(self.sorted || self.segments.len() <= 1);
        let upto = self.segments.partition_point(|s| s.text.0 <= at);
        self.segments[..upto].iter().rev().find(|s| s.contains(at))
    }

    fn map(&self, span: Span) -> Span {
        let Some(first) = self.innermost(span.start) else {
            return Span::new(0, 0);
        };
        let start = if first.verbatim() {
            first.file.0 + (span.start - first.text.0)
        } else {
            first.file.0
        };
        let last_at = span.end.saturating_sub(1).max(span.start);
        let end = match self.innermost(last_at) {
            Some(s) if s.verbatim() && span.end > span.start => s.file.0 + (last_at - s.text.0) + 1,
            Some(s) if s.verbatim() => start,
            Some(s) => s.file.1,
            None => first.file.1,
        };
        Span::new(start, end.max(start))
    }
}

/// Decodes the JSON string literal `raw` (quotes included) found at file offset `at`: its value
/// and the map from the value back to the literal. `None` when it is not a string literal.
#[must_use]
pub fn json_string(raw: &str, at: usize) -> Option<(String, SourceMap)> {
    if !raw.starts_with('"') {
        return None;
    }
    let decoded: String = serde_json::from_str(raw).ok()?;
    Some((
        decoded,
        SourceMap::Literal {
            at,
            len: raw.len(),
            escapes: std::sync::OnceLock::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_string_maps_each_character_back_to_the_literal() {
        let file = r#"{"p":"{\"Action\":\"s3:*\"}"}"#;
        let at = file.find(r#""{\""#).unwrap();
        let end = file.rfind('"').unwrap() + 1;
        let (text, map) = json_string(&file[at..end], at).unwrap();
        assert_eq!(text, r#"{"Action":"s3:*"}"#);
        let s3 = text.find("s3:*").unwrap();
        let m = map.map(Span::new(s3, s3 + 4), file);
        assert_eq!(&file[m.start..m.end], "s3:*");
        let q = text.find("\"Action").unwrap();
        let m = map.map(Span::new(q, q + 8), file);
        assert_eq!(&file[m.start..m.end], r#"\"Action\""#);
    }

    #[test]
    fn unicode_escapes_and_surrogate_pairs_decode_and_map_whole() {
        let file = r#""a\u00e9\ud83d\ude00b""#;
        let (text, map) = json_string(file, 0).unwrap();
        assert_eq!(text, "a\u{e9}\u{1F600}b");
        let e = text.find('\u{e9}').unwrap();
        let m = map.map(Span::new(e, e + 2), file);
        assert_eq!(&file[m.start..m.end], r"\u00e9");
        let b = text.find('b').unwrap();
        let m = map.map(Span::new(b, b + 1), file);
        assert_eq!(&file[m.start..m.end], "b");
        let m = map.map(Span::new(e + 2, e + 6), file);
        assert_eq!(&file[m.start..m.end], r"\ud83d\ude00");
    }

    proptest::proptest! {
        /// Any span of whole characters of a decoded string maps to the part of the literal
        /// that decodes to exactly those characters.
        #[test]
        fn a_mapped_span_decodes_to_the_same_characters(value in "[a-z\"\\\\/\n\t\u{e9}\u{1F600}\u{1}]{0,24}", a in 0usize..30, b in 0usize..30) {
            let literal = serde_json::to_string(&value).unwrap();
            let file = format!("xx{literal}yy");
            let (decoded, map) = json_string(&literal, 2).unwrap();
            proptest::prop_assert_eq!(&decoded, &value);
            let bounds: Vec<usize> = decoded.char_indices().map(|(i, _)| i).chain([decoded.len()]).collect();
            let (s, e) = (bounds[a % bounds.len()], bounds[b % bounds.len()]);
            let (s, e) = (s.min(e), s.max(e));
            let m = map.map(Span::new(s, e), &file);
            let back: String = serde_json::from_str(&format!("\"{}\"", &file[m.start..m.end])).unwrap();
            proptest::prop_assert_eq!(back, &decoded[s..e]);
        }
    }

    #[test]
    fn a_bad_escape_is_not_a_string() {
        assert!(json_string(r#""\x""#, 0).is_none());
        assert!(json_string(r#""\ud83d""#, 0).is_none());
        assert!(json_string("nope", 0).is_none());
    }

    #[test]
    fn a_span_outside_every_segment_maps_to_the_start() {
        let map = SourceMap::default();
        assert_eq!(map.map(Span::new(3, 4), ""), Span::new(0, 0));
    }

    #[test]
    fn the_innermost_segment_decides() {
        let mut map = Segments::default();
        map.push((0, 20), (100, 150));
        map.push((5, 9), (120, 130));
        let map = map.finish();
        assert_eq!(map.map(Span::new(6, 7), ""), Span::new(120, 130));
        assert_eq!(map.map(Span::new(12, 13), ""), Span::new(100, 150));
    }
}
