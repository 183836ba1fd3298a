//! Checking a request's SigV4 signature against the secret the gateway knows for its access
//! key, with the `aws-sigv4` crate computing the expected signature.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// Access key id.
    pub access_key_id: String,
    /// `yyyymmdd`.
    pub date: String,
    /// Region of the credential scope.
    pub region: String,
    /// Service of the credential scope (`s3`, `sts`, `iam`).
    pub service: String,
    /// Lowercase header names, in order.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Parses the Authorization header; `None` when it is not SigV4.
pub fn parse_auth(value: &str) -> Option<AuthHeader> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let access_key_id = scope.next()?.to_owned();
    let date = scope.next()?.to_owned();
    let region = scope.next()?.to_owned();
    let service = scope.next()?.to_owned();
    if scope.next()? != "aws4_request" {
        return None;
    }
    Some(AuthHeader {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed?.split(';').map(str::to_owned).collect(),
        signature: signature?.to_owned(),
    })
}

/// Parses `x-amz-date` (`20261125T123456Z`).
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(9..11)?,
        n(11..13)?,
        n(13..15)?,
    );
    let unix = endpoint::time::Utc {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: se,
    }
    .to_unix();
    let secs = u64::try_from(unix).ok()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// `yyyymmddThhmmssZ`, the form of `x-amz-date`.
pub fn format_amz_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    endpoint::time::Utc::from_unix(i64::try_from(secs).unwrap_or(i64::MAX)).basic()
}

/// A presigned URL's signature, from its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presigned {
    /// SigV4 in the query (`X-Amz-Algorithm=AWS4-HMAC-SHA256`, …).
    V4 {
        /// The credential scope and signature, as a header would carry them.
        auth: AuthHeader,
        /// `X-Amz-Date`.
        date: String,
        /// `X-Amz-Expires`, seconds.
        expires: u64,
        /// `X-Amz-Security-Token`.
        token: Option<String>,
    },
    /// S3's SigV2 query authentication (`AWSAccessKeyId`, `Signature`, `Expires`), which the
    /// AWS CLI v1's `aws s3 presign` writes.
    V2 {
        /// `AWSAccessKeyId`.
        access_key_id: String,
        /// `Signature` (base64).
        signature: String,
        /// `Expires`, seconds since the epoch.
        expires: u64,
        /// `x-amz-security-token`.
        token: Option<String>,
    },
}

impl Presigned {
    /// The access key the URL was signed with.
    pub fn access_key_id(&self) -> &str {
        match self {
            Presigned::V4 { auth, .. } => &auth.access_key_id,
            Presigned::V2 { access_key_id, .. } => access_key_id,
        }
    }

    /// The session token in the URL.
    pub fn token(&self) -> Option<&str> {
        match self {
            Presigned::V4 { token, .. } | Presigned::V2 { token, .. } => token.as_deref(),
        }
    }

    /// When the URL stops working, seconds since the epoch.
    pub fn expires_at(&self) -> Option<u64> {
        match self {
            Presigned::V4 { date, expires, .. } => parse_amz_date(date)?
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs().saturating_add(*expires)),
            Presigned::V2 { expires, .. } => Some(*expires),
        }
    }
}

/// The signature of a presigned URL, when the query has one.
pub fn presigned(query: Option<&str>) -> Option<Presigned> {
    let pairs = endpoint::query_pairs(query);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    if get("X-Amz-Algorithm").as_deref() == Some("AWS4-HMAC-SHA256") {
        let credential = get("X-Amz-Credential")?;
        let header = format!(
            "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={}, Signature={}",
            get("X-Amz-SignedHeaders")?,
            get("X-Amz-Signature")?
        );
        return Some(Presigned::V4 {
            auth: parse_auth(&header)?,
            date: get("X-Amz-Date")?,
            expires: get("X-Amz-Expires")?.parse().ok()?,
            token: get("X-Amz-Security-Token"),
        });
    }
    Some(Presigned::V2 {
        access_key_id: get("AWSAccessKeyId")?,
        signature: get("Signature")?,
        expires: get("Expires")?.parse().ok()?,
        token: get("x-amz-security-token"),
    })
}

