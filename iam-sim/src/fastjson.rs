//! The fast front end of [`crate::Policy::parse`]: `serde_json`'s parser building the same
//! span-carrying tree (`jsonc_parser::ast`) the exact front end builds.
//!
//! `serde_json` reports no positions, but an unescaped string is handed over as a slice of the
//! input, so its position is where the slice starts. Objects and arrays are located from their
//! first and last members (the bracket is the next non-whitespace byte outside them). Anything
//! whose position cannot be known that way — a string with an escape, a number, `true`, `false`,
//! `null`, an empty object or array — makes this front end give up, and the caller parses the
//! document again with `jsonc-parser`, which tracks every position itself. So does any syntax
//! error, so that error messages always come from one parser. Policies are mostly unescaped
//! strings in objects and arrays, which is what makes this path the common one.

use std::borrow::Cow;
use std::fmt;

use jsonc_parser::ast::{Array, Object, ObjectProp, ObjectPropName, StringLit, Value};
use jsonc_parser::common::{Range, Ranged};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Parses `text` into a tree with exact spans, or `None` when only the exact parser can.
pub(crate) fn parse(text: &str) -> Option<Value<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Node { src: text }.deserialize(&mut de).ok()??;
    de.end().ok()?;
    Some(value)
}

/// Byte offset of `part`, a slice of `src`, in `src`.
fn offset(src: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(src.as_ptr() as usize)?;
    (at + part.len() <= src.len()).then_some(at)
}

/// The index of the first non-whitespace byte before `end` (exclusive), if it is `want`.
fn bracket_before(src: &str, end: usize, want: u8) -> Option<usize> {
    let at = src.as_bytes()[..end]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())?;
    (src.as_bytes()[at] == want).then_some(at)
}

/// The index of the first non-whitespace byte from `start`, if it is `want`.
fn bracket_after(src: &str, start: usize, want: u8) -> Option<usize> {
    let at = start
        + src.as_bytes()[start..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())?;
    (src.as_bytes()[at] == want).then_some(at)
}

fn string_lit<'a>(src: &str, v: &'a str) -> Option<StringLit<'a>> {
    let start = offset(src, v)?;
    // The slice excludes the quotes; the node's range includes them.
    Some(StringLit {
        range: Range::new(start.checked_sub(1)?, start + v.len() + 1),
        value: Cow::Borrowed(v),
    })
}

#[derive(Clone, Copy)]
struct Node<'a> {
    src: &'a str,
}

impl<'de> DeserializeSeed<'de> for Node<'de> {
    type Value = Option<Value<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'de> {
    type Value = Option<Value<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(string_lit(self.src, v).map(Value::StringLit))
    }

    // Escaped strings, numbers, booleans and null carry no position: give up.
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut elements = Vec::new();
        let mut exact = true;
        // Every element is read even after giving up: the parser must reach the end.
        while let Some(v) = seq.next_element_seed(self)? {
            match v {
                Some(v) if exact => elements.push(v),
                _ => exact = false,
            }
        }
        if !exact {
            return Ok(None);
        }
        let (Some(first), Some(last)) = (elements.first(), elements.last()) else {
            return Ok(None);
        };
        let (Some(open), Some(close)) = (
            bracket_before(self.src, first.start(), b'['),
            bracket_after(self.src, last.end(), b']'),
        ) else {
            return Ok(None);
        };
        Ok(Some(Value::Array(Array {
            range: Range::new(open, close + 1),
            elements,
        })))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut properties: Vec<ObjectProp<'de>> = Vec::new();
        let mut exact = true;
        while let Some(key) = map.next_key_seed(Key { src: self.src })? {
            let value = map.next_value_seed(self)?;
            match (key, value) {
                (Some(name), Some(value)) if exact => properties.push(ObjectProp {
                    range: Range::new(name.range.start, value.end()),
                    name: ObjectPropName::String(name),
                    value,
                }),
                _ => exact = false,
            }
        }
        if !exact {
            return Ok(None);
        }
        let (Some(first), Some(last)) = (properties.first(), properties.last()) else {
            return Ok(None);
        };
        let (Some(open), Some(close)) = (
            bracket_before(self.src, first.range.start, b'{'),
            bracket_after(self.src, last.range.end, b'}'),
        ) else {
            return Ok(None);
        };
        Ok(Some(Value::Object(Object {
            range: Range::new(open, close + 1),
            properties,
        })))
    }
}

/// An object key: only unescaped keys have a position.
struct Key<'a> {
    src: &'a str,
}

impl<'de> DeserializeSeed<'de> for Key<'de> {
    type Value = Option<StringLit<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'de> {
    type Value = Option<StringLit<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(string_lit(self.src, v))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast tree must equal the exact parser's tree wherever the fast path answers.
    fn exact(text: &str) -> Value<'_> {
        jsonc_parser::parse_to_ast(
            text,
            &jsonc_parser::CollectOptions::default(),
            &jsonc_parser::ParseOptions::default(),
        )
        .ok()
        .and_then(|p| p.value)
        .unwrap_or_else(|| panic!("exact parser failed on {text}"))
    }

    #[test]
    fn same_tree_and_spans_as_the_exact_parser() {
        for text in [
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
            "  {\n  \"a\" : [ \"x\" ,\"y\"\t] ,\r\n \"b\":{\"c\":\"d\"}}  ",
            r#"["only", ["nested", {"k": "v"}]]"#,
            r#"{"ünïcode ключ": "värde ✓"}"#,
            r#"{"dup": "a", "dup": "b"}"#,
        ] {
            let fast = parse(text).unwrap_or_else(|| panic!("fast path gave up on {text}"));
            assert_eq!(fast, exact(text), "{text}");
        }
    }

    #[test]
    fn gives_up_where_it_cannot_know_a_position() {
        for text in [
            r#"{"a": "esc\"aped"}"#,
            r#"{"a\u0041": "x"}"#,
            r#"{"a": 1}"#,
            r#"{"a": true}"#,
            r#"{"a": null}"#,
            r#"{"a": {}}"#,
            r#"{"a": []}"#,
            "{}",
            r#""top-level string""#,
        ] {
            if let Some(v) = parse(text) {
                // Only the plain top-level string may be answered, and then exactly.
                assert_eq!(v, exact(text), "{text}");
                assert!(matches!(v, Value::StringLit(_)), "{text}");
            }
        }
    }

    #[test]
    fn gives_up_on_anything_the_exact_parser_must_report() {
        for text in [
            "",
            "{",
            r#"{"a": "b",}"#,
            r#"{"a": "b"} x"#,
            "{\"a\": \"b\"} // c",
            "\u{feff}{\"a\": \"b\"}",
            r#"{'a': "b"}"#,
            "{\"a\": \"tab\there\"}",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }
}
