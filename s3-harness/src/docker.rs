//! Docker mode: LocalStack as a container through testcontainers (feature `docker`).

use std::time::Duration;

use testcontainers_modules::localstack::LocalStack as LocalStackImage;
use testcontainers_modules::testcontainers::runners::SyncRunner;
use testcontainers_modules::testcontainers::{Container as TcContainer, ImageExt};

use crate::HarnessError;
use crate::localstack::{LOCALSTACK_VERSION, REQUIRED_SERVICES};

/// A running LocalStack container; removed when dropped.
pub struct Container {
    _inner: TcContainer<LocalStackImage>,
    endpoint: String,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Container {
    /// The endpoint URL on the Docker host.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// Whether a Docker daemon answers a ping within two seconds.
pub fn daemon_reachable() -> bool {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    rt.block_on(async {
        let probe = async {
            let client =
                testcontainers_modules::testcontainers::core::client::docker_client_instance()
                    .await
                    .ok()?;
            client.ping().await.ok()
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), probe).await,
            Ok(Some(_))
        )
    })
}

/// Starts `localstack/localstack:4.13.1` with only S3, IAM and STS.
///
/// # Errors
/// [`HarnessError::StartFailed`] with Docker's reason.
pub fn start() -> Result<Container, HarnessError> {
    let failed = |e: &dyn std::fmt::Display| HarnessError::StartFailed {
        log: std::path::PathBuf::new(),
        reason: format!("Docker could not start localstack/localstack:{LOCALSTACK_VERSION}: {e}"),
    };
    let inner = LocalStackImage::default()
        .with_tag(LOCALSTACK_VERSION)
        .with_env_var("SERVICES", REQUIRED_SERVICES.join(","))
        .with_env_var("DISABLE_EVENTS", "1")
        .with_env_var("SKIP_SSL_CERT_DOWNLOAD", "1")
        .start()
        .map_err(|e| failed(&e))?;
    let host = inner.get_host().map_err(|e| failed(&e))?;
    let port = inner.get_host_port_ipv4(4566).map_err(|e| failed(&e))?;
    Ok(Container {
        endpoint: format!("http://{host}:{port}"),
        _inner: inner,
    })
}
