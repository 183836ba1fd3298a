//! Who is calling: the account root, an IAM user (by an access key made through the gateway),
//! or a session (AssumeRole, GetSessionToken) — and the first step of every request,
//! authentication, with each service's own words for a refusal.

use std::sync::Arc;
use std::time::SystemTime;

use hyper::StatusCode;
use iam_sim::CompiledPolicy;

use super::errors::{query_error, s3_error};
use super::{Resp, json_answer, respond, sigv4};

/// The services the gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// S3 (REST-XML).
    S3,
    /// STS (query).
    Sts,
    /// IAM (query).
    Iam,
    /// EKS (REST-JSON), served by the gateway itself.
    Eks,
}

impl Service {
    /// The service named in a credential scope.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "s3" => Some(Service::S3),
            "sts" => Some(Service::Sts),
            "iam" => Some(Service::Iam),
            "eks" => Some(Service::Eks),
            _ => None,
        }
    }

    /// The credential-scope name.
    pub fn name(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Sts => "sts",
            Service::Iam => "iam",
            Service::Eks => "eks",
        }
    }

    /// The largest request body read for the service: S3 objects up to 64 MiB in one request
    /// (multipart parts are smaller), 1 MiB for the others (their largest documents, policies,
    /// are a few KiB).
    pub fn max_body(self) -> usize {
        match self {
            Service::S3 => 64 << 20,
            Service::Eks => endpoint::eks::MAX_BODY,
            Service::Sts | Service::Iam => 1 << 20,
        }
    }

    /// An error answer in the service's protocol: S3's XML `Error`, the query protocol's
    /// `ErrorResponse` (the caller's fault below 500), or JSON with `x-amzn-ErrorType`.
    pub fn error(self, status: StatusCode, code: &str, message: &str, rid: &str) -> Resp {
        match self {
            Service::S3 => respond(
                status,
                "application/xml",
                s3_error(code, message, None, rid),
            ),
            Service::Sts | Service::Iam => respond(
                status,
                "text/xml",
                query_error(self.name(), status.as_u16() < 500, code, message, rid),
            ),
            Service::Eks => json_answer(
                status,
                Some(code),
                serde_json::json!({ "message": message }).to_string(),
                rid,
            ),
        }
    }

    /// The answer to a request that failed authentication, in the service's words.
    pub fn refuse(self, why: &Refusal, rid: &str) -> Resp {
        use Service::*;
        const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
        const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
        const EXPIRED: &str = "The security token included in the request is expired";
        let forbidden = StatusCode::FORBIDDEN;
        match (why, self) {
            (Refusal::UnknownKey, S3) => self.error(
                forbidden,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                rid,
            ),
            (Refusal::UnknownKey, Eks) => {
                self.error(forbidden, "UnrecognizedClientException", INVALID_TOKEN, rid)
            }
            (Refusal::UnknownKey, _) => {
                self.error(forbidden, "InvalidClientTokenId", INVALID_TOKEN, rid)
            }
            (Refusal::BadToken, S3) => self.error(
                StatusCode::BAD_REQUEST,
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.",
                rid,
            ),
            (Refusal::BadToken, Eks) => {
                self.error(forbidden, "UnrecognizedClientException", INVALID_TOKEN, rid)
            }
            (Refusal::BadToken, _) => {
                self.error(forbidden, "InvalidClientTokenId", INVALID_TOKEN, rid)
            }
            (Refusal::Expired, S3) => self.error(
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "The provided token has expired.",
                rid,
            ),
            (Refusal::Expired, Eks) => self.error(forbidden, "ExpiredTokenException", EXPIRED, rid),
            (Refusal::Expired, _) => self.error(forbidden, "ExpiredToken", EXPIRED, rid),
            (Refusal::Signature(sigv4::SignatureError::Skewed { .. }), S3) => self.error(
                forbidden,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
                rid,
            ),
            (Refusal::Signature(sigv4::SignatureError::Skewed { request_time }), _) => {
                let now = SystemTime::now();
                let message = format!(
                    "Signature expired: {request_time} is now earlier than {} ({} - 15 min.)",
                    sigv4::format_amz_date(now - sigv4::MAX_SKEW),
                    sigv4::format_amz_date(now)
                );
                self.error(forbidden, self.signature_code(), &message, rid)
            }
            (Refusal::Signature(sigv4::SignatureError::Mismatch), S3) => self.error(
                forbidden,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
                rid,
            ),
            (Refusal::Signature(sigv4::SignatureError::Mismatch), _) => {
                self.error(forbidden, self.signature_code(), MISMATCH, rid)
            }
            (Refusal::Signature(sigv4::SignatureError::Missing), _) => self.error(
                forbidden,
                if self == S3 { "AccessDenied" } else { "MissingAuthenticationToken" },
                "Anonymous and unsigned requests are refused: sign the request with SigV4",
                rid,
            ),
            (Refusal::Signature(sigv4::SignatureError::Malformed(m)), _) => self.error(
                if self == S3 { forbidden } else { StatusCode::BAD_REQUEST },
                if self == S3 { "AuthorizationQueryParametersError" } else { "IncompleteSignature" },
                &format!("The request signature could not be checked: {m}"),
                rid,
            ),
            (Refusal::PresignExpired, _) => self.error(
                forbidden,
                "AccessDenied",
                "Request has expired",
                rid,
            ),
        }
    }

    fn signature_code(self) -> &'static str {
        match self {
            Service::Eks => "InvalidSignatureException",
            _ => "SignatureDoesNotMatch",
        }
    }
}

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The access key is not one the gateway knows.
    UnknownKey,
    /// A session's key came without its token, or with another.
    BadToken,
    /// The session has expired.
    Expired,
    /// A presigned URL past its `X-Amz-Expires`.
    PresignExpired,
    /// The signature, its time, or its form.
    Signature(sigv4::SignatureError),
}

