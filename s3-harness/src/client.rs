//! AWS SDK clients configured for LocalStack: explicit endpoint, region and test credentials,
//! so nothing falls through to real AWS or to the instance metadata service.

use aws_credential_types::Credentials;

/// The account LocalStack uses for the `test` credentials.
pub const TEST_ACCOUNT: &str = "000000000000";

/// Credentials a client signs with.
#[derive(Clone)]
pub struct Creds {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (never printed: `Debug` hides it).
    pub secret_access_key: String,
    /// Session token for temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creds")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Creds {
    /// LocalStack's account credentials (`test` / `test`), which act as the account root.
    pub fn test_account() -> Self {
        Self {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
        }
    }
}

/// Time limits of the SDK clients: every call ends, answered or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting (LocalStack is on loopback: a connection is immediate or refused).
    pub connect: std::time::Duration,
    /// One attempt, request to response. The first request to a fresh LocalStack takes up to
    /// about 4 s (service catalogue, lazy loading).
    pub attempt: std::time::Duration,
    /// All attempts of one call together.
    pub operation: std::time::Duration,
    /// Attempts per call (retries on throttling, 5xx and transport errors).
    pub attempts: u32,
}

impl Timeouts {
    /// Each limit the smaller of the two.
    pub fn shorter(self, other: Timeouts) -> Timeouts {
        Timeouts {
            connect: self.connect.min(other.connect),
            attempt: self.attempt.min(other.attempt),
            operation: self.operation.min(other.operation),
            attempts: self.attempts.min(other.attempts),
        }
    }

    /// For the run's own calls.
    pub const DEFAULT: Timeouts = Timeouts {
        connect: std::time::Duration::from_secs(2),
        attempt: std::time::Duration::from_secs(10),
        operation: std::time::Duration::from_secs(20),
        attempts: 3,
    };
    /// For cleanup after an interruption or failure: short, so that Ctrl-C ends the run fast.
    pub const CLEANUP: Timeouts = Timeouts {
        connect: std::time::Duration::from_secs(1),
        attempt: std::time::Duration::from_secs(2),
        operation: std::time::Duration::from_secs(3),
        attempts: 2,
    };
}

/// SDK configuration for one endpoint, region and set of credentials.
pub async fn sdk_config(endpoint: &str, region: &str, creds: &Creds) -> aws_config::SdkConfig {
    sdk_config_with(endpoint, region, creds, Timeouts::DEFAULT).await
}

/// [`sdk_config`] with chosen time limits.
pub async fn sdk_config_with(
    endpoint: &str,
    region: &str,
    creds: &Creds,
    t: Timeouts,
) -> aws_config::SdkConfig {
    // Plain HTTP only: endpoints are LocalStack gateways (`parse_endpoint` refuses https).
    let http = aws_smithy_http_client::Builder::new().build_http();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(t.connect)
                .operation_attempt_timeout(t.attempt)
                .operation_timeout(t.operation)
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(t.attempts))
        .region(aws_config::Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.clone(),
            creds.session_token.clone(),
            None,
            "fargate-sim",
        ))
        .load()
        .await
}

/// The clients the project uses, all pointed at one endpoint.
#[derive(Debug, Clone)]
pub struct Clients {
    /// S3, path-style addressing (bucket names never become host names).
    pub s3: aws_sdk_s3::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// EKS (served by the fargate-sim endpoint; LocalStack's free edition has none).
    pub eks: aws_sdk_eks::Client,
}

impl Clients {
    /// Builds S3, IAM, STS and EKS clients for `endpoint`.
    pub async fn new(endpoint: &str, region: &str, creds: &Creds) -> Self {
        Self::with_timeouts(endpoint, region, creds, Timeouts::DEFAULT).await
    }

    /// [`Clients::new`] with chosen time limits.
    pub async fn with_timeouts(endpoint: &str, region: &str, creds: &Creds, t: Timeouts) -> Self {
        let conf = sdk_config_with(endpoint, region, creds, t).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        Self {
            s3,
            iam: aws_sdk_iam::Client::new(&conf),
            sts: aws_sdk_sts::Client::new(&conf),
            eks: aws_sdk_eks::Client::new(&conf),
        }
    }
}

impl Clients {
    /// Creates a bucket in `region` with its `LocationConstraint`, as S3 requires outside
    /// us-east-1.
    ///
    /// # Errors
    /// The service's error (`BucketAlreadyOwnedByYou`, …), with the bucket named.
    pub async fn create_bucket_in(
        &self,
        bucket: &str,
        region: &str,
    ) -> Result<(), crate::HarnessError> {
        let config = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
            .build();
        self.s3
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(config)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::HarnessError::aws(format!("CreateBucket {bucket}"), &e))
    }

    /// Creates an IAM user and an access key for it: the credentials to call as that user. Made
    /// through the fargate-sim endpoint, the key is known to it (its secret is only ever in
    /// this answer).
    ///
    /// # Errors
    /// The service's error, with the user named.
    pub async fn create_user_with_key(&self, name: &str) -> Result<Creds, crate::HarnessError> {
        self.iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| crate::HarnessError::aws(format!("CreateUser {name}"), &e))?;
        let key = self
            .iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .map_err(|e| crate::HarnessError::aws(format!("CreateAccessKey {name}"), &e))?;
        let k = key.access_key().ok_or_else(|| crate::HarnessError::Aws {
            operation: format!("CreateAccessKey {name}"),
            message: "the answer holds no access key".into(),
        })?;
        Ok(Creds {
            access_key_id: k.access_key_id().to_owned(),
            secret_access_key: k.secret_access_key().to_owned(),
            session_token: None,
        })
    }
}

/// Decodes a policy document as IAM returns it: URL-encoded in some calls, plain JSON in others
/// (LocalStack differs from AWS here). RFC 3986 percent-decoding; `+` stays a plus.
pub fn decode_policy_document(raw: &str) -> String {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('{') {
        return raw.to_owned();
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_and_passes_plain_json() {
        assert_eq!(
            decode_policy_document("%7B%22a%22%3A%221+2%22%7D"),
            r#"{"a":"1+2"}"#
        );
        assert_eq!(decode_policy_document(r#"  {"a": 1}"#), r#"  {"a": 1}"#);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Creds {
            access_key_id: "AKID".into(),
            secret_access_key: "s3cr3t".into(),
            session_token: Some("tok".into()),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID") && !shown.contains("s3cr3t") && !shown.contains("tok\""));
    }
}
