//! S3: the request mapped to its IAM action and resources ([`s3map`]), decided on the caller's
//! policies, the bucket policy and (through the VPC endpoint listener) the endpoint policy,
//! then forwarded to LocalStack. A missing key is 403 without `s3:ListBucket`, as on S3.

use hyper::StatusCode;
use iam_sim::{ContextValue, Decision};

use super::authorize::{self, base_context, decide};
use super::caller::Service;
use super::errors::{access_denied_message, s3_error};
use super::{Incoming, Resp, State, bad_gateway, forward, policies, rebuild, respond, s3map};

pub(super) async fn serve(state: &State, req: Incoming<'_>) -> Resp {
    let parts = req.parts;
    let path = parts.uri.path();
    let copy_source = req.header("x-amz-copy-source").is_some();
    // A presigned URL's own parameters are authentication, not part of the operation.
    let query = parts.uri.query().map(super::sigv4::query_without_signature);
    let access = match s3map::map(parts.method.as_str(), path, query.as_deref(), copy_source) {
        Ok(a) => a,
        Err(u) => {
            let msg = format!(
                "the fargate-sim gateway does not map `{}` to an IAM action, so it is refused",
                u.what
            );
            return respond(
                StatusCode::FORBIDDEN,
                "application/xml",
                s3_error("AccessDenied", &msg, Some(path), &req.rid),
            );
        }
    };
    // Which resources to authorize: DeleteObjects names its keys in the body.
    let resources: Vec<String> = if access.operation == "DeleteObjects" {
        let bucket = access.bucket.clone().unwrap_or_default();
        s3map::delete_keys(&String::from_utf8_lossy(&req.body))
            .into_iter()
            .map(|k| format!("arn:aws:s3:::{bucket}/{k}"))
            .collect()
    } else {
        vec![access.resource.clone()]
    };
    let caller = &req.caller;
    let mut set = match authorize::identity(state, caller).await {
        Ok(s) => s,
        Err(e) => return bad_gateway(state, Service::S3, &e),
    };
    if let Some(b) = &access.bucket {
        match policies::bucket(state, b).await {
            Ok(p) => set.resource = p,
            Err(e) => return bad_gateway(state, Service::S3, &e),
        }
    }
    let through = state.vpc_endpoint.as_ref().filter(|_| req.via_endpoint);
    set.endpoint = through.map(|e| &e.policy);
    let context = |extra: &[(&'static str, String)]| {
        let mut ctx = base_context(req.peer, req.region, caller);
        if let Some(e) = through {
            ctx.insert("aws:SourceVpce", ContextValue::Single(e.id.clone()));
            ctx.insert("aws:SourceVpc", ContextValue::Single(e.vpc.clone()));
        }
        for (k, v) in extra {
            ctx.insert(k, ContextValue::Single(v.clone()));
        }
        ctx
    };
    for resource in &resources {
        let message = |d: &authorize::Denied| {
            format!(
                "AccessDenied: {}",
                access_denied_message(&caller.arn, access.action, resource, &d.clause)
            )
        };
        if let Err(d) = decide(
            state,
            caller,
            &set,
            access.action,
            resource,
            context(&access.context),
            message,
        ) {
            let msg = access_denied_message(&caller.arn, access.action, resource, &d.clause);
            return respond(
                StatusCode::FORBIDDEN,
                "application/xml",
                s3_error("AccessDenied", &msg, Some(path), &req.rid),
            );
        }
    }
    let (status, hdrs, out) = match forward(state, parts, req.body.clone()).await {
        Ok(x) => x,
        Err(e) => return bad_gateway(state, Service::S3, &e),
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
            &caller.arn,
            "s3:ListBucket",
            &bucket_arn,
            Some(&state.account),
            context(&[]),
        );
        if set.set().decide(&list) != Decision::Allow {
            let msg = access_denied_message(&caller.arn, access.action, &access.resource, "");
            return respond(
                StatusCode::FORBIDDEN,
                "application/xml",
                s3_error("AccessDenied", &msg, Some(path), &req.rid),
            );
        }
    }
    rebuild(status, hdrs, out)
}
