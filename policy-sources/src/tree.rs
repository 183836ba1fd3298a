//! A template as a tree with file spans, read from JSON or from YAML with CloudFormation's
//! short-form tags (`!Sub`, `!GetAtt`…): the two syntaxes reach the same tree, so the resolver
//! that follows knows one shape.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A node and the file bytes it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Its file span `(start, end)` in bytes.
    pub span: (usize, usize),
}

/// A mapping key and its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key.
    pub text: String,
    /// Its span.
    pub span: (usize, usize),
}

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~`, or an empty YAML value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in order.
    Map(Vec<(Key, Node)>),
    /// A YAML short-form intrinsic: `!Sub x` is `Tagged("Fn::Sub", x)`, `!Ref x` is
    /// `Tagged("Ref", x)`.
    Tagged(String, Box<Node>),
}

impl Node {
    /// The value of `key` in a mapping.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(m) => m.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, when this is a plain string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A syntax error: message and file span.
pub type SyntaxError = (String, (usize, usize));

/// Deeper nesting than this is refused (templates nest a dozen levels at most).
const MAX_DEPTH: usize = 128;

/// The most nodes a YAML document may grow to through aliases (each alias is a copy of its
/// anchor): a template has thousands; a "billion laughs" document, a few lines long, would
/// otherwise grow without end.
const MAX_NODES: usize = 1_000_000;

fn depth(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(depth).max().unwrap_or(0),
        Value::Map(entries) => entries.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        Value::Tagged(_, inner) => depth(inner),
        _ => 0,
    }
}

fn size(n: &Node) -> usize {
    1 + match &n.value {
        Value::Seq(items) => items.iter().map(size).sum(),
        Value::Map(entries) => entries.iter().map(|(_, v)| 1 + size(v)).sum(),
        Value::Tagged(_, inner) => size(inner),
        _ => 0,
    }
}

/// Reads a JSON document.
///
/// # Errors
/// The parser's message and the span it names.
pub fn from_json(text: &str) -> Result<Node, SyntaxError> {
    let parsed = jsonc_parser::parse_to_ast(
        text,
        &jsonc_parser::CollectOptions::default(),
        &jsonc_parser::ParseOptions {
            allow_comments: false,
            allow_loose_object_property_names: false,
            allow_trailing_commas: false,
            ..Default::default()
        },
    )
    .map_err(|e| (e.kind().to_string(), (e.range().start, e.range().end)))?;
    let value = parsed
        .value
        .ok_or_else(|| ("the document is empty".to_owned(), (0, 0)))?;
    json_node(&value, 0)
}

fn json_node(v: &jsonc_parser::ast::Value<'_>, depth: usize) -> Result<Node, SyntaxError> {
    use jsonc_parser::ast::{ObjectPropName, Value as J};
    let r = |r: &jsonc_parser::common::Range| (r.start, r.end);
    if depth > MAX_DEPTH {
        return Err(("nested too deeply".into(), (0, 0)));
    }
    Ok(match v {
        J::StringLit(s) => Node {
            value: Value::Str(s.value.to_string()),
            span: r(&s.range),
        },
        J::NumberLit(n) => Node {
            value: Value::Number(n.value.to_owned()),
            span: r(&n.range),
        },
        J::BooleanLit(b) => Node {
            value: Value::Bool(b.value),
            span: r(&b.range),
        },
        J::NullKeyword(n) => Node {
            value: Value::Null,
            span: r(&n.range),
        },
        J::Array(a) => Node {
            value: Value::Seq(
                a.elements
                    .iter()
                    .map(|e| json_node(e, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            span: r(&a.range),
        },
        J::Object(o) => {
            let mut out = Vec::with_capacity(o.properties.len());
            for p in &o.properties {
                let key = match &p.name {
                    ObjectPropName::String(s) => Key {
                        text: s.value.to_string(),
                        span: r(&s.range),
                    },
                    ObjectPropName::Word(w) => Key {
                        text: w.value.to_owned(),
                        span: r(&w.range),
                    },
                };
                out.push((key, json_node(&p.value, depth + 1)?));
            }
            Node {
                value: Value::Map(out),
                span: r(&o.range),
            }
        }
    })
}

/// Byte offsets of YAML markers, which count characters: a table of line starts, and a walk
/// along the line only when it is not ASCII.
struct Offsets<'a> {
    text: &'a str,
    lines: Vec<usize>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = vec![0];
        lines.extend(memchr_lines(text));
        Self { text, lines }
    }

    fn byte(&self, m: &saphyr_parser::Marker) -> usize {
        let Some(&start) = self.lines.get(m.line().saturating_sub(1)) else {
            return self.text.len();
        };
        let line = &self.text[start..];
        line.char_indices()
            .nth(m.col())
            .map_or(self.text.len(), |(i, _)| start + i)
    }
}

fn memchr_lines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

/// A partly built YAML node.
enum Open {
    Seq(Vec<Node>, usize, Option<String>, usize),
    Map(Vec<(Key, Node)>, Option<Key>, usize, Option<String>, usize),
}

/// The intrinsic a short-form tag names: `!Ref` → `Ref`, `!Sub` → `Fn::Sub`, `!Condition` →
/// `Condition`. `None` for any other tag (YAML's own `!!str` and friends).
fn intrinsic_of(tag: &saphyr_parser::Tag) -> Option<String> {
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" | "Condition" => tag.suffix.clone(),
        s => format!("Fn::{s}"),
    })
}

fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        t if looks_numeric(t) => Value::Number(t.to_owned()),
        t => Value::Str(t.to_owned()),
    }
}

/// A YAML 1.2 core-schema integer or float (decimal only; `0x`/`0o` and `.inf` stay strings, as
/// a policy has no use for them).
fn looks_numeric(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let mut digits = 0;
    let mut dot = false;
    let mut exp = false;
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot && !exp => dot = true,
            b'e' | b'E' if digits > 0 && !exp => {
                exp = true;
                if matches!(b.get(i + 1), Some(b'+' | b'-')) {
                    i += 1;
                }
            }
            _ => return false,
        }
        i += 1;
    }
    digits > 0 && !b.ends_with(b"e") && !b.ends_with(b"E")
}

/// Reads the first document of a YAML stream. Anchors and aliases are followed (an alias is a
/// copy of its anchor's node); a tag other than a CloudFormation short form is ignored.
///
/// # Errors
/// The parser's message and the place it names, or a structure templates cannot have (a key
/// that is not a scalar).
pub fn from_yaml(text: &str) -> Result<Node, SyntaxError> {
    let offsets = Offsets::new(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut done: Option<Node> = None;
    let mut nodes = 0usize;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| {
            let at = offsets.byte(e.marker());
            (e.info().to_owned(), (at, at))
        })?;
        let (start, end) = (offsets.byte(&span.start), offsets.byte(&span.end));
        let node = match ev {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::SequenceStart(anchor, tag) => {
                if stack.len() > MAX_DEPTH {
                    return Err(("nested too deeply".into(), (start, end)));
                }
                stack.push(Open::Seq(
                    Vec::new(),
                    start,
                    tag.as_deref().and_then(intrinsic_of),
                    anchor,
                ));
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                if stack.len() > MAX_DEPTH {
                    return Err(("nested too deeply".into(), (start, end)));
                }
                stack.push(Open::Map(
                    Vec::new(),
                    None,
                    start,
                    tag.as_deref().and_then(intrinsic_of),
                    anchor,
                ));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(items, from, tag, anchor)) => {
                    finish(Value::Seq(items), (from, end), tag, anchor, &mut anchors)
                }
                _ => return Err(("unbalanced sequence".into(), (start, end))),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(items, _, from, tag, anchor)) => {
                    finish(Value::Map(items), (from, end), tag, anchor, &mut anchors)
                }
                _ => return Err(("unbalanced mapping".into(), (start, end))),
            },
            Event::Scalar(value, style, anchor, tag) => {
                let v = match (style, tag.as_deref()) {
                    (ScalarStyle::Plain, None) => plain_scalar(&value),
                    _ => Value::Str(Cow::into_owned(value)),
                };
                finish(
                    v,
                    (start, end),
                    tag.as_deref().and_then(intrinsic_of),
                    anchor,
                    &mut anchors,
                )
            }
            Event::Alias(id) => match anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, n)) => {
                    // A copy placed deep can nest past the limit the parser's own nesting
                    // keeps.
                    if stack.len() + depth(n) > MAX_DEPTH {
                        return Err((
                            "an alias nests the document too deeply".into(),
                            (start, end),
                        ));
                    }
                    nodes += size(n);
                    if nodes > MAX_NODES {
                        return Err((
                            format!("aliases expand the document past {MAX_NODES} nodes"),
                            (start, end),
                        ));
                    }
                    Node {
                        value: n.value.clone(),
                        span: (start, end),
                    }
                }
                None => return Err(("an alias to an unknown anchor".into(), (start, end))),
            },
        };
        match stack.last_mut() {
            None => {
                done = Some(node);
                break;
            }
            Some(Open::Seq(items, ..)) => items.push(node),
            Some(Open::Map(items, key, ..)) => match key.take() {
                None => match node.value {
                    Value::Str(s) => {
                        *key = Some(Key {
                            text: s,
                            span: node.span,
                        })
                    }
                    Value::Number(s) => {
                        *key = Some(Key {
                            text: s,
                            span: node.span,
                        })
                    }
                    Value::Bool(b) => {
                        *key = Some(Key {
                            text: b.to_string(),
                            span: node.span,
                        })
                    }
                    Value::Null => {
                        *key = Some(Key {
                            text: String::new(),
                            span: node.span,
                        })
                    }
                    _ => return Err(("a mapping key that is not a plain value".into(), node.span)),
                },
                Some(k) => items.push((k, node)),
            },
        }
    }
    done.ok_or_else(|| ("the document is empty".to_owned(), (0, 0)))
}

fn finish(
    value: Value,
    span: (usize, usize),
    tag: Option<String>,
    anchor: usize,
    anchors: &mut Vec<(usize, Node)>,
) -> Node {
    let mut node = Node { value, span };
    if let Some(t) = tag {
        node = Node {
            value: Value::Tagged(t, Box::new(node)),
            span,
        };
    }
    if anchor != 0 {
        anchors.push((anchor, node.clone()));
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Node {
        from_yaml(text).unwrap()
    }

    #[test]
    fn a_short_form_tag_is_an_intrinsic() {
        let n = yaml("a: !Sub 'arn:${AWS::Partition}'\nb: !GetAtt [R, Arn]\nc: !Ref X\n");
        let Some(Node {
            value: Value::Tagged(t, inner),
            ..
        }) = n.get("a")
        else {
            panic!()
        };
        assert_eq!(t, "Fn::Sub");
        assert_eq!(inner.as_str(), Some("arn:${AWS::Partition}"));
        assert!(
            matches!(&n.get("b").unwrap().value, Value::Tagged(t, i) if t == "Fn::GetAtt" && matches!(i.value, Value::Seq(_)))
        );
        assert!(matches!(&n.get("c").unwrap().value, Value::Tagged(t, _) if t == "Ref"));
    }

    #[test]
    fn spans_are_bytes_even_after_non_ascii_text() {
        let text = "d: \"é\"\nkey: value\n";
        let n = yaml(text);
        let v = n.get("key").unwrap();
        assert_eq!(&text[v.span.0..v.span.1], "value");
    }

    #[test]
    fn an_unquoted_date_like_version_stays_a_string() {
        let n = yaml("Version: 2012-10-17\nN: 12\nB: true\nQ: '12'\n");
        assert_eq!(n.get("Version").unwrap().as_str(), Some("2012-10-17"));
        assert_eq!(n.get("N").unwrap().value, Value::Number("12".into()));
        assert_eq!(n.get("B").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("Q").unwrap().as_str(), Some("12"));
    }

    #[test]
    fn an_alias_is_a_copy_of_its_anchor() {
        let n = yaml("a: &x {k: v}\nb: *x\n");
        assert_eq!(n.get("b").unwrap().get("k").unwrap().as_str(), Some("v"));
    }

    #[test]
    fn aliases_that_multiply_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let e = from_yaml(&doc).unwrap_err();
        assert!(e.0.contains("aliases expand"), "{}", e.0);
    }

    #[test]
    fn aliases_that_nest_deeper_and_deeper_are_refused() {
        let mut doc = String::from("a0: &a0 [[[[[[[[[[x]]]]]]]]]]\n");
        for i in 1..20 {
            let p = i - 1;
            doc.push_str(&format!("a{i}: &a{i} [[[[[[[[[[*a{p}]]]]]]]]]]\n"));
        }
        let e = from_yaml(&doc).unwrap_err();
        assert!(e.0.contains("too deeply"), "{}", e.0);
    }

    #[test]
    fn a_syntax_error_names_a_place() {
        let e = from_yaml("a: [1, 2\nb: c\n").unwrap_err();
        assert!(!e.0.is_empty());
    }

    #[test]
    fn json_keeps_spans() {
        let text = r#"{"a": {"b": "c"}}"#;
        let n = from_json(text).unwrap();
        let c = n.get("a").unwrap().get("b").unwrap();
        assert_eq!(&text[c.span.0..c.span.1], "\"c\"");
    }

    #[test]
    fn numbers_are_recognised() {
        for t in ["1", "-2", "3.5", "1e9", "+4"] {
            assert!(looks_numeric(t), "{t}");
        }
        for t in ["2012-10-17", "1e", ".", "1.2.3", "0x1f", "abc"] {
            assert!(!looks_numeric(t), "{t}");
        }
    }
}