/// The query without a presigned URL's own parameters, still encoded.
pub fn query_without_signature(query: &str) -> String {
    const OWN: [&str; 10] = [
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-signature",
        "x-amz-security-token",
        "awsaccesskeyid",
        "signature",
        "expires",
    ];
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split_once('=').map_or(*p, |(k, _)| k);
            !OWN.contains(&k.to_ascii_lowercase().as_str())
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies a presigned URL's signature (not its expiry: see [`Presigned::expires_at`]).
///
/// # Errors
/// Why the signature was refused.
pub fn verify_presigned(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    presigned: &Presigned,
    secret: &str,
) -> Result<(), SignatureError> {
    match presigned {
        Presigned::V4 {
            auth,
            date,
            expires,
            token,
        } => {
            let time = parse_amz_date(date)
                .ok_or_else(|| SignatureError::Malformed(format!("bad X-Amz-Date `{date}`")))?;
            let rest = query_without_signature(query);
            let host = headers
                .iter()
                .find(|(k, _)| k == "host")
                .map_or("localhost", |(_, v)| v.as_str());
            let uri = if rest.is_empty() {
                format!("http://{host}{path}")
            } else {
                format!("http://{host}{path}?{rest}")
            };
            let signed: Vec<(&str, &str)> = auth
                .signed_headers
                .iter()
                .filter_map(|h| {
                    headers
                        .iter()
                        .find(|(k, _)| k == h)
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                })
                .collect();
            let signable = SignableRequest::new(
                method,
                uri,
                signed.into_iter(),
                SignableBody::UnsignedPayload,
            )
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            let mut settings = SigningSettings::default();
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.signature_location = aws_sigv4::http_request::SignatureLocation::QueryParams;
            settings.expires_in = Some(std::time::Duration::from_secs(*expires));
            settings.session_token_mode = SessionTokenMode::Include;
            let identity =
                Credentials::new(&auth.access_key_id, secret, token.clone(), None, "gateway")
                    .into();
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region(&auth.region)
                .name(&auth.service)
                .time(time)
                .settings(settings)
                .build()
                .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            let out = sign(signable, &params.into())
                .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            if constant_time_eq(out.signature().as_bytes(), auth.signature.as_bytes()) {
                Ok(())
            } else {
                Err(SignatureError::Mismatch)
            }
        }
        Presigned::V2 {
            signature,
            expires,
            token,
            ..
        } => {
            use base64::Engine as _;
            use hmac::{KeyInit, Mac};
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or("", |(_, v)| v.as_str())
            };
            let mut to_sign = format!(
                "{method}\n{}\n{}\n{expires}\n",
                header("content-md5"),
                header("content-type")
            );
            if let Some(t) = token {
                to_sign.push_str(&format!("x-amz-security-token:{t}\n"));
            }
            to_sign.push_str(path);
            let mut sub: Vec<(String, String)> = endpoint::query_pairs(Some(query))
                .into_iter()
                .filter(|(k, _)| S3_SUBRESOURCES.contains(&k.as_str()))
                .collect();
            sub.sort();
            for (i, (k, v)) in sub.iter().enumerate() {
                to_sign.push(if i == 0 { '?' } else { '&' });
                to_sign.push_str(k);
                if !v.is_empty() {
                    to_sign.push('=');
                    to_sign.push_str(v);
                }
            }
            let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
                .map_err(|e| SignatureError::Malformed(e.to_string()))?;
            mac.update(to_sign.as_bytes());
            let expected =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
                Ok(())
            } else {
                Err(SignatureError::Mismatch)
            }
        }
    }
}

/// The query parameters SigV2 signs as part of the resource.
const S3_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No (or a non-SigV4) Authorization header.
    Missing,
    /// The header or `x-amz-date` could not be read.
    Malformed(String),
    /// The signature does not match the one computed with the known secret.
    Mismatch,
    /// The request's time is more than [`MAX_SKEW`] away from the gateway's clock.
    Skewed {
        /// `x-amz-date` of the request.
        request_time: String,
    },
}

/// How far a request's time may be from the server's clock (AWS allows 15 minutes).
pub const MAX_SKEW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The body a signature covers: S3 sends its hash in `x-amz-content-sha256` (or
/// `UNSIGNED-PAYLOAD`); the other services sign the hash of the body itself.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// S3: the `x-amz-content-sha256` header.
    S3Header,
    /// Any other service: the body.
    Body(&'a [u8]),
}

/// Verifies an S3 request signed in the Authorization header.
///
/// `headers` are the request's headers (lowercase names); `path_and_query` is as received
/// (still percent-encoded).
pub fn verify_s3(
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    auth: &AuthHeader,
    secret: &str,
    session_token: Option<&str>,
) -> Result<(), SignatureError> {
    verify(
        method,
        path_and_query,
        headers,
        auth,
        secret,
        session_token,
        Payload::S3Header,
    )
}

/// Whether a request's time is within [`MAX_SKEW`] of `now`.
///
/// # Errors
/// [`SignatureError::Skewed`], or `Malformed` for a missing or unreadable `x-amz-date`.
pub fn check_time(headers: &[(String, String)], now: SystemTime) -> Result<(), SignatureError> {
    let date = headers
        .iter()
        .find(|(k, _)| k == "x-amz-date")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| SignatureError::Malformed("no x-amz-date header".into()))?;
    let time = parse_amz_date(date)
        .ok_or_else(|| SignatureError::Malformed(format!("bad x-amz-date `{date}`")))?;
    let skew = now
        .duration_since(time)
        .or_else(|_| time.duration_since(now))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(SignatureError::Skewed {
            request_time: date.to_owned(),
        });
    }
    Ok(())
}

