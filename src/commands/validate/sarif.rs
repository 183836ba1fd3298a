//! `--format sarif`: a SARIF 2.1.0 log built with `serde-sarif`'s types, shaped for code
//! scanning — a rule per code used, with the summary, the documentation's description, a help
//! link, a default level and a `security-severity` for security findings; stable
//! `partialFingerprints`; locations relative to the repository root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iam_sim::codes::Code;
use iam_sim::{LineIndex, Severity};
use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};

use super::check::Checked;
use super::docs;

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Error => ResultLevel::Error,
        Severity::SecurityWarning | Severity::Warning => ResultLevel::Warning,
        Severity::Suggestion => ResultLevel::Note,
    }
}

/// GitHub's security severity (0.1–3.9 low, 4–6.9 medium, 7–8.9 high, 9+ critical) for the
/// codes that are about who may do what; `None` for the others.
fn security_severity(code: Code) -> Option<&'static str> {
    match code {
        Code::TrustOpenToEveryone => Some("9.0"),
        c if c.severity() == Severity::SecurityWarning => Some("7.0"),
        _ => None,
    }
}

fn rule(code: Code) -> ReportingDescriptor {
    let sev = code.severity();
    let mut props = PropertyBag::builder().build();
    // The family, as the code's prefix says it.
    let family = match code.as_str().as_bytes() {
        [b'I', ..] => "iam-rejects",
        [b'A', ..] => "access-analyzer",
        [b'F', b'S', b'2', ..] => "trust-policy",
        _ => "infrastructure-as-code",
    };
    let mut tags = vec![family.to_owned()];
    if let Some(s) = security_severity(code) {
        tags.push("security".into());
        props
            .additional_properties
            .insert("security-severity".into(), serde_json::Value::from(s));
    }
    props.tags = Some(tags);
    let level = serde_json::to_value(level(sev)).unwrap_or_default();
    ReportingDescriptor::builder()
        .id(code.as_str())
        .name(code.name())
        .short_description(
            MultiformatMessageString::builder()
                .text(code.summary())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(docs::description(code).unwrap_or(code.summary()))
                .build(),
        )
        .help_uri(docs::url(code))
        .default_configuration(ReportingConfiguration::builder().level(level).build())
        .properties(props)
        .build()
}

/// The first folder from `cwd` upward that holds `.git`: SARIF locations are relative to it.
fn repository_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_owned)
}

/// Characters kept as they are in a SARIF artifact URI (a relative URI reference, RFC 3986):
/// unreserved characters and `/`; everything else is percent-encoded (UTF-8), so `#`, `?`,
/// `%` and spaces in file names survive.
const URI_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The SARIF `artifactLocation.uri` of a shown path: relative to the repository root when
/// the file is inside it, separators as `/`, percent-encoded.
pub fn artifact_uri(path: &str, root: Option<(&Path, &Path)>) -> String {
    let rel = root
        .and_then(|(cwd, root)| {
            let abs = super::settings::normalize(&cwd.join(path));
            abs.strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| path.to_owned());
    let slashed = rel.replace('\\', "/");
    percent_encoding::utf8_percent_encode(&slashed, URI_PATH).to_string()
}

/// The SARIF log.
pub fn log(checked: &[Checked], show_suppressed: bool, cwd: &Path) -> Sarif {
    let root = repository_root(cwd);
    let root_pair = root.as_deref().map(|r| (cwd, r));
    // Only the rules the results use, so that a clean run stays small.
    let used: std::collections::HashSet<Code> = checked
        .iter()
        .flat_map(|c| c.shown(show_suppressed))
        .map(|f| f.d.code)
        .collect();
    let table: Vec<Code> = Code::ALL
        .iter()
        .copied()
        .filter(|c| used.contains(c))
        .collect();
    let mut results = Vec::new();
    for c in checked {
        let idx = LineIndex::new(&c.text);
        let uri = artifact_uri(&c.path, root_pair);
        for f in c.shown(show_suppressed) {
            let d = &f.d;
            let (s, e) = (
                idx.line_col(&c.text, d.span.start),
                idx.line_col(&c.text, d.span.end),
            );
            let message = match &d.help {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            };
            let mut logical = Vec::new();
            if let Some(o) = &f.origin {
                logical.push(
                    LogicalLocation::builder()
                        .fully_qualified_name(format!("{}.{}", o.resource, o.attribute))
                        .name(o.resource.clone())
                        .kind("resource")
                        .build(),
                );
            }
            if !d.path.is_empty() {
                logical.push(
                    LogicalLocation::builder()
                        .fully_qualified_name(d.path.clone())
                        .kind("element")
                        .build(),
                );
            }
            let region = Region::builder()
                .start_line(s.line as i64)
                .start_column(s.column as i64)
                .end_line(e.line as i64)
                .end_column(e.column.max(s.column + usize::from(e.line == s.line)) as i64)
                .build();
            let physical = PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(uri.clone())
                        .uri_base_id("%SRCROOT%")
                        .build(),
                )
                .region(region)
                .build();
            let location = if logical.is_empty() {
                Location::builder().physical_location(physical).build()
            } else {
                Location::builder()
                    .physical_location(physical)
                    .logical_locations(logical)
                    .build()
            };
            let fingerprints: BTreeMap<String, String> =
                [("fargateSim/v1".to_owned(), f.fingerprint())].into();
            let base = SarifResult::builder()
                .rule_id(d.code.as_str())
                .rule_index(table.iter().position(|code| *code == d.code).unwrap_or(0) as i64)
                .level(level(d.severity()))
                .message(Message::builder().text(message).build())
                .locations(vec![location])
                .partial_fingerprints(fingerprints);
            let result = match &f.suppressed {
                Some(why) => base
                    .suppressions(vec![
                        Suppression::builder()
                            .kind(serde_json::Value::from("external"))
                            .justification(why.describe(d.code))
                            .build(),
                    ])
                    .build(),
                None => base.build(),
            };
            results.push(result);
        }
    }
    let driver = ToolComponent::builder()
        .name("fargate-sim")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(docs::home())
        .rules(table.into_iter().map(rule).collect::<Vec<_>>())
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        // Columns count Unicode scalar values (LineIndex), not UTF-16 code units.
        .column_kind(serde_json::Value::from("unicodeCodePoints"))
        .results(results)
        .build();
    Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build()
}
