//! IAM policies where they live: Terraform plans (`terraform show -json`) and CloudFormation
//! templates (JSON, or YAML with the short-form intrinsics), read without IO.
//!
//! [`extract`] finds every policy document in a file and says, for each, which resource and
//! attribute hold it, what type of policy it is (trust, identity, resource), whether a Fargate
//! profile in the same file uses the role, and how the text the validator will see maps back to
//! the file ([`SourceMap`]). Values that are not known until `terraform apply` or until the stack
//! is deployed are marked as [`Unknown`] instead of being read as literal text, so they cause no
//! false alarm.

pub mod cloudformation;
pub mod map;
pub mod terraform;
pub mod tree;

use iam_sim::validate::PolicyType;
use iam_sim::{Diagnostic, Span};

pub use map::SourceMap;

/// What kind of file an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    /// One policy document.
    Policy,
    /// A Terraform plan as `terraform show -json` writes it.
    TerraformPlan,
    /// A CloudFormation template, JSON or YAML.
    CloudFormation,
}

impl InputType {
    /// How a person names it.
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            InputType::Policy => "policy",
            InputType::TerraformPlan => "Terraform plan",
            InputType::CloudFormation => "CloudFormation template",
        }
    }

    /// Tells a file's kind from its content: a JSON object with `format_version` and
    /// `planned_values` or `resource_changes` is a plan; one with `Resources` or
    /// `AWSTemplateFormatVersion` is a template; text that is not JSON and has those at the
    /// start of a line is a YAML template; anything else is a policy.
    #[must_use]
    pub fn detect(text: &str) -> InputType {
        match Shape::of(text) {
            // Top-level keys are found by name anywhere in the text: a policy never has these
            // keys (IAM rejects unknown elements), so a match inside a string is the only
            // false positive, and it needs a policy quoting them.
            Shape::Json(body)
                if body.contains("\"format_version\"")
                    && (body.contains("\"planned_values\"")
                        || body.contains("\"resource_changes\"")) =>
            {
                InputType::TerraformPlan
            }
            Shape::Json(body)
                if body.contains("\"AWSTemplateFormatVersion\"")
                    || (body.contains("\"Resources\"") && body.contains("\"Type\"")) =>
            {
                InputType::CloudFormation
            }
            Shape::Other(body) if yaml_template(body) => InputType::CloudFormation,
            _ => InputType::Policy,
        }
    }

    /// As [`InputType::detect`], for a file named like YAML (`.yaml`, `.yml`, `.template`):
    /// then any text that is not JSON is read as a template.
    #[must_use]
    pub fn detect_yaml_named(text: &str) -> InputType {
        match (InputType::detect(text), Shape::of(text)) {
            (InputType::Policy, Shape::Other(_)) => InputType::CloudFormation,
            (kind, _) => kind,
        }
    }

    /// Whether a file that begins with `prefix` may be a plan or a template, and so may be
    /// read past a policy's size limit: a JSON object with `format_version`,
    /// `AWSTemplateFormatVersion` or `Resources` in its first bytes, or YAML with
    /// `Resources:` or `AWSTemplateFormatVersion:` at the start of a line.
    #[must_use]
    pub fn may_be_large(prefix: &[u8]) -> bool {
        let text = match std::str::from_utf8(prefix) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&prefix[..e.valid_up_to()]).unwrap_or(""),
        };
        match Shape::of(text) {
            Shape::Json(body) => [
                "\"format_version\"",
                "\"AWSTemplateFormatVersion\"",
                "\"Resources\"",
            ]
            .iter()
            .any(|k| body.contains(k)),
            Shape::Other(body) => yaml_template(body),
        }
    }
}

/// A file's text after a byte order mark and leading whitespace: a JSON object, or anything
/// else (YAML, or not a document at all).
enum Shape<'a> {
    Json(&'a str),
    Other(&'a str),
}

impl<'a> Shape<'a> {
    fn of(text: &'a str) -> Self {
        let body = text.trim_start_matches('\u{feff}').trim_start();
        if body.starts_with('{') {
            Shape::Json(body)
        } else {
            Shape::Other(body)
        }
    }
}

/// A YAML template's top-level keys at the start of a line.
fn yaml_template(body: &str) -> bool {
    body.lines()
        .any(|l| l.starts_with("Resources:") || l.starts_with("AWSTemplateFormatVersion:"))
}

/// Values CloudFormation gives its pseudo parameters, as far as they are known.
#[derive(Debug, Clone, Default)]
pub struct Pseudo {
    /// `AWS::AccountId`.
    pub account: Option<String>,
    /// `AWS::Region` (and from it `AWS::Partition` and `AWS::URLSuffix`).
    pub region: Option<String>,
}

/// A value the file cannot tell: an intrinsic resolved only at deploy time, a Terraform value
/// known only after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    /// Where its placeholder is in the validated text.
    pub at: Span,
    /// Where it is in the file.
    pub file: Span,
    /// How the file writes it (`!GetAtt PodExecutionRole.Arn`), shortened.
    pub what: String,
}

