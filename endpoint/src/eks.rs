//! The EKS API in REST-JSON, as botocore's `eks` model (2017-11-01) defines it, for the
//! operations the chapter uses: clusters, Fargate profiles and tags.
//!
//! [`parse`] reads a request into a [`Call`] (or the error EKS answers a malformed request
//! with); [`Call::accesses`] says what IAM must allow; [`Call::run`] runs it on the
//! [`ControlPlane`] and writes the answer.

use std::collections::BTreeMap;

use scheduler::cluster::{CreateProfile, EksError, ErrorType, FargateProfile, RoleSource};
use scheduler::control_plane::{ClusterInfo, ControlPlane, CreateCluster};
use serde::Serialize;

use crate::Access;

/// Largest EKS request body read (EKS requests are a few kilobytes).
pub const MAX_BODY: usize = 1 << 20;
/// `maxResults` when a List call gives none (EKS's default).
const DEFAULT_PAGE: usize = 100;

/// An HTTP request as the adapter sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, `DELETE`, …
    pub method: &'a str,
    /// The path, still percent-encoded.
    pub path: &'a str,
    /// The query string, still percent-encoded.
    pub query: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// An answer: status, `x-amzn-ErrorType` for errors, and the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The error type, sent as `x-amzn-ErrorType`.
    pub error_type: Option<&'static str>,
    /// JSON.
    pub body: String,
}

/// An EKS operation with its parsed input.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `POST /clusters`.
    CreateCluster(CreateCluster),
    /// `GET /clusters/{name}`.
    DescribeCluster(String),
    /// `GET /clusters`.
    ListClusters(Page),
    /// `DELETE /clusters/{name}`.
    DeleteCluster(String),
    /// `POST /clusters/{name}/fargate-profiles`.
    CreateFargateProfile(String, CreateProfile),
    /// `GET /clusters/{name}/fargate-profiles/{fargateProfileName}`.
    DescribeFargateProfile(String, String),
    /// `GET /clusters/{name}/fargate-profiles`.
    ListFargateProfiles(String, Page),
    /// `DELETE /clusters/{name}/fargate-profiles/{fargateProfileName}`.
    DeleteFargateProfile(String, String),
    /// `POST /tags/{resourceArn}`.
    TagResource(String, BTreeMap<String, String>),
    /// `DELETE /tags/{resourceArn}?tagKeys=…`.
    UntagResource(String, Vec<String>),
    /// `GET /tags/{resourceArn}`.
    ListTagsForResource(String),
}

/// `maxResults` and `nextToken` of a List call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// 1 to 100.
    pub max_results: usize,
    /// Where the previous page stopped (the last name it returned).
    pub next_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct TagBody {
    tags: BTreeMap<String, String>,
}

