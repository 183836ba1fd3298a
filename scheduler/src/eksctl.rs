//! eksctl `ClusterConfig` files (`apiVersion: eksctl.io/v1alpha5`): the cluster, its subnets and
//! its Fargate profiles, with eksctl's own validation messages.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::cluster::{CreateProfile, Selector, Subnet};

/// The API version eksctl config files use.
pub const API_VERSION: &str = "eksctl.io/v1alpha5";

/// A config file problem, with eksctl's wording where eksctl has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The message.
    pub message: String,
    /// Line, when known.
    pub line: Option<usize>,
}

fn err(message: impl Into<String>) -> ConfigError {
    ConfigError {
        message: message.into(),
        line: None,
    }
}

/// Expands `${VAR}` and `$VAR` from `lookup`, as `envsubst` does, except that an unset variable
/// is an error naming it (envsubst would silently put an empty string there).
///
/// # Errors
/// The first unset variable, with its line.
pub fn envsubst(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut line = 1;
    while let Some(i) = rest.find('$') {
        let (before, after) = rest.split_at(i);
        line += before.matches('\n').count();
        out.push_str(before);
        let after = &after[1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if is_name(&inner[..end]) => (&inner[..end], end + 2),
                _ => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end > 0 && is_name(&after[..end]) {
                (&after[..end], end)
            } else {
                ("", 0)
            }
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(ConfigError {
                    message: format!(
                        "variable `{name}` is not set (line {line}); export it, e.g. `export {name}=…`"
                    ),
                    line: Some(line),
                });
            }
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<RawMetadata>,
    #[serde(default)]
    vpc: Option<RawVpc>,
    #[serde(default)]
    iam: Option<RawIam>,
    #[serde(default)]
    fargate_profiles: Vec<RawProfile>,
}

#[derive(Debug, Deserialize)]
struct RawMetadata {
    name: Option<String>,
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawVpc {
    #[serde(default)]
    subnets: Option<RawSubnets>,
}

#[derive(Debug, Deserialize)]
struct RawSubnets {
    #[serde(default)]
    private: BTreeMap<String, RawSubnet>,
    #[serde(default)]
    public: BTreeMap<String, RawSubnet>,
}

#[derive(Debug, Deserialize)]
struct RawSubnet {
    id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIam {
    #[serde(default, rename = "fargatePodExecutionRoleARN")]
    fargate_pod_execution_role_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "podExecutionRoleARN")]
    pod_execution_role_arn: Option<String>,
    #[serde(default)]
    selectors: Vec<RawSelector>,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// A read and validated `ClusterConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.region`.
    pub region: String,
    /// `vpc.subnets` (private and public).
    pub subnets: Vec<Subnet>,
    /// `fargateProfiles`, as CreateFargateProfile requests.
    pub profiles: Vec<CreateProfile>,
}

/// Reads a `ClusterConfig` (after `${VAR}` expansion, which the caller does).
///
/// # Errors
/// YAML errors with their line, and eksctl's validation messages.
pub fn parse_config(text: &str) -> Result<ClusterConfig, ConfigError> {
    let raw: RawConfig = serde_yaml_ng::from_str(text).map_err(|e| ConfigError {
        line: e.location().map(|l| l.line()),
        message: format!("cannot read the config file: {e}"),
    })?;
    match raw.api_version.as_deref() {
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(err(format!(
                "apiVersion must be {API_VERSION}, found `{other}`"
            )));
        }
        None => return Err(err(format!("apiVersion must be set (to {API_VERSION})"))),
    }
    if raw.kind.as_deref() != Some("ClusterConfig") {
        return Err(err(format!(
            "kind must be ClusterConfig, found `{}`",
            raw.kind.unwrap_or_default()
        )));
    }
    let meta = raw.metadata.ok_or_else(|| err("metadata must be set"))?;
    let name = meta
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| err("metadata.name must be set"))?;
    let region = meta
        .region
        .filter(|r| !r.is_empty())
        .ok_or_else(|| err("metadata.region must be set"))?;
    let mut subnets = Vec::new();
    if let Some(s) = raw.vpc.and_then(|v| v.subnets) {
        subnets.extend(s.private.into_iter().map(|(az, sn)| Subnet {
            id: sn.id,
            az,
            private: true,
        }));
        subnets.extend(s.public.into_iter().map(|(az, sn)| Subnet {
            id: sn.id,
            az,
            private: false,
        }));
    }
    let default_role = raw.iam.and_then(|i| i.fargate_pod_execution_role_arn);
    let mut profiles = Vec::new();
    for p in raw.fargate_profiles {
        if p.name.is_empty() {
            return Err(err("invalid Fargate profile: empty name"));
        }
        if p.name.starts_with("eks-") {
            return Err(err(format!(
                "invalid Fargate profile \"{}\": name should NOT start with \"eks-\"",
                p.name
            )));
        }
        if p.selectors.is_empty() {
            return Err(err(format!(
                "invalid Fargate profile \"{}\": no profile selector",
                p.name
            )));
        }
        for (i, s) in p.selectors.iter().enumerate() {
            if s.namespace.as_deref().is_none_or(str::is_empty) {
                return Err(err(format!(
                    "invalid Fargate profile \"{}\": invalid profile selector at index #{i}: empty namespace",
                    p.name
                )));
            }
        }
        let _ = p.status;
        let role = p
            .pod_execution_role_arn
            .filter(|r| !r.is_empty())
            .or_else(|| default_role.clone())
            .unwrap_or_default();
        profiles.push(CreateProfile {
            fargate_profile_name: p.name,
            pod_execution_role_arn: role,
            subnets: p.subnets,
            selectors: p
                .selectors
                .into_iter()
                .map(|s| Selector {
                    namespace: s.namespace,
                    labels: s.labels,
                })
                .collect(),
            client_request_token: None,
            tags: p.tags,
        });
    }
    Ok(ClusterConfig {
        name,
        region,
        subnets,
        profiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn envsubst_expands_both_forms_and_names_unset_variables() {
        let e = env(&[("ROLE_ARN", "arn:aws:iam::1:role/r"), ("X", "x")]);
        assert_eq!(
            envsubst("a: ${ROLE_ARN}\nb: $X-y\nc: $ 5 ${}", &e).unwrap(),
            "a: arn:aws:iam::1:role/r\nb: x-y\nc: $ 5 ${}"
        );
        let err = envsubst("a: 1\nb: ${MISSING}", &e).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("`MISSING` is not set"));
    }

    #[test]
    fn eksctl_messages() {
        let base = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: eu-west-1}\n";
        let cases = [
            (
                "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n",
                "metadata must be set",
            ),
            (
                "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {region: r}\n",
                "metadata.name must be set",
            ),
            (
                "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c}\n",
                "metadata.region must be set",
            ),
            (
                &*format!(
                    "{base}fargateProfiles: [{{name: eks-x, selectors: [{{namespace: a}}]}}]\n"
                ),
                "invalid Fargate profile \"eks-x\": name should NOT start with \"eks-\"",
            ),
            (
                &*format!("{base}fargateProfiles: [{{name: p}}]\n"),
                "invalid Fargate profile \"p\": no profile selector",
            ),
            (
                &*format!(
                    "{base}fargateProfiles: [{{name: p, selectors: [{{namespace: a}}, {{labels: {{a: b}}}}]}}]\n"
                ),
                "invalid Fargate profile \"p\": invalid profile selector at index #1: empty namespace",
            ),
            (
                &*format!("{base}fargateProfiles: [{{selectors: [{{namespace: a}}]}}]\n"),
                "invalid Fargate profile: empty name",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_config(text).unwrap_err().message, want, "{text}");
        }
        let e = parse_config(&format!(
            "{base}fargateProfiles: [{{name: p, selector: []}}]\n"
        ))
        .unwrap_err();
        assert!(
            e.message.contains("unknown field `selector`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn reads_profiles_subnets_and_default_role() {
        let text = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: eu-west-1}\n\
            vpc: {subnets: {private: {eu-west-1a: {id: subnet-a}}, public: {eu-west-1a: {id: subnet-p}}}}\n\
            iam: {fargatePodExecutionRoleARN: 'arn:aws:iam::1:role/d'}\n\
            fargateProfiles:\n  - name: test\n    selectors: [{namespace: test, labels: {app: web}}]\n";
        let c = parse_config(text).unwrap();
        assert_eq!(c.subnets.len(), 2);
        assert!(c.subnets.iter().any(|s| s.id == "subnet-p" && !s.private));
        assert_eq!(
            c.profiles[0].pod_execution_role_arn,
            "arn:aws:iam::1:role/d"
        );
        assert_eq!(
            c.profiles[0].selectors[0]
                .labels
                .get("app")
                .map(String::as_str),
            Some("web")
        );
    }
}
