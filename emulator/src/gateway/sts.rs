//! STS: `AssumeRole` decided on the role's trust policy and, for IAM callers, their own
//! identity policies (AWS's same- and cross-account rules, in `iam-sim`); the account root may
//! not assume a role. `GetSessionToken` and `AssumeRole` sessions are remembered, with their
//! expiry, so that S3, IAM and EKS requests signed with them are authenticated and decided.

use std::sync::Arc;

use hyper::StatusCode;
use iam_sim::{CompiledPolicy, ContextValue, Decision};

use super::authorize::{self, base_context};
use super::caller::{Caller, Kind, Service, parse_expiration};
use super::errors::xml_text;
use super::{
    Incoming, PRINCIPAL_HEADER, Resp, SOURCE_ACCOUNT_HEADER, SOURCE_ARN_HEADER, State, bad_gateway,
    form, forward, policies, rebuild, record,
};

pub(super) async fn serve(state: &State, req: Incoming<'_>) -> Resp {
    let f = form(&req.body);
    let action = f.get("Action").map_or("", String::as_str);
    match action {
        "AssumeRole" => assume_role(state, &req, &f).await,
        "GetSessionToken" => session_token(state, &req).await,
        // Needs no permission, and LocalStack knows every key the gateway knows.
        "GetCallerIdentity" => pass(state, &req).await,
        other => {
            let access = endpoint::Access {
                action: format!("sts:{other}").into(),
                resource: "*".to_owned(),
                context: Vec::new(),
            };
            if let Err(refused) = authorize::require(state, &req, Service::Sts, &[access]).await {
                return refused;
            }
            pass(state, &req).await
        }
    }
}

fn denied(message: &str, rid: &str) -> Resp {
    Service::Sts.error(StatusCode::FORBIDDEN, "AccessDenied", message, rid)
}

async fn pass(state: &State, req: &Incoming<'_>) -> Resp {
    match forward(state, req.parts, req.body.clone()).await {
        Ok((s, h, b)) => rebuild(s, h, b),
        Err(e) => bad_gateway(state, Service::Sts, &e),
    }
}

async fn assume_role(
    state: &State,
    req: &Incoming<'_>,
    f: &std::collections::HashMap<String, String>,
) -> Resp {
    let caller = &req.caller;
    let role_arn = f.get("RoleArn").cloned().unwrap_or_default();
    // A service acting on a resource's behalf (Fargate) is named by the account's own
    // credentials only: nobody else may claim to be a service.
    let service = req
        .header(PRINCIPAL_HEADER)
        .filter(|_| caller.is_root())
        .map(str::to_owned);
    if service.is_none() && caller.is_root() {
        let msg = "Roles may not be assumed by root accounts.";
        record(
            state,
            "sts:AssumeRole",
            &role_arn,
            &caller.arn,
            Decision::ImplicitDeny,
            Some(format!("AccessDenied: {msg}")),
            None,
        );
        return denied(msg, &req.rid);
    }
    // The session policy is read before anything is decided: one that cannot be read is
    // refused, as STS refuses it, and never dropped (a session without it would be allowed
    // more than it was asked for).
    let session_policy = match f.get("Policy").map(|p| CompiledPolicy::parse(p)) {
        None => None,
        Some(Ok(p)) => Some(Arc::new(p)),
        Some(Err(_)) => {
            return Service::Sts.error(
                StatusCode::BAD_REQUEST,
                "MalformedPolicyDocument",
                "The policy is not in the valid JSON format.",
                &req.rid,
            );
        }
    };
    let principal = service.clone().unwrap_or_else(|| caller.arn.clone());
    let role = match policies::role(state, policies::role_name(&role_arn)).await {
        Ok(p) => p,
        Err(e) => return bad_gateway(state, Service::Sts, &e),
    };
    let mut set = if service.is_some() {
        authorize::Policies::default()
    } else {
        match authorize::identity(state, caller).await {
            Ok(p) => p,
            Err(e) => return bad_gateway(state, Service::Sts, &e),
        }
    };
    set.trust = Some(role.clone());
    let mut ctx = if service.is_some() {
        iam_sim::Context::new()
    } else {
        base_context(req.peer, req.region, caller)
    };
    if service.is_some() {
        if let Some(v) = req.header(SOURCE_ARN_HEADER) {
            ctx.insert("aws:SourceArn", ContextValue::Single(v.to_owned()));
        }
        if let Some(v) = req.header(SOURCE_ACCOUNT_HEADER) {
            ctx.insert("aws:SourceAccount", ContextValue::Single(v.to_owned()));
        }
    }
    if let Some(v) = f.get("RoleSessionName") {
        ctx.insert("sts:RoleSessionName", ContextValue::Single(v.clone()));
    }
    let decision = if role.trust.is_none() {
        Decision::ImplicitDeny
    } else {
        set.set().decide(&iam_sim::Request::new(
            &principal,
            "sts:AssumeRole",
            &role_arn,
            Some(&state.account),
            ctx,
        ))
    };
    if decision != Decision::Allow {
        let msg = if role.trust.is_none() {
            format!(
                "User: {principal} is not authorized to perform: sts:AssumeRole on resource: {role_arn} because the role does not exist"
            )
        } else {
            format!(
                "User: {principal} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            )
        };
        record(
            state,
            "sts:AssumeRole",
            &role_arn,
            &principal,
            decision,
            Some(format!("AccessDenied: {msg}")),
            None,
        );
        return denied(&msg, &req.rid);
    }
    record(
        state,
        "sts:AssumeRole",
        &role_arn,
        &principal,
        decision,
        None,
        None,
    );
    let (status, hdrs, out) = match forward(state, req.parts, req.body.clone()).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(state, Service::Sts, &e),
    };
    if status.is_success() {
        let text = String::from_utf8_lossy(&out);
        let kind = Kind::RoleSession {
            role_arn: role_arn.clone(),
            policy: session_policy,
        };
        if let (Some(arn), Some(akid)) = (xml_text(&text, "Arn"), xml_text(&text, "AccessKeyId"))
            && let Some(session) = credentials(&text, arn, kind)
        {
            state.remember(akid, session);
        }
    }
    rebuild(status, hdrs, out)
}

/// GetSessionToken: needs no permission; a role session may not call it. The session acts as
/// the user (or root) that asked for it.
async fn session_token(state: &State, req: &Incoming<'_>) -> Resp {
    let caller = &req.caller;
    if matches!(caller.kind, Kind::RoleSession { .. }) {
        let msg = "Cannot call GetSessionToken with session credentials";
        return denied(msg, &req.rid);
    }
    let (status, hdrs, out) = match forward(state, req.parts, req.body.clone()).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(state, Service::Sts, &e),
    };
    if status.is_success() {
        let text = String::from_utf8_lossy(&out);
        if let Some(akid) = xml_text(&text, "AccessKeyId")
            && let Some(session) = credentials(&text, &caller.arn, caller.kind.clone())
        {
            state.remember(akid, session);
        }
    }
    rebuild(status, hdrs, out)
}

/// The session in an STS answer's `Credentials`, acting as `arn` of `kind`.
fn credentials(text: &str, arn: &str, kind: Kind) -> Option<Caller> {
    Some(Caller {
        arn: arn.to_owned(),
        kind,
        secret: xml_text(text, "SecretAccessKey")?.to_owned(),
        token: Some(xml_text(text, "SessionToken")?.to_owned()),
        expires: xml_text(text, "Expiration").and_then(parse_expiration),
    })
}
