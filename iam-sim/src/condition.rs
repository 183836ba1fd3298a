//! Condition operators: names, value types, and how a request value is compared.

use std::net::IpAddr;

use crate::arn::Arn;
use crate::glob::{Case, Pattern, Token};
use crate::template::{self, Part};

/// The operator family without qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Base {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

/// Every operator name, for lookups and suggestions.
pub const BASE_NAMES: [(&str, Base); 27] = [
    ("StringEquals", Base::StringEquals),
    ("StringNotEquals", Base::StringNotEquals),
    ("StringEqualsIgnoreCase", Base::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Base::StringNotEqualsIgnoreCase),
    ("StringLike", Base::StringLike),
    ("StringNotLike", Base::StringNotLike),
    ("NumericEquals", Base::NumericEquals),
    ("NumericNotEquals", Base::NumericNotEquals),
    ("NumericLessThan", Base::NumericLessThan),
    ("NumericLessThanEquals", Base::NumericLessThanEquals),
    ("NumericGreaterThan", Base::NumericGreaterThan),
    ("NumericGreaterThanEquals", Base::NumericGreaterThanEquals),
    ("DateEquals", Base::DateEquals),
    ("DateNotEquals", Base::DateNotEquals),
    ("DateLessThan", Base::DateLessThan),
    ("DateLessThanEquals", Base::DateLessThanEquals),
    ("DateGreaterThan", Base::DateGreaterThan),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals),
    ("Bool", Base::Bool),
    ("BinaryEquals", Base::BinaryEquals),
    ("IpAddress", Base::IpAddress),
    ("NotIpAddress", Base::NotIpAddress),
    ("ArnEquals", Base::ArnEquals),
    ("ArnLike", Base::ArnLike),
    ("ArnNotEquals", Base::ArnNotEquals),
    ("ArnNotLike", Base::ArnNotLike),
    ("Null", Base::Null),
];

/// How values of an operator are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Exact, case-sensitive strings.
    String,
    /// Strings, ASCII case ignored.
    StringIgnoreCase,
    /// Globs.
    Like,
    /// Numbers.
    Numeric(Cmp),
    /// Dates.
    Date(Cmp),
    /// Booleans.
    Bool,
    /// Base64 text compared as is.
    Binary,
    /// CIDR ranges.
    Ip,
    /// ARNs, part by part.
    Arn,
    /// Key presence.
    Null,
}

/// A numeric or date comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `==` (and the negated `!=`).
    Eq,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Base {
    /// The operator's name as AWS spells it.
    pub fn name(self) -> &'static str {
        BASE_NAMES
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("", |(n, _)| n)
    }

    /// Negated operators combine their values as NOR and are true when the key is absent.
    pub fn negated(self) -> bool {
        matches!(
            self,
            Base::StringNotEquals
                | Base::StringNotEqualsIgnoreCase
                | Base::StringNotLike
                | Base::NumericNotEquals
                | Base::DateNotEquals
                | Base::NotIpAddress
                | Base::ArnNotEquals
                | Base::ArnNotLike
        )
    }

    /// The value type.
    pub fn family(self) -> Family {
        use Base::*;
        match self {
            StringEquals | StringNotEquals => Family::String,
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => Family::StringIgnoreCase,
            StringLike | StringNotLike => Family::Like,
            NumericEquals | NumericNotEquals => Family::Numeric(Cmp::Eq),
            NumericLessThan => Family::Numeric(Cmp::Lt),
            NumericLessThanEquals => Family::Numeric(Cmp::Le),
            NumericGreaterThan => Family::Numeric(Cmp::Gt),
            NumericGreaterThanEquals => Family::Numeric(Cmp::Ge),
            DateEquals | DateNotEquals => Family::Date(Cmp::Eq),
            DateLessThan => Family::Date(Cmp::Lt),
            DateLessThanEquals => Family::Date(Cmp::Le),
            DateGreaterThan => Family::Date(Cmp::Gt),
            DateGreaterThanEquals => Family::Date(Cmp::Ge),
            Bool => Family::Bool,
            BinaryEquals => Family::Binary,
            IpAddress | NotIpAddress => Family::Ip,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Family::Arn,
            Null => Family::Null,
        }
    }

    /// Whether policy variables are honoured in this operator's values (String and ARN
    /// families, and `Bool` as the operators page lists it).
    pub fn takes_variables(self) -> bool {
        matches!(
            self.family(),
            Family::String | Family::StringIgnoreCase | Family::Like | Family::Arn | Family::Bool
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// No qualifier: single-valued key.
    None,
    /// `ForAllValues:`.
    ForAll,
    /// `ForAnyValue:`.
    ForAny,
}

/// A full operator: qualifier, family, `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// The base operator.
    pub base: Base,
    /// `…IfExists`.
    pub if_exists: bool,
    /// Set qualifier.
    pub set: SetQualifier,
}

