//! Terraform plans (`terraform show -json plan.out`): every policy attribute of the resources in
//! `resource_changes`, `planned_values` and `prior_state`, child modules included.
//!
//! A policy attribute is a JSON string inside the plan's JSON; its escapes are mapped back so a
//! finding points into the plan. An attribute that `after_unknown` marks is not known until
//! apply, and says so. Which role a Fargate profile uses comes from the known
//! `pod_execution_role_arn`, or else from the `configuration` section's references (the usual
//! case: the role is created in the same plan, so its ARN is not known yet).

use std::borrow::Cow;
use std::collections::BTreeMap;

use iam_sim::codes::Code;
use iam_sim::validate::PolicyType;
use iam_sim::{Diagnostic, Span};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Document, Embedded, Extraction, FargateUse, Rendered};

/// The attributes that hold policies, by resource type: `(type, attribute, policy type)`; a
/// `None` type is decided by the document (a policy document data source's `json`).
const POLICY_ATTRIBUTES: &[(&str, &str, Option<PolicyType>)] = &[
    (
        "aws_iam_role",
        "assume_role_policy",
        Some(PolicyType::Trust),
    ),
    ("aws_iam_policy", "policy", Some(PolicyType::Identity)),
    ("aws_iam_role_policy", "policy", Some(PolicyType::Identity)),
    ("aws_iam_user_policy", "policy", Some(PolicyType::Identity)),
    ("aws_iam_group_policy", "policy", Some(PolicyType::Identity)),
    ("aws_s3_bucket_policy", "policy", Some(PolicyType::Resource)),
    ("aws_sqs_queue_policy", "policy", Some(PolicyType::Resource)),
    ("aws_sns_topic_policy", "policy", Some(PolicyType::Resource)),
    ("aws_kms_key", "policy", Some(PolicyType::Resource)),
    ("aws_iam_policy_document", "json", None),
];

#[derive(Deserialize)]
struct Plan<'a> {
    #[serde(borrow)]
    planned_values: Option<StateValues<'a>>,
    #[serde(borrow, default)]
    resource_changes: Vec<ResourceChange<'a>>,
    #[serde(borrow)]
    prior_state: Option<State<'a>>,
    #[serde(borrow)]
    configuration: Option<Configuration<'a>>,
}

#[derive(Deserialize)]
struct State<'a> {
    #[serde(borrow)]
    values: Option<StateValues<'a>>,
}

#[derive(Deserialize)]
struct StateValues<'a> {
    #[serde(borrow)]
    root_module: Option<Module<'a>>,
}

#[derive(Deserialize)]
struct Module<'a> {
    #[serde(borrow, default)]
    resources: Vec<Resource<'a>>,
    #[serde(borrow, default)]
    child_modules: Vec<Module<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    values: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ResourceChange<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    change: Change<'a>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(borrow)]
    after: Option<&'a RawValue>,
    #[serde(borrow)]
    after_unknown: Option<&'a RawValue>,
}

/// The attributes read from a resource's values; the others are skipped unparsed.
#[derive(Deserialize, Default)]
struct Attributes<'a> {
    #[serde(borrow)]
    assume_role_policy: Option<&'a RawValue>,
    #[serde(borrow)]
    policy: Option<&'a RawValue>,
    #[serde(borrow)]
    json: Option<&'a RawValue>,
    #[serde(borrow)]
    inline_policy: Option<&'a RawValue>,
    #[serde(borrow)]
    pod_execution_role_arn: Option<&'a RawValue>,
    #[serde(borrow)]
    cluster_name: Option<&'a RawValue>,
    #[serde(borrow)]
    arn: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
}

impl<'a> Attributes<'a> {
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        match name {
            "assume_role_policy" => self.assume_role_policy,
            "policy" => self.policy,
            "json" => self.json,
            "inline_policy" => self.inline_policy,
            _ => None,
        }
    }

    fn string(raw: Option<&RawValue>) -> Option<String> {
        raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
    }
}