/// Reads a request into a call.
///
/// # Errors
/// The answer EKS gives: an unknown route, a body that is not JSON, a member of the wrong
/// type or missing, a bad `maxResults`.
pub fn parse(req: &Request<'_>) -> Result<Call, Response> {
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let query = crate::query_pairs(req.query);
    let one = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let page = || -> Result<Page, Response> {
        let max_results = match one("maxResults") {
            None => DEFAULT_PAGE,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(error(&EksError::new(
                        ErrorType::InvalidParameterException,
                        format!("maxResults must be between 1 and 100; got {v}"),
                    )));
                }
            },
        };
        Ok(Page {
            max_results,
            next_token: one("nextToken"),
        })
    };
    let decode = |s: &str| -> String {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    match (req.method, segments.as_slice()) {
        ("POST", ["clusters"]) => Ok(Call::CreateCluster(body(req.body)?)),
        ("GET", ["clusters"]) => Ok(Call::ListClusters(page()?)),
        ("GET", ["clusters", name]) => Ok(Call::DescribeCluster(decode(name))),
        ("DELETE", ["clusters", name]) => Ok(Call::DeleteCluster(decode(name))),
        ("POST", ["clusters", name, "fargate-profiles"]) => {
            Ok(Call::CreateFargateProfile(decode(name), body(req.body)?))
        }
        ("GET", ["clusters", name, "fargate-profiles"]) => {
            Ok(Call::ListFargateProfiles(decode(name), page()?))
        }
        ("GET", ["clusters", name, "fargate-profiles", fp]) => {
            Ok(Call::DescribeFargateProfile(decode(name), decode(fp)))
        }
        ("DELETE", ["clusters", name, "fargate-profiles", fp]) => {
            Ok(Call::DeleteFargateProfile(decode(name), decode(fp)))
        }
        (method, ["tags", ..]) => {
            let arn = decode(req.path.trim_start_matches('/').trim_start_matches("tags/"));
            match method {
                "POST" => Ok(Call::TagResource(arn, body::<TagBody>(req.body)?.tags)),
                "GET" => Ok(Call::ListTagsForResource(arn)),
                "DELETE" => {
                    let keys: Vec<String> = query
                        .iter()
                        .filter(|(k, _)| k == "tagKeys")
                        .map(|(_, v)| v.clone())
                        .collect();
                    if keys.is_empty() {
                        return Err(error(&EksError::new(
                            ErrorType::InvalidParameterException,
                            "tagKeys is required",
                        )));
                    }
                    Ok(Call::UntagResource(arn, keys))
                }
                _ => Err(unknown_operation(req)),
            }
        }
        _ => Err(unknown_operation(req)),
    }
}

