//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, and the escapes
//! `${*}`, `${?}`, `${$}`. Only honoured under Version `2012-10-17`.

use crate::glob::Token;

/// A piece of a value that may contain variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text as written (wildcards in it keep their meaning where the operator has them).
    Text(String),
    /// A character from `${*}`, `${?}` or `${$}`: always literal.
    Escaped(u8),
    /// A variable: the context key (lowercased) and its default.
    Var {
        /// Lowercased key.
        key: String,
        /// `'default'` value, when written.
        default: Option<String>,
    },
}

/// Why a `${…}` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `${` without `}`.
    MissingBrace,
    /// `${}`.
    Empty,
    /// A default not in single quotes.
    MissingQuote,
    /// A space inside the variable name.
    SpaceInName,
}

/// Splits `text` into parts; `Ok(None)` when it has no `${`.
///
/// # Errors
/// A malformed `${…}`.
pub fn parse(text: &str) -> Result<Option<Vec<Part>>, TemplateError> {
    // `$` is rare in policies: a byte search rules most texts out before a substring search.
    if !(text.as_bytes().contains(&b'$') && text.contains("${")) {
        return Ok(None);
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(TemplateError::MissingBrace)?;
        let inner = &after[..end];
        match inner {
            "*" => parts.push(Part::Escaped(b'*')),
            "?" => parts.push(Part::Escaped(b'?')),
            "$" => parts.push(Part::Escaped(b'$')),
            "" => return Err(TemplateError::Empty),
            _ => {
                let (name, default) = match inner.split_once(',') {
                    Some((n, d)) => {
                        let d = d.trim_start();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .ok_or(TemplateError::MissingQuote)?;
                        (n, Some(d.to_owned()))
                    }
                    None => (inner, None),
                };
                if name.is_empty() {
                    return Err(TemplateError::Empty);
                }
                if name.contains(' ') {
                    return Err(TemplateError::SpaceInName);
                }
                parts.push(Part::Var {
                    key: name.to_ascii_lowercase(),
                    default,
                });
            }
        }
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(Some(parts))
}

/// Resolves parts into pattern tokens: text keeps its wildcards when `wildcards` is true;
/// substituted values and escapes are literal. `None` when a variable has no value and no
/// default (the value then matches nothing).
pub fn resolve<'c>(
    parts: &[Part],
    wildcards: bool,
    lookup: &dyn Fn(&str) -> Option<&'c str>,
    out: &mut Vec<Token>,
) -> Option<()> {
    out.clear();
    for p in parts {
        match p {
            Part::Text(t) => {
                if wildcards {
                    out.extend(crate::glob::tokens(t));
                } else {
                    out.extend(t.bytes().map(Token::Lit));
                }
            }
            Part::Escaped(b) => out.push(Token::Lit(*b)),
            Part::Var { key, default } => {
                let v: &str = match lookup(key) {
                    Some(v) => v,
                    None => default.as_deref()?,
                };
                out.extend(v.bytes().map(Token::Lit));
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variables_defaults_and_escapes() {
        let p = parse("a-${aws:PrincipalTag/team, 'company-wide'}-${*}")
            .unwrap()
            .unwrap();
        assert_eq!(
            p,
            vec![
                Part::Text("a-".into()),
                Part::Var {
                    key: "aws:principaltag/team".into(),
                    default: Some("company-wide".into())
                },
                Part::Text("-".into()),
                Part::Escaped(b'*'),
            ]
        );
        assert_eq!(parse("plain"), Ok(None));
        assert_eq!(parse("${aws:username"), Err(TemplateError::MissingBrace));
        assert_eq!(parse("${}"), Err(TemplateError::Empty));
        assert_eq!(parse("${a, b}"), Err(TemplateError::MissingQuote));
        assert_eq!(parse("${aws: username}"), Err(TemplateError::SpaceInName));
    }
}
