//! The endpoint: one HTTP server on loopback in front of LocalStack, through which every AWS
//! request is authenticated and decided with `iam-sim`, and every cluster's Kubernetes API is
//! served.
//!
//! One pipeline (`handle`): the signature is found (the `Authorization` header, or a SigV4 or
//! S3 SigV2 presigned query) and with it the service; an unknown access key is refused from the
//! request head; the body is read up to the service's limit; the caller is authenticated (its
//! session token, its expiry, the 15-minute clock skew, the signature); then the service's
//! handler runs, each giving only the accesses its request needs:
//!
//! - **S3** (`s3.rs`): the request mapped to its action, resources and keys ([`s3map`]), decided
//!   on the caller's policies, the bucket policy and (through the VPC endpoint listener) the
//!   endpoint policy, then forwarded. A missing key is 403 without `s3:ListBucket`, as on S3.
//! - **STS** (`sts.rs`): AssumeRole on the trust policy and the caller's policies (the root
//!   may not assume a role; only its credentials may name a service principal, as the demo's
//!   Fargate does with the `x-fargate-sim-*` headers); sessions remembered with their expiry.
//! - **IAM** (`iam.rs`): decided for callers other than the root (`iammap.rs`), then forwarded;
//!   access keys made through it are remembered; changes clear the policy caches.
//! - **EKS** (`eks.rs`): served from the control plane through `endpoint::eks`.
//! - Unsigned requests under `/k8s/CLUSTER` (`kube.rs`): the cluster's Kubernetes API through
//!   `endpoint::kube`.
//! - Any other service: refused in its protocol's error shape, or forwarded unenforced with
//!   `--passthrough`.

mod authorize;
pub mod caller;
mod eks;
pub mod errors;
mod iam;
mod iammap;
mod kube;
pub mod pods;
mod policies;
mod s3;
pub mod s3map;
pub mod sigv4;
mod sts;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use iam_sim::{CompiledPolicy, Decision};

use crate::gateway::caller::{Caller, Refusal, Service};
use crate::gateway::errors::{query_error, s3_error};
use s3_harness::client::{Clients, Creds};

/// Header naming a service principal that calls STS on a resource's behalf.
pub const PRINCIPAL_HEADER: &str = "x-fargate-sim-principal";
/// Header carrying `aws:SourceArn` for such a call.
pub const SOURCE_ARN_HEADER: &str = "x-fargate-sim-source-arn";
/// Header carrying `aws:SourceAccount` for such a call.
pub const SOURCE_ACCOUNT_HEADER: &str = "x-fargate-sim-source-account";

/// How many keys the gateway holds before it sweeps out expired sessions.
const SESSIONS_BEFORE_SWEEP: usize = 4096;
/// The most keys it holds; beyond, the sessions closest to expiring are forgotten (a session
/// costs about 1 KiB: this bounds the table near 50 MiB).
const MAX_KEYS: usize = 50_000;

/// Largest request body the gateway reads.
const MAX_BODY: usize = 64 << 20;
/// How many decisions the gateway remembers (for `decisions()`; the demo reads a few dozen).
pub const DECISION_LOG: usize = 4096;
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The largest request head read (headers of SigV4 requests are a few kilobytes).
const MAX_HEADER_BYTES: usize = 64 << 10;
/// How long LocalStack may take to answer one forwarded request.
const UPSTREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What happens in the gateway, as `up` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An authorization decision.
    Decided(Decided),
    /// LocalStack did not answer (the text names the service and the failure).
    Upstream(String),
}

/// What the gateway decided, for the demo's narration and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// `sts:AssumeRole`, `s3:GetObject`, …
    pub action: String,
    /// The resource ARN.
    pub resource: String,
    /// The caller.
    pub principal: String,
    /// The decision.
    pub decision: Decision,
    /// For a denial, the error message the caller got.
    pub message: Option<String>,
    /// The statement that decided (`POLICY:LINE:COL (Sid S)`, the policy named by its ARN or
    /// as `inline policy NAME of role R`, `bucket policy`), when someone was listening
    /// (`up`); `None` for an implicit deny and the root's allows.
    pub statement: Option<String>,
}