/// A policy document as the validator will see it.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The JSON text.
    pub text: String,
    /// From the text back to the file.
    pub map: SourceMap,
    /// The values in it that are not known; their placeholders are strings.
    pub unknowns: Vec<Unknown>,
}

/// A policy in the file: known, or not known until apply or deploy.
#[derive(Debug, Clone)]
pub enum Document {
    /// Known, perhaps with unknown values inside.
    Known(Rendered),
    /// Not known at all (`after_unknown`, or a whole document from an intrinsic such as `!If`).
    NotKnown {
        /// Where the file says so.
        file: Span,
        /// Why, in a few words.
        why: String,
    },
}

/// A Fargate profile in the same file that names the role as its pod execution role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FargateUse {
    /// The profile (resource address or logical id).
    pub profile: String,
    /// Its cluster's name, when the file tells it.
    pub cluster: Option<String>,
}

/// One policy and where it lives.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The resource: a Terraform address (`module.pods.aws_iam_role.fargate_exec`) or a
    /// CloudFormation logical id.
    pub resource: String,
    /// The attribute or property path (`assume_role_policy`, `Policies[0].PolicyDocument`).
    pub attribute: String,
    /// The type the attribute implies; `None` where the document decides (a policy document
    /// data source).
    pub policy_type: Option<PolicyType>,
    /// The Fargate profile that uses this role, if any.
    pub fargate: Option<FargateUse>,
    /// The document.
    pub document: Document,
}

/// Everything found in one file.
#[derive(Debug, Clone, Default)]
pub struct Extraction {
    /// The policies, in file order.
    pub policies: Vec<Embedded>,
    /// Set when the file could not be read as its kind (FS303).
    pub problem: Option<Diagnostic>,
}

/// Finds the policies of a plan or template.
#[must_use]
pub fn extract(text: &str, kind: InputType, pseudo: &Pseudo) -> Extraction {
    match kind {
        InputType::TerraformPlan => terraform::extract(text),
        InputType::CloudFormation => cloudformation::extract(text, pseudo),
        InputType::Policy => Extraction::default(),
    }
}

/// `start..end` widened to the characters they fall in, and at least one character long when
/// the text has one there: parsers report errors by byte or column, not always on a character
/// boundary.
fn char_span(text: &str, start: usize, end: usize) -> Span {
    let mut s = start.min(text.len());
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = end.clamp(s, text.len());
    if e == s && e < text.len() {
        e += 1;
    }
    while !text.is_char_boundary(e) {
        e += 1;
    }
    Span::new(s, e)
}

/// How a file writes a value, on one line and at most 60 characters.
fn excerpt(text: &str, span: (usize, usize)) -> String {
    let s = text.get(span.0..span.1).unwrap_or("");
    let first = s.lines().next().unwrap_or("").trim();
    let cut: String = first.chars().take(60).collect();
    if cut.len() < first.len() || s.trim_end().contains('\n') {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_by_content() {
        assert_eq!(
            InputType::detect(r#"{"format_version":"1.2","planned_values":{}}"#),
            InputType::TerraformPlan
        );
        assert_eq!(
            InputType::detect(r#"{"AWSTemplateFormatVersion":"2010-09-09"}"#),
            InputType::CloudFormation
        );
        assert_eq!(
            InputType::detect("Resources:\n  R:\n    Type: AWS::IAM::Role\n"),
            InputType::CloudFormation
        );
        assert_eq!(
            InputType::detect(r#"{"Version":"2012-10-17","Statement":[]}"#),
            InputType::Policy
        );
        assert_eq!(InputType::detect("not json"), InputType::Policy);
    }

    #[test]
    fn error_spans_cover_whole_characters() {
        let t = "a\u{e9}b";
        assert_eq!(char_span(t, 2, 2), Span::new(1, 3));
        assert_eq!(char_span(t, 9, 9), Span::new(4, 4));
        assert_eq!(char_span("", 0, 1), Span::new(0, 0));
    }

    #[test]
    fn a_plan_or_template_prefix_may_be_large_and_a_policy_may_not() {
        assert!(InputType::may_be_large(
            br#"{"format_version":"1.2","terraform_version":"1.9""#
        ));
        assert!(InputType::may_be_large(
            b"AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
        ));
        assert!(!InputType::may_be_large(
            br#"{"Version":"2012-10-17","Statement":[{"#
        ));
        assert!(!InputType::may_be_large(&[0u8; 4096]));
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("!GetAtt R.Arn", (0, 13)), "!GetAtt R.Arn");
        assert_eq!(excerpt("!Sub |\n  a\n", (0, 11)), "!Sub |…");
    }
}