impl Call {
    /// The operation's name, as in the model.
    pub fn operation(&self) -> &'static str {
        match self {
            Call::CreateCluster(_) => "CreateCluster",
            Call::DescribeCluster(_) => "DescribeCluster",
            Call::ListClusters(_) => "ListClusters",
            Call::DeleteCluster(_) => "DeleteCluster",
            Call::CreateFargateProfile(..) => "CreateFargateProfile",
            Call::DescribeFargateProfile(..) => "DescribeFargateProfile",
            Call::ListFargateProfiles(..) => "ListFargateProfiles",
            Call::DeleteFargateProfile(..) => "DeleteFargateProfile",
            Call::TagResource(..) => "TagResource",
            Call::UntagResource(..) => "UntagResource",
            Call::ListTagsForResource(_) => "ListTagsForResource",
        }
    }

    /// The role whose trust policy the call checks (the cluster role, the pod execution
    /// role): the server reads it before [`Call::run`].
    pub fn role_to_check(&self) -> Option<&str> {
        match self {
            Call::CreateCluster(c) => Some(&c.role_arn),
            Call::CreateFargateProfile(_, p) => Some(&p.pod_execution_role_arn),
            _ => None,
        }
    }

    /// What IAM must allow for the call, in the order AWS checks it: the EKS action on its
    /// resource (the Service Authorization Reference's resource type for the action), then
    /// `iam:PassRole` on a role the call hands to EKS.
    pub fn accesses(&self, plane: &ControlPlane) -> Vec<Access> {
        let cluster_arn = |name: &str| {
            format!(
                "arn:aws:eks:{}:{}:cluster/{name}",
                plane.region, plane.account
            )
        };
        let profile_arn = |cluster: &str, name: &str| {
            plane.profile_arn(cluster, name).unwrap_or_else(|| {
                format!(
                    "arn:aws:eks:{}:{}:fargateprofile/{cluster}/{name}/*",
                    plane.region, plane.account
                )
            })
        };
        let eks = |action: &'static str, resource: String, context| Access {
            action: action.into(),
            resource,
            context,
        };
        let pass = |role: &str| Access {
            action: "iam:PassRole".into(),
            resource: role.to_owned(),
            context: vec![(
                "iam:PassedToService".to_owned(),
                vec!["eks.amazonaws.com".to_owned()],
            )],
        };
        match self {
            Call::CreateCluster(c) => vec![
                eks(
                    "eks:CreateCluster",
                    cluster_arn(&c.name),
                    tag_context(&c.tags),
                ),
                pass(&c.role_arn),
            ],
            Call::DescribeCluster(n) => vec![eks("eks:DescribeCluster", cluster_arn(n), vec![])],
            Call::ListClusters(_) => vec![eks("eks:ListClusters", "*".into(), vec![])],
            Call::DeleteCluster(n) => vec![eks("eks:DeleteCluster", cluster_arn(n), vec![])],
            Call::CreateFargateProfile(c, p) => vec![
                eks(
                    "eks:CreateFargateProfile",
                    cluster_arn(c),
                    tag_context(&p.tags),
                ),
                pass(&p.pod_execution_role_arn),
            ],
            Call::DescribeFargateProfile(c, p) => {
                vec![eks("eks:DescribeFargateProfile", profile_arn(c, p), vec![])]
            }
            Call::ListFargateProfiles(c, _) => {
                vec![eks("eks:ListFargateProfiles", cluster_arn(c), vec![])]
            }
            Call::DeleteFargateProfile(c, p) => {
                vec![eks("eks:DeleteFargateProfile", profile_arn(c, p), vec![])]
            }
            Call::TagResource(arn, tags) => {
                vec![eks("eks:TagResource", arn.clone(), tag_context(tags))]
            }
            Call::UntagResource(arn, keys) => vec![eks(
                "eks:UntagResource",
                arn.clone(),
                vec![("aws:TagKeys".to_owned(), keys.clone())],
            )],
            Call::ListTagsForResource(arn) => {
                vec![eks("eks:ListTagsForResource", arn.clone(), vec![])]
            }
        }
    }

    /// Runs the call at `now` and writes EKS's answer.
    pub fn run(&self, plane: &mut ControlPlane, roles: &dyn RoleSource, now: f64) -> Response {
        #[derive(Serialize)]
        struct ClusterOut<'a> {
            cluster: &'a ClusterInfo,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct ProfileOut<'a> {
            fargate_profile: &'a FargateProfile,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Names<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            clusters: Option<&'a [String]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            fargate_profile_names: Option<&'a [String]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            next_token: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Tags<'a> {
            tags: &'a BTreeMap<String, String>,
        }
        let with = |e: EksError, cluster: Option<&str>, profile: Option<&str>| {
            error_with(&e, cluster, profile)
        };
        match self {
            Call::CreateCluster(c) => match plane.create_cluster(c, roles, now) {
                Ok(info) => ok(&ClusterOut { cluster: &info }),
                Err(e) => with(e, Some(&c.name), None),
            },
            Call::DescribeCluster(n) => match plane.describe_cluster(n, now) {
                Ok(info) => ok(&ClusterOut { cluster: &info }),
                Err(e) => with(e, Some(n), None),
            },
            Call::DeleteCluster(n) => match plane.delete_cluster(n, now) {
                Ok(info) => ok(&ClusterOut { cluster: &info }),
                Err(e) => with(e, Some(n), None),
            },
            Call::ListClusters(page) => {
                let all = plane.list_clusters(now);
                let (names, next) = paginate(&all, page);
                ok(&Names {
                    clusters: Some(names),
                    fargate_profile_names: None,
                    next_token: next,
                })
            }
            Call::CreateFargateProfile(c, p) => match plane.create_profile(c, p, roles, now) {
                Ok(fp) => ok(&ProfileOut {
                    fargate_profile: &fp,
                }),
                Err(e) => with(e, Some(c), Some(&p.fargate_profile_name)),
            },
            Call::DescribeFargateProfile(c, p) => match plane.describe_profile(c, p, now) {
                Ok(fp) => ok(&ProfileOut {
                    fargate_profile: &fp,
                }),
                Err(e) => with(e, Some(c), Some(p)),
            },
            Call::DeleteFargateProfile(c, p) => match plane.delete_profile(c, p, now) {
                Ok((fp, _)) => ok(&ProfileOut {
                    fargate_profile: &fp,
                }),
                Err(e) => with(e, Some(c), Some(p)),
            },
            Call::ListFargateProfiles(c, page) => match plane.list_profiles(c, now) {
                Ok(all) => {
                    let (names, next) = paginate(&all, page);
                    ok(&Names {
                        clusters: None,
                        fargate_profile_names: Some(names),
                        next_token: next,
                    })
                }
                Err(e) => with(e, Some(c), None),
            },
            Call::TagResource(arn, tags) => match plane.tag_resource(arn, tags, now) {
                Ok(()) => ok(&serde_json::Map::new()),
                Err(e) => error(&e),
            },
            Call::UntagResource(arn, keys) => match plane.untag_resource(arn, keys, now) {
                Ok(()) => ok(&serde_json::Map::new()),
                Err(e) => error(&e),
            },
            Call::ListTagsForResource(arn) => match plane.list_tags(arn, now) {
                Ok(tags) => ok(&Tags { tags: &tags }),
                Err(e) => error(&e),
            },
        }
    }
}