impl Operator {
    /// Parses an operator name as AWS spells it (case-sensitive; see `docs/evaluation.md`).
    /// `None` for unknown names and for `NullIfExists`.
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAll, r)
        } else if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAny, r)
        } else {
            (SetQualifier::None, name)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let base = BASE_NAMES
            .iter()
            .find(|(n, _)| *n == rest)
            .map(|(_, b)| *b)?;
        if base == Base::Null && if_exists {
            return None;
        }
        Some(Self {
            base,
            if_exists,
            set,
        })
    }
}

/// Three-valued result: the engine fails closed on `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    /// Holds.
    True,
    /// Does not hold.
    False,
    /// Cannot be interpreted: an Allow does not apply, a Deny does.
    Unknown,
}

impl Tri {
    /// From a bool.
    pub fn from_bool(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }

    /// OR, stopping at the first `True`: `Unknown` when nothing holds but something is unknown.
    pub fn any(items: impl IntoIterator<Item = Tri>) -> Self {
        let mut result = Tri::False;
        for t in items {
            match t {
                Tri::True => return Tri::True,
                Tri::Unknown => result = Tri::Unknown,
                Tri::False => {}
            }
        }
        result
    }

    /// AND, stopping at the first `False`: `Unknown` when nothing fails but something is unknown.
    pub fn all(items: impl IntoIterator<Item = Tri>) -> Self {
        !Tri::any(items.into_iter().map(|t| !t))
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;

    /// Negation; `Unknown` stays `Unknown`.
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// A compiled policy value of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A literal string (lowercased for the ignore-case family); inline up to 24 bytes.
    Str(crate::policy::Text),
    /// A glob.
    Glob(Pattern),
    /// An ARN pattern: partition, service, region, account, resource.
    Arn(Box<ArnPattern>),
    /// A number.
    Num(f64),
    /// A date, in seconds since the epoch.
    Date(f64),
    /// A boolean.
    Bool(bool),
    /// A CIDR range.
    Ip(Cidr),
    /// A value with policy variables, resolved per request.
    Template(Vec<Part>),
    /// A policy value that can never match (an ARN operator value that is not an ARN).
    Never,
    /// A value the engine cannot interpret for this operator (fail closed).
    Invalid,
}

impl Value {
    /// Compiles `text` for `base`; `variables` says whether `${…}` is honoured.
    pub fn compile(base: Base, text: &str, variables: bool) -> Self {
        if variables && base.takes_variables() {
            match template::parse(text) {
                Ok(Some(parts)) => return Value::Template(parts),
                Ok(None) => {}
                Err(_) => return Value::Invalid,
            }
        }
        match base.family() {
            Family::String | Family::Binary => Value::Str(text.into()),
            Family::StringIgnoreCase => Value::Str(crate::policy::lowercase_text(text)),
            Family::Like => Value::Glob(Pattern::new(text, Case::Sensitive)),
            Family::Arn => arn_pattern(text.bytes().map(|b| match b {
                b'*' => Token::Any,
                b'?' => Token::One,
                o => Token::Lit(o),
            }))
            .map_or(Value::Never, |p| Value::Arn(Box::new(p))),
            Family::Numeric(_) => parse_number(text).map_or(Value::Invalid, Value::Num),
            Family::Date(_) => parse_date(text).map_or(Value::Invalid, Value::Date),
            Family::Bool | Family::Null => parse_bool(text).map_or(Value::Invalid, Value::Bool),
            Family::Ip => Cidr::parse(text).map_or(Value::Invalid, Value::Ip),
        }
    }
}

/// An ARN pattern: partition, service, region, account and resource part, each a wildcard
/// pattern. When the first four parts have no wildcard (the usual case) they are kept as one
/// literal prefix `arn:p:s:r:a:`, so that matching is a prefix comparison plus one pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct ArnPattern {
    parts: [Pattern; 5],
    /// `arn:p:s:r:a:` when parts 0–3 are literal, with whether it compares without case.
    prefix: Option<(Box<[u8]>, bool)>,
}

