//! S3 requests → the IAM action, resource ARN and condition keys AWS authorizes them with.
//! Anything not in this table is refused by the gateway, never passed through.

use std::collections::BTreeMap;

/// What one S3 request needs to be allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Access {
    /// The S3 API operation, e.g. `GetObject`.
    pub operation: &'static str,
    /// The IAM action, e.g. `s3:GetObject`.
    pub action: &'static str,
    /// `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`, or `*`.
    pub resource: String,
    /// The bucket, when there is one.
    pub bucket: Option<String>,
    /// The key, for object operations.
    pub key: Option<String>,
    /// Service-specific condition keys (`s3:prefix`, `s3:delimiter`, `s3:max-keys`).
    pub context: Vec<(&'static str, String)>,
}

/// Why a request could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// Method and path, for the message.
    pub what: String,
}

/// Decodes `%XX` in a path segment (S3 keys are sent percent-encoded).
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses a query string into a map (keys without values map to ""; a repeated key keeps its
/// last value).
pub fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    endpoint::query_pairs(query).into_iter().collect()
}

/// Maps a path-style S3 request (`/bucket/key?query`).
///
/// # Errors
/// [`Unmapped`] for anything the table does not cover.
pub fn map(
    method: &str,
    path: &str,
    query: Option<&str>,
    has_copy_source: bool,
) -> Result<S3Access, Unmapped> {
    let mut q = query_map(query);
    // The SDKs add `x-id=<Operation>` as a routing hint; S3 ignores it for authorization.
    q.remove("x-id");
    let has = |k: &str| q.contains_key(k);
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = match trimmed.split_once('/') {
        Some((b, k)) if !k.is_empty() => (decode(b), Some(decode(k))),
        Some((b, _)) => (decode(b), None),
        None => (decode(trimmed), None),
    };
    let unmapped = || Unmapped {
        what: format!(
            "{method} {path}{}",
            query.map(|q| format!("?{q}")).unwrap_or_default()
        ),
    };
    let object_arn = |k: &str| format!("arn:aws:s3:::{bucket}/{k}");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let access = |operation: &'static str, action: &'static str, resource: String| S3Access {
        operation,
        action,
        resource,
        bucket: (!bucket.is_empty()).then(|| bucket.clone()),
        key: key.clone(),
        context: Vec::new(),
    };
    if bucket.is_empty() {
        return match method {
            "GET" => Ok(S3Access {
                bucket: None,
                key: None,
                ..access("ListBuckets", "s3:ListAllMyBuckets", "*".into())
            }),
            _ => Err(unmapped()),
        };
    }
    if let Some(k) = &key {
        let arn = object_arn(k);
        let op = match method {
            "GET" if has("tagging") => access("GetObjectTagging", "s3:GetObjectTagging", arn),
            "GET" if has("acl") => access("GetObjectAcl", "s3:GetObjectAcl", arn),
            "GET" if has("attributes") => {
                access("GetObjectAttributes", "s3:GetObjectAttributes", arn)
            }
            "GET" if has("uploadId") => access("ListParts", "s3:ListMultipartUploadParts", arn),
            "GET"
                if !q.keys().any(|k| {
                    !k.starts_with("response-") && k != "versionId" && k != "partNumber"
                }) =>
            {
                access("GetObject", "s3:GetObject", arn)
            }
            "HEAD" => access("HeadObject", "s3:GetObject", arn),
            "PUT" if has("tagging") => access("PutObjectTagging", "s3:PutObjectTagging", arn),
            "PUT" if has("acl") => access("PutObjectAcl", "s3:PutObjectAcl", arn),
            "PUT" if has("partNumber") && has("uploadId") => {
                access("UploadPart", "s3:PutObject", arn)
            }
            "PUT" if has_copy_source => access("CopyObject", "s3:PutObject", arn),
            "PUT" if q.is_empty() => access("PutObject", "s3:PutObject", arn),
            "POST" if has("uploads") => access("CreateMultipartUpload", "s3:PutObject", arn),
            "POST" if has("uploadId") => access("CompleteMultipartUpload", "s3:PutObject", arn),
            "DELETE" if has("uploadId") => {
                access("AbortMultipartUpload", "s3:AbortMultipartUpload", arn)
            }
            "DELETE" if has("tagging") => {
                access("DeleteObjectTagging", "s3:DeleteObjectTagging", arn)
            }
            "DELETE" if q.keys().all(|k| k == "versionId") => {
                access("DeleteObject", "s3:DeleteObject", arn)
            }
            _ => return Err(unmapped()),
        };
        return Ok(op);
    }
    let arn = bucket_arn;
    let op = match method {
        "GET" if has("location") => access("GetBucketLocation", "s3:GetBucketLocation", arn),
        "GET" if has("policy") => access("GetBucketPolicy", "s3:GetBucketPolicy", arn),
        "GET" if has("acl") => access("GetBucketAcl", "s3:GetBucketAcl", arn),
        "GET" if has("tagging") => access("GetBucketTagging", "s3:GetBucketTagging", arn),
        "GET" if has("versioning") => access("GetBucketVersioning", "s3:GetBucketVersioning", arn),
        "GET" if has("uploads") => {
            access("ListMultipartUploads", "s3:ListBucketMultipartUploads", arn)
        }
        "GET" if has("versions") => access("ListObjectVersions", "s3:ListBucketVersions", arn),
        "GET"
            if q.keys().all(|k| {
                matches!(
                    k.as_str(),
                    "list-type"
                        | "prefix"
                        | "delimiter"
                        | "max-keys"
                        | "continuation-token"
                        | "start-after"
                        | "encoding-type"
                        | "fetch-owner"
                        | "marker"
                )
            }) =>
        {
            let mut a = access(
                if has("list-type") {
                    "ListObjectsV2"
                } else {
                    "ListObjects"
                },
                "s3:ListBucket",
                arn,
            );
            for (k, ck) in [
                ("prefix", "s3:prefix"),
                ("delimiter", "s3:delimiter"),
                ("max-keys", "s3:max-keys"),
            ] {
                if let Some(v) = q.get(k) {
                    a.context.push((ck, v.clone()));
                }
            }
            if !q.contains_key("max-keys") {
                // The SDK and the CLI default to 1000; AWS always sets the key for ListBucket.
                a.context.push(("s3:max-keys", "1000".into()));
            }
            a
        }
        "HEAD" => access("HeadBucket", "s3:ListBucket", arn),
        "PUT" if has("policy") => access("PutBucketPolicy", "s3:PutBucketPolicy", arn),
        "PUT" if has("tagging") => access("PutBucketTagging", "s3:PutBucketTagging", arn),
        "PUT" if q.is_empty() => access("CreateBucket", "s3:CreateBucket", arn),
        "DELETE" if has("policy") => access("DeleteBucketPolicy", "s3:DeleteBucketPolicy", arn),
        "DELETE" if has("tagging") => access("DeleteBucketTagging", "s3:PutBucketTagging", arn),
        "DELETE" if q.is_empty() => access("DeleteBucket", "s3:DeleteBucket", arn),
        "POST" if has("delete") => access(
            "DeleteObjects",
            "s3:DeleteObject",
            format!("arn:aws:s3:::{bucket}/*"),
        ),
        _ => return Err(unmapped()),
    };
    Ok(op)
}

