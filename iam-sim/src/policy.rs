//! The policy model: what a policy document says, with the source span of every element.
//!
//! [`Policy::parse`] reads JSON with a span-aware parser (`jsonc-parser`, strict JSON options:
//! no comments, no trailing commas), keeps every object key in order so that duplicate keys are
//! seen, and turns the tree into this model. Problems that make the whole document unreadable
//! (not JSON, not an object, no `Statement`) are a [`ParseError`]; everything else is recorded as
//! a [`Diagnostic`] on the policy and the affected element is kept as *uninterpretable*, which
//! the evaluator treats fail-closed.

use std::collections::HashMap;
use std::fmt;

use crate::tape::{Array, Lit, Object, Str, Tape, Value};

use crate::codes::Code;
use crate::diag::{Diagnostic, LineIndex, Span};

/// Largest policy text accepted, in bytes. IAM's largest documents are a few KiB; this bound
/// only keeps hostile input from exhausting memory.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// Text from a policy: short strings (up to 24 bytes: actions, operators, context keys,
/// principal types) are stored inline, without a heap allocation.
pub type Text = compact_str::CompactString;

/// `s` with ASCII letters lowercased, as a [`Text`] (no allocation up to 24 bytes).
pub(crate) fn lowercase_text(s: &str) -> Text {
    let mut t = Text::from(s);
    t.make_ascii_lowercase();
    t
}

/// A list in a policy (actions, principals, condition values, …): almost always one element,
/// which is stored inline, without a heap allocation.
pub type List<T> = smallvec::SmallVec<[T; 1]>;

/// A value with the span it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it is in the source.
    pub span: Span,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are honoured.
    V2012,
    /// `2008-10-17`: `${…}` is literal text.
    V2008,
    /// No `Version` element: treated as the legacy language for variables.
    Missing,
    /// Any other value (IAM rejects it).
    Invalid,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListElement {
    /// `NotAction` / `NotResource`.
    pub negated: bool,
    /// The span of the key (`"Action"`).
    pub key_span: Span,
    /// The strings; non-string entries are dropped and make the element uninterpretable.
    pub items: List<Spanned<Text>>,
    /// Whether the JSON value was an array.
    pub is_array: bool,
    /// Something in it could not be read (the evaluator fails closed).
    pub broken: bool,
}

/// `Principal` / `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalElement {
    /// `NotPrincipal`.
    pub negated: bool,
    /// The span of the key.
    pub key_span: Span,
    /// The value.
    pub value: PrincipalValue,
    /// Something in it could not be read (the evaluator fails closed).
    pub broken: bool,
}

/// The value of a principal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalValue {
    /// The bare string `"*"`.
    Star(Span),
    /// `{"AWS": …, "Service": …, "Federated": …, "CanonicalUser": …}`.
    Map(List<PrincipalEntry>),
}

/// One key of a principal map, with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEntry {
    /// `AWS`, `Service`, `Federated`, `CanonicalUser` (or anything else, which is an error).
    pub kind: Spanned<Text>,
    /// The values.
    pub values: List<Spanned<Text>>,
}

/// A JSON scalar in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// A string.
    String,
    /// A number.
    Number,
    /// `true` / `false`.
    Bool,
}

/// One `"key": value-or-values` under a condition operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    /// The context key, as written.
    pub key: Spanned<Text>,
    /// The values, as text, with their JSON type.
    pub values: List<Spanned<(Text, ScalarKind)>>,
    /// Whether the JSON value was an array.
    pub is_array: bool,
    /// A value could not be read (an object, `null`, …).
    pub broken: bool,
}

/// `"Operator": { entries }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionBlock {
    /// The operator, as written (`ForAnyValue:StringLikeIfExists`).
    pub operator: Spanned<Text>,
    /// The keys under it.
    pub entries: List<ConditionEntry>,
    /// The block was not an object.
    pub broken: bool,
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Position in the `Statement` array (0 when `Statement` is a single object).
    pub index: usize,
    /// The whole statement object.
    pub span: Span,
    /// `Sid`.
    pub sid: Option<Spanned<Text>>,
    /// `Effect`; `None` when missing or invalid.
    pub effect: Option<Spanned<Effect>>,
    /// The span of the `Effect` value (or of the statement when missing).
    pub effect_span: Span,
    /// `Principal` / `NotPrincipal`.
    pub principal: Option<PrincipalElement>,
    /// `Action` / `NotAction`.
    pub action: Option<ListElement>,
    /// `Resource` / `NotResource`.
    pub resource: Option<ListElement>,
    /// `Condition`.
    pub conditions: List<ConditionBlock>,
    /// The span of the `Condition` key, when present.
    pub condition_span: Option<Span>,
    /// The statement has an element the engine cannot interpret (unknown key, duplicate key,
    /// conflicting elements such as `Action` with `NotAction`): fail closed.
    pub broken: bool,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The source text.
    pub source: String,
    /// `Version`.
    pub version: Version,
    /// The `Version` value's span, when present.
    pub version_span: Option<Span>,
    /// `Id`.
    pub id: Option<Spanned<Text>>,
    /// Statements in order.
    pub statements: Vec<Statement>,
    /// Whether `Statement` was an array.
    pub statement_is_array: bool,
    /// The span of the `Statement` key.
    pub statement_key_span: Span,
    /// Non-fatal problems found while reading (errors IAM would reject the document for).
    pub diagnostics: Vec<Diagnostic>,
}