struct State {
    upstream: String,
    /// Forward unserved services unenforced (`up --passthrough`).
    passthrough: bool,
    account: String,
    region: String,
    clients: Clients,
    http: HttpClient<HttpConnector, Full<Bytes>>,
    /// Every access key the gateway knows (the root's, IAM users' made through it, sessions'),
    /// by access key id.
    callers: Mutex<HashMap<String, Arc<Caller>>>,
    roles: Mutex<HashMap<String, Arc<policies::RolePolicies>>>,
    users: Mutex<HashMap<String, Arc<policies::Named>>>,
    buckets: Mutex<HashMap<String, Option<Arc<CompiledPolicy>>>>,
    /// The latest decisions, at most `DECISION_LOG` (a long-running gateway must not keep
    /// every decision it ever made).
    log: Mutex<std::collections::VecDeque<Decided>>,
    requests: AtomicU64,
    vpc_endpoint: Option<VpcEndpoint>,
    /// Every decision and upstream failure, to whoever listens (`up` prints them).
    decided: tokio::sync::broadcast::Sender<Event>,
    /// The EKS control plane the gateway serves itself (LocalStack's free edition has no EKS).
    eks: Mutex<scheduler::ControlPlane>,
    /// Bumped whenever a cluster's Kubernetes objects change (watches and followed logs wait
    /// on it).
    kube_changed: tokio::sync::watch::Sender<u64>,
    /// The processes of pods' containers, by pod uid.
    processes: pods::Processes,
    /// The gateway's own URL (containers' `AWS_ENDPOINT_URL`).
    own_url: String,
    /// The VPC endpoint's listener, when there is one: containers reach S3 through it
    /// (`AWS_ENDPOINT_URL_S3`), as pods in the cluster's private subnets do.
    pod_s3_url: Option<String>,
    /// The account root's credentials (Fargate's AssumeRole for a pod is signed with them).
    root: Creds,
    /// Seconds a container's process may run at most.
    pod_limit: f64,
}

/// A running gateway; stops when dropped.
pub struct Gateway {
    endpoint: String,
    vpc_endpoint_url: Option<String>,
    state: Arc<State>,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Starts a gateway on a free loopback port in front of `upstream` (LocalStack). `root` are
    /// the account's own credentials (they act as the account root).
    ///
    /// # Errors
    /// The port could not be bound.
    pub async fn start(
        upstream: &str,
        region: &str,
        account: &str,
        root: Creds,
    ) -> std::io::Result<Self> {
        Self::start_with(upstream, region, account, root, None).await
    }

    /// [`Gateway::start`] with an S3 gateway VPC endpoint: a second loopback listener
    /// ([`Gateway::vpc_endpoint_url`]) through which S3 requests carry `aws:SourceVpce` and
    /// `aws:SourceVpc` and must also be allowed by the endpoint's policy — what requests from
    /// pods in the cluster's private subnets go through.
    ///
    /// # Errors
    /// A port could not be bound.
    pub async fn start_with(
        upstream: &str,
        region: &str,
        account: &str,
        root: Creds,
        vpc_endpoint: Option<VpcEndpoint>,
    ) -> std::io::Result<Self> {
        Self::start_on(
            upstream,
            region,
            account,
            root,
            vpc_endpoint,
            &Listen::default(),
        )
        .await
    }

