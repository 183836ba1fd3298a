//! IAM API requests (query protocol) → the IAM action, the resource ARN and the condition keys
//! AWS authorizes them with. The resource comes from the first parameter of the table that
//! the request has, so that one rule covers the whole API.

use std::collections::HashMap;

use endpoint::Access;

/// How a parameter names a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// A name under this ARN resource type (`role/NAME`).
    Under(&'static str),
    /// The parameter is an ARN.
    Arn,
}

/// Parameters that name the resource, in the order that decides between two (an instance
/// profile over its role, a group over its user, a role or user over a policy attached to it).
const RESOURCE_PARAMETERS: &[(&str, Names)] = &[
    ("InstanceProfileName", Names::Under("instance-profile")),
    ("GroupName", Names::Under("group")),
    ("RoleName", Names::Under("role")),
    ("UserName", Names::Under("user")),
    ("PolicyArn", Names::Arn),
    ("OpenIDConnectProviderArn", Names::Arn),
    ("SAMLProviderArn", Names::Arn),
    ("ServerCertificateName", Names::Under("server-certificate")),
];

/// Maps one IAM request. `caller_user` is the calling IAM user's ARN, the resource of the
/// actions that default to the caller (CreateAccessKey without `UserName`, …).
pub fn map(form: &HashMap<String, String>, account: &str, caller_user: Option<&str>) -> Access {
    let action_name = form.get("Action").map_or("", String::as_str);
    let action = format!("iam:{action_name}").into();
    let path = |p: &str| {
        let p = form.get(p).map_or("/", String::as_str);
        if p.starts_with('/') && p.ends_with('/') {
            p.to_owned()
        } else {
            "/".to_owned()
        }
    };
    let resource = match action_name {
        "CreateRole" | "CreateUser" | "CreateGroup" | "CreateInstanceProfile" => {
            let (kind, param) = match action_name {
                "CreateRole" => ("role", "RoleName"),
                "CreateUser" => ("user", "UserName"),
                "CreateGroup" => ("group", "GroupName"),
                _ => ("instance-profile", "InstanceProfileName"),
            };
            format!(
                "arn:aws:iam::{account}:{kind}{}{}",
                path("Path"),
                form.get(param).map_or("", String::as_str)
            )
        }
        "CreatePolicy" => format!(
            "arn:aws:iam::{account}:policy{}{}",
            path("Path"),
            form.get("PolicyName").map_or("", String::as_str)
        ),
        _ => RESOURCE_PARAMETERS
            .iter()
            .find_map(|(param, names)| {
                let v = form.get(*param)?;
                Some(match names {
                    Names::Arn => v.clone(),
                    Names::Under(kind) => format!("arn:aws:iam::{account}:{kind}/{v}"),
                })
            })
            .or_else(|| {
                defaults_to_caller(action_name)
                    .then(|| caller_user.map(str::to_owned))
                    .flatten()
            })
            .unwrap_or_else(|| "*".to_owned()),
    };
    let mut context: Vec<(String, Vec<String>)> = Vec::new();
    if (action_name.starts_with("Attach")
        || action_name.starts_with("Detach")
        || action_name.ends_with("PermissionsBoundary"))
        && let Some(arn) = form
            .get("PolicyArn")
            .or_else(|| form.get("PermissionsBoundary"))
    {
        context.push(("iam:PolicyARN".to_owned(), vec![arn.clone()]));
    }
    if let Some(b) = form.get("PermissionsBoundary") {
        context.push(("iam:PermissionsBoundary".to_owned(), vec![b.clone()]));
    }
    let tags = tags(form);
    if !tags.is_empty() {
        for (k, v) in &tags {
            context.push((format!("aws:RequestTag/{k}"), vec![v.clone()]));
        }
        context.push((
            "aws:TagKeys".to_owned(),
            tags.into_iter().map(|(k, _)| k).collect(),
        ));
    }
    Access {
        action,
        resource,
        context,
    }
}

/// The actions whose resource is the calling user when the request names no user.
fn defaults_to_caller(action: &str) -> bool {
    matches!(
        action,
        "CreateAccessKey"
            | "DeleteAccessKey"
            | "ListAccessKeys"
            | "UpdateAccessKey"
            | "GetUser"
            | "ChangePassword"
            | "ListMFADevices"
            | "ListSigningCertificates"
            | "ListSSHPublicKeys"
    )
}

/// `Tags.member.N.Key` / `Tags.member.N.Value` pairs.
fn tags(form: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 1..=50 {
        match form.get(&format!("Tags.member.{n}.Key")) {
            Some(k) => out.push((
                k.clone(),
                form.get(&format!("Tags.member.{n}.Value"))
                    .cloned()
                    .unwrap_or_default(),
            )),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn create_role_is_decided_on_the_new_roles_arn() {
        let a = map(
            &form(&[("Action", "CreateRole"), ("RoleName", "s3-read")]),
            "000000000000",
            None,
        );
        assert_eq!(a.action, "iam:CreateRole");
        assert_eq!(a.resource, "arn:aws:iam::000000000000:role/s3-read");
    }

    #[test]
    fn attach_role_policy_is_on_the_role_with_the_policy_as_a_condition_key() {
        let a = map(
            &form(&[
                ("Action", "AttachRolePolicy"),
                ("RoleName", "s3-read"),
                (
                    "PolicyArn",
                    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                ),
            ]),
            "000000000000",
            None,
        );
        assert_eq!(a.action, "iam:AttachRolePolicy");
        assert_eq!(a.resource, "arn:aws:iam::000000000000:role/s3-read");
        assert_eq!(
            a.context,
            [(
                "iam:PolicyARN".to_owned(),
                vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".to_owned()]
            )]
        );
    }

    #[test]
    fn create_access_key_without_a_user_is_on_the_caller() {
        let a = map(
            &form(&[("Action", "CreateAccessKey")]),
            "000000000000",
            Some("arn:aws:iam::000000000000:user/dev"),
        );
        assert_eq!(a.resource, "arn:aws:iam::000000000000:user/dev");
    }

    #[test]
    fn list_roles_is_on_every_resource() {
        let a = map(&form(&[("Action", "ListRoles")]), "000000000000", None);
        assert_eq!(
            (a.action.as_ref(), a.resource.as_str()),
            ("iam:ListRoles", "*")
        );
    }

    #[test]
    fn an_unknown_action_is_decided_as_named() {
        let a = map(&form(&[("Action", "MakeMeAdmin")]), "000000000000", None);
        assert_eq!(a.action, "iam:MakeMeAdmin");
    }

    #[test]
    fn tags_become_request_tag_keys() {
        let a = map(
            &form(&[
                ("Action", "CreateRole"),
                ("RoleName", "r"),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "a"),
            ]),
            "000000000000",
            None,
        );
        assert!(
            a.context
                .contains(&("aws:RequestTag/team".into(), vec!["a".into()]))
        );
        assert!(
            a.context
                .contains(&("aws:TagKeys".into(), vec!["team".into()]))
        );
    }
}
