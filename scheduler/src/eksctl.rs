//! eksctl `ClusterConfig` files (`apiVersion: eksctl.io/v1alpha5`): the cluster, its subnets and
//! its Fargate profiles, with eksctl's own validation messages.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::addresses::Cidr;
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
/// is an error naming it (envsubst would silently put an empty string there). YAML comments
/// are left as they are: a variable mentioned in a comment is not part of the config.
///
/// # Errors
/// The first unset variable, with its line.
pub fn envsubst(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (code, comment) = line.split_at(comment_start(line).unwrap_or(line.len()));
        expand_into(code, i + 1, lookup, &mut out)?;
        out.push_str(comment);
    }
    Ok(out)
}

/// Where a YAML comment starts on this line: a `#` at the start or after a space or tab,
/// outside single and double quotes.
fn comment_start(line: &str) -> Option<usize> {
    let (mut single, mut double, mut prev_blank) = (false, false, true);
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if double => {
                chars.next();
            }
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_blank => return Some(i),
            _ => {}
        }
        prev_blank = c == ' ' || c == '\t';
    }
    None
}

fn expand_into(
    mut rest: &str,
    line: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), ConfigError> {
    while let Some(i) = rest.find('$') {
        let (before, after) = rest.split_at(i);
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
    Ok(())
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The top-level fields of eksctl's `ClusterConfig` (`eksctl.io/v1alpha5`, `types.go` in
/// eksctl): eksctl refuses any other, and so does this reader. Only a few are read; the
/// others are accepted and ignored.
pub const TOP_LEVEL_FIELDS: [&str; 27] = [
    "apiVersion",
    "kind",
    "metadata",
    "kubernetesNetworkConfig",
    "autoModeConfig",
    "iam",
    "iamIdentityMappings",
    "identityProviders",
    "accessConfig",
    "vpc",
    "addons",
    "addonsConfig",
    "privateCluster",
    "nodeGroups",
    "managedNodeGroups",
    "fargateProfiles",
    "availabilityZones",
    "localZones",
    "cloudWatch",
    "secretsEncryption",
    "status",
    "git",
    "gitops",
    "karpenter",
    "outpost",
    "zonalShiftConfig",
    "remoteNetworkConfig",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "the ignored sections are named only so that they are accepted"
)]
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
    // The sections placement does not read: accepted as eksctl accepts them.
    #[serde(default)]
    kubernetes_network_config: IgnoredAny,
    #[serde(default)]
    auto_mode_config: IgnoredAny,
    #[serde(default)]
    iam_identity_mappings: IgnoredAny,
    #[serde(default)]
    identity_providers: IgnoredAny,
    #[serde(default)]
    access_config: IgnoredAny,
    #[serde(default)]
    addons: IgnoredAny,
    #[serde(default)]
    addons_config: IgnoredAny,
    #[serde(default)]
    private_cluster: IgnoredAny,
    #[serde(default)]
    node_groups: IgnoredAny,
    #[serde(default)]
    managed_node_groups: IgnoredAny,
    #[serde(default)]
    availability_zones: IgnoredAny,
    #[serde(default)]
    local_zones: IgnoredAny,
    #[serde(default)]
    cloud_watch: IgnoredAny,
    #[serde(default)]
    secrets_encryption: IgnoredAny,
    #[serde(default)]
    status: IgnoredAny,
    #[serde(default)]
    git: IgnoredAny,
    #[serde(default)]
    gitops: IgnoredAny,
    #[serde(default)]
    karpenter: IgnoredAny,
    #[serde(default)]
    outpost: IgnoredAny,
    #[serde(default)]
    zonal_shift_config: IgnoredAny,
    #[serde(default)]
    remote_network_config: IgnoredAny,
}

/// serde's "unknown field `x`, expected one of …" for the top level, shortened to the field,
/// the closest real one, and where the list is.
fn unknown_field_message(serde_message: &str) -> Option<String> {
    let rest = serde_message.strip_prefix("unknown field `")?;
    let (field, _) = rest.split_once('`')?;
    if !serde_message.contains("`fargateProfiles`") {
        return None;
    }
    let closest = TOP_LEVEL_FIELDS
        .iter()
        .map(|f| {
            (
                iam_sim::policy::levenshtein(&f.to_ascii_lowercase(), &field.to_ascii_lowercase()),
                *f,
            )
        })
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, f)| f);
    Some(match closest {
        Some(f) => format!(
            "unknown field `{field}` in ClusterConfig (did you mean `{f}`?); eksctl rejects fields it does not know"
        ),
        None => format!(
            "unknown field `{field}` in ClusterConfig; eksctl rejects fields it does not know (the top-level fields are {})",
            TOP_LEVEL_FIELDS.join(", ")
        ),
    })
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
    #[serde(default)]
    cidr: Option<String>,
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
    let raw: RawConfig = serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let shown = e.to_string();
        let message = unknown_field_message(&shown)
            .unwrap_or_else(|| format!("cannot read the config file: {shown}"));
        ConfigError { line, message }
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
        let entries = s
            .private
            .into_iter()
            .map(|e| (e, true))
            .chain(s.public.into_iter().map(|e| (e, false)));
        for ((az, sn), private) in entries {
            let cidr = sn
                .cidr
                .as_deref()
                .map(Cidr::parse)
                .transpose()
                .map_err(|e| err(format!("vpc.subnets: subnet {}: {e}", sn.id)))?;
            subnets.push(Subnet {
                id: sn.id,
                az,
                private,
                cidr,
            });
        }
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
    fn an_unset_variable_in_a_comment_is_left_alone() {
        let e = env(&[("ROLE_ARN", "arn:aws:iam::1:role/r")]);
        assert_eq!(
            envsubst(
                "# export $UNSET first\nrole: ${ROLE_ARN} # or $ALSO_UNSET\nurl: 'a #$X'\n",
                &e
            )
            .map_err(|e| e.message),
            Err("variable `X` is not set (line 3); export it, e.g. `export X=…`".to_owned())
        );
        assert_eq!(
            envsubst(
                "# export $UNSET first\nrole: ${ROLE_ARN} # or $ALSO_UNSET\n",
                &e
            )
            .ok(),
            Some(
                "# export $UNSET first\nrole: arn:aws:iam::1:role/r # or $ALSO_UNSET\n".to_owned()
            )
        );
    }

    #[test]
    fn an_unknown_top_level_field_is_rejected_with_a_suggestion() {
        let text = "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: eu-west-1}\nfargateProfile:\n  - name: fp\n    selectors: [{namespace: default}]\n";
        let e = parse_config(text).err();
        assert_eq!(e.as_ref().and_then(|e| e.line), Some(4));
        assert_eq!(
            e.map(|e| e.message).as_deref(),
            Some(
                "unknown field `fargateProfile` in ClusterConfig (did you mean `fargateProfiles`?); eksctl rejects fields it does not know"
            )
        );
    }

    #[test]
    fn every_real_eksctl_section_is_accepted() {
        let mut text = String::from(
            "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: c, region: eu-west-1}\n",
        );
        for f in TOP_LEVEL_FIELDS.iter().skip(3) {
            if *f != "fargateProfiles" && *f != "vpc" && *f != "iam" {
                text.push_str(&format!("{f}: {{}}\n"));
            }
        }
        assert!(
            parse_config(&text).is_ok(),
            "{:?}",
            parse_config(&text).err()
        );
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