    /// [`Gateway::start_with`] on the port and with the EKS timing of `listen`.
    ///
    /// # Errors
    /// A port could not be bound (taken, say).
    pub async fn start_on(
        upstream: &str,
        region: &str,
        account: &str,
        root: Creds,
        vpc_endpoint: Option<VpcEndpoint>,
        listen: &Listen,
    ) -> std::io::Result<Self> {
        let eks_delay = listen.eks_delay;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", listen.port)).await?;
        let addr = listener.local_addr()?;
        let via_listener = match &vpc_endpoint {
            Some(_) => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await?),
            None => None,
        };
        let via_addr = via_listener.as_ref().map(|l| l.local_addr()).transpose()?;
        let clients = Clients::new(upstream, region, &root).await;
        let http = HttpClient::builder(TokioExecutor::new()).build_http();
        let eks = control_plane(region, account, &format!("http://{addr}"), eks_delay);
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            passthrough: listen.passthrough,
            account: account.to_owned(),
            region: region.to_owned(),
            clients,
            http,
            callers: Mutex::new(HashMap::from([(
                root.access_key_id.clone(),
                Arc::new(Caller {
                    arn: format!("arn:aws:iam::{account}:root"),
                    kind: caller::Kind::Root,
                    secret: root.secret_access_key.clone(),
                    token: None,
                    expires: None,
                }),
            )])),
            roles: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            log: Mutex::new(std::collections::VecDeque::new()),
            requests: AtomicU64::new(0),
            vpc_endpoint,
            eks: Mutex::new(eks),
            decided: tokio::sync::broadcast::channel(1024).0,
            kube_changed: tokio::sync::watch::channel(0).0,
            processes: Mutex::new(HashMap::new()),
            own_url: format!("http://{addr}"),
            pod_s3_url: via_addr.map(|a| format!("http://{a}")),
            root: root.clone(),
            pod_limit: listen.pod_limit,
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        serve(listener, state.clone(), false, stopped.clone());
        if let Some(l) = via_listener {
            serve(l, state.clone(), true, stopped);
        }
        Ok(Self {
            endpoint: format!("http://{addr}"),
            vpc_endpoint_url: via_addr.map(|a| format!("http://{a}")),
            state,
            stop: Some(stop),
        })
    }

    /// The VPC endpoint, when the gateway has one.
    pub fn vpc_endpoint(&self) -> Option<&VpcEndpoint> {
        self.state.vpc_endpoint.as_ref()
    }

    /// The URL of the VPC endpoint's listener, when the gateway has one.
    pub fn vpc_endpoint_url(&self) -> Option<&str> {
        self.vpc_endpoint_url.as_deref()
    }

    /// The gateway's URL; point SDK clients here.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The decisions made so far, oldest first (the latest `DECISION_LOG` of them).
    pub fn decisions(&self) -> Vec<Decided> {
        self.state
            .log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every decision from now on, as it is made (a receiver that falls more than 1024
    /// decisions behind skips the oldest and is told how many).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.state.decided.subscribe()
    }

    /// Forgets cached policies (after changes made directly in LocalStack).
    pub fn invalidate(&self) {
        self.state.forget_identities();
        if let Ok(mut b) = self.state.buckets.lock() {
            b.clear();
        }
    }

    /// Requests handled so far.
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
    }
}

/// Where the gateway listens and how fast its EKS clusters and profiles change state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listen {
    /// The loopback port (0: any free port).
    pub port: u16,
    /// Seconds a cluster or Fargate profile stays CREATING or DELETING.
    pub eks_delay: f64,
    /// Forward the services the gateway does not serve to LocalStack, unenforced (they are
    /// refused otherwise).
    pub passthrough: bool,
    /// Seconds a pod's container process may run before it is stopped.
    pub pod_limit: f64,
}

/// How long a container's process may run by default (`up --pod-timeout`).
pub const DEFAULT_POD_LIMIT: f64 = 300.0;

impl Default for Listen {
    fn default() -> Self {
        Self {
            port: 0,
            eks_delay: 0.05,
            passthrough: false,
            pod_limit: DEFAULT_POD_LIMIT,
        }
    }
}

/// The CA certificate a cluster's kubeconfig carries. The Kubernetes API is served over plain
/// HTTP on loopback, so no TLS is made with it; it is there because kubeconfig writers (`aws
/// eks update-kubeconfig`) require `certificateAuthority.data`. It has no private key anywhere.
const CLUSTER_CA_PEM: &str = include_str!("cluster-ca.pem");

fn control_plane(region: &str, account: &str, api: &str, delay: f64) -> scheduler::ControlPlane {
    use base64::Engine as _;
    use scheduler::SeqIds;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut next = seed;
    let mut plane = scheduler::ControlPlane::new(
        region,
        account,
        scheduler::ApiServer {
            endpoint: api.to_owned(),
            certificate_authority: base64::engine::general_purpose::STANDARD.encode(CLUSTER_CA_PEM),
        },
        Box::new(SeqIds::new(seed)),
        Box::new(move || {
            next = next.wrapping_add(0x9e37_79b9);
            Box::new(SeqIds::new(next))
        }),
    );
    let delays = scheduler::Delays {
        create: delay,
        delete: delay,
    };
    plane.cluster_delays = delays;
    plane.profile_delays = delays;
    plane
}

/// An S3 gateway VPC endpoint in front of the cluster's subnets.
#[derive(Debug, Clone)]
pub struct VpcEndpoint {
    /// `vpce-…`, the value of `aws:SourceVpce`.
    pub id: String,
    /// `vpc-…`, the value of `aws:SourceVpc`.
    pub vpc: String,
    /// The endpoint policy (AWS's default allows everything).
    pub policy: CompiledPolicy,
}

/// Accepts connections on `listener` until `stopped` turns true; `via_endpoint` marks the
/// requests as coming through the VPC endpoint.
fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    via_endpoint: bool,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => break,
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let st = state.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| handle(st.clone(), peer, via_endpoint, req));
                        // A client that opens a connection and sends nothing (or a header a
                        // byte at a time) is dropped after HEADER_TIMEOUT.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(HEADER_TIMEOUT)
                            .max_buf_size(MAX_HEADER_BYTES)
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            }
        }
    });
}

