//! The reports of `validate` for people (`human`), for scripts (`json`) and for scripts written
//! around IAM Access Analyzer (`access-analyzer`). SARIF is in `sarif.rs`.

use std::path::Path;

use iam_sim::{LineIndex, Severity};
use policy_sources::InputType;
use serde_json::json;

use super::check::{Checked, Suppressed};
use super::docs;
use crate::render;

/// The human report.
pub fn human(checked: &[Checked], show_suppressed: bool) -> String {
    let mut s = String::new();
    let mut counts = [0usize; 4];
    let (mut ignored, mut by_rule, mut by_baseline) = (0, 0, 0);
    for c in checked {
        let idx = LineIndex::new(&c.text);
        for f in &c.findings {
            match &f.suppressed {
                None => {
                    counts[match f.d.severity() {
                        Severity::Error => 0,
                        Severity::SecurityWarning => 1,
                        Severity::Warning => 2,
                        Severity::Suggestion => 3,
                    }] += 1;
                }
                Some(Suppressed::Ignored) => ignored += 1,
                Some(Suppressed::Rule(_)) => by_rule += 1,
                Some(Suppressed::Baseline) => by_baseline += 1,
            }
        }
        for f in c.shown(show_suppressed) {
            let rendered = render::diagnostic(&f.d, Path::new(&c.path), &c.text, &idx);
            match &f.origin {
                Some(o) => {
                    let (head, rest) = rendered.split_once('\n').unwrap_or((&rendered, ""));
                    s.push_str(head);
                    s.push('\n');
                    let at = if f.d.path.is_empty() {
                        String::new()
                    } else {
                        format!(", at {}", f.d.path)
                    };
                    let used = o
                        .fargate_profile
                        .as_ref()
                        .map(|p| format!("; the pod execution role of {p}"))
                        .unwrap_or_default();
                    s.push_str(&format!(
                        "  in: {} ({}{at}){used}\n",
                        o.resource, o.attribute
                    ));
                    s.push_str(rest);
                }
                None => s.push_str(&rendered),
            }
            if let Some(why) = &f.suppressed {
                s.push_str(&format!("  suppressed: {}\n", why.describe(f.d.code)));
            }
            s.push_str(&format!("  docs: {}\n\n", docs::path(f.d.code)));
        }
    }
    let total: usize = counts.iter().sum();
    let files = checked.len();
    let noun = if files == 1 { "file" } else { "files" };
    let embedded = checked
        .iter()
        .filter(|c| c.kind != InputType::Policy)
        .count();
    let kinds = if embedded == 0 {
        String::new()
    } else {
        let n = embedded;
        format!(
            " ({n} Terraform {} or CloudFormation {})",
            if n == 1 { "plan" } else { "plans" },
            if n == 1 { "template" } else { "templates" }
        )
    };
    let mut parts = Vec::new();
    if ignored > 0 {
        parts.push(format!("{ignored} by --ignore"));
    }
    if by_rule > 0 {
        parts.push(format!("{by_rule} by fargate-sim.toml"));
    }
    if by_baseline > 0 {
        parts.push(format!("{by_baseline} by the baseline"));
    }
    let n = ignored + by_rule + by_baseline;
    let left_out = match parts.len() {
        0 => String::new(),
        1 => format!(
            " ({n} suppressed {})",
            parts[0].split_once(' ').map_or("", |(_, r)| r)
        ),
        _ => format!(" ({n} suppressed: {})", parts.join(", ")),
    };
    if total == 0 {
        s.push_str(&format!(
            "{files} {noun} checked{kinds}, no findings{left_out}\n"
        ));
    } else {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        s.push_str(&format!(
            "{files} {noun} checked{kinds}: {}, {}, {}, {}{left_out}\n",
            plural(counts[0], "error", "errors"),
            plural(counts[1], "security warning", "security warnings"),
            plural(counts[2], "warning", "warnings"),
            plural(counts[3], "suggestion", "suggestions")
        ));
    }
    s
}

fn position(idx: &LineIndex, text: &str, offset: usize) -> serde_json::Value {
    let lc = idx.line_col(text, offset);
    json!({"line": lc.line, "column": lc.column, "offset": offset})
}