/// The document cannot be read as a policy at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", diagnostic.message)]
pub struct ParseError {
    /// What is wrong, with its span.
    pub diagnostic: Box<Diagnostic>,
}

struct Reader<'s> {
    diags: Vec<Diagnostic>,
    _src: &'s str,
}

impl Reader<'_> {
    fn err(&mut self, code: Code, message: String, span: Span, path: &dyn fmt::Display) {
        self.diags
            .push(Diagnostic::new(code, message, span, path.to_string()));
    }

    fn err_help(
        &mut self,
        code: Code,
        message: String,
        help: &str,
        span: Span,
        path: &dyn fmt::Display,
    ) {
        self.diags
            .push(Diagnostic::new(code, message, span, path.to_string()).with_help(help));
    }

    /// Reports duplicate keys of `obj`; returns whether there were any.
    fn check_duplicates(&mut self, obj: Object<'_, '_>, path: &JPath<'_>) -> bool {
        // Policy objects have a handful of keys: the first sixteen are compared with the keys
        // before them, beyond that a hash set takes over.
        const SMALL: usize = 16;
        // First a filter: one bit per key from its length and end bytes. Distinct bits mean
        // distinct keys, which is the answer for nearly every object; only a shared bit (a
        // possible duplicate) pays for the exact comparison below.
        let mut bits = 0u64;
        let mut maybe = false;
        for key in obj.names() {
            let b = key.value.as_bytes();
            let (first, last) = (b.first().copied(), b.last().copied());
            let h =
                b.len() * 31 + usize::from(first.unwrap_or(0)) * 7 + usize::from(last.unwrap_or(0));
            let bit = 1u64 << (h % 64);
            if bits & bit != 0 {
                maybe = true;
                break;
            }
            bits |= bit;
        }
        if !maybe {
            return false;
        }
        let mut seen: HashMap<&str, ()> = HashMap::new();
        let mut dup = false;
        for (i, key) in obj.names().enumerate() {
            let name = key.value;
            let repeated = if i < SMALL {
                obj.names().take(i).any(|q| q.value == name)
            } else {
                if i == SMALL {
                    seen.extend(obj.names().take(SMALL).map(|q| (q.value, ())));
                }
                seen.insert(name, ()).is_some()
            };
            if repeated {
                dup = true;
                self.err_help(
                    Code::DuplicateKey,
                    format!("`{name}` appears more than once in this object"),
                    "remove one of them: JSON parsers disagree on which one wins, and IAM rejects the document",
                    key.span,
                    &path.key(name),
                );
            }
        }
        dup
    }
}

/// Anything read from the tape has a span.
trait HasSpan {
    fn span(&self) -> Span;
}

impl HasSpan for Value<'_, '_> {
    fn span(&self) -> Span {
        Value::span(self)
    }
}

impl HasSpan for Str<'_> {
    fn span(&self) -> Span {
        self.span
    }
}

impl HasSpan for Lit {
    fn span(&self) -> Span {
        self.span
    }
}

impl HasSpan for Object<'_, '_> {
    fn span(&self) -> Span {
        Object::span(*self)
    }
}

impl HasSpan for Array<'_, '_> {
    fn span(&self) -> Span {
        Array::span(*self)
    }
}

impl<T: HasSpan> HasSpan for &T {
    fn span(&self) -> Span {
        (**self).span()
    }
}

fn span_of(v: impl HasSpan) -> Span {
    v.span()
}

/// A JSON path (`Statement[0].Condition.ArnLike`), built on the stack as the reader descends
/// and formatted only when a diagnostic needs it.
#[derive(Clone, Copy)]
enum JPath<'a> {
    Root,
    Key(&'a JPath<'a>, &'a str),
    Index(&'a JPath<'a>, usize),
}

impl<'a> JPath<'a> {
    fn key(&'a self, key: &'a str) -> JPath<'a> {
        JPath::Key(self, key)
    }

    fn index(&'a self, i: usize) -> JPath<'a> {
        JPath::Index(self, i)
    }
}

impl fmt::Display for JPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JPath::Root => Ok(()),
            JPath::Key(JPath::Root, key) => f.write_str(key),
            JPath::Key(parent, key) => write!(f, "{parent}.{key}"),
            JPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn type_name(v: &Value<'_, '_>) -> &'static str {
    match v {
        Value::StringLit(_) => "a string",
        Value::NumberLit(_) => "a number",
        Value::BooleanLit(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::NullKeyword(_) => "null",
    }
}

/// The finding for a document larger than [`MAX_POLICY_BYTES`]; `size` when it is known (a
/// pipe is cut at the limit, so only "more than" is known).
pub fn too_large(size: Option<u64>) -> Diagnostic {
    let how_big = match size {
        Some(s) => format!("{s} bytes"),
        None => format!("more than {MAX_POLICY_BYTES} bytes"),
    };
    Diagnostic::new(
        Code::DocumentTooLarge,
        format!("the document is {how_big}; fargate-sim reads at most {MAX_POLICY_BYTES}"),
        Span::new(0, 0),
        String::new(),
    )
    .with_help(
        "IAM policies are at most a few thousand characters; check that this is the right file",
    )
}