#[derive(Deserialize)]
struct Configuration<'a> {
    #[serde(borrow)]
    root_module: Option<ConfigModule<'a>>,
}

#[derive(Deserialize)]
struct ConfigModule<'a> {
    #[serde(borrow, default)]
    resources: Vec<ConfigResource<'a>>,
    #[serde(borrow, default)]
    module_calls: BTreeMap<Cow<'a, str>, ModuleCall<'a>>,
}

#[derive(Deserialize)]
struct ModuleCall<'a> {
    #[serde(borrow)]
    module: Option<ConfigModule<'a>>,
}

#[derive(Deserialize)]
struct ConfigResource<'a> {
    #[serde(borrow)]
    address: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    ty: Cow<'a, str>,
    #[serde(borrow, default)]
    expressions: BTreeMap<Cow<'a, str>, Expression<'a>>,
}

#[derive(Deserialize)]
struct Expression<'a> {
    #[serde(borrow, default)]
    references: Vec<Cow<'a, str>>,
    constant_value: Option<serde_json::Value>,
}

/// A resource instance with its values: `after` (and `after_unknown`) for a change, `values`
/// for planned or prior state.
struct Instance<'a> {
    address: String,
    ty: String,
    values: Attributes<'a>,
    unknown: Attributes<'a>,
}

/// Reads a plan.
#[must_use]
pub fn extract(text: &str) -> Extraction {
    let plan: Plan<'_> = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let at = offset_of(text, e.line(), e.column());
            let mut d = Diagnostic::new(
                Code::TemplateSyntax,
                format!("the Terraform plan cannot be read: {e}"),
                crate::char_span(text, at, at + 1),
                String::new(),
            );
            d.help = Some("write the plan with `terraform show -json plan.out > plan.json`".into());
            return Extraction {
                policies: Vec::new(),
                problem: Some(d),
            };
        }
    };
    let mut instances = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for rc in &plan.resource_changes {
        // A deleted resource has no `after`: nothing of it will exist to check.
        let Some(after) = rc.change.after else {
            continue;
        };
        seen.insert(rc.address.to_string());
        instances.push(Instance {
            address: rc.address.to_string(),
            ty: rc.ty.to_string(),
            values: attributes(after),
            unknown: rc.change.after_unknown.map(attributes).unwrap_or_default(),
        });
    }
    // Resources without a change entry (data sources read while planning, resources the plan
    // does not touch): from the planned values, then the prior state.
    let states = [
        plan.planned_values.as_ref(),
        plan.prior_state.as_ref().and_then(|s| s.values.as_ref()),
    ];
    for m in states
        .into_iter()
        .flatten()
        .filter_map(|v| v.root_module.as_ref())
    {
        walk(m, &mut |r: &Resource<'_>| {
            if !seen.insert(r.address.to_string()) {
                return;
            }
            if let Some(v) = r.values {
                instances.push(Instance {
                    address: r.address.to_string(),
                    ty: r.ty.to_string(),
                    values: attributes(v),
                    unknown: Attributes::default(),
                });
            }
        });
    }
    let links = fargate_links(&instances, plan.configuration.as_ref());
    let mut out = Extraction::default();
    for inst in &instances {
        let fargate = links
            .iter()
            .find(|(role, _)| *role == inst.address)
            .map(|(_, u)| u.clone());
        for (ty, attr, pt) in POLICY_ATTRIBUTES {
            if inst.ty != *ty {
                continue;
            }
            let fargate = if *pt == Some(PolicyType::Trust) {
                fargate.clone()
            } else {
                None
            };
            if let Some(doc) = document(text, inst.values.get(attr), inst.unknown.get(attr)) {
                out.policies.push(Embedded {
                    resource: inst.address.clone(),
                    attribute: (*attr).to_owned(),
                    policy_type: *pt,
                    fargate,
                    document: doc,
                });
            }
        }
        if inst.ty == "aws_iam_role" {
            inline_policies(text, inst, &mut out);
        }
    }
    out
}

