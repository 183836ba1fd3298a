//! EKS, served by the gateway over its control plane through the REST-JSON adapter
//! (`endpoint::eks`): for callers other than the account root, each access the call needs (the
//! EKS action, then `iam:PassRole` on a role handed to EKS) is decided by `iam-sim` first.

use hyper::StatusCode;

use super::authorize;
use super::caller::Service;
use super::{Incoming, Resp, State, bad_gateway, json_answer, now_secs, policies};

/// An EKS answer as HTTP: JSON, with `x-amzn-ErrorType` for errors.
fn answer(r: endpoint::eks::Response, rid: &str) -> Resp {
    json_answer(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        r.error_type,
        r.body,
        rid,
    )
}

pub(super) async fn serve(state: &State, req: Incoming<'_>) -> Resp {
    let rid = &req.rid;
    let request = endpoint::eks::Request {
        method: req.parts.method.as_str(),
        path: req.parts.uri.path(),
        query: req.parts.uri.query(),
        body: &req.body,
    };
    let call = match endpoint::eks::parse(&request) {
        Ok(c) => c,
        Err(r) => return answer(r, rid),
    };
    let unusable = || {
        Service::Eks.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "the EKS state is unusable",
            rid,
        )
    };
    let accesses = match state.eks.lock() {
        Ok(plane) => call.accesses(&plane),
        Err(_) => return unusable(),
    };
    if let Err(refused) = authorize::require(state, &req, Service::Eks, &accesses).await {
        return refused;
    }
    let mut roles = scheduler::InMemoryRoles::default();
    if let Some(role) = call.role_to_check() {
        match policies::trust_document(state, role).await {
            Ok(Some(doc)) => {
                roles.0.insert(role.to_owned(), doc);
            }
            Ok(None) => {}
            Err(e) => return bad_gateway(state, Service::Eks, &e),
        }
    }
    let result = match state.eks.lock() {
        Ok(mut plane) => call.run(&mut plane, &roles, now_secs()),
        Err(_) => return unusable(),
    };
    answer(result, rid)
}
