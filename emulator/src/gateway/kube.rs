//! The Kubernetes API of each cluster, at `/k8s/CLUSTER` on the endpoint: the request read with
//! a bound and handed to `endpoint::kube` over the cluster's objects in the control plane.

use bytes::Bytes;
use hyper::StatusCode;

use super::{Resp, State, now_secs, read_body, respond};

fn answer(r: endpoint::kube::Response) -> Resp {
    respond(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        r.content_type,
        r.body,
    )
}

pub(super) async fn serve(
    state: &State,
    parts: &hyper::http::request::Parts,
    body: hyper::body::Incoming,
) -> Resp {
    let rest = parts.uri.path().trim_start_matches("/k8s/");
    let (cluster, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let too_large = || {
        answer(endpoint::kube::status(
            413,
            "RequestEntityTooLarge",
            &format!(
                "the request body is larger than the {} MiB this API server reads",
                endpoint::kube::MAX_BODY >> 20
            ),
            None,
        ))
    };
    let announced = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > endpoint::kube::MAX_BODY as u64) {
        return too_large();
    }
    let body: Bytes = match read_body(body, endpoint::kube::MAX_BODY).await {
        Ok(b) => b,
        Err(()) => return too_large(),
    };
    let header = |name: hyper::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let accept = header(hyper::header::ACCEPT);
    let content_type = header(hyper::header::CONTENT_TYPE);
    let request = endpoint::kube::Request {
        method: parts.method.as_str(),
        path,
        query: parts.uri.query(),
        accept: accept.as_deref(),
        content_type: content_type.as_deref(),
        body: &body,
    };
    let now = now_secs();
    let Ok(mut plane) = state.eks.lock() else {
        return answer(endpoint::kube::status(
            500,
            "InternalError",
            "the cluster state is unusable",
            None,
        ));
    };
    match plane.kube(cluster, now) {
        Ok(kube) => answer(endpoint::kube::handle(kube, &request, now)),
        Err(_) => answer(endpoint::kube::status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(serde_json::json!({})),
        )),
    }
}