fn attributes(raw: &RawValue) -> Attributes<'_> {
    serde_json::from_str(raw.get()).unwrap_or_default()
}

fn walk<'a>(m: &'a Module<'a>, f: &mut impl FnMut(&'a Resource<'a>)) {
    for r in &m.resources {
        f(r);
    }
    for c in &m.child_modules {
        walk(c, f);
    }
}

/// Where a borrowed value lies in the plan.
fn offset(text: &str, raw: &RawValue) -> usize {
    (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

fn is_true(raw: Option<&RawValue>) -> bool {
    raw.is_some_and(|r| r.get() == "true")
}

/// A policy attribute: known (a JSON string), not known until apply, or absent (`None`: not
/// set, `null`, or an empty string).
fn document(text: &str, value: Option<&RawValue>, unknown: Option<&RawValue>) -> Option<Document> {
    if let Some(u) = unknown.filter(|u| is_true(Some(u))) {
        let at = offset(text, u);
        return Some(Document::NotKnown {
            file: Span::new(at, at + u.get().len()),
            why: "not known until apply".into(),
        });
    }
    let raw = value?;
    let (decoded, map) = crate::map::json_string(raw.get(), offset(text, raw))?;
    if decoded.trim().is_empty() {
        return None;
    }
    Some(Document::Known(Rendered {
        text: decoded,
        map,
        unknowns: Vec::new(),
    }))
}

/// `aws_iam_role.inline_policy`: a list of `{name, policy}` blocks.
fn inline_policies(text: &str, inst: &Instance<'_>, out: &mut Extraction) {
    #[derive(Deserialize)]
    struct Block<'a> {
        #[serde(borrow)]
        policy: Option<&'a RawValue>,
    }
    let blocks: Vec<Block<'_>> = inst
        .values
        .inline_policy
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let unknown: Vec<Block<'_>> = inst
        .unknown
        .inline_policy
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let all_unknown = inst.unknown.inline_policy.filter(|r| r.get() == "true");
    let n = blocks.len().max(unknown.len());
    for i in 0..n {
        let value = blocks.get(i).and_then(|b| b.policy);
        let u = all_unknown.or_else(|| unknown.get(i).and_then(|b| b.policy));
        if let Some(doc) = document(text, value, u) {
            out.policies.push(Embedded {
                resource: inst.address.clone(),
                attribute: format!("inline_policy[{i}].policy"),
                policy_type: Some(PolicyType::Identity),
                fargate: None,
                document: doc,
            });
        }
    }
}

/// An instance address without its instance keys (`module.a[0].aws_iam_role.r["x"]` →
/// `module.a.aws_iam_role.r`), to compare with configuration addresses.
fn unindexed(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The role a reference to a module's output stands for (`module.exec.arn`, from a module
/// that wraps one role): the only role inside that module, when there is exactly one.
fn role_of_module<'r, 'a>(roles: &[&'r Instance<'a>], refs: &[String]) -> Option<&'r Instance<'a>> {
    refs.iter()
        // `…module.NAME`: the module call itself, its output stripped.
        .filter(|r| r.rsplit('.').nth(1) == Some("module"))
        .find_map(|m| {
            let inside = format!("{m}.");
            let mut found = roles
                .iter()
                .filter(|r| unindexed(&r.address).starts_with(&inside));
            match (found.next(), found.next()) {
                (Some(one), None) => Some(*one),
                _ => None,
            }
        })
}

/// A Fargate profile as the configuration writes it, addresses with their module path.
struct ConfigProfile {
    address: String,
    /// What `pod_execution_role_arn` refers to (`module.eks.aws_iam_role.exec`).
    role_refs: Vec<String>,
    /// What `cluster_name` refers to.
    cluster_refs: Vec<String>,
    /// `cluster_name` when it is a literal.
    cluster: Option<String>,
}

/// `(role instance address, the profile that uses it)` for every Fargate profile.
fn fargate_links(
    instances: &[Instance<'_>],
    config: Option<&Configuration<'_>>,
) -> Vec<(String, FargateUse)> {
    let mut out = Vec::new();
    let roles: Vec<&Instance<'_>> = instances
        .iter()
        .filter(|i| i.ty == "aws_iam_role")
        .collect();
    let mut refs: Vec<ConfigProfile> = Vec::new();
    if let Some(root) = config.and_then(|c| c.root_module.as_ref()) {
        config_profiles(root, "", &mut refs);
    }
    for p in instances
        .iter()
        .filter(|i| i.ty == "aws_eks_fargate_profile")
    {
        let profile_base = unindexed(&p.address);
        let conf = refs.iter().find(|c| c.address == profile_base);
        // The role: by the known ARN, or by the configuration's reference.
        let arn = Attributes::string(p.values.pod_execution_role_arn);
        let role = match arn {
            Some(arn) => roles.iter().copied().find(|r| {
                Attributes::string(r.values.arn).as_deref() == Some(arn.as_str())
                    || arn
                        .rsplit_once(":role/")
                        .map(|(_, n)| n.rsplit('/').next().unwrap_or(n))
                        == Attributes::string(r.values.name).as_deref()
            }),
            None => conf.and_then(|c| {
                roles
                    .iter()
                    .find(|r| c.role_refs.contains(&unindexed(&r.address)))
                    .copied()
                    .or_else(|| role_of_module(&roles, &c.role_refs))
            }),
        };
        let Some(role) = role else {
            continue;
        };
        let cluster = Attributes::string(p.values.cluster_name).or_else(|| {
            let c = conf?;
            c.cluster.clone().or_else(|| {
                instances
                    .iter()
                    .filter(|i| i.ty == "aws_eks_cluster")
                    .find(|i| c.cluster_refs.contains(&unindexed(&i.address)))
                    .and_then(|i| Attributes::string(i.values.name))
            })
        });
        out.push((
            role.address.clone(),
            FargateUse {
                profile: p.address.clone(),
                cluster,
            },
        ));
    }
    out
}

/// The Fargate profiles of the configuration, child modules included.
fn config_profiles(m: &ConfigModule<'_>, prefix: &str, out: &mut Vec<ConfigProfile>) {
    for r in m
        .resources
        .iter()
        .filter(|r| r.ty == "aws_eks_fargate_profile")
    {
        let refs = |name: &str| -> Vec<String> {
            r.expressions
                .get(name)
                .map(|e| {
                    e.references
                        .iter()
                        .map(|x| {
                            // `aws_iam_role.exec[0].arn` and `aws_iam_role.exec` both name the role.
                            let x = unindexed(x);
                            let x = x
                                .strip_suffix(".arn")
                                .or_else(|| x.strip_suffix(".name"))
                                .unwrap_or(&x);
                            format!("{prefix}{x}")
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let constant = r
            .expressions
            .get("cluster_name")
            .and_then(|e| e.constant_value.as_ref())
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        out.push(ConfigProfile {
            address: format!("{prefix}{}", r.address),
            role_refs: refs("pod_execution_role_arn"),
            cluster_refs: refs("cluster_name"),
            cluster: constant,
        });
    }
    for (name, call) in &m.module_calls {
        if let Some(child) = &call.module {
            config_profiles(child, &format!("{prefix}module.{name}."), out);
        }
    }
}

/// The byte offset of serde_json's 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(resources: &str, changes: &str, config: &str) -> String {
        format!(
            r#"{{"format_version":"1.2","planned_values":{{"root_module":{resources}}},"resource_changes":[{changes}],"configuration":{{"root_module":{config}}}}}"#
        )
    }

    fn known(d: &Document) -> &Rendered {
        match d {
            Document::Known(r) => r,
            Document::NotKnown { why, .. } => panic!("not known: {why}"),
        }
    }

    const TRUST: &str = r#"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"eks-fargate-pods.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}]}"#;

    #[test]
    fn a_policy_in_a_child_module_is_found() {
        let text = plan(
            &format!(
                r#"{{"resources":[],"child_modules":[{{"address":"module.pods","resources":[{{"address":"module.pods.aws_iam_role.exec","mode":"managed","type":"aws_iam_role","name":"exec","values":{{"assume_role_policy":"{TRUST}","name":"exec"}}}}]}}]}}"#
            ),
            "",
            "{}",
        );
        let x = extract(&text);
        assert!(x.problem.is_none());
        assert_eq!(x.policies.len(), 1);
        assert_eq!(x.policies[0].resource, "module.pods.aws_iam_role.exec");
        assert_eq!(x.policies[0].attribute, "assume_role_policy");
        let r = known(&x.policies[0].document);
        let at = r.text.find("sts:AssumeRole").unwrap();
        let m = r.map.map(Span::new(at, at + 14), &text);
        assert_eq!(&text[m.start..m.end], "sts:AssumeRole");
    }

    #[test]
    fn an_attribute_unknown_until_apply_says_so() {
        let text = plan(
            r#"{"resources":[]}"#,
            r#"{"address":"aws_iam_policy.p","mode":"managed","type":"aws_iam_policy","name":"p","change":{"actions":["create"],"before":null,"after":{"name":"p"},"after_unknown":{"policy":true,"arn":true}}}"#,
            "{}",
        );
        let x = extract(&text);
        assert_eq!(x.policies.len(), 1);
        match &x.policies[0].document {
            Document::NotKnown { file, why } => {
                assert_eq!(&text[file.start..file.end], "true");
                assert!(why.contains("apply"));
            }
            Document::Known(_) => panic!("known"),
        }
    }

    #[test]
    fn a_role_created_with_its_profile_is_linked_through_the_configuration() {
        let text = plan(
            r#"{"resources":[]}"#,
            &format!(
                r#"{{"address":"module.eks.aws_iam_role.exec[0]","type":"aws_iam_role","change":{{"after":{{"assume_role_policy":"{TRUST}"}},"after_unknown":{{"arn":true}}}}}},
                {{"address":"module.eks.aws_eks_fargate_profile.p","type":"aws_eks_fargate_profile","change":{{"after":{{"cluster_name":"prod"}},"after_unknown":{{"pod_execution_role_arn":true}}}}}}"#
            ),
            r#"{"module_calls":{"eks":{"module":{"resources":[{"address":"aws_eks_fargate_profile.p","type":"aws_eks_fargate_profile","expressions":{"pod_execution_role_arn":{"references":["aws_iam_role.exec[0].arn","aws_iam_role.exec"]}}}]}}}}"#,
        );
        let x = extract(&text);
        assert_eq!(
            x.policies[0].fargate,
            Some(FargateUse {
                profile: "module.eks.aws_eks_fargate_profile.p".into(),
                cluster: Some("prod".into())
            })
        );
    }

    #[test]
    fn a_deleted_resource_is_not_checked() {
        let text = plan(
            r#"{"resources":[]}"#,
            r#"{"address":"aws_iam_policy.p","type":"aws_iam_policy","change":{"actions":["delete"],"after":null}}"#,
            "{}",
        );
        assert!(extract(&text).policies.is_empty());
    }

    #[test]
    fn a_broken_plan_is_a_problem_at_its_place() {
        let x = extract("{\"format_version\": \"1.2\",\n \"planned_values\": [}");
        let d = x.problem.unwrap();
        assert_eq!(d.code, Code::TemplateSyntax);
        assert!(d.span.start > 20);
    }

    #[test]
    fn instance_keys_are_removed() {
        assert_eq!(
            unindexed(r#"module.a[0].aws_iam_role.r["x]y"]"#),
            "module.a.aws_iam_role.r"
        );
    }
}
