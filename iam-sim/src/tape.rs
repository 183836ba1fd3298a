//! A parsed JSON document as one flat vector of nodes in document order (a "tape"): a container
//! is followed by its members and knows where its subtree ends, so walking it needs no pointer
//! per container and parsing needs one allocation instead of one per object.
//!
//! The policy reader (`policy.rs`) reads the tape through small `Copy` views that mirror the
//! shape of a JSON tree (`Value`, `Object`, `Array`, `Str`). Both front ends fill it: the fast
//! scanner (`fastjson.rs`) directly, the exact parser (`jsonc-parser`) through
//! [`Tape::from_ast`].

use std::borrow::Cow;

use jsonc_parser::ast::{ObjectPropName, Value as Ast};
use jsonc_parser::common::Ranged;

use crate::diag::Span;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    Num,
    Bool(bool),
    Null,
    Obj,
    Arr,
}

/// One node: a scalar, or a container followed by its members (an object's members are key,
/// value, key, value, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node<'a> {
    pub kind: Kind,
    /// Where the node's text starts in the source (strings with their quotes).
    pub start: u32,
    /// Where it ends. (`u32`: documents are at most `MAX_POLICY_BYTES`, and a small node keeps
    /// the tape of a typical policy within one small allocation.)
    pub end: u32,
    /// A string's value (unescaped), a number's text; empty otherwise.
    pub text: Cow<'a, str>,
    /// Index one past this node's subtree.
    pub next: u32,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Node<'_> {
    pub fn span(&self) -> Span {
        Span::new(self.start as usize, self.end as usize)
    }
}

/// A document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Tape<'a> {
    pub nodes: Vec<Node<'a>>,
}

impl<'a> Tape<'a> {
    /// The root value (the tape is never empty when a front end returns it).
    pub fn root(&self) -> Value<'_, 'a> {
        self.value(0)
    }

    fn value(&self, i: usize) -> Value<'_, 'a> {
        let n = &self.nodes[i];
        match n.kind {
            Kind::Str => Value::StringLit(Str {
                value: &n.text,
                span: n.span(),
            }),
            Kind::Num => Value::NumberLit(Str {
                value: &n.text,
                span: n.span(),
            }),
            Kind::Bool(value) => Value::BooleanLit(Lit {
                value,
                span: n.span(),
            }),
            Kind::Null => Value::NullKeyword(Lit {
                value: false,
                span: n.span(),
            }),
            Kind::Obj => Value::Object(Object { tape: self, at: i }),
            Kind::Arr => Value::Array(Array { tape: self, at: i }),
        }
    }

    /// Appends a container node whose `next` is filled in by [`Tape::close`].
    pub fn open(&mut self, kind: Kind, start: usize) -> usize {
        self.nodes.push(Node {
            kind,
            start: to_u32(start),
            end: to_u32(start),
            text: Cow::Borrowed(""),
            next: 0,
        });
        self.nodes.len() - 1
    }

    /// Ends the container opened at `at`, whose text ends at `end`.
    pub fn close(&mut self, at: usize, end: usize) {
        let next = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        let n = &mut self.nodes[at];
        n.end = to_u32(end);
        n.next = next;
    }

    /// Appends a scalar.
    pub fn scalar(&mut self, kind: Kind, span: Span, text: Cow<'a, str>) {
        let next = u32::try_from(self.nodes.len() + 1).unwrap_or(u32::MAX);
        self.nodes.push(Node {
            kind,
            start: to_u32(span.start),
            end: to_u32(span.end),
            text,
            next,
        });
    }

    /// The tape of a `jsonc-parser` tree (the exact front end).
    pub fn from_ast(ast: &Ast<'a>) -> Self {
        let mut t = Tape::default();
        t.push_ast(ast);
        t
    }

