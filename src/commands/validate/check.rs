//! The checking pipeline of `validate`: each input read as what it is (a policy, a Terraform
//! plan, a CloudFormation template), every policy in it validated, and every finding carried
//! back to the file — span, resource, attribute — with the values the file cannot tell left
//! out of the verdict.

use std::rc::Rc;

use iam_sim::codes::Code;
use iam_sim::policy::{not_utf8, too_large};
use iam_sim::validate::{Options, PolicyType, Purpose, validate};
use iam_sim::{Diagnostic, Span};
use policy_sources::{Document, Embedded, Extraction, InputType, Pseudo, Rendered};

use crate::input::Content;

/// Where a finding lives inside a plan or template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The resource address or logical id.
    pub resource: String,
    /// The attribute or property path.
    pub attribute: String,
    /// The Fargate profile of the same file that uses the role, which is why the Fargate checks
    /// ran.
    pub fargate_profile: Option<String>,
}

/// Why a finding is left out of the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suppressed {
    /// `--ignore`, or `ignore` in the configuration file.
    Ignored,
    /// A `[[validate.suppress]]` rule of the configuration file, with its reason.
    Rule(String),
    /// In the baseline file.
    Baseline,
}

impl Suppressed {
    /// How a person is told.
    #[must_use]
    pub fn describe(&self, code: Code) -> String {
        match self {
            Suppressed::Ignored => format!("--ignore {code}"),
            Suppressed::Rule(reason) => format!("fargate-sim.toml: {reason}"),
            Suppressed::Baseline => "in the baseline".to_owned(),
        }
    }
}

/// A finding with its file span, where it lives, and whether it is suppressed.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The finding; its span is in the file's text.
    pub d: Diagnostic,
    /// The resource and attribute, for policies inside a plan or template.
    pub origin: Option<Rc<Origin>>,
    /// Set when it does not count.
    pub suppressed: Option<Suppressed>,
}

impl Finding {
    fn plain(d: Diagnostic) -> Self {
        Self {
            d,
            origin: None,
            suppressed: None,
        }
    }