impl ArnPattern {
    /// Whether the pattern matches an ARN text, part by part.
    pub fn is_match(&self, text: &str) -> bool {
        if let Some((prefix, ci)) = &self.prefix {
            // Literal parts contain no colon, so a prefix match is the same as matching the
            // first four parts one by one.
            let t = text.as_bytes();
            if t.len() < prefix.len() {
                return false;
            }
            let head = &t[..prefix.len()];
            let same = if *ci {
                head.eq_ignore_ascii_case(prefix)
            } else {
                head == &prefix[..]
            };
            return same && self.parts[4].is_match(&text[prefix.len()..]);
        }
        match Arn::parse(text) {
            Some(a) => self
                .parts
                .iter()
                .zip(a.parts())
                .all(|(pat, part)| pat.is_match(part)),
            None => false,
        }
    }
}

/// Splits ARN tokens at the first five literal colons into five patterns (ARN operators:
/// wildcards never cross a part boundary, the resource part may contain colons).
pub fn arn_pattern(tokens: impl IntoIterator<Item = Token>) -> Option<ArnPattern> {
    arn_pattern_with(tokens, [Case::Sensitive; 5])
}

/// Like [`arn_pattern`], with a letter-case rule per part (the first four parts share one).
pub fn arn_pattern_with(
    tokens: impl IntoIterator<Item = Token>,
    cases: [Case; 5],
) -> Option<ArnPattern> {
    let toks: Vec<Token> = tokens.into_iter().collect();
    let prefix = [
        Token::Lit(b'a'),
        Token::Lit(b'r'),
        Token::Lit(b'n'),
        Token::Lit(b':'),
    ];
    let rest = toks.strip_prefix(&prefix[..])?;
    // The first four parts end at the first four literal colons; the resource part is the rest.
    let mut parts: [&[Token]; 5] = [&[]; 5];
    let mut found = 0;
    let mut start = 0;
    for (i, t) in rest.iter().enumerate() {
        if found == 4 {
            break;
        }
        if *t == Token::Lit(b':') {
            parts[found] = rest.get(start..i)?;
            found += 1;
            start = i + 1;
        }
    }
    if found != 4 {
        return None;
    }
    parts[4] = rest.get(start..)?;
    let mk = |i: usize| Pattern::from_token_slice(parts[i], cases[i]);
    let literal = parts[..4]
        .iter()
        .all(|p| p.iter().all(|t| matches!(t, Token::Lit(_))));
    let prefix = literal.then(|| {
        let len = 4 + parts[..4].iter().map(|p| p.len() + 1).sum::<usize>();
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(b"arn:");
        for p in &parts[..4] {
            b.extend(p.iter().filter_map(|t| {
                if let Token::Lit(c) = t {
                    Some(*c)
                } else {
                    None
                }
            }));
            b.push(b':');
        }
        let ci = cases[0] == Case::Insensitive;
        if ci {
            b.make_ascii_lowercase();
        }
        (b.into_boxed_slice(), ci)
    });
    Some(ArnPattern {
        parts: [mk(0), mk(1), mk(2), mk(3), mk(4)],
        prefix,
    })
}

