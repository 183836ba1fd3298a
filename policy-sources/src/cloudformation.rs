//! CloudFormation templates: the policies of `AWS::IAM::*`, `AWS::S3::BucketPolicy`,
//! `AWS::KMS::Key` and friends, rendered to policy JSON with the intrinsics resolved where the
//! template and the pseudo parameters tell their value, and marked unknown where they do not.
//!
//! Resolved: `Ref` to `AWS::AccountId`, `AWS::Region` (from [`Pseudo`]), `AWS::Partition` and
//! `AWS::URLSuffix` (from the region, `aws` and `amazonaws.com` without one); `Fn::Sub` and
//! `Fn::Join` whose parts are all known. `Ref: AWS::NoValue` removes the element it stands for.
//! Everything else — parameters, resources' `Ref` and `Fn::GetAtt`, `Fn::If`, `Fn::ImportValue`,
//! `Fn::FindInMap`, `Fn::Select` — is unknown until deploy.

use iam_sim::codes::Code;
use iam_sim::validate::PolicyType;
use iam_sim::{Diagnostic, Span};

use crate::map::Segments;
use crate::tree::{self, Node, Value};
use crate::{Document, Embedded, Extraction, FargateUse, Pseudo, Rendered, Unknown, excerpt};

/// The text an unknown value is rendered as: a string no check reads as meaningful.
pub const PLACEHOLDER: &str = "{{unknown}}";

/// Where each resource type keeps its policies: `(property, type)`; `Policies` of a role is a
/// list of `{PolicyName, PolicyDocument}`.
const POLICY_PROPERTIES: &[(&str, &str, PolicyType)] = &[
    (
        "AWS::IAM::Role",
        "AssumeRolePolicyDocument",
        PolicyType::Trust,
    ),
    (
        "AWS::IAM::ManagedPolicy",
        "PolicyDocument",
        PolicyType::Identity,
    ),
    ("AWS::IAM::Policy", "PolicyDocument", PolicyType::Identity),
    (
        "AWS::IAM::RolePolicy",
        "PolicyDocument",
        PolicyType::Identity,
    ),
    (
        "AWS::IAM::UserPolicy",
        "PolicyDocument",
        PolicyType::Identity,
    ),
    (
        "AWS::IAM::GroupPolicy",
        "PolicyDocument",
        PolicyType::Identity,
    ),
    (
        "AWS::S3::BucketPolicy",
        "PolicyDocument",
        PolicyType::Resource,
    ),
    (
        "AWS::SQS::QueuePolicy",
        "PolicyDocument",
        PolicyType::Resource,
    ),
    (
        "AWS::SNS::TopicPolicy",
        "PolicyDocument",
        PolicyType::Resource,
    ),
    ("AWS::KMS::Key", "KeyPolicy", PolicyType::Resource),
];

/// The resource types whose `Policies` list holds inline identity policies.
const INLINE_POLICIES: &[&str] = &["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"];

/// Reads a template.
#[must_use]
pub fn extract(text: &str, pseudo: &Pseudo) -> Extraction {
    let parsed = match crate::Shape::of(text) {
        crate::Shape::Json(_) => tree::from_json(text),
        crate::Shape::Other(_) => tree::from_yaml(text),
    };
    let root = match parsed {
        Ok(r) => r,
        Err((msg, span)) => {
            return problem(
                format!("the template is not valid JSON or YAML: {msg}"),
                text,
                span,
            );
        }
    };
    let Some(Value::Map(resources)) = root.get("Resources").map(|r| &r.value) else {
        return problem(
            "the template has no `Resources` mapping".into(),
            text,
            root.span,
        );
    };
    let mut out = Extraction::default();
    let fargate = fargate_uses(resources);
    for (id, res) in resources {
        let Some(ty) = res.get("Type").and_then(Node::as_str) else {
            continue;
        };
        let Some(props) = res.get("Properties") else {
            continue;
        };
        let uses = fargate
            .iter()
            .find(|(role, _)| *role == id.text)
            .map(|(_, u)| u.clone());
        for (rt, prop, pt) in POLICY_PROPERTIES {
            if *rt == ty
                && let Some(doc) = props.get(prop)
            {
                out.policies.push(Embedded {
                    resource: id.text.clone(),
                    attribute: (*prop).to_owned(),
                    policy_type: Some(*pt),
                    fargate: if *pt == PolicyType::Trust {
                        uses.clone()
                    } else {
                        None
                    },
                    document: document(text, doc, pseudo),
                });
            }
        }
        if INLINE_POLICIES.contains(&ty)
            && let Some(Value::Seq(list)) = props.get("Policies").map(|p| &p.value)
        {
            for (i, p) in list.iter().enumerate() {
                if let Some(doc) = p.get("PolicyDocument") {
                    out.policies.push(Embedded {
                        resource: id.text.clone(),
                        attribute: format!("Policies[{i}].PolicyDocument"),
                        policy_type: Some(PolicyType::Identity),
                        fargate: None,
                        document: document(text, doc, pseudo),
                    });
                }
            }
        }
    }
    out
}