/// The keys named in a DeleteObjects body (`<Key>…</Key>`), XML entities decoded.
pub fn delete_keys(body: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<Key>") {
        let after = &rest[start + 5..];
        let Some(end) = after.find("</Key>") else {
            break;
        };
        keys.push(unescape(&after[..end]));
        rest = &after[end + 6..];
    }
    keys
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_operations() {
        let a = map("GET", "/b/dir/hello%20world.txt", None, false).unwrap();
        assert_eq!(
            (a.operation, a.action, a.resource.as_str()),
            (
                "GetObject",
                "s3:GetObject",
                "arn:aws:s3:::b/dir/hello world.txt"
            )
        );
        assert_eq!(
            map("HEAD", "/b/k", None, false).unwrap().action,
            "s3:GetObject"
        );
        assert_eq!(
            map("PUT", "/b/k", None, false).unwrap().operation,
            "PutObject"
        );
        assert_eq!(
            map("PUT", "/b/k", None, true).unwrap().operation,
            "CopyObject"
        );
        assert_eq!(
            map("DELETE", "/b/k", None, false).unwrap().action,
            "s3:DeleteObject"
        );
        assert_eq!(
            map("POST", "/b/k", Some("uploads"), false).unwrap().action,
            "s3:PutObject"
        );
        assert_eq!(
            map("PUT", "/b/k", Some("partNumber=1&uploadId=x"), false)
                .unwrap()
                .operation,
            "UploadPart"
        );
        assert_eq!(
            map("GET", "/b/k", Some("x-id=GetObject"), false)
                .unwrap()
                .operation,
            "GetObject"
        );
        assert_eq!(
            map("PUT", "/b/k", Some("x-id=PutObject"), false)
                .unwrap()
                .operation,
            "PutObject"
        );
        assert_eq!(
            map("GET", "/b/k", Some("restore"), false),
            Err(Unmapped {
                what: "GET /b/k?restore".into()
            })
        );
    }

    #[test]
    fn bucket_operations_and_list_context() {
        let l = map(
            "GET",
            "/b",
            Some("list-type=2&prefix=logs%2F&delimiter=%2F"),
            false,
        )
        .unwrap();
        assert_eq!(
            (l.operation, l.action, l.resource.as_str()),
            ("ListObjectsV2", "s3:ListBucket", "arn:aws:s3:::b")
        );
        assert_eq!(
            l.context,
            vec![
                ("s3:prefix", "logs/".to_owned()),
                ("s3:delimiter", "/".to_owned()),
                ("s3:max-keys", "1000".to_owned())
            ]
        );
        assert_eq!(
            map("GET", "/b", Some("location"), false).unwrap().action,
            "s3:GetBucketLocation"
        );
        assert_eq!(
            map("HEAD", "/b", None, false).unwrap().action,
            "s3:ListBucket"
        );
        assert_eq!(
            map("PUT", "/b", None, false).unwrap().action,
            "s3:CreateBucket"
        );
        assert_eq!(
            map("DELETE", "/b", None, false).unwrap().action,
            "s3:DeleteBucket"
        );
        assert_eq!(
            map("PUT", "/b", Some("policy"), false).unwrap().action,
            "s3:PutBucketPolicy"
        );
        assert_eq!(
            map("POST", "/b", Some("delete"), false).unwrap().action,
            "s3:DeleteObject"
        );
        assert_eq!(
            map("GET", "/", None, false).unwrap().action,
            "s3:ListAllMyBuckets"
        );
        assert!(
            map("PUT", "/b", Some("lifecycle"), false).is_err(),
            "unmapped is refused"
        );
        assert!(map("DELETE", "/", None, false).is_err());
    }

    #[test]
    fn delete_objects_body() {
        let body =
            "<Delete><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key></Object></Delete>";
        assert_eq!(delete_keys(body), ["a&b", "c"]);
    }
}
