//! The Kubernetes API of each cluster, at `/k8s/CLUSTER` on the endpoint: the request read with
//! a bound and handed to `endpoint::kube` over the cluster's objects in the control plane;
//! the effects it queues (containers to run or stop) go to the pod runner; watches and
//! followed logs are streamed, advanced whenever the cluster changes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use endpoint::kube::{Answer, Step};
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::Frame;

use super::{Resp, State, now_secs, read_body, respond};

/// How long a watch with no `timeoutSeconds` lasts (the API server's default is 30 to 60
/// minutes).
const WATCH_LIMIT: f64 = 1800.0;
/// How often a stream looks at the cluster when nothing has signalled a change (a timeout's
/// end, say).
const STREAM_TICK: Duration = Duration::from_millis(500);

fn answer(r: endpoint::kube::Response) -> Resp {
    let mut resp = respond(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        r.content_type,
        r.body,
    );
    for w in &r.warnings {
        let quoted = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = format!("299 - \"{quoted}\"").parse() {
            resp.headers_mut().append(hyper::header::WARNING, v);
        }
    }
    resp
}

pub(super) async fn serve(
    state: &Arc<State>,
    parts: &hyper::http::request::Parts,
    body: hyper::body::Incoming,
) -> Resp {
    let (cluster, path) = match parts.uri.path().strip_prefix("/k8s/") {
        Some(rest) => match rest.find('/') {
            Some(i) => (rest[..i].to_owned(), &rest[i..]),
            None => (rest.to_owned(), "/"),
        },
        None => {
            let clusters = match state.eks.lock() {
                Ok(mut plane) => plane.list_clusters(now_secs()),
                Err(_) => Vec::new(),
            };
            match <[String; 1]>::try_from(clusters) {
                Ok([only]) => (only, parts.uri.path()),
                Err(all) => {
                    return answer(endpoint::kube::status(
                        404,
                        "NotFound",
                        &format!(
                            "this endpoint serves {} clusters: address a cluster's API as /k8s/CLUSTER{}",
                            all.len(),
                            parts.uri.path()
                        ),
                        None,
                    ));
                }
            }
        }
    };
    let cluster = cluster.as_str();
    let too_large = || {
        answer(endpoint::kube::status(
            413,
            "RequestEntityTooLarge",
            // The API server's words (its body reader's limit, 3 MiB).
            &format!(
                "Request entity too large: limit is {}",
                endpoint::kube::MAX_BODY
            ),
            None,
        ))
    };
    let announced = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > endpoint::kube::MAX_BODY as u64) {
        // Read what the client is sending (bounded) before answering, so that it is still
        // reading when the answer comes and shows it, not a broken pipe.
        drain(body, DRAIN_LIMIT, DRAIN_TIME).await;
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
    let (result, effects) = {
        let Ok(mut plane) = state.eks.lock() else {
            return answer(endpoint::kube::status(
                500,
                "InternalError",
                "the cluster state is unusable",
                None,
            ));
        };
        match plane.kube(cluster, now) {
            Ok((kube, fargate)) => {
                let a = endpoint::kube::handle(kube, fargate, &request, now);
                (a, kube.take_effects())
            }
            Err(_) => (
                Answer::Done(endpoint::kube::not_found_response()),
                Vec::new(),
            ),
        }
    };
    if parts.method != hyper::Method::GET {
        state.kube_changed.send_modify(|v| *v += 1);
    }
    super::pods::dispatch(state, cluster, effects);
    match result {
        Answer::Done(r) => answer(r),
        Answer::Watch(mut w) => {
            if w.until.is_none() {
                w.until = Some(now + WATCH_LIMIT);
            }
            stream(state, cluster, "application/json", move |kube, now| {
                w.next(kube, now)
            })
        }
        Answer::Log(mut f) => stream(state, cluster, "text/plain", move |kube, _| f.next(kube)),
    }
}

/// The most of a refused body read and dropped before the refusal is sent, and for how long.
const DRAIN_LIMIT: usize = 64 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads and drops a body, at most `limit` bytes and `time`.
async fn drain(mut body: hyper::body::Incoming, limit: usize, time: std::time::Duration) {
    use http_body_util::BodyExt as _;
    let read = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, Bytes::len);
            if seen > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(time, read).await;
}

/// Whether `path` is one of the API server's own (`/api`, `/apis`, `/version`, `/openapi`,
/// the health checks), which clients address without the server URL's path prefix.
pub(super) fn is_api_server_path(path: &str) -> bool {
    [
        "/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz",
    ]
    .iter()
    .any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A streamed answer: `step` is asked for more whenever the cluster changes (and every
/// `STREAM_TICK`), until it ends, the cluster goes, or the client hangs up.
fn stream(
    state: &Arc<State>,
    cluster: &str,
    content_type: &str,
    mut step: impl FnMut(&scheduler::kube::Kube, f64) -> Step + Send + 'static,
) -> Resp {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(16);
    let state = state.clone();
    let cluster = cluster.to_owned();
    let mut changed = state.kube_changed.subscribe();
    tokio::spawn(async move {
        loop {
            let next = {
                let Ok(mut plane) = state.eks.lock() else {
                    break;
                };
                match plane.kube_any(&cluster) {
                    Some((kube, _)) => step(kube, now_secs()),
                    None => Step::End(String::new()),
                }
            };
            let (text, end) = match next {
                Step::More(t) => (t, false),
                Step::Idle => (String::new(), false),
                Step::End(t) => (t, true),
            };
            if !text.is_empty() && tx.send(Ok(Frame::data(Bytes::from(text)))).await.is_err() {
                break;
            }
            if end {
                break;
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { break },
                () = tokio::time::sleep(STREAM_TICK) => {},
                () = tx.closed() => break,
            }
        }
    });
    let body = http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut r = hyper::Response::new(body.boxed());
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}
