//! The fast front end of [`crate::Policy::parse`]: a strict JSON scanner for the common shape of
//! policy documents, building the same span-carrying tree (`jsonc_parser::ast`) the exact front
//! end builds.
//!
//! It reads objects, arrays, strings without escapes, `true`, `false` and `null`, and nothing
//! else: a string with an escape, a number, anything it does not expect — including every
//! syntax error — makes it give up, and the caller parses the document again with
//! `jsonc-parser`, which handles all of JSON and words the error messages. So this front end only
//! has to be right about what it accepts; the property and unit tests below check that whatever it accepts, the exact parser accepts with the identical tree.
//! Unescaped strings are borrowed from the input; escaped ones are decoded by `serde_json`.

use std::borrow::Cow;

use crate::diag::Span;
use crate::tape::{Kind, Tape};

/// Deeper nesting than this is left to the exact parser (policies nest five levels).
const MAX_DEPTH: usize = 32;

/// Parses `text` into a tape with exact spans, or `None` when only the exact parser can. The
/// flag says whether the text is all printable ASCII (plus TAB, LF, CR): the scanner has looked
/// at every byte, so the caller need not look again.
pub fn parse(text: &str) -> Option<(Tape<'_>, bool)> {
    let mut s = Scanner {
        text,
        src: text.as_bytes(),
        pos: 0,
        depth: 0,
        plain: true,
        // A policy written without whitespace (as in a case line, or as SDKs send it) has
        // about one node per 11 bytes, a pretty-printed one one per 16 or more: room for the
        // compact kind means the tape never grows.
        tape: Tape {
            nodes: Vec::with_capacity(text.len() / 10 + 4),
        },
    };
    s.skip_ws();
    s.value()?;
    s.skip_ws();
    (s.pos == s.src.len()).then_some((s.tape, s.plain))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of every zero byte of `v`, and possibly of bytes above one (a borrow): the
/// lowest set bit is always exact.
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGH
}

/// The bytes of `w` that need the byte loop of [`Scanner::string`] — a quote, a backslash, a
/// control character, DEL or a non-ASCII byte — as high bits. Borrows may mark bytes above the
/// first such byte, never below it, so `trailing_zeros() / 8` is the index of the first.
fn special_bytes(w: u64) -> u64 {
    zero_bytes(w ^ (ONES * u64::from(b'"')))
        | zero_bytes(w ^ (ONES * u64::from(b'\\')))
        | zero_bytes(w ^ (ONES * 0x7f))
        // A byte below 0x20, or one with the high bit set.
        | ((w.wrapping_sub(ONES * 0x20) | w) & HIGH)
}

struct Scanner<'a> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    depth: usize,
    /// No byte outside printable ASCII, TAB, LF and CR so far.
    plain: bool,
    tape: Tape<'a>,
}