/// The finding for a file that is not UTF-8 text: the first byte that is not, and where.
pub fn not_utf8(offset: usize, byte: u8) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidCharacters,
        format!("the file is not UTF-8 text: byte 0x{byte:02X} at offset {offset} does not begin a UTF-8 character; IAM reads policies as UTF-8"),
        Span::new(offset, offset),
        String::new(),
    )
    .with_help("save the file as UTF-8 (a Latin-1 or UTF-16 editor setting gives this)")
}

/// A character JSON does not allow where it stands, which `jsonc-parser` would accept.
enum BadChar {
    /// A raw control character (U+0000–U+001F) inside a string: RFC 8259 requires it escaped.
    ControlInString(u8),
    /// A non-ASCII character between tokens (U+0085, U+00A0, U+2028, …): JSON's only
    /// whitespace is space, tab, line feed and carriage return.
    NonAsciiOutsideString(char),
}

/// The first character JSON does not allow where it stands, if any; IAM rejects such a
/// document as malformed.
fn invalid_json_char(text: &str) -> Option<(usize, BadChar)> {
    let (mut in_string, mut escaped) = (false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            } else if b < 0x20 {
                return Some((i, BadChar::ControlInString(b)));
            }
        } else if b == b'"' {
            in_string = true;
        } else if b >= 0x80 {
            let c = text
                .get(i..)
                .and_then(|t| t.chars().next())
                .unwrap_or('\u{fffd}');
            return Some((i, BadChar::NonAsciiOutsideString(c)));
        }
    }
    None
}

/// A fatal problem: code, message, span, help.
pub(crate) type Fatal = (Code, String, Span, &'static str);

/// Parses with `jsonc-parser` in strict JSON mode: every position is tracked, and syntax errors
/// are worded by it.
pub(crate) fn parse_exact(text: &str) -> Result<Tape<'_>, Fatal> {
    // jsonc-parser accepts raw control characters inside strings and Unicode whitespace
    // between tokens; JSON (and IAM) does not. The fast front end refuses both, so this runs
    // only on the exact path.
    match invalid_json_char(text) {
        Some((at, BadChar::ControlInString(byte))) => {
            return Err((
                Code::JsonSyntax,
                format!(
                    "a raw control character (U+{byte:04X}) inside a string; JSON requires it written as an escape (\\u{byte:04x})"
                ),
                Span::new(at, at + 1),
                "escape the character, or remove it",
            ));
        }
        Some((at, BadChar::NonAsciiOutsideString(c))) => {
            return Err((
                Code::JsonSyntax,
                format!(
                    "the character U+{:04X} outside a string; between tokens JSON allows only spaces, tabs and line breaks",
                    u32::from(c)
                ),
                Span::new(at, at + c.len_utf8()),
                "remove the character (an editor or a copy from a web page may have put it there)",
            ));
        }
        None => {}
    }
    let opts = jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = jsonc_parser::parse_to_ast(text, &jsonc_parser::CollectOptions::default(), &opts)
        .map_err(|e| {
            let r = e.range();
            (
                Code::JsonSyntax,
                lowercase_first(&e.kind().to_string()),
                Span::new(r.start, r.end.max(r.start)),
                "fix the JSON syntax at this position",
            )
        })?;
    parsed.value.as_ref().map(Tape::from_ast).ok_or((
        Code::JsonSyntax,
        "the document is empty".into(),
        Span::new(0, 0),
        "a policy is a JSON object with a `Statement`",
    ))
}