/// `ArnLike` of one plain pattern string against one ARN, without compiling the pattern (for a
/// pattern used once). Same rules as [`ArnPattern`]: the pattern must start with a literal
/// `arn:`, both sides are split at their first five colons, and wildcards never cross a part.
pub fn arn_like_once(pattern: &str, text: &str) -> bool {
    let Some(rest) = pattern.strip_prefix("arn:") else {
        return false;
    };
    let Some(arn) = Arn::parse(text) else {
        return false;
    };
    // The pattern's first four parts end at its first four colons (a byte loop: the parts are
    // a few bytes each, too short for a vector search to pay off); the rest is the resource.
    let [partition, service, region, account, resource] = arn.parts();
    let mut rest = rest;
    for part in [partition, service, region, account] {
        let Some(colon) = rest.bytes().position(|b| b == b':') else {
            return false;
        };
        if !crate::glob::is_match_once(&rest[..colon], part, Case::Sensitive) {
            return false;
        }
        rest = &rest[colon + 1..];
    }
    crate::glob::is_match_once(rest, resource, Case::Sensitive)
}

/// Whether an ARN pattern matches an ARN text, part by part.
pub fn arn_match(p: &ArnPattern, text: &str) -> bool {
    p.is_match(text)
}

/// Compares one request value against one policy value. `Tri::Unknown` when the policy value
/// cannot be interpreted.
pub fn compare<'c>(
    base: Base,
    value: &Value,
    request: &str,
    lookup: &dyn Fn(&str) -> Option<&'c str>,
) -> Tri {
    match value {
        Value::Invalid => Tri::Unknown,
        Value::Never => Tri::False,
        Value::Str(s) => Tri::from_bool(match base.family() {
            Family::StringIgnoreCase => s.eq_ignore_ascii_case(request),
            _ => s == request,
        }),
        Value::Glob(p) => Tri::from_bool(p.is_match(request)),
        Value::Arn(p) => Tri::from_bool(arn_match(p, request)),
        Value::Num(n) => {
            Tri::from_bool(parse_number(request).is_some_and(|r| cmp(base.family(), r, *n)))
        }
        Value::Date(d) => {
            Tri::from_bool(parse_date(request).is_some_and(|r| cmp(base.family(), r, *d)))
        }
        Value::Bool(b) => Tri::from_bool(parse_bool(request) == Some(*b)),
        Value::Ip(c) => Tri::from_bool(request.parse::<IpAddr>().is_ok_and(|ip| c.contains(ip))),
        Value::Template(parts) => {
            let family = base.family();
            let wildcards = matches!(family, Family::Like | Family::Arn);
            let mut toks = Vec::new();
            if template::resolve(parts, wildcards, lookup, &mut toks).is_none() {
                // An unresolvable variable matches nothing.
                return Tri::False;
            }
            match family {
                Family::Like => {
                    Tri::from_bool(Pattern::from_tokens(toks, Case::Sensitive).is_match(request))
                }
                Family::Arn => {
                    Tri::from_bool(arn_pattern(toks).is_some_and(|p| arn_match(&p, request)))
                }
                Family::StringIgnoreCase => {
                    let text: Vec<u8> = toks
                        .iter()
                        .filter_map(|t| {
                            if let Token::Lit(b) = t {
                                Some(*b)
                            } else {
                                None
                            }
                        })
                        .collect();
                    Tri::from_bool(text.eq_ignore_ascii_case(request.as_bytes()))
                }
                Family::Bool => {
                    let text: String = toks
                        .iter()
                        .filter_map(|t| {
                            if let Token::Lit(b) = t {
                                Some(*b as char)
                            } else {
                                None
                            }
                        })
                        .collect();
                    Tri::from_bool(
                        parse_bool(&text).is_some() && parse_bool(&text) == parse_bool(request),
                    )
                }
                _ => {
                    let text: Vec<u8> = toks
                        .iter()
                        .filter_map(|t| {
                            if let Token::Lit(b) = t {
                                Some(*b)
                            } else {
                                None
                            }
                        })
                        .collect();
                    Tri::from_bool(text == request.as_bytes())
                }
            }
        }
    }
}

