//! The policies the gateway decides with, read from LocalStack and cached: a role's trust and
//! identity policies, an IAM user's (its own and its groups'), a bucket's policy. Changes made
//! through the gateway clear the affected entries (`State::forget_identities`,
//! `State::forget_bucket`).

use std::sync::Arc;

use iam_sim::CompiledPolicy;

use super::State;
use s3_harness::client::decode_policy_document;

/// Identity policies with their names, in one order (a managed policy's ARN, `inline policy
/// NAME of role R`), as read for a role or a user.
#[derive(Debug, Default)]
pub(super) struct Named {
    /// The policies.
    pub identity: Vec<CompiledPolicy>,
    /// Their names.
    pub names: Vec<String>,
}

/// A role as IAM holds it.
#[derive(Debug)]
pub(super) struct RolePolicies {
    /// Its trust policy; `None` when the role does not exist.
    pub trust: Option<CompiledPolicy>,
    /// Attached managed and inline policies.
    pub named: Named,
}

fn parse(what: &str, doc: &str) -> Result<CompiledPolicy, String> {
    CompiledPolicy::parse(&decode_policy_document(doc))
        .map_err(|e| format!("{what}: {}", e.diagnostic.message))
}

/// The default version of a managed policy.
async fn managed(state: &State, arn: &str) -> Result<Option<CompiledPolicy>, String> {
    let iam = &state.clients.iam;
    let pol = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| format!("GetPolicy {arn}: {e}"))?;
    let Some(version) = pol.policy().and_then(|p| p.default_version_id()) else {
        return Ok(None);
    };
    let v = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| format!("GetPolicyVersion {arn}: {e}"))?;
    v.policy_version()
        .and_then(|v| v.document())
        .map(|doc| parse(arn, doc))
        .transpose()
}

/// Reads the attached and inline policies of an IAM identity (role, user or group) into a
/// [`Named`]: `$kind` is `role`, `user` or `group`, and names the IAM calls and parameter.
macro_rules! read_identity_policies {
    ($state:expr, $out:expr, $kind:literal, $name:expr,
     $list_attached:ident, $list_inline:ident, $get_inline:ident, $param:ident) => {{
        let iam = &$state.clients.iam;
        let name: &str = $name;
        let attached = iam
            .$list_attached()
            .$param(name)
            .send()
            .await
            .map_err(|e| format!("{} {name}: {e}", stringify!($list_attached)))?;
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn()
                && let Some(policy) = managed($state, arn).await?
            {
                $out.identity.push(policy);
                $out.names.push(if $kind == "group" {
                    format!("{arn} (group {name})")
                } else {
                    arn.to_owned()
                });
            }
        }
        let inline = iam
            .$list_inline()
            .$param(name)
            .send()
            .await
            .map_err(|e| format!("{} {name}: {e}", stringify!($list_inline)))?;
        for policy in inline.policy_names() {
            let p = iam
                .$get_inline()
                .$param(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| format!("{} {policy}: {e}", stringify!($get_inline)))?;
            let label = format!("inline policy {policy} of {} {name}", $kind);
            $out.identity.push(parse(&label, p.policy_document())?);
            $out.names.push(label);
        }
    }};
}

/// A role's trust and identity policies.
pub(super) async fn role(state: &State, role_name: &str) -> Result<Arc<RolePolicies>, String> {
    if let Some(p) = state
        .roles
        .lock()
        .ok()
        .and_then(|r| r.get(role_name).cloned())
    {
        return Ok(p);
    }
    let trust = match state
        .clients
        .iam
        .get_role()
        .role_name(role_name)
        .send()
        .await
    {
        Ok(r) => match r.role().and_then(|r| r.assume_role_policy_document()) {
            Some(doc) => Some(parse(&format!("trust policy of {role_name}"), doc)?),
            None => None,
        },
        Err(e) => match e.as_service_error() {
            Some(s) if s.is_no_such_entity_exception() => None,
            _ => return Err(format!("GetRole {role_name}: {e}")),
        },
    };
    let mut named = Named::default();
    if trust.is_some() {
        read_identity_policies!(
            state,
            named,
            "role",
            role_name,
            list_attached_role_policies,
            list_role_policies,
            get_role_policy,
            role_name
        );
    }
    let loaded = Arc::new(RolePolicies { trust, named });
    if let Ok(mut r) = state.roles.lock() {
        r.insert(role_name.to_owned(), loaded.clone());
    }
    Ok(loaded)
}

/// An IAM user's identity policies: attached and inline, its own and its groups'.
pub(super) async fn user(state: &State, user_name: &str) -> Result<Arc<Named>, String> {
    if let Some(p) = state
        .users
        .lock()
        .ok()
        .and_then(|u| u.get(user_name).cloned())
    {
        return Ok(p);
    }
    let mut named = Named::default();
    read_identity_policies!(
        state,
        named,
        "user",
        user_name,
        list_attached_user_policies,
        list_user_policies,
        get_user_policy,
        user_name
    );
    let groups = state
        .clients
        .iam
        .list_groups_for_user()
        .user_name(user_name)
        .send()
        .await
        .map_err(|e| format!("ListGroupsForUser: {e}"))?;
    for g in groups.groups() {
        read_identity_policies!(
            state,
            named,
            "group",
            g.group_name(),
            list_attached_group_policies,
            list_group_policies,
            get_group_policy,
            group_name
        );
    }
    let loaded = Arc::new(named);
    if let Ok(mut u) = state.users.lock() {
        u.insert(user_name.to_owned(), loaded.clone());
    }
    Ok(loaded)
}

/// A bucket's policy, `None` when it has none.
pub(super) async fn bucket(
    state: &State,
    bucket: &str,
) -> Result<Option<Arc<CompiledPolicy>>, String> {
    if let Some(p) = state
        .buckets
        .lock()
        .ok()
        .and_then(|b| b.get(bucket).cloned())
    {
        return Ok(p);
    }
    let policy = match state
        .clients
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => match out.policy() {
            Some(text) => Some(Arc::new(CompiledPolicy::parse(text).map_err(|e| {
                format!("bucket policy of {bucket}: {}", e.diagnostic.message)
            })?)),
            None => None,
        },
        Err(_) => None,
    };
    if let Ok(mut b) = state.buckets.lock() {
        b.insert(bucket.to_owned(), policy.clone());
    }
    Ok(policy)
}

/// The trust policy of a role in this account, as text (`None` when there is no such role):
/// what the EKS control plane's trust checks read.
pub(super) async fn trust_document(
    state: &State,
    role_arn: &str,
) -> Result<Option<String>, String> {
    let in_account = iam_sim::arn::Arn::parse(role_arn)
        .is_some_and(|a| a.service == "iam" && a.account == state.account);
    if !in_account {
        return Ok(None);
    }
    match state
        .clients
        .iam
        .get_role()
        .role_name(role_name(role_arn))
        .send()
        .await
    {
        Ok(out) => Ok(out
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .map(decode_policy_document)),
        Err(e) => match e.as_service_error() {
            Some(s) if s.is_no_such_entity_exception() => Ok(None),
            _ => Err(format!("GetRole {role_arn}: {e}")),
        },
    }
}

/// The name at the end of a role (or user) ARN.
pub(super) fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