impl Policy {
    /// Parses a policy document.
    ///
    /// # Errors
    /// [`ParseError`] when the text is not JSON, is not an object, is too large, or has no
    /// readable `Statement`. Other problems are in [`Policy::diagnostics`].
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let fatal = |code: Code, message: String, span: Span, path: &str, help: &str| ParseError {
            diagnostic: Box::new(
                Diagnostic::new(code, message, span, path.to_owned()).with_help(help),
            ),
        };
        if text.len() > MAX_POLICY_BYTES {
            return Err(ParseError {
                diagnostic: Box::new(too_large(Some(text.len() as u64))),
            });
        }
        if text.starts_with('\u{feff}') {
            return Err(fatal(
                Code::JsonSyntax,
                "the document starts with a byte order mark (U+FEFF, bytes EF BB BF); IAM rejects it as malformed".into(),
                Span::new(0, '\u{feff}'.len_utf8()),
                "",
                "save the file as UTF-8 without a byte order mark",
            ));
        }
        // The fast front end answers for most policies; anything it cannot place exactly (or
        // cannot read at all) goes through the exact parser, which also words every syntax error.
        let (tape, plain_ascii) = match crate::fastjson::parse(text) {
            Some(read) => read,
            None => (
                parse_exact(text)
                    .map_err(|(code, message, span, help)| fatal(code, message, span, "", help))?,
                false,
            ),
        };
        let root = tape.root();
        let Value::Object(obj) = root else {
            return Err(fatal(
                Code::NotAnObject,
                format!("a policy must be a JSON object, found {}", type_name(&root)),
                span_of(root),
                "",
                "wrap the statements in {\"Version\": \"2012-10-17\", \"Statement\": [...]}",
            ));
        };
        let mut r = Reader {
            diags: Vec::new(),
            _src: text,
        };
        r.check_duplicates(obj, &JPath::Root);
        let mut version = Version::Missing;
        let mut version_span = None;
        let mut id = None;
        let mut statement_value = None;
        let mut statement_key_span = Span::default();
        for p in obj.properties() {
            let key = p.name.value;
            match key {
                "Version" => match &p.value {
                    Value::StringLit(s) => {
                        version_span = Some(span_of(s));
                        version = match s.value {
                            "2012-10-17" => Version::V2012,
                            "2008-10-17" => Version::V2008,
                            other => {
                                r.err_help(
                                    Code::InvalidVersion,
                                    format!("`{other}` is not a policy language version"),
                                    "use \"2012-10-17\"",
                                    span_of(s),
                                    &"Version",
                                );
                                Version::Invalid
                            }
                        };
                    }
                    v => {
                        version = Version::Invalid;
                        version_span = Some(span_of(v));
                        r.err(
                            Code::WrongType,
                            format!("`Version` must be a string, found {}", type_name(v)),
                            span_of(v),
                            &"Version",
                        );
                    }
                },
                "Id" => match &p.value {
                    Value::StringLit(s) => {
                        id = Some(Spanned {
                            value: Text::from(s.value),
                            span: span_of(s),
                        })
                    }
                    v => r.err(
                        Code::WrongType,
                        format!("`Id` must be a string, found {}", type_name(v)),
                        span_of(v),
                        &"Id",
                    ),
                },
                "Statement" => {
                    statement_value = Some(p.value);
                    statement_key_span = p.name.span;
                }
                other => r.err_help(
                    Code::UnknownElement,
                    format!("`{other}` is not a policy element"),
                    &did_you_mean(other, &["Version", "Id", "Statement"]).map_or_else(
                        || "a policy has only `Version`, `Id` and `Statement`".to_owned(),
                        |s| format!("did you mean `{s}`?"),
                    ),
                    p.name.span,
                    &other,
                ),
            }
        }
        let Some(sv) = statement_value else {
            return Err(fatal(
                Code::MissingStatement,
                "the policy has no `Statement`".into(),
                span_of(obj),
                "",
                "add \"Statement\": [ … ] with at least one statement",
            ));
        };
        let (items, is_array): (Vec<Value<'_, '_>>, bool) = match sv {
            Value::Array(a) => (a.elements().collect(), true),
            Value::Object(_) => (vec![sv], false),
            v => {
                return Err(fatal(
                    Code::WrongType,
                    format!(
                        "`Statement` must be an object or an array of objects, found {}",
                        type_name(&v)
                    ),
                    span_of(v),
                    "Statement",
                    "write \"Statement\": [ { \"Effect\": …, … } ]",
                ));
            }
        };
        if items.is_empty() {
            return Err(fatal(
                Code::MissingStatement,
                "`Statement` is empty".into(),
                span_of(sv),
                "Statement",
                "add at least one statement",
            ));
        }
        let mut statements = Vec::with_capacity(items.len());
        let statement_path = JPath::Root.key("Statement");
        for (i, item) in items.into_iter().enumerate() {
            let path = if is_array {
                statement_path.index(i)
            } else {
                statement_path
            };
            match item {
                Value::Object(o) => statements.push(read_statement(&mut r, o, i, &path)),
                v => {
                    return Err(fatal(
                        Code::NotAnObject,
                        format!("a statement must be an object, found {}", type_name(&v)),
                        span_of(v),
                        &path.to_string(),
                        "each statement is { \"Effect\": …, \"Action\": …, … }",
                    ));
                }
            }
        }
        if !plain_ascii {
            check_characters(&mut r, text);
        }
        Ok(Self {
            source: text.to_owned(),
            version,
            version_span,
            id,
            statements,
            statement_is_array: is_array,
            statement_key_span,
            diagnostics: r.diags,
        })
    }

    /// Whether `${…}` policy variables are honoured (Version `2012-10-17` only).
    pub fn variables_enabled(&self) -> bool {
        self.version == Version::V2012
    }

    /// A line index for this policy's source.
    pub fn line_index(&self) -> LineIndex {
        LineIndex::new(&self.source)
    }
}