fn problem(message: String, text: &str, span: (usize, usize)) -> Extraction {
    let mut d = Diagnostic::new(
        Code::TemplateSyntax,
        message,
        crate::char_span(text, span.0, span.1),
        String::new(),
    );
    d.help =
        Some("fix the template so that `aws cloudformation validate-template` accepts it".into());
    Extraction {
        policies: Vec::new(),
        problem: Some(d),
    }
}

/// The roles Fargate profiles name as their pod execution role: `(role logical id, use)`.
fn fargate_uses(resources: &[(tree::Key, Node)]) -> Vec<(String, FargateUse)> {
    let mut out = Vec::new();
    for (id, res) in resources {
        if res.get("Type").and_then(Node::as_str) != Some("AWS::EKS::FargateProfile") {
            continue;
        }
        let Some(props) = res.get("Properties") else {
            continue;
        };
        let Some(role) = props
            .get("PodExecutionRoleArn")
            .and_then(|r| role_of(r, resources))
        else {
            continue;
        };
        let cluster = props.get("ClusterName").and_then(|c| match intrinsic(c) {
            None => c.as_str().map(str::to_owned),
            // `!Ref Cluster` is the cluster's name: known when the cluster resource names it.
            Some(("Ref", arg)) => arg.as_str().and_then(|target| {
                resources
                    .iter()
                    .find(|(k, _)| k.text == target)
                    .and_then(|(_, r)| r.get("Properties")?.get("Name")?.as_str())
                    .map(str::to_owned)
            }),
            Some(_) => None,
        });
        out.push((
            role,
            FargateUse {
                profile: id.text.clone(),
                cluster,
            },
        ));
    }
    out
}

/// The logical id of the role an ARN value names: `!GetAtt Role.Arn`, `{"Fn::GetAtt": ["Role",
/// "Arn"]}`, `!Sub "${Role.Arn}"`, or a literal ARN whose role name a role of the template has.
fn role_of(v: &Node, resources: &[(tree::Key, Node)]) -> Option<String> {
    match intrinsic(v) {
        Some(("Fn::GetAtt", arg)) => match &arg.value {
            Value::Str(s) => s.strip_suffix(".Arn").map(str::to_owned),
            Value::Seq(parts) if parts.len() == 2 && parts[1].as_str() == Some("Arn") => {
                parts[0].as_str().map(str::to_owned)
            }
            _ => None,
        },
        Some(("Fn::Sub", arg)) => arg
            .as_str()
            .and_then(|s| s.strip_prefix("${"))
            .and_then(|s| s.strip_suffix(".Arn}"))
            .map(str::to_owned),
        Some(_) => None,
        None => {
            let name = v.as_str()?.rsplit_once(":role/")?.1;
            let name = name.rsplit('/').next().unwrap_or(name);
            resources
                .iter()
                .find(|(_, r)| {
                    r.get("Type").and_then(Node::as_str) == Some("AWS::IAM::Role")
                        && r.get("Properties")
                            .and_then(|p| p.get("RoleName"))
                            .and_then(Node::as_str)
                            == Some(name)
                })
                .map(|(k, _)| k.text.clone())
        }
    }
}

/// The intrinsic a node is, with its argument: a short-form tag, or a mapping with one key that
/// is `Ref`, `Condition` or `Fn::…`.
fn intrinsic(n: &Node) -> Option<(&str, &Node)> {
    match &n.value {
        Value::Tagged(t, arg) => Some((t.as_str(), arg)),
        Value::Map(m) if m.len() == 1 => {
            let (k, v) = &m[0];
            (k.text == "Ref" || k.text == "Condition" || k.text.starts_with("Fn::"))
                .then_some((k.text.as_str(), v))
        }
        _ => None,
    }
}

