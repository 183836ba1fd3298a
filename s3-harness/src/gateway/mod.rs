//! The IAM gateway: a small HTTP server on loopback in front of LocalStack that decides STS
//! AssumeRole and every S3 request with `iam-sim`, and forwards only what is allowed.
//!
//! - **STS**: `AssumeRole` is decided on the role's trust policy (caller, `aws:SourceArn`,
//!   `aws:SourceAccount`); allowed calls go to LocalStack and the session is remembered
//!   (access key → role, secret, session policy). A service calling on a resource's behalf
//!   (Fargate) names itself with the `x-fargate-sim-principal`, `x-fargate-sim-source-arn` and
//!   `x-fargate-sim-source-account` headers.
//! - **S3**: the SigV4 signature is verified against the secret of the access key; the request
//!   is mapped to its IAM action and resource ([`s3map`]); the role's identity policies, the
//!   bucket policy and the session policy are evaluated; the answer is LocalStack's, or S3's
//!   own `AccessDenied` document. A missing key is 403 without `s3:ListBucket`, as on S3.
//! - **IAM**: only the account's own credentials may call it; mutating calls clear the cache.
//!
//! Policies are read from LocalStack once and cached; changes made through the gateway clear
//! the affected entries.

pub mod errors;
pub mod s3map;
pub mod sigv4;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use iam_sim::{CompiledPolicy, Context, ContextValue, Decision, PolicySet};

use crate::client::{Clients, Creds, decode_policy_document};
use crate::gateway::errors::{access_denied_message, query_error, s3_error, sts_error, xml_text};

/// Header naming a service principal that calls STS on a resource's behalf.
pub const PRINCIPAL_HEADER: &str = "x-fargate-sim-principal";
/// Header carrying `aws:SourceArn` for such a call.
pub const SOURCE_ARN_HEADER: &str = "x-fargate-sim-source-arn";
/// Header carrying `aws:SourceAccount` for such a call.
pub const SOURCE_ACCOUNT_HEADER: &str = "x-fargate-sim-source-account";

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

#[derive(Debug, Clone)]
struct Session {
    arn: String,
    role_arn: String,
    secret: String,
    token: String,
    policy: Option<Arc<CompiledPolicy>>,
}

#[derive(Debug)]
struct RolePolicies {
    trust: Option<CompiledPolicy>,
    identity: Vec<CompiledPolicy>,
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
}

struct State {
    upstream: String,
    account: String,
    root: Creds,
    clients: Clients,
    http: HttpClient<HttpConnector, Full<Bytes>>,
    sessions: Mutex<HashMap<String, Session>>,
    roles: Mutex<HashMap<String, Arc<RolePolicies>>>,
    buckets: Mutex<HashMap<String, Option<Arc<CompiledPolicy>>>>,
    /// The latest decisions, at most `DECISION_LOG` (a long-running gateway must not keep
    /// every decision it ever made).
    log: Mutex<std::collections::VecDeque<Decided>>,
    requests: AtomicU64,
    vpc_endpoint: Option<VpcEndpoint>,
    /// Every decision, to whoever listens (`up` prints them).
    decided: tokio::sync::broadcast::Sender<Decided>,
    /// The EKS control plane the gateway serves itself (LocalStack's free edition has no EKS).
    eks: Mutex<scheduler::ControlPlane>,
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
            account: account.to_owned(),
            root,
            clients,
            http,
            sessions: Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            log: Mutex::new(std::collections::VecDeque::new()),
            requests: AtomicU64::new(0),
            vpc_endpoint,
            eks: Mutex::new(eks),
            decided: tokio::sync::broadcast::channel(1024).0,
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
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Decided> {
        self.state.decided.subscribe()
    }