/// `aws:RequestTag/KEY` for each tag and `aws:TagKeys`, for a call that tags.
fn tag_context(tags: &BTreeMap<String, String>) -> Vec<(String, Vec<String>)> {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut ctx: Vec<(String, Vec<String>)> = tags
        .iter()
        .map(|(k, v)| (format!("aws:RequestTag/{k}"), vec![v.clone()]))
        .collect();
    ctx.push(("aws:TagKeys".to_owned(), tags.keys().cloned().collect()));
    ctx
}

/// One page of names after `next_token`; the token of the next page is the page's last name.
fn paginate<'a>(all: &'a [String], page: &Page) -> (&'a [String], Option<&'a str>) {
    let start = match &page.next_token {
        Some(t) => all.partition_point(|n| n.as_str() <= t.as_str()),
        None => 0,
    };
    let end = (start + page.max_results).min(all.len());
    let slice = &all[start..end];
    let next = (end < all.len())
        .then(|| slice.last().map(String::as_str))
        .flatten();
    (slice, next)
}

fn ok<T: Serialize>(value: &T) -> Response {
    Response {
        status: 200,
        error_type: None,
        body: serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()),
    }
}

/// An EKS error answer: the status of its type, `x-amzn-ErrorType`, `{"message": …}`.
pub fn error(e: &EksError) -> Response {
    error_with(e, None, None)
}

fn error_with(e: &EksError, cluster: Option<&str>, profile: Option<&str>) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster_name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        fargate_profile_name: Option<&'a str>,
        message: &'a str,
    }
    // Only the error shapes that have the members carry them.
    let members = matches!(
        e.kind,
        ErrorType::InvalidParameterException
            | ErrorType::InvalidRequestException
            | ErrorType::ResourceInUseException
            | ErrorType::ResourceNotFoundException
            | ErrorType::ResourceLimitExceededException
    );
    let body = Body {
        cluster_name: cluster.filter(|_| members),
        fargate_profile_name: profile.filter(|_| members),
        message: &e.message,
    };
    Response {
        status: e.kind.http_status(),
        error_type: Some(e.kind.name()),
        body: serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned()),
    }
}

/// An error that is not one of the model's shapes (the SDKs show its code and message).
fn protocol_error(status: u16, kind: &'static str, message: &str) -> Response {
    Response {
        status,
        error_type: Some(kind),
        body: serde_json::json!({ "message": message }).to_string(),
    }
}

fn unknown_operation(req: &Request<'_>) -> Response {
    protocol_error(
        404,
        "UnknownOperationException",
        &format!("No EKS operation is served at {} {}", req.method, req.path),
    )
}

