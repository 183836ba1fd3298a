//! IAM wildcard patterns (`*` any run, `?` one character), compiled once and matched without
//! backtracking.
//!
//! A pattern is split at its `*`s into pieces; a piece is literal text and `?`s. The first
//! piece is anchored at the start (unless the pattern starts with `*`), the last at the end
//! (unless it ends with `*`), and the pieces in between are found leftmost-first, which is
//! correct for `*` separators and needs no backtracking: matching costs at most
//! O(len(text) × len(piece)) per piece and literal pieces are found with `memchr`'s substring
//! search. Patterns like `a*a*a*a*…b` therefore run in time proportional to the text, not
//! exponential in the number of stars.

use memchr::memmem;

/// How letters compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Byte for byte (resource ARNs, `StringLike` values).
    Sensitive,
    /// ASCII letters compare without case (action names).
    Insensitive,
}

/// One token of a pattern, as produced by [`tokens`] or by policy-variable substitution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// This byte, literally (including `*`/`?` that came from `${*}`, `${?}` or a variable).
    Lit(u8),
    /// Exactly one character.
    One,
    /// Any run of characters, including none.
    Any,
}

/// The tokens of a plain pattern string, where `*` and `?` are wildcards.
pub fn tokens(pattern: &str) -> impl Iterator<Item = Token> + '_ {
    pattern.bytes().map(|b| match b {
        b'*' => Token::Any,
        b'?' => Token::One,
        other => Token::Lit(other),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    Lit(Box<[u8]>),
    One,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    elems: Box<[Elem]>,
    /// Fast path: the piece is one literal run.
    literal: Option<Box<[u8]>>,
    /// Smallest number of bytes the piece can match.
    min_len: usize,
}

/// The literal text of the common shapes, inline up to 24 bytes: action names, ARN parts and
/// most condition values need no heap allocation of their own.
type Lit = smallvec::SmallVec<[u8; 24]>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Strategy {
    /// `*` alone (or only stars).
    Any,
    /// No wildcard at all.
    Exact(Lit),
    /// `literal*`.
    Prefix(Lit),
    /// `*literal`.
    Suffix(Lit),
    /// Everything else.
    General {
        pieces: Box<[Piece]>,
        anchored_start: bool,
        anchored_end: bool,
    },
}

/// The common pattern shapes, compiled directly rather than through the general compiler (which
/// gives the same pattern for them): no wildcard, one trailing `*`, one leading `*`.
#[derive(Clone, Copy)]
enum Shape {
    Exact,
    Prefix,
    Suffix,
}

impl Shape {
    /// The shape of a pattern of `n` tokens with `wildcards` wildcards, starting or ending with
    /// `*`; `None` for anything else (including `*` alone).
    fn of(wildcards: usize, n: usize, starts_any: bool, ends_any: bool) -> Option<Self> {
        match wildcards {
            0 => Some(Shape::Exact),
            1 if n > 1 && ends_any => Some(Shape::Prefix),
            1 if n > 1 && starts_any => Some(Shape::Suffix),
            _ => None,
        }
    }

    /// Where the literal part is among `n` tokens.
    fn literal(self, n: usize) -> std::ops::Range<usize> {
        match self {
            Shape::Exact => 0..n,
            Shape::Prefix => 0..n - 1,
            Shape::Suffix => 1..n,
        }
    }

    /// The pattern of this shape with literal text `lit` (not yet folded for `case`).
    fn pattern(self, mut lit: Lit, case: Case) -> Pattern {
        if case == Case::Insensitive {
            lit.make_ascii_lowercase();
        }
        let strategy = match self {
            Shape::Exact => Strategy::Exact(lit),
            Shape::Prefix => Strategy::Prefix(lit),
            Shape::Suffix => Strategy::Suffix(lit),
        };
        Pattern { strategy, case }
    }
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    strategy: Strategy,
    case: Case,
}

impl Pattern {
    /// Compiles a pattern string in which `*` and `?` are wildcards.
    pub fn new(pattern: &str, case: Case) -> Self {
        let b = pattern.as_bytes();
        let wildcards = b.iter().filter(|x| matches!(x, b'*' | b'?')).count();
        match Shape::of(
            wildcards,
            b.len(),
            b.first() == Some(&b'*'),
            b.last() == Some(&b'*'),
        ) {
            Some(shape) => shape.pattern(Lit::from_slice(&b[shape.literal(b.len())]), case),
            None => Self::from_tokens(tokens(pattern), case),
        }
    }

    /// Compiles a literal string: no character is a wildcard.
    pub fn literal(text: &str, case: Case) -> Self {
        Shape::Exact.pattern(Lit::from_slice(text.as_bytes()), case)
    }

    /// Compiles a token sequence that is already split (ARN parts).
    pub fn from_token_slice(tokens: &[Token], case: Case) -> Self {
        let n = tokens.len();
        let wildcards = tokens
            .iter()
            .filter(|t| !matches!(t, Token::Lit(_)))
            .count();
        let any = |t: Option<&Token>| t == Some(&Token::Any);
        match Shape::of(wildcards, n, any(tokens.first()), any(tokens.last())) {
            Some(shape) => {
                // The literal range holds no wildcard, so every token is a byte.
                let range = shape.literal(n);
                let mut lits = Lit::with_capacity(range.len());
                lits.extend(tokens[range].iter().filter_map(|t| {
                    if let Token::Lit(b) = t {
                        Some(*b)
                    } else {
                        None
                    }
                }));
                shape.pattern(lits, case)
            }
            None => Self::from_tokens(tokens.iter().copied(), case),
        }
    }

    /// Compiles a token sequence.
    pub fn from_tokens(tokens: impl IntoIterator<Item = Token>, case: Case) -> Self {
        let fold = |b: u8| {
            if case == Case::Insensitive {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        let mut pieces: Vec<Vec<Elem>> = vec![Vec::new()];
        let mut lit: Vec<u8> = Vec::new();
        let mut starts_any = false;
        let mut ends_any = false;
        let mut first = true;
        for t in tokens {
            if first {
                starts_any = t == Token::Any;
                first = false;
            }
            ends_any = t == Token::Any;
            match t {
                Token::Lit(b) => lit.push(fold(b)),
                Token::One | Token::Any => {
                    let current = pieces.last_mut();
                    if let Some(cur) = current {
                        if !lit.is_empty() {
                            cur.push(Elem::Lit(std::mem::take(&mut lit).into_boxed_slice()));
                        }
                        if t == Token::One {
                            cur.push(Elem::One);
                        }
                    }
                    if t == Token::Any && pieces.last().is_some_and(|p| !p.is_empty()) {
                        pieces.push(Vec::new());
                    }
                }
            }
        }
        if !lit.is_empty()
            && let Some(cur) = pieces.last_mut()
        {
            cur.push(Elem::Lit(lit.into_boxed_slice()));
        }
        pieces.retain(|p| !p.is_empty());
        let pieces: Vec<Piece> = pieces.into_iter().map(Piece::new).collect();
        let strategy = match (pieces.as_slice(), starts_any, ends_any) {
            ([], true, _) => Strategy::Any,
            ([], false, _) => Strategy::Exact(Lit::new()),
            ([p], false, false) if p.literal.is_some() => {
                Strategy::Exact(Lit::from_slice(p.literal.as_deref().unwrap_or_default()))
            }
            ([p], false, true) if p.literal.is_some() => {
                Strategy::Prefix(Lit::from_slice(p.literal.as_deref().unwrap_or_default()))
            }
            ([p], true, false) if p.literal.is_some() => {
                Strategy::Suffix(Lit::from_slice(p.literal.as_deref().unwrap_or_default()))
            }
            _ => Strategy::General {
                pieces: pieces.into_boxed_slice(),
                anchored_start: !starts_any,
                anchored_end: !ends_any,
            },
        };
        Self { strategy, case }
    }

    /// Whether the pattern matches all of `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let t = text.as_bytes();
        let ci = self.case == Case::Insensitive;
        match &self.strategy {
            Strategy::Any => true,
            Strategy::Exact(p) => eq(p, t, ci),
            Strategy::Prefix(p) => t.len() >= p.len() && eq(p, &t[..p.len()], ci),
            Strategy::Suffix(p) => t.len() >= p.len() && eq(p, &t[t.len() - p.len()..], ci),
            Strategy::General {
                pieces,
                anchored_start,
                anchored_end,
            } => general_match(pieces, *anchored_start, *anchored_end, t, ci),
        }
    }

    /// Whether the pattern has no wildcard (it matches exactly one string).
    pub fn is_literal(&self) -> bool {
        matches!(self.strategy, Strategy::Exact(_))
    }
}

impl Piece {
    fn new(elems: Vec<Elem>) -> Self {
        let literal = match elems.as_slice() {
            [Elem::Lit(b)] => Some(b.clone()),
            _ => None,
        };
        let min_len = elems
            .iter()
            .map(|e| if let Elem::Lit(b) = e { b.len() } else { 1 })
            .sum();
        Self {
            elems: elems.into_boxed_slice(),
            literal,
            min_len,
        }
    }

    /// If the piece matches at `at`, the index just after it.
    fn match_at(&self, t: &[u8], at: usize, ci: bool) -> Option<usize> {
        let mut i = at;
        for e in self.elems.iter() {
            match e {
                Elem::Lit(b) => {
                    let end = i.checked_add(b.len())?;
                    if end > t.len() || !eq(b, t.get(i..end)?, ci) {
                        return None;
                    }
                    i = end;
                }
                Elem::One => {
                    let first = *t.get(i)?;
                    i += utf8_len(first);
                    if i > t.len() {
                        return None;
                    }
                }
            }
        }
        Some(i)
    }

    /// Leftmost match starting at or after `from`, ending at or before `limit`: (start, end).
    fn find(&self, t: &[u8], from: usize, limit: usize, ci: bool) -> Option<(usize, usize)> {
        let hay = t.get(..limit)?;
        if let (Some(lit), false) = (&self.literal, ci) {
            let pos = memmem::find(hay.get(from..)?, lit)?;
            return Some((from + pos, from + pos + lit.len()));
        }
        let mut start = from;
        while start + self.min_len <= limit {
            // Only start on character boundaries, so that `?` consumes whole characters.
            if is_boundary(t, start)
                && let Some(end) = self.match_at(hay, start, ci)
            {
                return Some((start, end));
            }
            start += 1;
        }
        None
    }
}

/// Matches a plain pattern string (`*` and `?` are wildcards) against `text` without compiling
/// it: no allocation, for a pattern used once (validation). The classic single-backtrack-point
/// walk: `O(len(pattern) × len(text))` at worst, never exponential. `?` is one character.
pub fn is_match_once(pattern: &str, text: &str, case: Case) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let ci = case == Case::Insensitive;
    let same = |a: &[u8], b: &[u8]| {
        if ci {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    // The common shapes at once: no wildcard, or one trailing `*` (`arn:…:fargateprofile/c/*`).
    // A byte loop: patterns used once are short (ARN parts, action names), and a vector search
    // costs more to set up than it saves on them.
    match p.iter().position(|b| matches!(b, b'*' | b'?')) {
        None => return same(p, t),
        Some(i) if i + 1 == p.len() && p[i] == b'*' => {
            return t.len() >= i && same(&p[..i], &t[..i]);
        }
        Some(_) => {}
    }
    // From here on the pattern is only stars: whatever text is left matches.
    let tail_stars = p.iter().rposition(|b| *b != b'*').map_or(0, |i| i + 1);
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the last `*`: pattern index after it, text index it covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some(b'*') if pi >= tail_stars => return true,
            Some(b'*') => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(utf8_len(t[ti])),
            Some(&c) if c == t[ti] || (ci && c.eq_ignore_ascii_case(&t[ti])) => Some(1),
            _ => None,
        };
        match (step, star) {
            (Some(n), _) => {
                pi += 1;
                ti = (ti + n).min(t.len());
            }
            (None, Some((sp, st))) => {
                // Let the last `*` cover one more character and retry from there.
                let next = (st + utf8_len(t[st])).min(t.len());
                star = Some((sp, next));
                pi = sp;
                ti = next;
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
}

fn general_match(
    pieces: &[Piece],
    anchored_start: bool,
    anchored_end: bool,
    t: &[u8],
    ci: bool,
) -> bool {
    let mut lo = 0;
    let mut hi = t.len();
    let mut rest = pieces;
    if anchored_start {
        let Some((first, tail)) = rest.split_first() else {
            return t.is_empty();
        };
        match first.match_at(t, 0, ci) {
            Some(end) => lo = end,
            None => return false,
        }
        rest = tail;
        if rest.is_empty() {
            return !anchored_end || lo == t.len();
        }
    }
    if anchored_end {
        let Some((last, middle)) = rest.split_last() else {
            return true;
        };
        // The last piece must end exactly at the end; with `?` it can have several lengths,
        // so try each start from the right that leaves room for the pieces before it.
        let mut found = None;
        let mut start = hi.saturating_sub(last.min_len);
        loop {
            if start < lo {
                break;
            }
            if is_boundary(t, start) && last.match_at(t, start, ci) == Some(hi) {
                found = Some(start);
                break;
            }
            if start == 0 {
                break;
            }
            start -= 1;
            if last.literal.is_some() {
                // A literal piece has one length: one candidate only.
                break;
            }
        }
        match found {
            Some(s) => hi = s,
            None => return false,
        }
        rest = middle;
    }
    for piece in rest {
        match piece.find(t, lo, hi, ci) {
            Some((_, end)) => lo = end,
            None => return false,
        }
    }
    lo <= hi
}

fn eq(pattern: &[u8], text: &[u8], ci: bool) -> bool {
    if ci {
        pattern.len() == text.len()
            && pattern
                .iter()
                .zip(text)
                .all(|(p, t)| *p == t.to_ascii_lowercase())
    } else {
        pattern == text
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn is_boundary(t: &[u8], i: usize) -> bool {
    t.get(i).is_none_or(|b| (*b as i8) >= -0x40)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p, Case::Sensitive).is_match(t)
    }

    #[test]
    fn strategies() {
        assert!(m("*", "") && m("*", "anything"));
        assert!(m("abc", "abc") && !m("abc", "abcd"));
        assert!(m("s3:Get*", "s3:GetObject") && !m("s3:Get*", "s3:PutObject"));
        assert!(m("*Object", "s3:GetObject") && !m("*Object", "s3:GetObjects"));
        assert!(m("a*b*c", "abc") && m("a*b*c", "aXbYc") && !m("a*b*c", "acb"));
        assert!(m("", "") && !m("", "x"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(m("test???value", "test123value"));
        assert!(!m("test???value", "test12value"));
        assert!(m("?", "é") && !m("??", "é"));
        assert!(m("a?*", "ab") && !m("a?*", "a"));
        assert!(m("*?x", "yx") && !m("*?x", "x"));
    }

    #[test]
    fn case_insensitive_actions() {
        let p = Pattern::new("IAM:listaccesskeys", Case::Insensitive);
        assert!(p.is_match("iam:ListAccessKeys"));
        assert!(
            Pattern::new("iam:*AccessKey*", Case::Insensitive).is_match("IAM:UPDATEACCESSKEYS")
        );
    }

    #[test]
    fn literal_tokens_do_not_act_as_wildcards() {
        let p = Pattern::literal("a*b", Case::Sensitive);
        assert!(p.is_match("a*b") && !p.is_match("axb"));
    }

    #[test]
    fn pathological_pattern_is_fast_enough_to_finish() {
        let pat = format!("{}b", "a*".repeat(200));
        let text = "a".repeat(100_000);
        assert!(!m(&pat, &text));
        assert!(m(&pat, &format!("{text}b")));
    }
}