/// What kind of identity a caller is.
#[derive(Debug, Clone)]
pub enum Kind {
    /// The account root (LocalStack's test keys), or a session the root got from
    /// GetSessionToken.
    Root,
    /// An IAM user.
    User {
        /// Its name.
        name: String,
    },
    /// A session of an assumed role.
    RoleSession {
        /// The role's ARN.
        role_arn: String,
        /// The session policy given to AssumeRole.
        policy: Option<Arc<CompiledPolicy>>,
    },
}

/// A known access key and whom it belongs to.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal ARN requests are decided for.
    pub arn: String,
    /// Root, user, or role session.
    pub kind: Kind,
    /// The secret access key signatures are checked with.
    pub secret: String,
    /// The session token a session's requests must carry.
    pub token: Option<String>,
    /// When the session expires, seconds since the epoch.
    pub expires: Option<f64>,
}

impl Caller {
    /// Whether this is the account root (or its GetSessionToken session).
    pub fn is_root(&self) -> bool {
        matches!(self.kind, Kind::Root)
    }

    /// The checks on a request made with this caller's key: its token, its expiry.
    ///
    /// # Errors
    /// [`Refusal::BadToken`] or [`Refusal::Expired`].
    pub fn admit(&self, token: Option<&str>, now: f64) -> Result<(), Refusal> {
        if self.token.as_deref() != token {
            return Err(Refusal::BadToken);
        }
        if self.expires.is_some_and(|e| now >= e) {
            return Err(Refusal::Expired);
        }
        Ok(())
    }
}

/// Reads an ISO 8601 time as STS writes `Expiration` (`2026-12-06T18:45:00Z`, fractional
/// seconds and `+00:00` allowed) into seconds since the epoch.
pub fn parse_expiration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, time) = s.split_once('T')?;
    let compact_date: String = date.chars().filter(|c| *c != '-').collect();
    let time = time
        .trim_end_matches('Z')
        .trim_end_matches("+00:00")
        .split('.')
        .next()?;
    let compact_time: String = time.chars().filter(|c| *c != ':').collect();
    let t = sigv4::parse_amz_date(&format!("{compact_date}T{compact_time}Z"))?;
    t.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires: f64) -> Caller {
        Caller {
            arn: "arn:aws:sts::000000000000:assumed-role/r/s".into(),
            kind: Kind::RoleSession {
                role_arn: "arn:aws:iam::000000000000:role/r".into(),
                policy: None,
            },
            secret: "s".into(),
            token: Some("tok".into()),
            expires: Some(expires),
        }
    }

    #[test]
    fn a_session_needs_its_own_token() {
        let s = session(100.0);
        assert_eq!(s.admit(Some("tok"), 0.0), Ok(()));
        assert_eq!(s.admit(None, 0.0), Err(Refusal::BadToken));
        assert_eq!(s.admit(Some("other"), 0.0), Err(Refusal::BadToken));
    }

    #[test]
    fn a_session_past_its_expiration_is_refused() {
        assert_eq!(
            session(100.0).admit(Some("tok"), 100.0),
            Err(Refusal::Expired)
        );
        assert_eq!(session(100.0).admit(Some("tok"), 99.0), Ok(()));
    }

    #[test]
    fn expirations_read_as_sts_writes_them() {
        assert_eq!(parse_expiration("1970-01-01T00:01:40Z"), Some(100.0));
        assert_eq!(parse_expiration("1970-01-01T00:01:40.123Z"), Some(100.0));
        assert_eq!(parse_expiration("1970-01-01T00:01:40+00:00"), Some(100.0));
        assert_eq!(parse_expiration("yesterday"), None);
    }

    #[test]
    fn each_service_words_an_unknown_key_its_own_way() {
        let code = |s: Service| {
            let r = s.refuse(&Refusal::UnknownKey, "R");
            (
                r.status().as_u16(),
                r.headers().get("x-amzn-errortype").cloned(),
            )
        };
        assert_eq!(code(Service::S3).0, 403);
        assert_eq!(code(Service::Eks).1.unwrap(), "UnrecognizedClientException");
    }
}
