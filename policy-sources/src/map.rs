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

/// Maps spans of a validated text to spans of its file. Segments may nest (a key inside its
/// object); the innermost one that holds an offset decides.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    segments: Vec<Segment>,
    sorted: bool,
}

impl SourceMap {
    /// The map of a text that is the file's bytes `at..at + len`, unchanged.
    #[must_use]
    pub fn verbatim(at: usize, len: usize) -> Self {
        let mut m = Self::default();
        m.push_verbatim((0, len), (at, at + len));
        m
    }

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

    /// Records that text `text` came from file bytes `file`, written differently (an escape, a
    /// YAML scalar rendered as JSON, a resolved intrinsic): any span inside maps to all of it.
    pub fn push(&mut self, text: (usize, usize), file: (usize, usize)) {
        self.sorted = false;
        self.segments.push(Segment {
            text,
            file,
            verbatim: false,
        });
    }

    /// Sorts the segments for lookups (by start, the outer of two with the same start first).
    pub fn finish(&mut self) {
        self.segments
            .sort_by(|a, b| a.text.0.cmp(&b.text.0).then(b.text.1.cmp(&a.text.1)));
        self.sorted = true;
    }

    fn innermost(&self, at: usize) -> Option<&Segment> {
        debug_assert!(self.sorted || self.segments.len() <= 1);
        let upto = self.segments.partition_point(|s| s.text.0 <= at);
        self.segments[..upto].iter().rev().find(|s| s.contains(at))
    }

    /// The file span of a text span: character for character inside a verbatim segment, the
    /// whole segment's file span otherwise.
    #[must_use]
    pub fn map(&self, span: Span) -> Span {
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
    let b = raw.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return None;
    }
    let body = &raw[1..raw.len() - 1];
    let base = at + 1;
    let mut out = String::with_capacity(body.len());
    let mut map = SourceMap::default();
    map.push((0, usize::MAX), (at, at + raw.len()));
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut run = 0;
    let flush = |out: &mut String, map: &mut SourceMap, from: usize, to: usize| {
        if to > from {
            let o = out.len();
            out.push_str(&body[from..to]);
            map.push_verbatim((o, o + to - from), (base + from, base + to));
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        flush(&mut out, &mut map, run, i);
        let o = out.len();
        let (ch, len) = match *bytes.get(i + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hex = |k: usize| {
                    body.get(k..k + 4)
                        .and_then(|h| u16::from_str_radix(h, 16).ok())
                };
                let hi = hex(i + 2)?;
                if (0xD800..0xDC00).contains(&hi) && body.get(i + 6..i + 8) == Some("\\u") {
                    let lo = hex(i + 8)?;
                    let c = char::decode_utf16([hi, lo]).next()?.ok()?;
                    (c, 12)
                } else {
                    (char::from_u32(u32::from(hi))?, 6)
                }
            }
            _ => return None,
        };
        out.push(ch);
        map.push((o, out.len()), (base + i, base + i + len));
        i += len;
        run = i;
    }
    flush(&mut out, &mut map, run, bytes.len());
    map.segments[0].text.1 = out.len();
    map.finish();
    Some((out, map))
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
        let m = map.map(Span::new(s3, s3 + 4));
        assert_eq!(&file[m.start..m.end], "s3:*");
        let q = text.find("\"Action").unwrap();
        let m = map.map(Span::new(q, q + 8));
        assert_eq!(&file[m.start..m.end], r#"\"Action\""#);
    }

    #[test]
    fn unicode_escapes_and_surrogate_pairs_decode() {
        let (text, _) = json_string(r#""a\u00e9\ud83d\ude00b""#, 0).unwrap();
        assert_eq!(text, "a\u{e9}\u{1F600}b");
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
        assert_eq!(map.map(Span::new(3, 4)), Span::new(0, 0));
    }

    #[test]
    fn the_innermost_segment_decides() {
        let mut map = SourceMap::default();
        map.push((0, 20), (100, 150));
        map.push((5, 9), (120, 130));
        map.finish();
        assert_eq!(map.map(Span::new(6, 7)), Span::new(120, 130));
        assert_eq!(map.map(Span::new(12, 13)), Span::new(100, 150));
    }
}