type Resp = Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>;

fn respond(status: StatusCode, content_type: &str, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)).boxed());
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn request_id(state: &State) -> String {
    format!("FSIM{:012X}", state.requests.load(Ordering::Relaxed))
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    via_endpoint: bool,
    req: Request<hyper::body::Incoming>,
) -> Result<Resp, Infallible> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let rid = request_id(&state);
    let header_auth = headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .and_then(|(_, a)| sigv4::parse_auth(a));
    let signed = match header_auth {
        Some(a) => Signed::Header(a),
        None => match sigv4::presigned(parts.uri.query()) {
            Some(p) => Signed::Query(p),
            // An unsigned request under a cluster's API prefix is for its Kubernetes API
            // (served over plain HTTP on loopback, where kubectl sends no credentials).
            // Unsigned requests for the API server's own paths (`kubectl get --raw /api/v1`
            // drops the server URL's path) go to the cluster when there is only one.
            None if parts.uri.path().starts_with("/k8s/")
                || kube::is_api_server_path(parts.uri.path()) =>
            {
                return Ok(kube::serve(&state, &parts, body).await);
            }
            None => {
                return Ok(respond(
                    StatusCode::FORBIDDEN,
                    "application/xml",
                    s3_error(
                        "AccessDenied",
                        "Anonymous and unsigned requests are refused: sign the request with SigV4",
                        None,
                        &rid,
                    ),
                ));
            }
        },
    };
    let (service_name, region) = match &signed {
        Signed::Header(a) | Signed::Query(sigv4::Presigned::V4 { auth: a, .. }) => {
            (a.service.as_str(), a.region.clone())
        }
        Signed::Query(sigv4::Presigned::V2 { .. }) => ("s3", state.region.clone()),
    };
    let Some(service) = Service::parse(service_name) else {
        if state.passthrough {
            // `up --passthrough`: other services go to LocalStack as they are, unenforced.
            let body = match read_body(body, MAX_BODY).await {
                Ok(b) => b,
                Err(()) => return Ok(too_large(Service::S3, MAX_BODY, &rid)),
            };
            return Ok(match forward(&state, &parts, body).await {
                Ok((s, h, b)) => rebuild(s, h, b),
                Err(e) => bad_gateway(&state, Service::S3, &e),
            });
        }
        return Ok(not_served(service_name, &headers, &rid));
    };
    // Nobody without a known key gets a body read: an unknown key is refused from the head
    // alone, and each service reads at most what its requests can be.
    let access_key_id = match &signed {
        Signed::Header(a) => a.access_key_id.as_str(),
        Signed::Query(p) => p.access_key_id(),
    };
    let Some(caller) = state
        .callers
        .lock()
        .ok()
        .and_then(|c| c.get(access_key_id).cloned())
    else {
        return Ok(service.refuse(&Refusal::UnknownKey, &rid));
    };
    let limit = service.max_body();
    let announced = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Ok(too_large(service, limit, &rid));
    }
    let body = match read_body(body, limit).await {
        Ok(b) => b,
        Err(()) => return Ok(too_large(service, limit, &rid)),
    };
    if let Err(why) = authenticate(&caller, service, &parts, &headers, &body, &signed) {
        return Ok(service.refuse(&why, &rid));
    }
    let req = Incoming {
        parts: &parts,
        headers: &headers,
        body,
        peer,
        via_endpoint,
        region: &region,
        rid,
        caller,
    };
    let resp = match service {
        Service::S3 => s3::serve(&state, req).await,
        Service::Sts => sts::serve(&state, req).await,
        Service::Iam => iam::serve(&state, req).await,
        Service::Eks => eks::serve(&state, req).await,
    };
    Ok(resp)
}

/// A request that passed authentication, as every service's handler gets it.
pub(crate) struct Incoming<'a> {
    parts: &'a hyper::http::request::Parts,
    headers: &'a [(String, String)],
    body: Bytes,
    peer: SocketAddr,
    via_endpoint: bool,
    /// The region of the credential scope.
    region: &'a str,
    rid: String,
    caller: Arc<Caller>,
}

impl Incoming<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a request body of at most `limit` bytes (a longer one is refused when the limit is
/// reached; one whose `Content-Length` is over the limit is refused before it is read).
async fn read_body(body: hyper::body::Incoming, limit: usize) -> Result<Bytes, ()> {
    Limited::new(body, limit)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|_| ())
}