    /// Forgets cached policies (after changes made directly in LocalStack).
    pub fn invalidate(&self) {
        if let Ok(mut r) = self.state.roles.lock() {
            r.clear();
        }
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
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            port: 0,
            eks_delay: 0.05,
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

type Resp = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &str, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
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
    req: Request<Incoming>,
) -> Result<Resp, Infallible> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(respond(
                StatusCode::PAYLOAD_TOO_LARGE,
                "application/xml",
                s3_error(
                    "EntityTooLarge",
                    "the request body is too large for the gateway",
                    None,
                    &request_id(&state),
                ),
            ));
        }
    };
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
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let auth = header("authorization").and_then(|a| sigv4::parse_auth(&a));
    let Some(auth) = auth else {
        return Ok(respond(
            StatusCode::FORBIDDEN,
            "application/xml",
            s3_error(
                "AccessDenied",
                "Anonymous and unsigned requests are refused: sign the request with SigV4",
                None,
                &request_id(&state),
            ),
        ));
    };
    let resp = match auth.service.as_str() {
        "sts" => handle_sts(&state, &parts, &headers, &body, &auth).await,
        "iam" => handle_iam(&state, &parts, &body, &auth).await,
        "s3" => handle_s3(&state, peer, via_endpoint, &parts, &headers, body, &auth).await,
        "eks" => handle_eks(&state, peer, &parts, &headers, &body, &auth).await,
        other => not_served(other, &headers, &request_id(&state)),
    };
    Ok(resp)
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
    let mut resp = respond(
        StatusCode::NOT_IMPLEMENTED,
        "application/json",
        serde_json::json!({ "__type": code, "message": message }).to_string(),
    );
    if let Ok(v) = code.parse() {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

fn form(body: &[u8]) -> HashMap<String, String> {
    s3map::query_map(Some(&String::from_utf8_lossy(body)))
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

fn rebuild(status: StatusCode, headers: hyper::HeaderMap, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    for (k, v) in &headers {
        if k != hyper::header::TRANSFER_ENCODING && k != hyper::header::CONTENT_LENGTH {
            r.headers_mut().append(k, v.clone());
        }
    }
    r
}

/// LocalStack could not be reached for a request the gateway allowed: S3's `InternalError`
/// (502), or for IAM and STS a query-protocol `ServiceUnavailable` (503, the service's fault),
/// in the service's own error shape so that SDKs and the CLI show the message.
fn bad_gateway(state: &State, service: &str, e: &str) -> Resp {
    let message = format!("the IAM gateway could not get an answer from LocalStack: {e}");
    match service {
        "eks" => eks_error(503, "ServerException", &message, &request_id(state)),
        "iam" | "sts" => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/xml",
            query_error(
                service,
                false,
                "ServiceUnavailable",
                &message,
                &request_id(state),
            ),
        ),
        _ => respond(
            StatusCode::BAD_GATEWAY,
            "application/xml",
            s3_error("InternalError", &message, None, &request_id(state)),
        ),
    }
}

fn record(
    state: &State,
    action: &str,
    resource: &str,
    principal: &str,
    decision: Decision,
    message: Option<String>,
) {
    let decided = Decided {
        action: action.to_owned(),
        resource: resource.to_owned(),
        principal: principal.to_owned(),
        decision,
        message,
    };
    if state.decided.receiver_count() > 0 {
        let _ = state.decided.send(decided.clone());
    }
    if let Ok(mut l) = state.log.lock() {
        if l.len() >= DECISION_LOG {
            l.pop_front();
        }
        l.push_back(decided);
    }
}

async fn role_policies(state: &State, role_name: &str) -> Result<Arc<RolePolicies>, String> {
    if let Some(p) = state
        .roles
        .lock()
        .ok()
        .and_then(|r| r.get(role_name).cloned())
    {
        return Ok(p);
    }
    let iam = &state.clients.iam;
    let parse = |what: String, doc: &str| {
        CompiledPolicy::parse(&decode_policy_document(doc))
            .map_err(|e| format!("{what}: {}", e.diagnostic.message))
    };
    let role = iam.get_role().role_name(role_name).send().await;
    let trust = match role {
        Ok(r) => match r.role().and_then(|r| r.assume_role_policy_document()) {
            Some(doc) => Some(parse(format!("trust policy of {role_name}"), doc)?),
            None => None,
        },
        Err(_) => None,
    };
    let mut identity = Vec::new();
    if trust.is_some() {
        let attached = iam
            .list_attached_role_policies()
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| format!("ListAttachedRolePolicies: {e}"))?;
        for p in attached.attached_policies() {
            let Some(arn) = p.policy_arn() else { continue };
            let pol = iam
                .get_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| format!("GetPolicy {arn}: {e}"))?;
            let Some(version) = pol.policy().and_then(|p| p.default_version_id()) else {
                continue;
            };
            let v = iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| format!("GetPolicyVersion {arn}: {e}"))?;
            if let Some(doc) = v.policy_version().and_then(|v| v.document()) {
                identity.push(parse(arn.to_owned(), doc)?);
            }
        }
        let inline = iam
            .list_role_policies()
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| format!("ListRolePolicies: {e}"))?;
        for name in inline.policy_names() {
            let p = iam
                .get_role_policy()
                .role_name(role_name)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| format!("GetRolePolicy {name}: {e}"))?;
            identity.push(parse(format!("inline policy {name}"), p.policy_document())?);
        }
    }
    let loaded = Arc::new(RolePolicies { trust, identity });
    if let Ok(mut r) = state.roles.lock() {
        r.insert(role_name.to_owned(), loaded.clone());
    }
    Ok(loaded)
}