    /// A stable identity that survives edits elsewhere in the file (lines moving): code,
    /// resource, attribute, JSON path and message, hashed (FNV-1a, 64 bits, hex).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let (res, attr) = self
            .origin
            .as_deref()
            .map_or(("", ""), |o| (o.resource.as_str(), o.attribute.as_str()));
        for part in [
            self.d.code.as_str(),
            res,
            attr,
            &self.d.path,
            &self.d.message,
        ] {
            for b in part.bytes().chain([0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    }
}

/// A file and its findings.
pub struct Checked {
    /// The path as shown.
    pub path: String,
    /// Its text (empty when it could not be read as text).
    pub text: String,
    /// What it was read as.
    pub kind: InputType,
    /// Every finding, suppressed ones included, in file order.
    pub findings: Vec<Finding>,
}

impl Checked {
    /// The findings that count.
    pub fn counted(&self) -> impl Iterator<Item = &Finding> {
        self.shown(false)
    }

    /// The findings a report shows: those that count, and the suppressed ones too with
    /// `with_suppressed` (`--show-suppressed`).
    pub fn shown(&self, with_suppressed: bool) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(move |f| with_suppressed || f.suppressed.is_none())
    }
}

/// One input: its shown path and what it held (`Err((size, limit))` for a file over the limit
/// that applied to it).
pub struct Source {
    /// The path as shown.
    pub path: String,
    /// The text, or why there is none.
    pub content: Result<Content, (Option<u64>, u64)>,
    /// Named like a YAML file: text that is not JSON is read as a CloudFormation template.
    pub yaml: bool,
}

/// What the run knows and was asked.
pub struct Setup {
    /// The options for a policy file.
    pub options: Options,
    /// The input type, when `--input-type` names one.
    pub input_type: Option<InputType>,
    /// Pseudo parameters for templates.
    pub pseudo: Pseudo,
}

/// Checks every input.
pub fn check(sources: Vec<Source>, setup: &Setup) -> Vec<Checked> {
    sources.into_iter().map(|s| check_one(s, setup)).collect()
}

fn check_one(
    Source {
        path,
        content,
        yaml,
    }: Source,
    setup: &Setup,
) -> Checked {
    let unread = match content {
        Ok(Content::Text(text)) => Ok(text),
        Ok(Content::NotUtf8 { offset, byte }) => Err(not_utf8(offset, byte)),
        Err((size, limit)) if limit > iam_sim::policy::MAX_POLICY_BYTES as u64 => {
            let how_big = size.map_or_else(
                || format!("more than {limit} bytes"),
                |s| format!("{s} bytes"),
            );
            Err(Diagnostic::new(
                Code::DocumentTooLarge,
                format!("the file is {how_big}; fargate-sim reads Terraform plans and CloudFormation templates up to {limit} bytes"),
                Span::new(0, 0),
                String::new(),
            )
            .with_help("validate the plan of a smaller configuration, or split the template"))
        }
        Err((size, _)) => Err(too_large(size)),
    };
    let text = match unread {
        Ok(text) => text,
        Err(d) => {
            return Checked {
                path,
                text: String::new(),
                kind: setup.input_type.unwrap_or(InputType::Policy),
                findings: vec![Finding::plain(d)],
            };
        }
    };
    let kind = setup.input_type.unwrap_or_else(|| {
        if yaml {
            InputType::detect_yaml_named(&text)
        } else {
            InputType::detect(&text)
        }
    });
    let findings = match kind {
        InputType::Policy if text.len() > iam_sim::policy::MAX_POLICY_BYTES => {
            vec![Finding::plain(too_large(Some(text.len() as u64)))]
        }
        InputType::Policy => validate(&text, &setup.options)
            .findings
            .into_iter()
            .map(Finding::plain)
            .collect(),
        _ => {
            let x = policy_sources::extract(&text, kind, &setup.pseudo);
            embedded(&text, kind, x, setup)
        }
    };
    Checked {
        path,
        text,
        kind,
        findings,
    }
}

/// The findings of every policy of a plan or template, in file coordinates.
fn embedded(text: &str, kind: InputType, x: Extraction, setup: &Setup) -> Vec<Finding> {
    if let Some(problem) = x.problem {
        return vec![Finding::plain(problem)];
    }
    if x.policies.is_empty() {
        let where_ = match kind {
            InputType::TerraformPlan => {
                "looked in resource_changes, planned_values and prior_state, child modules included"
            }
            _ => "looked in the Resources of the template",
        };
        let mut d = Diagnostic::new(
            Code::NoPolicy,
            format!("no IAM policy in this {} ({where_})", kind.noun()),
            Span::new(0, text.chars().next().map_or(0, char::len_utf8)),
            String::new(),
        );
        d.help = Some(
            "check that this is the file you meant; docs/validate.md lists the resource types read"
                .into(),
        );
        return vec![Finding::plain(d)];
    }
    let mut out = Vec::new();
    for e in x.policies {
        let origin = Rc::new(Origin {
            resource: e.resource.clone(),
            attribute: e.attribute.clone(),
            fargate_profile: e.fargate.as_ref().map(|f| f.profile.clone()),
        });
        let found = policy_findings(&e, setup, text);
        out.extend(found.into_iter().map(|d| Finding {
            d,
            origin: Some(Rc::clone(&origin)),
            suppressed: None,
        }));
    }
    out.sort_by_key(|f| f.d.span.start);
    out
}

/// The options for one embedded policy: its attribute's type (unless `--policy-type` says),
/// and the Fargate checks with its profile's cluster when a profile of the file uses the role
/// (unless `--role` says otherwise).
fn options_for(e: &Embedded, setup: &Setup) -> Options {
    let mut o = setup.options.clone();
    if o.policy_type.is_none() {
        o.policy_type = e.policy_type;
    }
    if o.purpose.is_none()
        && let Some(f) = &e.fargate
    {
        let c = &o.context;
        o.purpose = Some(Purpose::FargatePodExecution {
            cluster: c.cluster.clone().or_else(|| f.cluster.clone()),
            region: c.region.clone(),
            account: c.account.clone(),
        });
        o.policy_type = Some(PolicyType::Trust);
    }
    o
}

fn policy_findings(e: &Embedded, setup: &Setup, file: &str) -> Vec<Diagnostic> {
    match &e.document {
        Document::NotKnown { file, why } => {
            let mut d = Diagnostic::new(
                Code::ValueNotKnown,
                format!(
                    "`{}` of `{}` is {why}: it was not checked",
                    e.attribute, e.resource
                ),
                *file,
                String::new(),
            );
            d.help = Some("check the rendered policy once it is known, or write it where its value is known (a policy document data source, a literal)".into());
            vec![d]
        }
        Document::Known(r) => rendered_findings(r, &options_for(e, setup), file),
    }
}

/// Validates a rendered policy and maps its findings to the file. A finding on an unknown
/// value is dropped (its placeholder says nothing of the real value); the unknown value gets
/// one FS301 note instead.
fn rendered_findings(r: &Rendered, opts: &Options, file: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut hid = vec![false; r.unknowns.len()];
    for mut d in validate(&r.text, opts).findings {
        let on_unknown = r
            .unknowns
            .iter()
            .position(|u| d.span.start < u.at.end && u.at.start < d.span.end.max(d.span.start + 1));
        if let Some(i) = on_unknown {
            hid[i] = true;
            continue;
        }
        d.span = r.map.map(d.span, file);
        out.push(d);
    }
    for (u, _) in r.unknowns.iter().zip(hid).filter(|(_, h)| *h) {
        let mut d = Diagnostic::new(
            Code::ValueNotKnown,
            format!(
                "`{}` is not known until the stack is deployed: the checks of this value were skipped",
                u.what
            ),
            u.file,
            String::new(),
        );
        d.help = Some("pass --account and --region to resolve pseudo parameters; other values are checked once deployed".into());
        out.push(d);
    }
    out
}