/// IAM accepts TAB, LF, CR and U+0020–U+00FF only.
fn check_characters(r: &mut Reader<'_>, text: &str) {
    // Fast path: printable ASCII and TAB/LF/CR only. OR-ing a flag per byte (rather than
    // stopping at the first bad one) lets the loop run on whole vectors of bytes.
    let outside = text.bytes().fold(0u8, |acc, b| {
        acc | u8::from(!((0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n' || b == b'\r'))
    });
    if outside == 0 {
        return;
    }
    if let Some((i, c)) = text
        .char_indices()
        .find(|(_, c)| !matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
    {
        r.err_help(
            Code::InvalidCharacters,
            format!(
                "character U+{:04X} is outside what IAM accepts (TAB, LF, CR and U+0020 to U+00FF)",
                c as u32
            ),
            "replace it with plain ASCII text",
            Span::new(i, i + c.len_utf8()),
            &"",
        );
    }
}

const STATEMENT_KEYS: [&str; 10] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Id",
];

fn read_statement(
    r: &mut Reader<'_>,
    o: Object<'_, '_>,
    index: usize,
    path: &JPath<'_>,
) -> Statement {
    let mut st = Statement {
        index,
        span: span_of(o),
        sid: None,
        effect: None,
        effect_span: span_of(o),
        principal: None,
        action: None,
        resource: None,
        conditions: List::new(),
        condition_span: None,
        broken: false,
    };
    if r.check_duplicates(o, path) {
        st.broken = true;
    }
    let mut effect_seen = false;
    for p in o.properties() {
        let key = p.name.value;
        let kpath = path.key(key);
        let kspan = p.name.span;
        match key {
            "Sid" => match &p.value {
                Value::StringLit(s) => {
                    st.sid = Some(Spanned {
                        value: Text::from(s.value),
                        span: span_of(s),
                    })
                }
                v => {
                    r.err(
                        Code::WrongType,
                        format!("`Sid` must be a string, found {}", type_name(v)),
                        span_of(v),
                        &kpath,
                    );
                }
            },
            "Effect" => {
                effect_seen = true;
                st.effect_span = span_of(p.value);
                match &p.value {
                    Value::StringLit(s) => match s.value {
                        "Allow" => {
                            st.effect = Some(Spanned {
                                value: Effect::Allow,
                                span: span_of(s),
                            })
                        }
                        "Deny" => {
                            st.effect = Some(Spanned {
                                value: Effect::Deny,
                                span: span_of(s),
                            })
                        }
                        other => {
                            let help = if other.eq_ignore_ascii_case("allow") {
                                "write `Allow`: the effect is case-sensitive".to_owned()
                            } else if other.eq_ignore_ascii_case("deny") {
                                "write `Deny`: the effect is case-sensitive".to_owned()
                            } else {
                                "the effect is `Allow` or `Deny`".to_owned()
                            };
                            r.err_help(
                                Code::InvalidEffect,
                                format!("`{other}` is not an effect"),
                                &help,
                                span_of(s),
                                &kpath,
                            );
                        }
                    },
                    v => r.err(
                        Code::WrongType,
                        format!("`Effect` must be a string, found {}", type_name(v)),
                        span_of(v),
                        &kpath,
                    ),
                }
            }
            "Principal" | "NotPrincipal" => {
                if st.principal.is_some() {
                    conflict(r, &mut st, "Principal", "NotPrincipal", kspan, &kpath);
                }
                st.principal = Some(read_principal(
                    r,
                    &p.value,
                    key == "NotPrincipal",
                    kspan,
                    &kpath,
                ));
            }
            "Action" | "NotAction" => {
                if st.action.is_some() {
                    conflict(r, &mut st, "Action", "NotAction", kspan, &kpath);
                }
                st.action = Some(read_list(r, &p.value, key == "NotAction", kspan, &kpath));
            }
            "Resource" | "NotResource" => {
                if st.resource.is_some() {
                    conflict(r, &mut st, "Resource", "NotResource", kspan, &kpath);
                }
                st.resource = Some(read_list(r, &p.value, key == "NotResource", kspan, &kpath));
            }
            "Condition" => {
                st.condition_span = Some(kspan);
                match &p.value {
                    Value::Object(c) => read_conditions(r, *c, &kpath, &mut st),
                    v => {
                        st.broken = true;
                        r.err(
                            Code::WrongType,
                            format!("`Condition` must be an object, found {}", type_name(v)),
                            span_of(v),
                            &kpath,
                        );
                    }
                }
            }
            other => {
                st.broken = true;
                let help = did_you_mean(other, &STATEMENT_KEYS)
                    .map_or_else(|| "a statement has Sid, Effect, Principal, Action, Resource and Condition (or their Not- forms)".to_owned(), |s| format!("did you mean `{s}`?"));
                r.err_help(
                    Code::UnknownElement,
                    format!("`{other}` is not a statement element"),
                    &help,
                    kspan,
                    &kpath,
                );
            }
        }
    }
    if !effect_seen {
        r.err_help(
            Code::InvalidEffect,
            "the statement has no `Effect`".into(),
            "add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"",
            span_of(o),
            path,
        );
    }
    st
}

fn conflict(
    r: &mut Reader<'_>,
    st: &mut Statement,
    a: &str,
    b: &str,
    span: Span,
    path: &JPath<'_>,
) {
    st.broken = true;
    r.err_help(
        Code::ConflictingElements,
        format!("a statement cannot have both `{a}` and `{b}`"),
        &format!("keep either `{a}` or `{b}`"),
        span,
        path,
    );
}

fn read_list(
    r: &mut Reader<'_>,
    v: &Value<'_, '_>,
    negated: bool,
    key_span: Span,
    path: &JPath<'_>,
) -> ListElement {
    let mut el = ListElement {
        negated,
        key_span,
        items: List::new(),
        is_array: false,
        broken: false,
    };
    match v {
        Value::StringLit(s) => el.items.push(Spanned {
            value: Text::from(s.value),
            span: span_of(s),
        }),
        Value::Array(a) => {
            el.is_array = true;
            for (i, item) in a.elements().enumerate() {
                match item {
                    Value::StringLit(s) => el.items.push(Spanned {
                        value: Text::from(s.value),
                        span: span_of(s),
                    }),
                    other => {
                        el.broken = true;
                        r.err(
                            Code::WrongType,
                            format!("expected a string, found {}", type_name(&other)),
                            span_of(other),
                            &path.index(i),
                        );
                    }
                }
            }
        }
        other => {
            el.broken = true;
            r.err(
                Code::WrongType,
                format!(
                    "expected a string or an array of strings, found {}",
                    type_name(other)
                ),
                span_of(other),
                path,
            );
        }
    }
    el
}

fn read_principal(
    r: &mut Reader<'_>,
    v: &Value<'_, '_>,
    negated: bool,
    key_span: Span,
    path: &JPath<'_>,
) -> PrincipalElement {
    let mut el = PrincipalElement {
        negated,
        key_span,
        value: PrincipalValue::Map(List::new()),
        broken: false,
    };
    match v {
        Value::StringLit(s) if s.value == "*" => el.value = PrincipalValue::Star(span_of(s)),
        Value::Object(o) => {
            if r.check_duplicates(*o, path) {
                el.broken = true;
            }
            let mut entries = List::new();
            for p in o.properties() {
                let kind = Spanned {
                    value: Text::from(p.name.value),
                    span: p.name.span,
                };
                let list = read_list(r, &p.value, false, kind.span, &path.key(p.name.value));
                el.broken |= list.broken;
                entries.push(PrincipalEntry {
                    kind,
                    values: list.items,
                });
            }
            el.value = PrincipalValue::Map(entries);
        }
        other => {
            el.broken = true;
            r.err_help(
                Code::WrongType,
                format!("a principal must be \"*\" or an object such as {{\"AWS\": …}}, found {}", describe(other)),
                "write {\"AWS\": \"arn:aws:iam::111122223333:root\"} or {\"Service\": \"eks-fargate-pods.amazonaws.com\"}",
                span_of(other),
                path,
            );
        }
    }
    el
}

fn describe(v: &Value<'_, '_>) -> String {
    match v {
        Value::StringLit(s) => format!("the string `{}`", s.value),
        other => type_name(other).to_owned(),
    }
}

fn read_conditions(r: &mut Reader<'_>, c: Object<'_, '_>, path: &JPath<'_>, st: &mut Statement) {
    if r.check_duplicates(c, path) {
        st.broken = true;
    }
    for p in c.properties() {
        let op = Spanned {
            value: Text::from(p.name.value),
            span: p.name.span,
        };
        let opath = path.key(p.name.value);
        let mut block = ConditionBlock {
            operator: op,
            entries: List::new(),
            broken: false,
        };
        match &p.value {
            Value::Object(keys) => {
                if r.check_duplicates(*keys, &opath) {
                    block.broken = true;
                }
                for k in keys.properties() {
                    let kpath = &opath.key(k.name.value);
                    block.entries.push(read_condition_entry(
                        r,
                        k.name.value,
                        k.name.span,
                        &k.value,
                        kpath,
                    ));
                }
            }
            other => {
                block.broken = true;
                r.err(
                    Code::WrongType,
                    format!(
                        "a condition operator needs an object of keys, found {}",
                        type_name(other)
                    ),
                    span_of(other),
                    &opath,
                );
            }
        }
        st.conditions.push(block);
    }
}

fn read_condition_entry(
    r: &mut Reader<'_>,
    key: &str,
    key_span: Span,
    v: &Value<'_, '_>,
    path: &JPath<'_>,
) -> ConditionEntry {
    let mut e = ConditionEntry {
        key: Spanned {
            value: Text::from(key),
            span: key_span,
        },
        values: List::new(),
        is_array: false,
        broken: false,
    };
    let scalar =
        |r: &mut Reader<'_>, v: &Value<'_, '_>, path: &JPath<'_>, e: &mut ConditionEntry| match v {
            Value::StringLit(s) => e.values.push(Spanned {
                value: (Text::from(s.value), ScalarKind::String),
                span: span_of(s),
            }),
            Value::NumberLit(n) => e.values.push(Spanned {
                value: (Text::from(n.value), ScalarKind::Number),
                span: span_of(n),
            }),
            Value::BooleanLit(b) => e.values.push(Spanned {
                value: (
                    Text::from(if b.value { "true" } else { "false" }),
                    ScalarKind::Bool,
                ),
                span: span_of(b),
            }),
            other => {
                e.broken = true;
                r.err(
                    Code::WrongType,
                    format!(
                        "a condition value must be a string, number or boolean, found {}",
                        type_name(other)
                    ),
                    span_of(other),
                    path,
                );
            }
        };
    match v {
        Value::Array(a) => {
            e.is_array = true;
            for (i, item) in a.elements().enumerate() {
                scalar(r, &item, &path.index(i), &mut e);
            }
        }
        other => scalar(r, other, path, &mut e),
    }
    e
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_lowercase()
            .chain(c)
            .collect::<String>()
            .trim_end_matches('.')
            .to_owned(),
        None => String::new(),
    }
}

/// The closest of `candidates` to `word` when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    closest(word, candidates.iter().copied())
}

/// The candidate closest to `word` (ASCII case ignored) within a third of its length, if any.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    // For an ASCII word of up to 64 bytes (every name, principal and action here), the word is
    // the pattern of a bit-parallel distance computation, set up once for all candidates.
    let fast = BitPattern::new(&w);
    candidates
        .into_iter()
        .filter_map(|c| {
            let limit = (c.len() / 3).max(1);
            // The length difference is a lower bound of the distance: skip hopeless candidates
            // without computing it.
            if w.len().abs_diff(c.len()) > limit {
                return None;
            }
            let d = match &fast {
                Some(p) if c.is_ascii() => Some(p.distance(c.as_bytes())).filter(|d| *d <= limit),
                _ => levenshtein_within(&w, c, limit),
            };
            d.map(|d| (d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Myers' bit-vector edit distance (in Hyyrö's formulation for the full distance): one pass over
/// the text with a few word operations per byte, for a pattern of at most 64 ASCII bytes.
/// Letters are compared ignoring ASCII case.
struct BitPattern {
    /// For each byte value, the positions where the (lowercased) pattern has it.
    peq: [u64; 128],
    len: usize,
}

impl BitPattern {
    fn new(pattern: &str) -> Option<Self> {
        let p = pattern.as_bytes();
        if p.is_empty() || p.len() > 64 || !pattern.is_ascii() {
            return None;
        }
        let mut peq = [0u64; 128];
        for (i, b) in p.iter().enumerate() {
            peq[usize::from(b.to_ascii_lowercase())] |= 1 << i;
        }
        Some(Self { peq, len: p.len() })
    }

    /// The edit distance between the pattern and `text` (ASCII).
    fn distance(&self, text: &[u8]) -> usize {
        let m = self.len;
        let top = 1u64 << (m - 1);
        let mut pv = if m == 64 { u64::MAX } else { (1u64 << m) - 1 };
        let mut mv = 0u64;
        let mut score = m;
        for &c in text {
            let eq = self.peq[usize::from(c.to_ascii_lowercase() & 0x7f)];
            let xv = eq | mv;
            let xh = ((eq & pv).wrapping_add(pv) ^ pv) | eq;
            let mut ph = mv | !(xh | pv);
            let mut mh = pv & xh;
            if ph & top != 0 {
                score += 1;
            } else if mh & top != 0 {
                score -= 1;
            }
            // The first row of the full distance grows by one per text byte: shift in a 1.
            ph = (ph << 1) | 1;
            mh <<= 1;
            pv = mh | !(xv | ph);
            mv = ph & xv;
        }
        score
    }
}

/// [`levenshtein`] ignoring ASCII case, or `None` as soon as the distance must exceed `limit`.
fn levenshtein_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    const SHORT: usize = 64;
    if a.is_ascii() && b.is_ascii() && b.len() < SHORT {
        // The common case (names, principals, actions): bytes, rows on the stack. A common
        // prefix or suffix (`.amazonaws.com`) does not change the distance: drop it first.
        let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
        while let (Some(x), Some(y)) = (a.first(), b.first())
            && x.eq_ignore_ascii_case(y)
        {
            (a, b) = (&a[1..], &b[1..]);
        }
        while let (Some(x), Some(y)) = (a.last(), b.last())
            && x.eq_ignore_ascii_case(y)
        {
            (a, b) = (&a[..a.len() - 1], &b[..b.len() - 1]);
        }
        // Two rows, used alternately (no copying between rows).
        let mut rows = [[0usize; SHORT + 1]; 2];
        for (j, x) in rows[0].iter_mut().enumerate().take(b.len() + 1) {
            *x = j;
        }
        for (i, ca) in a.iter().enumerate() {
            let (first, second) = rows.split_at_mut(1);
            let (prev, cur) = if i % 2 == 0 {
                (&first[0], &mut second[0])
            } else {
                (&second[0], &mut first[0])
            };
            cur[0] = i + 1;
            let mut row_min = cur[0];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
                cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
                row_min = row_min.min(cur[j + 1]);
            }
            if row_min > limit {
                return None;
            }
        }
        return Some(rows[a.len() % 2][b.len()]).filter(|d| *d <= limit);
    }
    let a = a.to_ascii_lowercase();
    let a = a.as_str();
    let b: Vec<char> = b.to_ascii_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= limit)
}

/// Edit distance (insert, delete, substitute), for "did you mean".
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::Policy;

    fn fatal_message(text: &str) -> String {
        match Policy::parse(text) {
            Ok(_) => String::from("(parsed)"),
            Err(e) => format!("{} {}", e.diagnostic.code, e.diagnostic.message),
        }
    }

    #[test]
    fn a_byte_order_mark_is_named() {
        assert_eq!(
            fatal_message("\u{feff}{\"Version\":\"2012-10-17\",\"Statement\":[]}"),
            "IAM001 the document starts with a byte order mark (U+FEFF, bytes EF BB BF); IAM rejects it as malformed"
        );
    }

    #[test]
    fn a_raw_control_character_inside_a_string_is_rejected() {
        let text = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"eks.amazonaws.com\u{1b}[2J\u{7}\"},\"Action\":\"sts:AssumeRole\"}]}";
        assert_eq!(
            fatal_message(text),
            "IAM001 a raw control character (U+001B) inside a string; JSON requires it written as an escape (\\u001b)"
        );
    }

    #[test]
    fn unicode_whitespace_between_tokens_is_not_json() {
        assert_eq!(
            fatal_message("\u{85}{\"Version\":\"2012-10-17\",\"Statement\":[]}"),
            "IAM001 the character U+0085 outside a string; between tokens JSON allows only spaces, tabs and line breaks"
        );
    }

    #[test]
    fn an_escaped_control_character_is_still_read() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a\u001bb","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(fatal_message(text), "(parsed)");
    }

    proptest::proptest! {
        #[test]
        fn bit_parallel_distance_agrees_with_the_plain_one(a in "[a-cA-C:.-]{1,64}", b in "[a-dA-D:.-]{0,40}") {
            let p = BitPattern::new(&a.to_ascii_lowercase()).unwrap();
            proptest::prop_assert_eq!(
                p.distance(b.as_bytes()),
                levenshtein(&a.to_ascii_lowercase(), &b.to_ascii_lowercase())
            );
        }
    }

    use super::*;

    #[test]
    fn reads_the_fargate_trust_policy_with_spans() {
        let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/*"}},
      "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
      "Action": "sts:AssumeRole"
    }
  ]
}"#;
        let p = Policy::parse(text).unwrap();
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        assert_eq!(p.version, Version::V2012);
        let st = &p.statements[0];
        assert_eq!(st.effect.as_ref().map(|e| e.value), Some(Effect::Allow));
        let action = st.action.as_ref().unwrap();
        assert_eq!(
            &text[action.items[0].span.start..action.items[0].span.end],
            "\"sts:AssumeRole\""
        );
        let lc = p.line_index().line_col(text, action.items[0].span.start);
        assert_eq!((lc.line, lc.column), (8, 17));
        assert_eq!(st.conditions[0].entries[0].key.value, "aws:SourceArn");
    }

    #[test]
    fn fatal_errors_are_errors_not_panics() {
        for (text, code) in [
            ("", "IAM001"),
            ("{", "IAM001"),
            ("[]", "IAM002"),
            ("{\"Version\": \"2012-10-17\"}", "IAM006"),
            ("{\"Statement\": []}", "IAM006"),
            ("{\"Statement\": [1]}", "IAM002"),
            ("{\"Statement\": \"x\"}", "IAM005"),
            ("{\"Statement\": [{}],}", "IAM001"),
            ("// c\n{\"Statement\": {}}", "IAM001"),
        ] {
            let e = Policy::parse(text).expect_err(text);
            assert_eq!(e.diagnostic.code, code, "{text}: {}", e.diagnostic.message);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!(
            "{{\"Statement\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(Policy::parse(&text).is_err());
    }

    #[test]
    fn non_fatal_problems_mark_the_statement_broken() {
        let p = Policy::parse(r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*", "Foo": 1}}"#).unwrap();
        assert!(p.statements[0].broken);
        let codes: Vec<&str> = p.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["IAM009", "IAM004"]);
        let dup = Policy::parse(r#"{"Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "*", "Resource": "*"}}"#).unwrap();
        assert!(dup.statements[0].broken);
        assert_eq!(dup.diagnostics[0].code, "IAM003");
    }

    #[test]
    fn effect_is_case_sensitive_with_a_helpful_message() {
        let p =
            Policy::parse(r#"{"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}"#)
                .unwrap();
        assert!(p.statements[0].effect.is_none());
        assert_eq!(
            p.diagnostics[0].help.as_deref(),
            Some("write `Allow`: the effect is case-sensitive")
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("Actoin", &STATEMENT_KEYS), Some("Action"));
        assert_eq!(did_you_mean("Banana", &STATEMENT_KEYS), None);
        // The bit-parallel distance agrees with the plain one.
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "kitten",
            "sitting",
            "eks-fargate-pod.amazonaws.com",
            "eks-fargate-pods.amazonaws.com",
            "S3.AMAZONAWS.COM",
            "sts:AssumeRole",
            "sts:assumerolewithwebidentity",
            "Conditions",
            "Condition",
        ];
        for a in words {
            for b in words {
                if let Some(p) = BitPattern::new(&a.to_ascii_lowercase()) {
                    let plain = levenshtein(&a.to_ascii_lowercase(), &b.to_ascii_lowercase());
                    assert_eq!(p.distance(b.as_bytes()), plain, "{a} / {b}");
                }
            }
        }
        let long = "x".repeat(64);
        let p = BitPattern::new(&long).map(|p| p.distance(b"xxxy"));
        assert_eq!(p, Some(61));
        // The bounded, prefix/suffix-trimming distance agrees with the plain one.
        for (a, b) in [
            (
                "eks-fargate-pod.amazonaws.com",
                "eks-fargate-pods.amazonaws.com",
            ),
            ("EKS.amazonaws.com", "eks.amazonaws.com"),
            ("abc", "abc"),
            ("kitten", "sitting"),
            ("", "abc"),
            ("ünï", "uni"),
        ] {
            let plain = levenshtein(&a.to_ascii_lowercase(), &b.to_ascii_lowercase());
            assert_eq!(levenshtein_within(a, b, 100), Some(plain), "{a} {b}");
            assert_eq!(levenshtein_within(a, b, plain), Some(plain), "{a} {b}");
            if plain > 0 {
                assert_eq!(levenshtein_within(a, b, plain - 1), None, "{a} {b}");
            }
        }
        assert_eq!(
            did_you_mean(
                "eks-fargate-pod.amazonaws.com",
                &["s3.amazonaws.com", "eks-fargate-pods.amazonaws.com"]
            ),
            Some("eks-fargate-pods.amazonaws.com")
        );
    }
}