/// A body over the service's limit, in the service's words: S3's `EntityTooLarge` (400, as S3
/// answers an upload over its limit), or 413 `RequestEntityTooLarge`.
fn too_large(service: Service, limit: usize, rid: &str) -> Resp {
    match service {
        Service::S3 => service.error(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            &format!(
                "Your proposed upload exceeds the maximum allowed size: fargate-sim reads at most {} MiB per request (S3 itself takes 5 GiB in one PUT; use multipart uploads)",
                limit >> 20
            ),
            rid,
        ),
        _ => service.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!(
                "The request body is larger than the {} KiB a {} request can be here.",
                limit >> 10,
                service.name().to_ascii_uppercase()
            ),
            rid,
        ),
    }
}

/// How a request is signed.
enum Signed {
    /// In the `Authorization` header.
    Header(sigv4::AuthHeader),
    /// In the query: a presigned URL.
    Query(sigv4::Presigned),
}

/// Step one of every request, for the key's `caller` (an unknown key was refused before the
/// body was read): the session's token is the one it was given, the session has not expired, the request's time is within 15 minutes (a presigned
/// URL: before its expiry), and the signature is right (S3's rules, or every other service's
/// over the body).
fn authenticate(
    caller: &Caller,
    service: Service,
    parts: &hyper::http::request::Parts,
    headers: &[(String, String)],
    body: &Bytes,
    signed: &Signed,
) -> Result<(), Refusal> {
    let token = match signed {
        Signed::Header(_) => headers
            .iter()
            .find(|(k, _)| k == "x-amz-security-token")
            .map(|(_, v)| v.as_str()),
        Signed::Query(p) => p.token(),
    };
    caller.admit(token, now_secs())?;
    match signed {
        Signed::Header(auth) => {
            sigv4::check_time(headers, std::time::SystemTime::now()).map_err(Refusal::Signature)?;
            let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let payload = match service {
                Service::S3 => sigv4::Payload::S3Header,
                _ => sigv4::Payload::Body(body),
            };
            sigv4::verify(
                parts.method.as_str(),
                pq,
                headers,
                auth,
                &caller.secret,
                caller.token.as_deref(),
                payload,
            )
            .map_err(Refusal::Signature)?;
        }
        Signed::Query(p) => {
            sigv4::verify_presigned(
                parts.method.as_str(),
                parts.uri.path(),
                parts.uri.query().unwrap_or(""),
                headers,
                p,
                &caller.secret,
            )
            .map_err(Refusal::Signature)?;
            let now = now_secs() as u64;
            if p.expires_at().is_none_or(|at| now >= at) {
                return Err(Refusal::PresignExpired);
            }
        }
    }
    Ok(())
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl State {
    /// Forgets every cached role and user policy (after an IAM change).
    fn forget_identities(&self) {
        if let Ok(mut r) = self.roles.lock() {
            r.clear();
        }
        if let Ok(mut u) = self.users.lock() {
            u.clear();
        }
    }

    /// Remembers an access key. Sessions past their expiry are forgotten once the table
    /// holds [`SESSIONS_BEFORE_SWEEP`] keys, and beyond [`MAX_KEYS`] the sessions closest to
    /// expiring go first: a long-running endpoint's memory stays bounded however many roles
    /// are assumed.
    fn remember(&self, access_key_id: &str, caller: Caller) {
        if let Ok(mut c) = self.callers.lock() {
            // A sweep every 1024 keys past the threshold keeps inserts cheap on average.
            if c.len() >= SESSIONS_BEFORE_SWEEP && c.len() % 1024 == 0 {
                let now = now_secs();
                c.retain(|_, k| k.expires.is_none_or(|e| e > now));
            }
            while c.len() >= MAX_KEYS {
                let Some(oldest) = c
                    .iter()
                    .filter_map(|(id, k)| k.expires.map(|e| (e, id.clone())))
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, id)| id)
                else {
                    break;
                };
                c.remove(&oldest);
            }
            c.insert(access_key_id.to_owned(), Arc::new(caller));
        }
    }
}

/// The services the gateway serves, for the refusal of any other.
pub const SERVED: &str = "s3, sts, iam and eks";

