//! IAM: the account root's calls are forwarded; any other caller's call is decided by
//! `iam-sim` on its action and resource ([`iammap`]) first. Changes clear the policy caches;
//! access keys made through the gateway are remembered (their secret is only ever in
//! CreateAccessKey's answer), and forgotten when deleted.

use super::authorize;
use super::caller::{Caller, Kind, Service};
use super::errors::xml_text;
use super::{Incoming, Resp, State, bad_gateway, form, forward, iammap, rebuild};

pub(super) async fn serve(state: &State, req: Incoming<'_>) -> Resp {
    let f = form(&req.body);
    let action = f.get("Action").cloned().unwrap_or_default();
    let caller = &req.caller;
    let own_user = match &caller.kind {
        Kind::User { .. } => Some(caller.arn.as_str()),
        _ => None,
    };
    let access = iammap::map(&f, &state.account, own_user);
    if let Err(refused) = authorize::require(state, &req, Service::Iam, &[access]).await {
        return refused;
    }
    let (status, hdrs, out) = match forward(state, req.parts, req.body.clone()).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(state, Service::Iam, &e),
    };
    let read_only = action.starts_with("Get") || action.starts_with("List");
    if !read_only {
        state.forget_identities();
    }
    if status.is_success() {
        let text = String::from_utf8_lossy(&out);
        match action.as_str() {
            "CreateAccessKey" => remember_key(state, &text, caller).await,
            "DeleteAccessKey" => {
                if let (Some(id), Ok(mut c)) = (f.get("AccessKeyId"), state.callers.lock()) {
                    c.remove(id);
                }
            }
            "DeleteUser" => {
                if let (Some(name), Ok(mut c)) = (f.get("UserName"), state.callers.lock()) {
                    c.retain(|_, k| !matches!(&k.kind, Kind::User { name: n } if n == name));
                }
            }
            _ => {}
        }
    }
    rebuild(status, hdrs, out)
}

/// Remembers a key CreateAccessKey answered with, as its user (the ARN as IAM holds it, path
/// included).
async fn remember_key(state: &State, text: &str, caller: &Caller) {
    let (Some(akid), Some(secret), Some(name)) = (
        xml_text(text, "AccessKeyId"),
        xml_text(text, "SecretAccessKey"),
        xml_text(text, "UserName"),
    ) else {
        return;
    };
    let arn = match state.clients.iam.get_user().user_name(name).send().await {
        Ok(out) => out
            .user()
            .map(|u| u.arn().to_owned())
            .unwrap_or_else(|| format!("arn:aws:iam::{}:user/{name}", state.account)),
        Err(_) => format!("arn:aws:iam::{}:user/{name}", state.account),
    };
    // LocalStack answers the root's CreateAccessKey without a user name with the root's own
    // key; only IAM users' keys are remembered.
    if arn.ends_with(":root") || (caller.is_root() && name.is_empty()) {
        return;
    }
    state.remember(
        akid,
        Caller {
            arn,
            kind: Kind::User {
                name: name.to_owned(),
            },
            secret: secret.to_owned(),
            token: None,
            expires: None,
        },
    );
}
