//! The fast front end of [`crate::Policy::parse`]: a strict JSON scanner for the common shape of
//! policy documents, building the same span-carrying tree (`jsonc_parser::ast`) the exact front
//! end builds.
//!
//! It reads objects, arrays, strings without escapes, `true`, `false` and `null`, and nothing
//! else: a string with an escape, a number, anything it does not expect — including every
//! syntax error — makes it give up, and the caller parses the document again with
//! `jsonc-parser`, which handles all of JSON and words the error messages. So this front end only
//! has to be right about what it accepts; the property and unit tests below check that whatever it accepts, the exact parser accepts with the identical tree.
//! Strings are found with `memchr`, and the tree borrows them from the input.

use std::borrow::Cow;

use jsonc_parser::ast::{
    Array, BooleanLit, NullKeyword, Object, ObjectProp, ObjectPropName, StringLit, Value,
};
use jsonc_parser::common::{Range, Ranged};

/// Deeper nesting than this is left to the exact parser (policies nest five levels).
const MAX_DEPTH: usize = 32;

/// Parses `text` into a tree with exact spans, or `None` when only the exact parser can.
pub fn parse(text: &str) -> Option<Value<'_>> {
    let mut s = Scanner {
        text,
        src: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    s.skip_ws();
    let value = s.value()?;
    s.skip_ws();
    (s.pos == s.src.len()).then_some(value)
}

struct Scanner<'a> {
    text: &'a str,
    src: &'a [u8],
    pos: usize,
    depth: usize,
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

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Value::StringLit),
            b'{' => self.object(),
            b'[' => self.array(),
            b't' => self
                .keyword(b"true")
                .map(|range| Value::BooleanLit(BooleanLit { range, value: true })),
            b'f' => self.keyword(b"false").map(|range| {
                Value::BooleanLit(BooleanLit {
                    range,
                    value: false,
                })
            }),
            b'n' => self
                .keyword(b"null")
                .map(|range| Value::NullKeyword(NullKeyword { range })),
            _ => None,
        }
    }

    fn keyword(&mut self, word: &[u8]) -> Option<Range> {
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
        Some(Range::new(start, end))
    }

    /// A string without escapes or control characters; `self.pos` is at its opening quote.
    #[inline(always)]
    fn string(&mut self) -> Option<StringLit<'a>> {
        let start = self.pos;
        let body = start + 1;
        let rest = self.src.get(body..)?;
        // Policy strings are mostly short: a plain loop finds their end sooner than setting up
        // a vector search; longer ones go to memchr.
        let short = rest.len().min(24);
        let len = match rest[..short].iter().position(|&b| b == b'"' || b == b'\\') {
            Some(i) => i,
            None => short + memchr::memchr2(b'"', b'\\', &rest[short..])?,
        };
        let end = body + len;
        if self.src[end] != b'"' {
            return None;
        }
        // OR-ing rather than stopping at the first hit keeps the loop vectorised.
        if self.src[body..end]
            .iter()
            .fold(0u8, |acc, &b| acc | u8::from(b < 0x20))
            != 0
        {
            return None;
        }
        self.pos = end + 1;
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        let value = self.text.get(body..end)?;
        Some(StringLit {
            range: Range::new(start, end + 1),
            value: Cow::Borrowed(value),
        })
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn object(&mut self) -> Option<Value<'a>> {
        let open = self.pos;
        self.pos += 1;
        self.enter()?;
        let mut properties = Vec::with_capacity(4);
        self.skip_ws();
        if self.peek()? != b'}' {
            loop {
                if self.peek()? != b'"' {
                    return None;
                }
                let name = self.string()?;
                self.skip_ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.pos += 1;
                self.skip_ws();
                let value = self.value()?;
                properties.push(ObjectProp {
                    range: Range::new(name.range.start, value.end()),
                    name: ObjectPropName::String(name),
                    value,
                });
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Some(Value::Object(Object {
            range: Range::new(open, self.pos),
            properties,
        }))
    }

    fn array(&mut self) -> Option<Value<'a>> {
        let open = self.pos;
        self.pos += 1;
        self.enter()?;
        let mut elements = Vec::new();
        self.skip_ws();
        if self.peek()? != b']' {
            loop {
                elements.push(self.value()?);
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.pos += 1;
        self.depth -= 1;
        Some(Value::Array(Array {
            range: Range::new(open, self.pos),
            elements,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the exact parser makes of `text` in the strict mode `Policy::parse` uses.
    fn exact(text: &str) -> Option<Value<'_>> {
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
            let fast = parse(text).unwrap_or_else(|| panic!("fast path gave up on {text}"));
            assert_eq!(Some(fast), exact(text), "{text}");
        }
    }

    #[test]
    fn leaves_escapes_and_numbers_to_the_exact_parser() {
        for text in [
            r#"{"a": "esc\"aped"}"#,
            r#"{"a\u0041": "x"}"#,
            r#"{"a": 1}"#,
            r#"{"a": -0.5e3}"#,
        ] {
            assert!(parse(text).is_none(), "{text}");
            assert!(exact(text).is_some(), "{text}");
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
            if let Some(fast) = parse(&text) {
                proptest::prop_assert_eq!(Some(fast), exact(&text));
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
            let fast = parse(&text);
            proptest::prop_assert!(fast.is_some(), "{}", text);
            proptest::prop_assert_eq!(fast, exact(&text));
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
