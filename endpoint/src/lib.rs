//! The serving side of fargate-sim, as protocol adapters that do no IO: each turns a request
//! (method, path, query, body) into a call on the cluster model and the call's result into the
//! answer the AWS service would give — status, error type and body. The HTTP server in
//! `s3-harness`'s gateway authenticates the caller, asks `iam-sim` about each [`Access`] a
//! call needs, and runs the call.
//!
//! - [`eks`]: the EKS API (REST-JSON, as botocore's `eks` model defines it) over
//!   [`scheduler::ControlPlane`].
//! - [`kube`]: the Kubernetes API as `kubectl` speaks it (discovery, namespaces) over a
//!   cluster's [`scheduler::kube::Kube`].

pub mod eks;
pub mod kube;
pub mod time;

/// One authorization a call needs: an IAM action on a resource, with the request's condition
/// keys (`aws:RequestTag/…`, `aws:TagKeys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `eks:CreateCluster`, `iam:PassRole`, …
    pub action: std::borrow::Cow<'static, str>,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// Condition keys and their values (several values for a multivalued key).
    pub context: Vec<(String, Vec<String>)>,
}

/// A query string (or a form body) decoded into its pairs, in order, repeated keys kept: `+`
/// is a space and `%XX` a byte, as `application/x-www-form-urlencoded` says; a key without `=`
/// has the empty value. Every adapter, and the gateway's signature and S3 readers, use this one.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::query_pairs;

    #[test]
    fn query_pairs_decode_in_order_and_keep_repeats() {
        assert_eq!(
            query_pairs(Some("tagKeys=a&tagKeys=b%2Fc&flag&x=1+2")),
            [
                ("tagKeys".to_owned(), "a".to_owned()),
                ("tagKeys".to_owned(), "b/c".to_owned()),
                ("flag".to_owned(), String::new()),
                ("x".to_owned(), "1 2".to_owned()),
            ]
        );
        assert!(query_pairs(None).is_empty());
    }
}
