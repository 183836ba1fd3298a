//! What `docs/findings.md` says of each code, compiled in: the description SARIF rules carry,
//! and Access Analyzer's issue code where an `AA1xx` finding has one. The page is the one
//! source; a test checks that every code has its section.

use std::collections::HashMap;
use std::sync::OnceLock;

use iam_sim::codes::Code;

const FINDINGS: &str = include_str!("../../../docs/findings.md");

/// The project's home page (the workspace's `repository`).
pub fn home() -> String {
    env!("CARGO_PKG_REPOSITORY").to_owned()
}

/// The documentation of a finding, as a link a reader can follow from anywhere.
pub fn url(code: Code) -> String {
    format!(
        "{}/blob/main/docs/findings.md#{}",
        home(),
        code.as_str().to_ascii_lowercase()
    )
}

/// The documentation of a finding, relative to the repository (as human and JSON output
/// write it).
pub fn path(code: Code) -> String {
    format!("docs/findings.md#{}", code.as_str().to_ascii_lowercase())
}

/// Each code's first paragraph after its name line.
fn sections() -> &'static HashMap<&'static str, &'static str> {
    static S: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out = HashMap::new();
        for part in FINDINGS.split("\n## ").skip(1) {
            let (code, rest) = part.split_once('\n').unwrap_or((part, ""));
            let para = rest
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .nth(1)
                .unwrap_or("");
            out.insert(code.trim(), para);
        }
        out
    })
}

/// The description of `code` in docs/findings.md.
pub fn description(code: Code) -> Option<&'static str> {
    sections()
        .get(code.as_str())
        .copied()
        .filter(|s| !s.is_empty())
}

/// Access Analyzer's issue code for a finding: the `(UPPER_SNAKE)` its section names (the
/// `AA1xx` codes), else its name in upper snake case.
pub fn issue_code(code: Code) -> String {
    let named = description(code).and_then(|d| {
        d.split('(').skip(1).find_map(|s| {
            let word = s.split(')').next()?;
            (word.len() > 3 && word.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
                .then_some(word)
        })
    });
    named.map_or_else(
        || code.name().replace('-', "_").to_ascii_uppercase(),
        str::to_owned,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_description() {
        for c in Code::ALL {
            assert!(description(*c).is_some(), "{c}");
        }
    }

    #[test]
    fn access_analyzer_codes_come_from_the_page() {
        assert_eq!(issue_code(Code::MissingVersion), "MISSING_VERSION");
        assert_eq!(
            issue_code(Code::FargateConfusedDeputy),
            "FARGATE_CONFUSED_DEPUTY"
        );
    }
}