/// The JSON report: one object per finding.
pub fn json(checked: &[Checked], show_suppressed: bool) -> serde_json::Value {
    let mut all = Vec::new();
    for c in checked {
        let idx = LineIndex::new(&c.text);
        for f in c.shown(show_suppressed) {
            let d = &f.d;
            let mut finding = json!({
                "file": c.path,
                "code": d.code,
                "name": d.name(),
                "severity": d.severity().as_str(),
                "message": d.message,
                "help": d.help,
                "path": d.path,
                "span": {"start": position(&idx, &c.text, d.span.start), "end": position(&idx, &c.text, d.span.end)},
                "url": docs::path(d.code),
            });
            if let Some(obj) = finding.as_object_mut() {
                if let Some(o) = &f.origin {
                    obj.insert("resource".into(), json!(o.resource));
                    obj.insert("attribute".into(), json!(o.attribute));
                    if let Some(p) = &o.fargate_profile {
                        obj.insert("fargate_profile".into(), json!(p));
                    }
                }
                if let Some(why) = &f.suppressed {
                    obj.insert("suppressed".into(), json!(true));
                    obj.insert("justification".into(), json!(why.describe(d.code)));
                }
            }
            all.push(finding);
        }
    }
    serde_json::Value::Array(all)
}

/// Access Analyzer's `ValidatePolicy` answer: `{"findings": [...]}`, each with `findingType`,
/// `issueCode`, `findingDetails`, `learnMoreLink` and `locations` (a path of
/// `{"value"}`/`{"index"}` elements and a span whose lines count from 1 and columns and offsets
/// from 0). Findings from several files or from plans and templates carry `file` (and
/// `resource`, `attribute`) beside those keys; their spans are in the file.
pub fn access_analyzer(checked: &[Checked], show_suppressed: bool) -> serde_json::Value {
    let mut all = Vec::new();
    for c in checked {
        let idx = LineIndex::new(&c.text);
        let pos = |offset: usize| {
            let lc = idx.line_col(&c.text, offset);
            json!({"line": lc.line, "column": lc.column.saturating_sub(1), "offset": offset})
        };
        for f in c.shown(show_suppressed) {
            let d = &f.d;
            let finding_type = match d.severity() {
                Severity::Error => "ERROR",
                Severity::SecurityWarning => "SECURITY_WARNING",
                Severity::Warning => "WARNING",
                Severity::Suggestion => "SUGGESTION",
            };
            let details = match &d.help {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            };
            let mut finding = json!({
                "findingDetails": details,
                "findingType": finding_type,
                "issueCode": docs::issue_code(d.code),
                "learnMoreLink": docs::url(d.code),
                "locations": [{
                    "path": path_elements(&d.path),
                    "span": {"start": pos(d.span.start), "end": pos(d.span.end)},
                }],
            });
            if let Some(obj) = finding.as_object_mut() {
                if checked.len() > 1 || f.origin.is_some() {
                    obj.insert("file".into(), json!(c.path));
                }
                if let Some(o) = &f.origin {
                    obj.insert("resource".into(), json!(o.resource));
                    obj.insert("attribute".into(), json!(o.attribute));
                }
            }
            all.push(finding);
        }
    }
    json!({ "findings": all })
}

/// A finding's JSON path as Access Analyzer's path elements. The operator and key under
/// `Condition` and the kind under `Principal` are one element each, whatever dots they hold
/// (an OIDC provider's key has several).
pub fn path_elements(path: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut rest = path;
    // After `Condition`: 1, the operator comes next; 2, the key (the rest, dots and all).
    let mut condition = 0u8;
    while !rest.is_empty() {
        let (seg, tail) = match rest.find('.') {
            Some(i) if condition != 2 => (&rest[..i], &rest[i + 1..]),
            _ => (rest, ""),
        };
        let (name, mut idx) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            out.push(json!({"value": name}));
        }
        while let Some(close) = idx.find(']') {
            if let Ok(n) = idx[1..close].parse::<u64>() {
                out.push(json!({"index": n}));
            }
            idx = &idx[close + 1..];
        }
        condition = match (name, condition) {
            ("Condition", _) => 1,
            (_, 1) => 2,
            _ => 0,
        };
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_key_with_dots_is_one_element() {
        let p = path_elements(
            "Statement[0].Condition.StringEquals.oidc.eks.eu-west-1.amazonaws.com/id/X:sub",
        );
        assert_eq!(
            p,
            vec![
                json!({"value": "Statement"}),
                json!({"index": 0}),
                json!({"value": "Condition"}),
                json!({"value": "StringEquals"}),
                json!({"value": "oidc.eks.eu-west-1.amazonaws.com/id/X:sub"}),
            ]
        );
    }

    #[test]
    fn indexes_become_index_elements() {
        assert_eq!(
            path_elements("Statement[2].Action[1]"),
            vec![
                json!({"value": "Statement"}),
                json!({"index": 2}),
                json!({"value": "Action"}),
                json!({"index": 1}),
            ]
        );
        assert!(path_elements("").is_empty());
    }
}