/// The body as the operation's input: not JSON is `SerializationException`; JSON of the wrong
/// shape (a missing required member, a wrong type) is `InvalidParameterException`.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    let value: serde_json::Value = if bytes.is_empty() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            protocol_error(
                400,
                "SerializationException",
                &format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    serde_json::from_value(value).map_err(|e| {
        error(&EksError::new(
            ErrorType::InvalidParameterException,
            format!("The request is not valid: {e}"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scheduler::cluster::{FARGATE_PRINCIPAL, InMemoryRoles, SeqIds};
    use scheduler::control_plane::{ApiServer, EKS_PRINCIPAL};

    const ACCOUNT: &str = "000000000000";

    fn trust(service: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    }

    fn roles() -> InMemoryRoles {
        InMemoryRoles(
            [
                (
                    format!("arn:aws:iam::{ACCOUNT}:role/eks-cluster"),
                    trust(EKS_PRINCIPAL),
                ),
                (
                    format!("arn:aws:iam::{ACCOUNT}:role/s3-read"),
                    trust(FARGATE_PRINCIPAL),
                ),
            ]
            .into(),
        )
    }

    fn plane() -> ControlPlane {
        ControlPlane::new(
            "eu-west-1",
            ACCOUNT,
            ApiServer {
                endpoint: "http://127.0.0.1:1".into(),
                certificate_authority: "Q0E=".into(),
            },
            Box::new(SeqIds::new(1)),
            Box::new(|| Box::new(SeqIds::new(2))),
        )
    }

    fn send(plane: &mut ControlPlane, method: &str, path: &str, body: &str, now: f64) -> Response {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let req = Request {
            method,
            path,
            query,
            body: body.as_bytes(),
        };
        match parse(&req) {
            Ok(call) => call.run(plane, &roles(), now),
            Err(r) => r,
        }
    }

    fn json(r: &Response) -> serde_json::Value {
        serde_json::from_str(&r.body).unwrap()
    }

    const CLUSTER: &str = r#"{"name":"demo","roleArn":"arn:aws:iam::000000000000:role/eks-cluster","resourcesVpcConfig":{"subnetIds":["subnet-a","subnet-b"]}}"#;

    #[test]
    fn routes_follow_the_model() {
        let get = |path: &str| {
            parse(&Request {
                method: "GET",
                path,
                query: None,
                body: b"",
            })
            .map(|c| c.operation())
        };
        assert_eq!(get("/clusters"), Ok("ListClusters"));
        assert_eq!(get("/clusters/demo"), Ok("DescribeCluster"));
        assert_eq!(
            get("/clusters/demo/fargate-profiles"),
            Ok("ListFargateProfiles")
        );
        assert_eq!(
            get("/clusters/demo/fargate-profiles/fp"),
            Ok("DescribeFargateProfile")
        );
        assert_eq!(
            get("/tags/arn%3Aaws%3Aeks%3Aeu-west-1%3A000000000000%3Acluster%2Fdemo"),
            Ok("ListTagsForResource")
        );
    }

    #[test]
    fn create_then_describe_cluster_in_the_models_shape() {
        let mut p = plane();
        let r = send(&mut p, "POST", "/clusters", CLUSTER, 0.0);
        assert_eq!(r.status, 200, "{}", r.body);
        let v = json(&r);
        assert_eq!(v["cluster"]["status"], "CREATING");
        assert_eq!(v["cluster"]["createdAt"], 0.0);
        assert!(v["cluster"].get("endpoint").is_none());
        let v = json(&send(&mut p, "GET", "/clusters/demo", "", 10.0));
        assert_eq!(v["cluster"]["status"], "ACTIVE");
        assert_eq!(v["cluster"]["certificateAuthority"]["data"], "Q0E=");
        assert_eq!(
            v["cluster"]["resourcesVpcConfig"]["subnetIds"],
            serde_json::json!(["subnet-a", "subnet-b"])
        );
    }

    #[test]
    fn a_missing_cluster_is_404_with_the_type_header_and_members() {
        let mut p = plane();
        let r = send(&mut p, "GET", "/clusters/nope", "", 0.0);
        assert_eq!(r.status, 404);
        assert_eq!(r.error_type, Some("ResourceNotFoundException"));
        assert_eq!(
            r.body,
            r#"{"clusterName":"nope","message":"No cluster found for name: nope."}"#
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_a_serialization_exception() {
        let mut p = plane();
        let r = send(&mut p, "POST", "/clusters", "{nope", 0.0);
        assert_eq!(
            (r.status, r.error_type),
            (400, Some("SerializationException"))
        );
    }

    #[test]
    fn a_body_without_a_required_member_is_invalid_parameter() {
        let mut p = plane();
        let r = send(&mut p, "POST", "/clusters", r#"{"name":"x"}"#, 0.0);
        assert_eq!(
            (r.status, r.error_type),
            (400, Some("InvalidParameterException"))
        );
        assert!(json(&r)["message"].as_str().unwrap().contains("roleArn"));
    }

    #[test]
    fn an_unknown_route_is_unknown_operation() {
        let mut p = plane();
        let r = send(&mut p, "PUT", "/clusters/demo", "", 0.0);
        assert_eq!(
            (r.status, r.error_type),
            (404, Some("UnknownOperationException"))
        );
    }

    #[test]
    fn profiles_end_to_end_over_the_wire_shapes() {
        let mut p = plane();
        send(&mut p, "POST", "/clusters", CLUSTER, 0.0);
        let body = r#"{"fargateProfileName":"fp","podExecutionRoleArn":"arn:aws:iam::000000000000:role/s3-read","selectors":[{"namespace":"test"}]}"#;
        let r = send(
            &mut p,
            "POST",
            "/clusters/demo/fargate-profiles",
            body,
            10.0,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(json(&r)["fargateProfile"]["status"], "CREATING");
        let r = send(&mut p, "GET", "/clusters/demo/fargate-profiles", "", 20.0);
        assert_eq!(r.body, r#"{"fargateProfileNames":["fp"]}"#);
        let r = send(&mut p, "DELETE", "/clusters/demo", "", 20.0);
        assert_eq!(
            (r.status, r.error_type),
            (409, Some("ResourceInUseException"))
        );
        let r = send(
            &mut p,
            "DELETE",
            "/clusters/demo/fargate-profiles/fp",
            "",
            20.0,
        );
        assert_eq!(json(&r)["fargateProfile"]["status"], "DELETING");
    }

    #[test]
    fn list_clusters_pages_with_next_token() {
        let mut p = plane();
        for name in ["a1", "b2", "c3"] {
            send(
                &mut p,
                "POST",
                "/clusters",
                &CLUSTER.replace("demo", name),
                0.0,
            );
        }
        let r = send(&mut p, "GET", "/clusters?maxResults=2", "", 1.0);
        assert_eq!(r.body, r#"{"clusters":["a1","b2"],"nextToken":"b2"}"#);
        let r = send(
            &mut p,
            "GET",
            "/clusters?maxResults=2&nextToken=b2",
            "",
            1.0,
        );
        assert_eq!(r.body, r#"{"clusters":["c3"]}"#);
        let r = send(&mut p, "GET", "/clusters?maxResults=0", "", 1.0);
        assert_eq!(r.status, 400);
    }

    #[test]
    fn create_fargate_profile_needs_pass_role_on_the_execution_role() {
        let p = plane();
        let call = parse(&Request {
            method: "POST",
            path: "/clusters/demo/fargate-profiles",
            query: None,
            body: br#"{"fargateProfileName":"fp","podExecutionRoleArn":"arn:aws:iam::000000000000:role/s3-read","selectors":[{"namespace":"test"}],"tags":{"team":"a"}}"#,
        })
        .unwrap();
        let a = call.accesses(&p);
        assert_eq!(a[0].action, "eks:CreateFargateProfile");
        assert_eq!(
            a[0].resource,
            "arn:aws:eks:eu-west-1:000000000000:cluster/demo"
        );
        assert!(
            a[0].context
                .contains(&("aws:RequestTag/team".into(), vec!["a".into()]))
        );
        assert_eq!(a[1].action, "iam:PassRole");
        assert_eq!(a[1].resource, "arn:aws:iam::000000000000:role/s3-read");
    }

    #[test]
    fn untag_reads_repeated_tag_keys() {
        let call = parse(&Request {
            method: "DELETE",
            path: "/tags/arn%3Aaws%3Aeks%3Aeu-west-1%3A000000000000%3Acluster%2Fdemo",
            query: Some("tagKeys=a&tagKeys=b"),
            body: b"",
        })
        .unwrap();
        assert_eq!(
            call,
            Call::UntagResource(
                "arn:aws:eks:eu-west-1:000000000000:cluster/demo".into(),
                vec!["a".into(), "b".into()]
            )
        );
    }
}