async fn bucket_policy(state: &State, bucket: &str) -> Result<Option<Arc<CompiledPolicy>>, String> {
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

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn caller_of(state: &State, akid: &str) -> Option<(String, Option<Session>)> {
    if akid == state.root.access_key_id {
        return Some((format!("arn:aws:iam::{}:root", state.account), None));
    }
    let s = state.sessions.lock().ok()?.get(akid).cloned()?;
    Some((s.arn.clone(), Some(s)))
}

async fn handle_sts(
    state: &State,
    parts: &hyper::http::request::Parts,
    headers: &[(String, String)],
    body: &Bytes,
    auth: &sigv4::AuthHeader,
) -> Resp {
    let f = form(body);
    let action = f.get("Action").cloned().unwrap_or_default();
    if action != "AssumeRole" {
        return match forward(state, parts, body.clone()).await {
            Ok((s, h, b)) => rebuild(s, h, b),
            Err(e) => bad_gateway(state, "sts", &e),
        };
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let role_arn = f.get("RoleArn").cloned().unwrap_or_default();
    let service = header(PRINCIPAL_HEADER);
    let principal = match &service {
        Some(s) => s.clone(),
        None => match caller_of(state, &auth.access_key_id) {
            Some((arn, _)) => arn,
            None => {
                return respond(
                    StatusCode::FORBIDDEN,
                    "text/xml",
                    sts_error(
                        "InvalidClientTokenId",
                        "The security token included in the request is invalid.",
                        &request_id(state),
                    ),
                );
            }
        },
    };
    let policies = match role_policies(state, role_name(&role_arn)).await {
        Ok(p) => p,
        Err(e) => return bad_gateway(state, "sts", &e),
    };
    let mut ctx = Context::new();
    if let Some(v) = header(SOURCE_ARN_HEADER) {
        ctx.insert("aws:SourceArn", ContextValue::Single(v));
    }
    if let Some(v) = header(SOURCE_ACCOUNT_HEADER) {
        ctx.insert("aws:SourceAccount", ContextValue::Single(v));
    }
    if let Some(v) = f.get("RoleSessionName") {
        ctx.insert("sts:RoleSessionName", ContextValue::Single(v.clone()));
    }
    let decision = match &policies.trust {
        None => Decision::ImplicitDeny,
        Some(trust) => {
            let set = PolicySet {
                trust: Some(trust.clone()),
                ..PolicySet::default()
            };
            set.decide(&iam_sim::Request::new(
                &principal,
                "sts:AssumeRole",
                &role_arn,
                None,
                ctx,
            ))
        }
    };
    if decision != Decision::Allow {
        let msg = if policies.trust.is_none() {
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
        );
        return respond(
            StatusCode::FORBIDDEN,
            "text/xml",
            sts_error("AccessDenied", &msg, &request_id(state)),
        );
    }
    record(
        state,
        "sts:AssumeRole",
        &role_arn,
        &principal,
        decision,
        None,
    );
    let (status, hdrs, out) = match forward(state, parts, body.clone()).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(state, "sts", &e),
    };
    if status.is_success() {
        let text = String::from_utf8_lossy(&out);
        if let (Some(akid), Some(secret), Some(token), Some(arn)) = (
            xml_text(&text, "AccessKeyId"),
            xml_text(&text, "SecretAccessKey"),
            xml_text(&text, "SessionToken"),
            xml_text(&text, "Arn"),
        ) {
            let policy = f
                .get("Policy")
                .and_then(|p| CompiledPolicy::parse(p).ok())
                .map(Arc::new);
            let session = Session {
                arn: arn.to_owned(),
                role_arn: role_arn.clone(),
                secret: secret.to_owned(),
                token: token.to_owned(),
                policy,
            };
            if let Ok(mut s) = state.sessions.lock() {
                s.insert(akid.to_owned(), session);
            }
        }
    }
    rebuild(status, hdrs, out)
}

async fn handle_iam(
    state: &State,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
    auth: &sigv4::AuthHeader,
) -> Resp {
    if auth.access_key_id != state.root.access_key_id {
        let msg = "only the account's own credentials may call IAM through the fargate-sim gateway";
        return respond(
            StatusCode::FORBIDDEN,
            "text/xml",
            sts_error("AccessDenied", msg, &request_id(state)),
        );
    }
    let action = form(body).get("Action").cloned().unwrap_or_default();
    let result = forward(state, parts, body.clone()).await;
    if !(action.starts_with("Get") || action.starts_with("List"))
        && let Ok(mut r) = state.roles.lock()
    {
        r.clear();
    }
    match result {
        Ok((s, h, b)) => rebuild(s, h, b),
        Err(e) => bad_gateway(state, "iam", &e),
    }
}

async fn handle_s3(
    state: &State,
    peer: SocketAddr,
    via_endpoint: bool,
    parts: &hyper::http::request::Parts,
    headers: &[(String, String)],
    body: Bytes,
    auth: &sigv4::AuthHeader,
) -> Resp {
    let rid = request_id(state);
    let path = parts.uri.path();
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Some((principal, session)) = caller_of(state, &auth.access_key_id) else {
        return respond(
            StatusCode::FORBIDDEN,
            "application/xml",
            s3_error(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                None,
                &rid,
            ),
        );
    };
    let secret = session
        .as_ref()
        .map_or(state.root.secret_access_key.as_str(), |s| s.secret.as_str());
    let checked = sigv4::check_time(headers, std::time::SystemTime::now()).and_then(|()| {
        sigv4::verify_s3(
            parts.method.as_str(),
            pq,
            headers,
            auth,
            secret,
            session.as_ref().map(|s| s.token.as_str()),
        )
    });
    if let Err(e) = checked {
        let (code, msg) = match e {
            sigv4::SignatureError::Mismatch => ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.".to_owned()),
            sigv4::SignatureError::Skewed { .. } => ("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.".to_owned()),
            sigv4::SignatureError::Malformed(m) => ("SignatureDoesNotMatch", format!("The request signature could not be checked: {m}")),
            sigv4::SignatureError::Missing => ("SignatureDoesNotMatch", "The request is not signed.".to_owned()),
        };
        return respond(
            StatusCode::FORBIDDEN,
            "application/xml",
            s3_error(code, &msg, None, &rid),
        );
    }
    let copy_source = headers.iter().any(|(k, _)| k == "x-amz-copy-source");
    let access = match s3map::map(parts.method.as_str(), path, parts.uri.query(), copy_source) {
        Ok(a) => a,
        Err(u) => {
            let msg = format!(
                "the fargate-sim gateway does not map `{}` to an IAM action, so it is refused",
                u.what
            );
            return respond(
                StatusCode::FORBIDDEN,
                "application/xml",
                s3_error("AccessDenied", &msg, Some(path), &rid),
            );
        }
    };
    // Which resources to authorize: DeleteObjects names its keys in the body.
    let resources: Vec<String> = if access.operation == "DeleteObjects" {
        let bucket = access.bucket.clone().unwrap_or_default();
        s3map::delete_keys(&String::from_utf8_lossy(&body))
            .into_iter()
            .map(|k| format!("arn:aws:s3:::{bucket}/{k}"))
            .collect()
    } else {
        vec![access.resource.clone()]
    };
    let identity = match &session {
        Some(s) => match role_policies(state, role_name(&s.role_arn)).await {
            Ok(p) => p.identity.clone(),
            Err(e) => return bad_gateway(state, "s3", &e),
        },
        None => Vec::new(),
    };
    let resource_policy = match &access.bucket {
        Some(b) => match bucket_policy(state, b).await {
            Ok(p) => p,
            Err(e) => return bad_gateway(state, "s3", &e),
        },
        None => None,
    };
    let through = state.vpc_endpoint.as_ref().filter(|_| via_endpoint);
    let set = PolicySet {
        identity,
        resource: resource_policy.as_deref().cloned(),
        session: session.as_ref().and_then(|s| s.policy.as_deref().cloned()),
        endpoint: through.map(|e| e.policy.clone()),
        ..PolicySet::default()
    };
    let context = |extra: &[(&'static str, String)]| {
        let mut ctx = Context::new();
        if let Some(e) = through {
            ctx.insert("aws:SourceVpce", ContextValue::Single(e.id.clone()));
            ctx.insert("aws:SourceVpc", ContextValue::Single(e.vpc.clone()));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        ctx.insert("aws:SourceIp", ContextValue::Single(peer.ip().to_string()));
        ctx.insert("aws:SecureTransport", ContextValue::Single("false".into()));
        ctx.insert("aws:EpochTime", ContextValue::Single(now.to_string()));
        ctx.insert(
            "aws:RequestedRegion",
            ContextValue::Single(auth.region.clone()),
        );
        if session.is_some() {
            ctx.insert(
                "aws:MultiFactorAuthPresent",
                ContextValue::Single("false".into()),
            );
        }
        for (k, v) in extra {
            ctx.insert(k, ContextValue::Single(v.clone()));
        }
        ctx
    };
    for resource in &resources {
        let req = iam_sim::Request::new(
            &principal,
            access.action,
            resource,
            Some(&state.account),
            context(&access.context),
        );
        let resp = set.evaluate(&req);
        if resp.decision != Decision::Allow {
            let msg = access_denied_message(
                &principal,
                access.action,
                resource,
                &iam_sim::explain::access_denied_clause(&resp, access.action),
            );
            record(
                state,
                access.action,
                resource,
                &principal,
                resp.decision,
                Some(format!("AccessDenied: {msg}")),
            );
            return respond(
                StatusCode::FORBIDDEN,
                "application/xml",
                s3_error("AccessDenied", &msg, Some(path), &rid),
            );
        }
        record(
            state,
            access.action,
            resource,
            &principal,
            resp.decision,
            None,
        );
    }
    let (status, hdrs, out) = match forward(state, parts, body).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(state, "s3", &e),
    };
    if status.is_success()
        && matches!(
            access.operation,
            "PutBucketPolicy" | "DeleteBucketPolicy" | "DeleteBucket" | "CreateBucket"
        )
        && let (Some(b), Ok(mut cache)) = (&access.bucket, state.buckets.lock())
    {
        cache.remove(b);
    }
    if status == StatusCode::NOT_FOUND && matches!(access.operation, "GetObject" | "HeadObject") {
        // S3 hides whether a key exists from callers that may not list the bucket.
        let bucket_arn = format!("arn:aws:s3:::{}", access.bucket.clone().unwrap_or_default());
        let list = iam_sim::Request::new(
            &principal,
            "s3:ListBucket",
            &bucket_arn,
            Some(&state.account),
            context(&[]),
        );
        if set.decide(&list) != Decision::Allow {
            let msg = access_denied_message(&principal, access.action, &access.resource, "");
            return respond(
                StatusCode::FORBIDDEN,
                "application/xml",
                s3_error("AccessDenied", &msg, Some(path), &rid),
            );
        }
    }
    rebuild(status, hdrs, out)
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// An EKS answer as HTTP: JSON, with `x-amzn-ErrorType` for errors.
fn eks_answer(r: endpoint::eks::Response, rid: &str) -> Resp {
    let mut resp = respond(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        r.body,
    );
    if let Some(kind) = r.error_type
        && let Ok(v) = kind.parse()
    {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    if let Ok(v) = rid.parse() {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

fn eks_error(status: u16, kind: &'static str, message: &str, rid: &str) -> Resp {
    eks_answer(
        endpoint::eks::Response {
            status,
            error_type: Some(kind),
            body: serde_json::json!({ "message": message }).to_string(),
        },
        rid,
    )
}

/// The words AWS's JSON services use for a signature the service refuses.
fn signature_refused(e: &sigv4::SignatureError, rid: &str) -> Resp {
    let message = match e {
        sigv4::SignatureError::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_owned(),
        sigv4::SignatureError::Skewed { request_time } => {
            let now = std::time::SystemTime::now();
            format!(
                "Signature expired: {request_time} is now earlier than {} ({} - 15 min.)",
                sigv4::format_amz_date(now - sigv4::MAX_SKEW),
                sigv4::format_amz_date(now)
            )
        }
        sigv4::SignatureError::Malformed(m) => format!("The request signature could not be checked: {m}"),
        sigv4::SignatureError::Missing => "Missing Authentication Token".to_owned(),
    };
    eks_error(403, "InvalidSignatureException", &message, rid)
}

/// The trust policy of a role in this account, as text (`None` when there is no such role).
async fn trust_document(state: &State, role_arn: &str) -> Result<Option<String>, String> {
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

/// EKS, served by the gateway over its control plane. Every call is signed; for callers other
/// than the account root each [`endpoint::Access`] the call needs (the EKS action, then
/// `iam:PassRole` on a role handed to EKS) is decided by `iam-sim`.
async fn handle_eks(
    state: &State,
    peer: SocketAddr,
    parts: &hyper::http::request::Parts,
    headers: &[(String, String)],
    body: &Bytes,
    auth: &sigv4::AuthHeader,
) -> Resp {
    let rid = request_id(state);
    let Some((principal, session)) = caller_of(state, &auth.access_key_id) else {
        return eks_error(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            &rid,
        );
    };
    let secret = session
        .as_ref()
        .map_or(state.root.secret_access_key.as_str(), |s| s.secret.as_str());
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let checked = sigv4::check_time(headers, std::time::SystemTime::now()).and_then(|()| {
        sigv4::verify(
            parts.method.as_str(),
            pq,
            headers,
            auth,
            secret,
            session.as_ref().map(|s| s.token.as_str()),
            sigv4::Payload::Body(body),
        )
    });
    if let Err(e) = checked {
        return signature_refused(&e, &rid);
    }
    if body.len() > endpoint::eks::MAX_BODY {
        return eks_error(
            413,
            "RequestEntityTooLargeException",
            &format!(
                "The request body is {} bytes; EKS requests are at most {} bytes here.",
                body.len(),
                endpoint::eks::MAX_BODY
            ),
            &rid,
        );
    }
    let req = endpoint::eks::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        body,
    };
    let call = match endpoint::eks::parse(&req) {
        Ok(c) => c,
        Err(r) => return eks_answer(r, &rid),
    };
    let accesses = match state.eks.lock() {
        Ok(plane) => call.accesses(&plane),
        Err(_) => return eks_error(500, "ServerException", "the EKS state is unusable", &rid),
    };
    if let Some(s) = &session {
        let identity = match role_policies(state, role_name(&s.role_arn)).await {
            Ok(p) => p,
            Err(e) => return eks_error(503, "ServerException", &e, &rid),
        };
        let set = PolicySet {
            identity: identity.identity.clone(),
            session: s.policy.as_deref().cloned(),
            ..PolicySet::default()
        };
        for a in &accesses {
            let mut ctx = Context::new();
            ctx.insert("aws:SourceIp", ContextValue::Single(peer.ip().to_string()));
            ctx.insert("aws:SecureTransport", ContextValue::Single("false".into()));
            ctx.insert(
                "aws:RequestedRegion",
                ContextValue::Single(auth.region.clone()),
            );
            for (k, v) in &a.context {
                let value = match v.as_slice() {
                    [one] if !k.eq_ignore_ascii_case("aws:TagKeys") => {
                        ContextValue::Single(one.clone())
                    }
                    _ => ContextValue::Multi(v.clone()),
                };
                ctx.insert(k, value);
            }
            let request =
                iam_sim::Request::new(&principal, a.action, &a.resource, Some(&state.account), ctx);
            let resp = set.evaluate(&request);
            if resp.decision != Decision::Allow {
                let clause = iam_sim::explain::access_denied_clause(&resp, a.action);
                let mut msg = format!(
                    "User: {principal} is not authorized to perform: {} on resource: {}",
                    a.action, a.resource
                );
                if !clause.is_empty() {
                    msg.push(' ');
                    msg.push_str(&clause);
                }
                record(
                    state,
                    a.action,
                    &a.resource,
                    &principal,
                    resp.decision,
                    Some(format!("AccessDeniedException: {msg}")),
                );
                return eks_error(403, "AccessDeniedException", &msg, &rid);
            }
            record(
                state,
                a.action,
                &a.resource,
                &principal,
                resp.decision,
                None,
            );
        }
    }
    let mut roles = scheduler::InMemoryRoles::default();
    if let Some(role) = call.role_to_check() {
        match trust_document(state, role).await {
            Ok(Some(doc)) => {
                roles.0.insert(role.to_owned(), doc);
            }
            Ok(None) => {}
            Err(e) => return bad_gateway(state, "eks", &e),
        }
    }
    let answer = match state.eks.lock() {
        Ok(mut plane) => call.run(&mut plane, &roles, now_secs()),
        Err(_) => return eks_error(500, "ServerException", "the EKS state is unusable", &rid),
    };
    eks_answer(answer, &rid)
}