fn cmp(family: Family, request: f64, policy: f64) -> bool {
    let c = match family {
        Family::Numeric(c) | Family::Date(c) => c,
        _ => return false,
    };
    match c {
        Cmp::Eq => request == policy,
        Cmp::Lt => request < policy,
        Cmp::Le => request <= policy,
        Cmp::Gt => request > policy,
        Cmp::Ge => request >= policy,
    }
}

/// `true`/`false`, any ASCII case.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An integer or decimal (`10` equals `10.0`); no exponents, no `NaN`/`inf`.
pub fn parse_number(s: &str) -> Option<f64> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if body.contains('.') && frac.is_empty() {
        return None;
    }
    s.parse().ok()
}

/// W3C ISO-8601 dates (`2020-01-01`, `2020-01-01T00:00:01Z`, fractions, `±hh:mm` offsets) or
/// epoch seconds; returns seconds since 1970-01-01T00:00:00Z.
pub fn parse_date(s: &str) -> Option<f64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<f64>().ok();
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) && !t.is_empty() {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) as f64 * 86_400.0;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t'))?;
    if rest.len() < 5 || rest.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    let (h, mi) = (num(10 + 1..10 + 3)?, num(10 + 4..10 + 6)?);
    let mut i = 16;
    let mut sec = 0.0;
    if b.get(i) == Some(&b':') {
        sec = num(i + 1..i + 3)? as f64;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            let frac: f64 = format!("0.{}", s.get(start..end)?).parse().ok()?;
            sec += frac;
            i = end;
        }
    }
    if h > 23 || mi > 59 || sec >= 61.0 {
        return None;
    }
    secs += (h * 3600 + mi * 60) as f64 + sec;
    let tz = s.get(i..)?;
    match tz {
        "Z" | "z" => Some(secs),
        "" => Some(secs),
        _ => {
            let sign = match tz.as_bytes().first() {
                Some(b'+') => -1.0,
                Some(b'-') => 1.0,
                _ => return None,
            };
            let (oh, om) = tz.get(1..)?.split_once(':')?;
            if oh.len() != 2 || om.len() != 2 {
                return None;
            }
            let off = oh.parse::<u32>().ok()? * 3600 + om.parse::<u32>().ok()? * 60;
            Some(secs + sign * f64::from(off))
        }
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IPv4 or IPv6 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    v6: bool,
    addr: u128,
    prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:DB8::/64`, or a bare address (a single host).
    pub fn parse(s: &str) -> Option<Self> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = a.parse().ok()?;
        let (v6, addr, max) = match ip {
            IpAddr::V4(v4) => (false, u128::from(u32::from(v4)), 32u8),
            IpAddr::V6(v6) => (true, u128::from(v6), 128u8),
        };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok()?
            }
            Some(_) => return None,
            None => max,
        };
        if prefix > max {
            return None;
        }
        Some(Self { v6, addr, prefix })
    }

    /// Whether the range has bits set after the prefix (Access Analyzer's `IMPROVE_IP_RANGE`).
    pub fn has_host_bits(&self) -> bool {
        let width = if self.v6 { 128 } else { 32 };
        self.addr & !mask(self.prefix, width) != 0
    }

    /// Whether `ip` is in the range; IPv4 ranges never contain IPv6 addresses and vice versa.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (v6, addr, width) = match ip {
            IpAddr::V4(v4) => (false, u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (true, u128::from(v6), 128),
        };
        if v6 != self.v6 {
            return false;
        }
        let m = mask(self.prefix, width);
        addr & m == self.addr & m
    }
}

fn mask(prefix: u8, width: u32) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let all: u128 = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    let host_bits = width - u32::from(prefix);
    (all >> host_bits) << host_bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringEqualsIfExists").unwrap();
        assert_eq!(
            (op.base, op.if_exists, op.set),
            (Base::StringEquals, true, SetQualifier::ForAny)
        );
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAnyValue::StringEquals").is_none());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("StringEquals").is_some_and(|o| !o.base.negated()));
        assert!(Operator::parse("ArnNotLike").is_some_and(|o| o.base.negated()));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_date("2020-01-01"), Some(1_577_836_800.0));
        assert_eq!(
            parse_date("2020-01-01T01:00:00+01:00"),
            Some(1_577_836_800.0)
        );
        assert_eq!(parse_date("1577836800"), Some(1_577_836_800.0));
        assert_eq!(parse_date("2020-01-01T00:00:00.5Z"), Some(1_577_836_800.5));
        for bad in [
            "",
            "2020-13-01",
            "yesterday",
            "2020-01-01T25:00:00Z",
            "2020-01-01X",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("10.0"), Some(10.0));
        assert_eq!(parse_number("-3.5"), Some(-3.5));
        for bad in ["", "abc", "1e3", "NaN", "inf", "1.", ".5"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.1".parse().unwrap()));
        assert!(!c.contains("198.51.100.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains("2001:db8:1234:5678:abcd::1".parse().unwrap()));
        assert!(
            !Cidr::parse("192.168.10.10/32")
                .unwrap()
                .contains("2001:db8::1".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.1/8").unwrap().has_host_bits());
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }

    #[test]
    fn literal_prefix_fast_path_agrees_with_part_matching() {
        let cases = [
            (
                "arn:aws:eks:eu-west-1:1:fargateprofile/c/*",
                "arn:aws:eks:eu-west-1:1:fargateprofile/c/p/u",
                true,
            ),
            (
                "arn:aws:eks:eu-west-1:1:fargateprofile/c/*",
                "arn:aws:eks:eu-west-1:12:fargateprofile/c/p/u",
                false,
            ),
            (
                "arn:aws:eks:eu-west-1:1:fargateprofile/c/*",
                "arn:aws:eks:eu-west-1:1",
                false,
            ),
            (
                "arn:aws:eks:*:1:fargateprofile/c/*",
                "arn:aws:eks:us-east-1:1:fargateprofile/c/p",
                true,
            ),
            (
                "arn:aws:eks:*:1:fargateprofile/c/*",
                "arn:aws:eks:us-east-1:2:1:fargateprofile/c/p",
                false,
            ),
        ];
        for (pat, text, want) in cases {
            let p = arn_pattern(tokens_of(pat)).unwrap();
            assert_eq!(p.is_match(text), want, "{pat} vs {text}");
            // The same without the fast path: split the text and match part by part.
            let parts = Arn::parse(text).map(|a| a.parts());
            let slow = parts.is_some_and(|ps| p.parts.iter().zip(ps).all(|(q, t)| q.is_match(t)));
            assert_eq!(slow, want, "{pat} vs {text} (part by part)");
        }
        let ci = arn_pattern_with(
            tokens_of("arn:AWS:S3:::b/*"),
            [
                Case::Insensitive,
                Case::Insensitive,
                Case::Insensitive,
                Case::Insensitive,
                Case::Sensitive,
            ],
        )
        .unwrap();
        assert!(ci.is_match("arn:aws:s3:::b/k") && !ci.is_match("arn:aws:s3:::B/k"));
    }

    fn tokens_of(s: &str) -> Vec<Token> {
        crate::glob::tokens(s).collect()
    }

    #[test]
    fn arn_operator_keeps_wildcards_inside_a_part() {
        let v = Value::compile(
            Base::ArnLike,
            "arn:aws:someservice:*:111122223333:finance/*",
            true,
        );
        let doc = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert_eq!(compare(Base::ArnLike, &v, doc, &|_| None), Tri::False);
        let s = Value::compile(
            Base::StringLike,
            "arn:aws:someservice:*:111122223333:finance/*",
            true,
        );
        assert_eq!(compare(Base::StringLike, &s, doc, &|_| None), Tri::True);
    }
}