/// A service the gateway does not serve: refused (never passed through unenforced), in the
/// error shape of the client's protocol so that the CLI and SDKs print the message — EC2's
/// XML, the query protocol's XML, or JSON with `x-amzn-ErrorType` (both JSON protocols).
fn not_served(service: &str, headers: &[(String, String)], rid: &str) -> Resp {
    let message = format!(
        "fargate-sim serves {SERVED}; the `{service}` service is not served here, so the request was refused"
    );
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map_or("", |(_, v)| v.as_str());
    let code = "NotImplemented";
    if service == "ec2" {
        return respond(
            StatusCode::NOT_IMPLEMENTED,
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>",
                errors::xml_escape(&message)
            ),
        );
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return respond(
            StatusCode::NOT_IMPLEMENTED,
            "text/xml",
            query_error(service, false, code, &message, rid),
        );
    }
    json_answer(
        StatusCode::NOT_IMPLEMENTED,
        Some(code),
        serde_json::json!({ "__type": code, "message": message }).to_string(),
        rid,
    )
}

/// A JSON answer as AWS's JSON protocols send it: the error type (if any) in
/// `x-amzn-ErrorType`, the request id in `x-amzn-RequestId`.
fn json_answer(status: StatusCode, error_type: Option<&str>, body: String, rid: &str) -> Resp {
    let mut resp = respond(status, "application/json", body);
    if let Some(v) = error_type.and_then(|t| t.parse().ok()) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    if let Ok(v) = rid.parse() {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// A query-protocol body (STS, IAM) as its parameters.
fn form(body: &[u8]) -> HashMap<String, String> {
    endpoint::query_pairs(Some(&String::from_utf8_lossy(body)))
        .into_iter()
        .collect()
}

async fn forward(
    state: &State,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<(StatusCode, hyper::HeaderMap, Bytes), String> {
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: hyper::Uri = format!("{}{pq}", state.upstream)
        .parse()
        .map_err(|e| format!("bad upstream URI: {e}"))?;
    let mut req = Request::builder().method(parts.method.clone()).uri(uri);
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST {
            req = req.header(k, v);
        }
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let exchange = async {
        let resp = state
            .http
            .request(req)
            .await
            .map_err(|e| format!("LocalStack did not answer: {e}"))?;
        let (p, b) = resp.into_parts();
        let bytes = Limited::new(b, MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("LocalStack's answer could not be read: {e}"))?
            .to_bytes();
        Ok((p.status, p.headers, bytes))
    };
    tokio::time::timeout(UPSTREAM_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "LocalStack did not answer within {} s",
                UPSTREAM_TIMEOUT.as_secs()
            ))
        })
}

/// LocalStack's answer, passed on. The body's length is the body's, except for an answer
/// without a body (HEAD), which keeps the length of what a GET would return, as S3 sends it.
fn rebuild(status: StatusCode, headers: hyper::HeaderMap, body: Bytes) -> Resp {
    let keep_length = body.is_empty();
    let mut r = Response::new(Full::new(body).boxed());
    *r.status_mut() = status;
    for (k, v) in &headers {
        if k == hyper::header::TRANSFER_ENCODING
            || (k == hyper::header::CONTENT_LENGTH && !keep_length)
        {
            continue;
        }
        r.headers_mut().append(k, v.clone());
    }
    r
}

/// LocalStack could not be reached for a request the gateway allowed (or for the policies
/// it decides with): 503 `ServiceUnavailable` in the service's own error shape, so that SDKs
/// and the CLI show the message (they retry 503s, with back-off, a bounded number of times);
/// listeners are told too.
fn bad_gateway(state: &State, service: Service, e: &str) -> Resp {
    let message = format!("fargate-sim could not get an answer from LocalStack: {e}");
    if state.decided.receiver_count() > 0 {
        let _ = state
            .decided
            .send(Event::Upstream(format!("{}: {message}", service.name())));
    }
    let code = if service == Service::Eks {
        "ServiceUnavailableException"
    } else {
        "ServiceUnavailable"
    };
    service.error(
        StatusCode::SERVICE_UNAVAILABLE,
        code,
        &message,
        &request_id(state),
    )
}

fn record(
    state: &State,
    action: &str,
    resource: &str,
    principal: &str,
    decision: Decision,
    message: Option<String>,
    statement: Option<String>,
) {
    let decided = Decided {
        action: action.to_owned(),
        resource: resource.to_owned(),
        principal: principal.to_owned(),
        decision,
        message,
        statement,
    };
    if state.decided.receiver_count() > 0 {
        let _ = state.decided.send(Event::Decided(decided.clone()));
    }
    if let Ok(mut l) = state.log.lock() {
        if l.len() >= DECISION_LOG {
            l.pop_front();
        }
        l.push_back(decided);
    }
}