fn is_no_value(n: &Node) -> bool {
    matches!(intrinsic(n), Some(("Ref", arg)) if arg.as_str() == Some("AWS::NoValue"))
}

/// A policy property: a mapping (rendered), a JSON string, or an intrinsic (a string when it
/// resolves, not known otherwise).
fn document(text: &str, doc: &Node, pseudo: &Pseudo) -> Document {
    let whole = |s: String| {
        let mut map = Segments::default();
        map.push((0, s.len()), doc.span);
        Document::Known(Rendered {
            text: s,
            map: map.finish(),
            unknowns: Vec::new(),
        })
    };
    if intrinsic(doc).is_some() {
        return match resolve(doc, pseudo) {
            Some(s) => whole(s),
            None => Document::NotKnown {
                file: Span::new(doc.span.0, doc.span.1),
                why: format!(
                    "`{}` is not known until the stack is deployed",
                    excerpt(text, doc.span)
                ),
            },
        };
    }
    if let Value::Str(s) = &doc.value {
        // A document written as a JSON string: in a JSON template its escapes map back
        // character by character.
        let raw = &text[doc.span.0..doc.span.1];
        if let Some((decoded, map)) = crate::map::json_string(raw, doc.span.0)
            && decoded == *s
        {
            return Document::Known(Rendered {
                text: decoded,
                map,
                unknowns: Vec::new(),
            });
        }
        return whole(s.clone());
    }
    let mut r = Renderer {
        src: text,
        pseudo,
        out: String::with_capacity(doc.span.1 - doc.span.0),
        map: Segments::default(),
        unknowns: Vec::new(),
    };
    r.value(doc);
    Document::Known(Rendered {
        text: r.out,
        map: r.map.finish(),
        unknowns: r.unknowns,
    })
}

struct Renderer<'a> {
    src: &'a str,
    pseudo: &'a Pseudo,
    out: String,
    map: Segments,
    unknowns: Vec<Unknown>,
}

impl Renderer<'_> {
    fn string(&mut self, s: &str) {
        self.out
            .push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }

    fn value(&mut self, n: &Node) {
        let start = self.out.len();
        if intrinsic(n).is_some() {
            match resolve(n, self.pseudo) {
                Some(s) => self.string(&s),
                None => {
                    self.string(PLACEHOLDER);
                    self.unknowns.push(Unknown {
                        at: Span::new(start, self.out.len()),
                        file: Span::new(n.span.0, n.span.1),
                        what: excerpt(self.src, n.span),
                    });
                }
            }
            self.map.push((start, self.out.len()), n.span);
            return;
        }
        match &n.value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(t) => {
                let t = t.strip_prefix('+').unwrap_or(t);
                if serde_json::from_str::<serde_json::Number>(t).is_ok() {
                    self.out.push_str(t);
                } else {
                    self.string(t);
                }
            }
            Value::Str(s) => self.string(s),
            Value::Seq(items) => {
                self.out.push('[');
                let mut first = true;
                for i in items.iter().filter(|i| !is_no_value(i)) {
                    if !first {
                        self.out.push(',');
                    }
                    first = false;
                    self.value(i);
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                self.out.push('{');
                let mut first = true;
                for (k, v) in entries.iter().filter(|(_, v)| !is_no_value(v)) {
                    if !first {
                        self.out.push(',');
                    }
                    first = false;
                    let ks = self.out.len();
                    self.string(&k.text);
                    self.record((ks, self.out.len()), k.span);
                    self.out.push(':');
                    self.value(v);
                }
                self.out.push('}');
            }
            // A tag is an intrinsic (`intrinsic` above takes every `Tagged`), so this arm is
            // not reached; `null` rather than trusting that.
            Value::Tagged(..) => self.out.push_str("null"),
        }
        self.record((start, self.out.len()), n.span);
    }

    /// Maps rendered text to its node: character by character where the file holds the same
    /// bytes (a JSON template's strings), as a whole otherwise.
    fn record(&mut self, text: (usize, usize), file: (usize, usize)) {
        if self.out.get(text.0..text.1) == self.src.get(file.0..file.1) {
            self.map.push_verbatim(text, file);
        } else {
            self.map.push(text, file);
        }
    }
}