/// Verifies a request signed in the Authorization header, for any service: S3's rules (the
/// payload hash from its header, the path encoded once and not normalized) or every other
/// service's (the body hashed, the path encoded twice and normalized).
///
/// # Errors
/// Why the signature was refused.
pub fn verify(
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    auth: &AuthHeader,
    secret: &str,
    session_token: Option<&str>,
    body: Payload<'_>,
) -> Result<(), SignatureError> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let date = get("x-amz-date")
        .ok_or_else(|| SignatureError::Malformed("no x-amz-date header".into()))?;
    let time = parse_amz_date(date)
        .ok_or_else(|| SignatureError::Malformed(format!("bad x-amz-date `{date}`")))?;
    let signable_body = match body {
        Payload::S3Header => SignableBody::Precomputed(
            get("x-amz-content-sha256")
                .unwrap_or("UNSIGNED-PAYLOAD")
                .to_owned(),
        ),
        Payload::Body(b) => match get("x-amz-content-sha256") {
            Some(h) => SignableBody::Precomputed(h.to_owned()),
            None => SignableBody::Bytes(b),
        },
    };
    // Pass exactly the headers the client signed, minus those the signer adds itself.
    let skip = [
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-security-token",
        "authorization",
    ];
    let signed: Vec<(&str, &str)> = auth
        .signed_headers
        .iter()
        .filter(|h| !skip.contains(&h.as_str()))
        .filter_map(|h| {
            headers
                .iter()
                .find(|(k, _)| k == h)
                .map(|(k, v)| (k.as_str(), v.as_str()))
        })
        .collect();
    let host_signed = auth.signed_headers.iter().any(|h| h == "host");
    if !host_signed {
        return Err(SignatureError::Malformed(
            "the host header is not signed".into(),
        ));
    }
    let uri = format!(
        "http://{}{path_and_query}",
        get("host").unwrap_or("localhost")
    );
    let signable = SignableRequest::new(method, uri, signed.into_iter(), signable_body)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let mut settings = SigningSettings::default();
    if matches!(body, Payload::S3Header) {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    } else if get("x-amz-content-sha256").is_some() {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    settings.session_token_mode = SessionTokenMode::Include;
    let identity = Credentials::new(
        &auth.access_key_id,
        secret,
        session_token.map(str::to_owned),
        None,
        "gateway",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let out =
        sign(signable, &params.into()).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if constant_time_eq(out.signature().as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_authorization_header() {
        let h = "AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc123";
        let a = parse_auth(h).unwrap();
        assert_eq!(
            (
                a.access_key_id.as_str(),
                a.region.as_str(),
                a.service.as_str()
            ),
            ("AKID", "eu-west-1", "s3")
        );
        assert_eq!(
            a.signed_headers,
            ["host", "x-amz-content-sha256", "x-amz-date"]
        );
        assert_eq!(a.signature, "abc123");
        assert!(parse_auth("AWS AKID:sig").is_none());
        assert!(parse_auth("AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/s3, SignedHeaders=host, Signature=x").is_none());
    }

    #[test]
    fn parses_amz_dates() {
        let t = parse_amz_date("19700102T000001Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            86_401
        );
        assert!(parse_amz_date("2026-11-25T12:00:00Z").is_none());
        let t = parse_amz_date("20261206T174512Z").unwrap();
        assert_eq!(format_amz_date(t), "20261206T174512Z");
        assert_eq!(format_amz_date(SystemTime::UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn a_wrong_secret_is_a_mismatch() {
        // Sign with one secret, verify with another: the verifier must refuse.
        let headers = vec![
            ("host".to_owned(), "127.0.0.1:1".to_owned()),
            ("x-amz-date".to_owned(), "20261125T120000Z".to_owned()),
            (
                "x-amz-content-sha256".to_owned(),
                "UNSIGNED-PAYLOAD".to_owned(),
            ),
        ];
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let identity = Credentials::new("AKID", "right-secret", None, None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("s3")
            .time(parse_amz_date("20261125T120000Z").unwrap())
            .settings(settings)
            .build()
            .unwrap();
        let signable = SignableRequest::new(
            "GET",
            "http://127.0.0.1:1/b/k",
            [("host", "127.0.0.1:1")].into_iter(),
            SignableBody::Precomputed("UNSIGNED-PAYLOAD".into()),
        )
        .unwrap();
        let sig = sign(signable, &params.into())
            .unwrap()
            .signature()
            .to_owned();
        let auth = AuthHeader {
            access_key_id: "AKID".into(),
            date: "20261125".into(),
            region: "eu-west-1".into(),
            service: "s3".into(),
            signed_headers: vec![
                "host".into(),
                "x-amz-content-sha256".into(),
                "x-amz-date".into(),
            ],
            signature: sig,
        };
        assert_eq!(
            verify_s3("GET", "/b/k", &headers, &auth, "right-secret", None),
            Ok(())
        );
        assert_eq!(
            verify_s3("GET", "/b/k", &headers, &auth, "wrong-secret", None),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_s3("GET", "/b/other", &headers, &auth, "right-secret", None),
            Err(SignatureError::Mismatch)
        );
    }
}