    fn push_ast(&mut self, v: &Ast<'a>) {
        let span = |r: &dyn Ranged| Span::new(r.range().start, r.range().end);
        match v {
            Ast::StringLit(s) => self.scalar(Kind::Str, span(s), s.value.clone()),
            Ast::NumberLit(n) => self.scalar(Kind::Num, span(n), Cow::Borrowed(n.value)),
            Ast::BooleanLit(b) => self.scalar(Kind::Bool(b.value), span(b), Cow::Borrowed("")),
            Ast::NullKeyword(n) => self.scalar(Kind::Null, span(n), Cow::Borrowed("")),
            Ast::Object(o) => {
                let at = self.open(Kind::Obj, o.range.start);
                for p in &o.properties {
                    match &p.name {
                        ObjectPropName::String(s) => {
                            self.scalar(Kind::Str, span(s), s.value.clone());
                        }
                        ObjectPropName::Word(w) => {
                            self.scalar(Kind::Str, span(w), Cow::Borrowed(w.value));
                        }
                    }
                    self.push_ast(&p.value);
                }
                self.close(at, o.range.end);
            }
            Ast::Array(a) => {
                let at = self.open(Kind::Arr, a.range.start);
                for e in &a.elements {
                    self.push_ast(e);
                }
                self.close(at, a.range.end);
            }
        }
    }
}

/// A value in a tape.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'t, 'a> {
    StringLit(Str<'t>),
    NumberLit(Str<'t>),
    BooleanLit(Lit),
    NullKeyword(Lit),
    Object(Object<'t, 'a>),
    Array(Array<'t, 'a>),
}

/// A string (or a number's text) with its span.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Str<'t> {
    pub value: &'t str,
    pub span: Span,
}

/// `true`, `false` or `null`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lit {
    pub value: bool,
    pub span: Span,
}

/// An object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Object<'t, 'a> {
    tape: &'t Tape<'a>,
    at: usize,
}

/// One `"name": value` member.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop<'t, 'a> {
    pub name: Str<'t>,
    pub value: Value<'t, 'a>,
}

impl<'t, 'a> Object<'t, 'a> {
    /// The members in document order.
    pub fn properties(self) -> impl Iterator<Item = Prop<'t, 'a>> {
        let end = self.tape.nodes[self.at].next as usize;
        let tape = self.tape;
        let mut i = self.at + 1;
        std::iter::from_fn(move || {
            if i >= end {
                return None;
            }
            let key = &tape.nodes[i];
            let value = tape.value(i + 1);
            i = tape.nodes[i + 1].next as usize;
            Some(Prop {
                name: Str {
                    value: &key.text,
                    span: key.span(),
                },
                value,
            })
        })
    }

    /// The member names alone, without looking at the values.
    pub fn names(self) -> impl Iterator<Item = Str<'t>> {
        let end = self.tape.nodes[self.at].next as usize;
        let nodes = &self.tape.nodes;
        let mut i = self.at + 1;
        std::iter::from_fn(move || {
            if i >= end {
                return None;
            }
            let key = &nodes[i];
            i = nodes[i + 1].next as usize;
            Some(Str {
                value: &key.text,
                span: key.span(),
            })
        })
    }

    pub fn span(self) -> Span {
        self.tape.nodes[self.at].span()
    }
}

/// An array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Array<'t, 'a> {
    tape: &'t Tape<'a>,
    at: usize,
}

impl<'t, 'a> Array<'t, 'a> {
    /// The elements in order.
    pub fn elements(self) -> impl Iterator<Item = Value<'t, 'a>> {
        let end = self.tape.nodes[self.at].next as usize;
        let tape = self.tape;
        let mut i = self.at + 1;
        std::iter::from_fn(move || {
            if i >= end {
                return None;
            }
            let v = tape.value(i);
            i = tape.nodes[i].next as usize;
            Some(v)
        })
    }

    pub fn span(self) -> Span {
        self.tape.nodes[self.at].span()
    }
}

impl Value<'_, '_> {
    /// The value's span.
    pub fn span(&self) -> Span {
        match self {
            Value::StringLit(s) | Value::NumberLit(s) => s.span,
            Value::BooleanLit(l) | Value::NullKeyword(l) => l.span,
            Value::Object(o) => o.span(),
            Value::Array(a) => a.span(),
        }
    }
}