/// The string value of a node, when the template and the pseudo parameters tell it.
fn resolve(n: &Node, pseudo: &Pseudo) -> Option<String> {
    let Some((name, arg)) = intrinsic(n) else {
        return match &n.value {
            Value::Str(s) => Some(s.clone()),
            Value::Number(t) => Some(t.clone()),
            _ => None,
        };
    };
    match name {
        "Ref" => pseudo_value(arg.as_str()?, pseudo),
        "Fn::Sub" => match &arg.value {
            Value::Str(s) => substitute(s, &[], pseudo),
            Value::Seq(parts) if parts.len() == 2 => {
                let Value::Map(vars) = &parts[1].value else {
                    return None;
                };
                let vars: Vec<(&str, &Node)> =
                    vars.iter().map(|(k, v)| (k.text.as_str(), v)).collect();
                substitute(parts[0].as_str()?, &vars, pseudo)
            }
            _ => None,
        },
        "Fn::Join" => {
            let Value::Seq(parts) = &arg.value else {
                return None;
            };
            let [delim, list] = parts.as_slice() else {
                return None;
            };
            let Value::Seq(items) = &list.value else {
                return None;
            };
            let items: Option<Vec<String>> = items.iter().map(|i| resolve(i, pseudo)).collect();
            Some(items?.join(delim.as_str()?))
        }
        _ => None,
    }
}