impl<'a> Scanner<'a> {
    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string(),
            b'{' => self.object(),
            b'[' => self.array(),
            b't' => self.keyword(b"true", Kind::Bool(true)),
            b'f' => self.keyword(b"false", Kind::Bool(false)),
            b'n' => self.keyword(b"null", Kind::Null),
            _ => None,
        }
    }

    fn keyword(&mut self, word: &[u8], kind: Kind) -> Option<()> {
        let start = self.pos;
        let end = start + word.len();
        if self.src.get(start..end)? != word {
            return None;
        }
        // `trueish` is not `true`: the keyword must end here.
        if self
            .src
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            return None;
        }
        self.pos = end;
        self.tape
            .scalar(kind, Span::new(start, end), Cow::Borrowed(""));
        Some(())
    }

    /// A string; `self.pos` is at its opening quote.
    #[inline(always)]
    fn string(&mut self) -> Option<()> {
        let start = self.pos;
        let body = start + 1;
        let mut escaped = false;
        // One pass finds the closing quote, steps over escapes and refuses control characters
        // (policy strings are short: a byte loop beats setting up a vector search).
        let mut at = body;
        let end = loop {
            // Eight ordinary bytes at a time, then straight to the first special byte, which
            // the match below handles.
            while let Some(chunk) = self.src.get(at..at + 8) {
                let special = special_bytes(u64::from_le_bytes(chunk.try_into().ok()?));
                if special != 0 {
                    at += (special.trailing_zeros() / 8) as usize;
                    break;
                }
                at += 8;
            }
            match *self.src.get(at)? {
                b'"' => break at,
                b'\\' => {
                    escaped = true;
                    at += 2;
                }
                0..=0x1f => return None,
                0x7f..=0xff => {
                    self.plain = false;
                    at += 1;
                }
                _ => at += 1,
            }
        };
        self.pos = end + 1;
        // Both ends are ASCII quotes, so the slices are on character boundaries.
        let value = if escaped {
            // serde_json decodes (and checks) the escapes; anything it refuses goes to the exact
            // parser.
            Cow::Owned(serde_json::from_str::<String>(self.text.get(start..=end)?).ok()?)
        } else {
            Cow::Borrowed(self.text.get(body..end)?)
        };
        self.tape
            .scalar(Kind::Str, Span::new(start, end + 1), value);
        Some(())
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn object(&mut self) -> Option<()> {
        self.container(Kind::Obj, b'}')
    }

    fn array(&mut self) -> Option<()> {
        self.container(Kind::Arr, b']')
    }

    /// An object or an array, up to its closing bracket `close`; `self.pos` is at the opening
    /// one. An object's members are `"name": value`, an array's plain values.
    fn container(&mut self, kind: Kind, close: u8) -> Option<()> {
        let at = self.tape.open(kind, self.pos);
        self.pos += 1;
        self.enter()?;
        self.skip_ws();
        if self.peek()? != close {
            loop {
                if kind == Kind::Obj {
                    self.member_name()?;
                }
                self.value()?;
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    b if b == close => break,
                    _ => return None,
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        self.tape.close(at, self.pos);
        Some(())
    }

    /// `"name"` and the colon after it, up to the value.
    fn member_name(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.string()?;
        self.skip_ws();
        if self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the exact parser makes of `text` in the strict mode `Policy::parse` uses.
    fn exact(text: &str) -> Option<Tape<'_>> {
        crate::policy::parse_exact(text).ok()
    }

    #[test]
    fn same_tree_and_spans_as_the_exact_parser() {
        for text in [
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
            "  {\n  \"a\" : [ \"x\" ,\"y\"\t] ,\r\n \"b\":{\"c\":\"d\"}}  ",
            r#"["only", ["nested", {"k": "v"}]]"#,
            r#"{"ünïcode ключ": "värde ✓"}"#,
            r#"{"dup": "a", "dup": "b"}"#,
            r#"{"a": {}, "b": [], "c": [{}], "d": true, "e": false, "f": null}"#,
            "{}",
            r#""top-level string""#,
        ] {
            let (fast, plain) =
                parse(text).unwrap_or_else(|| panic!("fast path gave up on {text}"));
            assert_eq!(Some(fast), exact(text), "{text}");
            assert_eq!(
                plain,
                text.bytes()
                    .all(|b| (0x20..0x7f).contains(&b) || b"\t\n\r".contains(&b)),
                "{text}"
            );
        }
    }

    #[test]
    fn decodes_escapes_as_the_exact_parser_does() {
        for text in [
            r#"{"a": "esc\"aped"}"#,
            r#"{"a\u0041": "x\\y\/z\n"}"#,
            r#"{"\u00e9": "\ud83d\ude00"}"#,
        ] {
            let (fast, _) = parse(text).unwrap_or_else(|| panic!("fast path gave up on {text}"));
            assert_eq!(Some(fast), exact(text), "{text}");
        }
    }

    #[test]
    fn leaves_numbers_and_bad_escapes_to_the_exact_parser() {
        for text in [r#"{"a": 1}"#, r#"{"a": -0.5e3}"#, r#"{"a": "\ud800"}"#] {
            assert!(parse(text).is_none(), "{text}");
        }
    }

    #[test]
    fn gives_up_on_anything_the_exact_parser_must_report() {
        for text in [
            "",
            "{",
            "[",
            r#"{"a" "b"}"#,
            r#"{"a": "b",}"#,
            r#"["a",]"#,
            r#"{"a": "b"} x"#,
            "{\"a\": \"b\"} // c",
            "\u{feff}{\"a\": \"b\"}",
            r#"{'a': "b"}"#,
            r#"{a: "b"}"#,
            "{\"a\": \"tab\there\"}",
            r#"{"a": "\x"}"#,
            r#"{"a": "unterminated\"}"#,
            r#"{"a": truex}"#,
            r#"{"a": nul}"#,
            r#"{"a": "b"}}"#,
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the fast path accepts, the exact parser accepts with the identical tree.
        #[test]
        fn accepts_nothing_the_exact_parser_reads_differently(
            text in r#"[{}\[\]",: \t\na\\ntrufelé1-]{0,40}"#
        ) {
            if let Some((fast, plain)) = parse(&text) {
                proptest::prop_assert_eq!(Some(fast), exact(&text));
                proptest::prop_assert_eq!(plain, text.bytes().all(|b| (0x20..0x7f).contains(&b) || b"\t\n\r".contains(&b)));
            }
        }

        /// Well-formed documents of the fast path's shape are all taken by it.
        #[test]
        fn reads_documents_of_its_shape(
            keys in proptest::collection::vec("[a-zA-Z:é ]{0,6}", 0..6),
            vals in proptest::collection::vec("[a-z*:/é]{0,8}", 0..6),
            pretty in proptest::bool::ANY,
        ) {
            let sep = if pretty { ",\n  " } else { "," };
            let members: Vec<String> = keys
                .iter()
                .zip(&vals)
                .enumerate()
                .map(|(i, (k, v))| match i % 3 {
                    0 => format!("\"{k}\": \"{v}\""),
                    1 => format!("\"{k}\": [\"{v}\", {{\"x\": null}}]"),
                    _ => format!("\"{k}\": {{\"{v}\": true}}"),
                })
                .collect();
            let text = format!("{{{}}}", members.join(sep));
            let fast = parse(&text).map(|(t, _)| t);
            proptest::prop_assert!(fast.is_some(), "{}", text);
            proptest::prop_assert_eq!(fast, exact(&text));
        }
    }

    #[test]
    fn word_check_finds_the_first_special_byte() {
        let first = |bytes: [u8; 8]| {
            let m = special_bytes(u64::from_le_bytes(bytes));
            (m != 0).then(|| m.trailing_zeros() as usize / 8)
        };
        let specials = [b'"', b'\\', 0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xff];
        for special in specials {
            for at in 0..8 {
                let mut bytes = *b"abcdefgh";
                bytes[at] = special;
                assert_eq!(first(bytes), Some(at), "{special:#x} at {at}");
                // A second special byte above the first (borrows run upwards) changes nothing.
                for (later, other) in (at + 1..8).zip(specials.iter().cycle()) {
                    let mut two = bytes;
                    two[later] = *other;
                    assert_eq!(
                        first(two),
                        Some(at),
                        "{special:#x} at {at}, {other:#x} at {later}"
                    );
                }
            }
        }
        for plain in [
            *b"abcdefgh",
            *b"  ~!#$[]",
            *b"arn:aws:",
            *b"/*?{}:,.",
            *b" !~~~~~~",
        ] {
            assert_eq!(first(plain), None, "{plain:?}");
        }
    }

    #[test]
    fn deep_nesting_is_left_to_the_exact_parser() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).is_none());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_some());
    }
}