/// `Fn::Sub`'s `${Name}` replaced by the variables given, then the pseudo parameters; `${!x}`
/// is the literal `${x}`. `None` when one name is not known.
fn substitute(template: &str, vars: &[(&str, &Node)], pseudo: &Pseudo) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        if let Some(lit) = after.strip_prefix('!') {
            out.push_str("${");
            rest = lit;
            continue;
        }
        let end = after.find('}')?;
        let name = after[..end].trim();
        let value = match vars.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => resolve(v, pseudo)?,
            None => pseudo_value(name, pseudo)?,
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn pseudo_value(name: &str, pseudo: &Pseudo) -> Option<String> {
    let region = pseudo.region.as_deref();
    let china = region.is_some_and(|r| r.starts_with("cn-"));
    match name {
        "AWS::AccountId" => pseudo.account.clone(),
        "AWS::Region" => pseudo.region.clone(),
        "AWS::Partition" => Some(
            if china {
                "aws-cn"
            } else if region.is_some_and(|r| r.starts_with("us-gov-")) {
                "aws-us-gov"
            } else {
                "aws"
            }
            .to_owned(),
        ),
        "AWS::URLSuffix" => Some(
            if china {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo() -> Pseudo {
        Pseudo {
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
        }
    }

    fn known(d: &Document) -> &Rendered {
        match d {
            Document::Known(r) => r,
            Document::NotKnown { why, .. } => panic!("not known: {why}"),
        }
    }

    const YAML: &str = "\
Resources:
  Exec:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - Effect: Allow
            Principal: {Service: eks-fargate-pods.amazonaws.com}
            Action: sts:AssumeRole
            Condition:
              ArnLike:
                aws:SourceArn: !Sub 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:fargateprofile/${Cluster}/*'
          - !Ref AWS::NoValue
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: !Join ['', [!GetAtt Bucket.Arn, '/*']]
  Profile:
    Type: AWS::EKS::FargateProfile
    Properties:
      ClusterName: fargate-sim
      PodExecutionRoleArn: !GetAtt Exec.Arn
";

    #[test]
    fn a_yaml_role_gives_its_trust_and_inline_policies() {
        let x = extract(YAML, &pseudo());
        assert!(x.problem.is_none());
        assert_eq!(x.policies.len(), 2);
        let trust = &x.policies[0];
        assert_eq!(trust.resource, "Exec");
        assert_eq!(trust.attribute, "AssumeRolePolicyDocument");
        assert_eq!(trust.policy_type, Some(PolicyType::Trust));
        assert_eq!(
            trust.fargate,
            Some(FargateUse {
                profile: "Profile".into(),
                cluster: Some("fargate-sim".into())
            })
        );
        let r = known(&trust.document);
        let v: serde_json::Value = serde_json::from_str(&r.text).unwrap();
        assert_eq!(v["Version"], "2012-10-17");
        assert_eq!(
            v["Statement"].as_array().unwrap().len(),
            1,
            "NoValue drops the item"
        );
        // `${Cluster}` is a parameter: the whole !Sub is unknown.
        assert_eq!(r.unknowns.len(), 1);
        assert!(
            r.unknowns[0].what.starts_with("!Sub 'arn:"),
            "{}",
            r.unknowns[0].what
        );
        assert_eq!(x.policies[1].attribute, "Policies[0].PolicyDocument");
    }

    #[test]
    fn a_rendered_span_maps_back_into_the_yaml() {
        let x = extract(YAML, &pseudo());
        let r = known(&x.policies[0].document);
        let at = r.text.find("sts:AssumeRole").unwrap() - 1;
        let m = r
            .map
            .map(Span::new(at, at + "\"sts:AssumeRole\"".len()), YAML);
        assert_eq!(&YAML[m.start..m.end], "sts:AssumeRole");
    }

    #[test]
    fn sub_and_join_resolve_from_pseudo_parameters() {
        let n = tree::from_yaml(
            "a: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root ${!Literal}'",
        )
        .unwrap();
        assert_eq!(
            resolve(n.get("a").unwrap(), &pseudo()).as_deref(),
            Some("arn:aws:iam::111122223333:root ${Literal}")
        );
        let n = tree::from_json(r#"{"a": {"Fn::Join": [":", ["x", {"Ref": "AWS::Region"}]]}}"#)
            .unwrap();
        assert_eq!(
            resolve(n.get("a").unwrap(), &pseudo()).as_deref(),
            Some("x:eu-west-1")
        );
        assert_eq!(resolve(n.get("a").unwrap(), &Pseudo::default()), None);
    }

    #[test]
    fn a_sub_with_variables_uses_them() {
        let n =
            tree::from_yaml("a: !Sub ['${X}-${AWS::Region}', {X: !Ref AWS::AccountId}]").unwrap();
        assert_eq!(
            resolve(n.get("a").unwrap(), &pseudo()).as_deref(),
            Some("111122223333-eu-west-1")
        );
    }

    #[test]
    fn a_document_from_if_is_not_known() {
        let t = "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument: !If [C, {}, {}]\n";
        let x = extract(t, &pseudo());
        assert!(
            matches!(&x.policies[0].document, Document::NotKnown { why, .. } if why.contains("!If"))
        );
    }

    #[test]
    fn a_json_string_document_maps_through_its_escapes() {
        let t = r#"{"Resources": {"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {"PolicyDocument": "{\"Statement\": []}"}}}}"#;
        let x = extract(t, &pseudo());
        let r = known(&x.policies[0].document);
        assert_eq!(r.text, r#"{"Statement": []}"#);
        let at = r.text.find("[]").unwrap();
        let m = r.map.map(Span::new(at, at + 2), t);
        assert_eq!(&t[m.start..m.end], "[]");
    }

    #[test]
    fn a_broken_template_is_a_problem() {
        let x = extract("Resources: [", &pseudo());
        assert_eq!(x.problem.map(|d| d.code), Some(Code::TemplateSyntax));
        let x = extract("AWSTemplateFormatVersion: '2010-09-09'\n", &pseudo());
        assert!(x.problem.unwrap().message.contains("no `Resources`"));
    }

    #[test]
    fn an_error_next_to_a_wide_character_spans_whole_characters() {
        for t in [
            "{\"Resources\": {\"a\": \u{7a3}}}",
            "{\"Resources\": \u{7a3}\u{0}",
            "Resources: [\u{7a3}",
        ] {
            let d = extract(t, &pseudo()).problem.unwrap();
            assert!(
                t.is_char_boundary(d.span.start) && t.is_char_boundary(d.span.end),
                "{t:?} {d:?}"
            );
        }
    }

    #[test]
    fn a_literal_role_arn_links_by_role_name() {
        let t = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: exec\n      AssumeRolePolicyDocument: {}\n  P:\n    Type: AWS::EKS::FargateProfile\n    Properties:\n      ClusterName: !Ref C\n      PodExecutionRoleArn: arn:aws:iam::111122223333:role/exec\n  C:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Name: prod\n";
        let x = extract(t, &pseudo());
        assert_eq!(
            x.policies[0]
                .fargate
                .as_ref()
                .and_then(|f| f.cluster.as_deref()),
            Some("prod")
        );
    }
}
