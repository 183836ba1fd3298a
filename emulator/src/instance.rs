//! The emulator as a library: LocalStack found or started, and the endpoint in front of it
//! that serves S3, STS and IAM with IAM enforced and EKS from its own control plane. `up`, and
//! users' own tests, start it with [`Emulator::start`]; dropping it stops everything it
//! started.
//!
//! ```no_run
//! # async fn f() -> Result<(), emulator::HarnessError> {
//! use emulator::{Emulator, Options};
//! let emu = Emulator::start(Options::default()).await?;
//! let conf = emu.sdk_config().await; // the account root's test credentials
//! let s3 = emulator::s3::Client::new(&conf);
//! # let _ = s3;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::gateway::{Gateway, Listen, VpcEndpoint};
use s3_harness::HarnessError;
use s3_harness::client::{Creds, sdk_config};
use s3_harness::localstack::{self, LocalStack, Progress};

/// How to start the emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// The endpoint's loopback port (0: any free port).
    pub port: u16,
    /// Seconds an EKS cluster or Fargate profile stays CREATING or DELETING.
    pub eks_delay: f64,
    /// The region the endpoint answers for.
    pub region: String,
    /// Forward services other than S3, STS, IAM and EKS to LocalStack, unenforced.
    pub passthrough: bool,
    /// An S3 gateway VPC endpoint: a second listener through which S3 requests carry
    /// `aws:SourceVpce` and must be allowed by its policy (the demo's `endpoint-only`).
    pub vpc_endpoint: Option<VpcEndpoint>,
    /// Which LocalStack (given endpoint, Docker, host mode).
    pub localstack: localstack::Options,
    /// Seconds a pod's container process may run before it is stopped.
    pub pod_limit: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            port: 0,
            eks_delay: 0.05,
            region: "eu-west-1".to_owned(),
            passthrough: false,
            vpc_endpoint: None,
            localstack: localstack::Options::default(),
            pod_limit: crate::gateway::DEFAULT_POD_LIMIT,
        }
    }
}

/// A running emulator. Dropping it stops the endpoint, then LocalStack if it was started here.
#[derive(Debug)]
pub struct Emulator {
    // Field order is drop order: the endpoint stops before LocalStack does.
    gateway: Gateway,
    localstack: LocalStack,
    region: String,
}

/// LocalStack's account, which the test credentials act as the root of.
pub const ACCOUNT: &str = "000000000000";

impl Emulator {
    /// Finds or starts LocalStack, then starts the endpoint.
    ///
    /// # Errors
    /// No LocalStack could be found or started, or the port could not be bound.
    pub async fn start(options: Options) -> Result<Self, HarnessError> {
        Self::start_reporting(options, Arc::new(|_| {})).await
    }

    /// [`Emulator::start`], reporting LocalStack's slow steps to `progress`.
    ///
    /// # Errors
    /// See [`Emulator::start`].
    pub async fn start_reporting(
        options: Options,
        progress: Arc<dyn Fn(Progress) + Send + Sync>,
    ) -> Result<Self, HarnessError> {
        let ls_options = options.localstack.clone();
        let localstack = tokio::task::spawn_blocking(move || {
            LocalStack::obtain_with(&ls_options, &|p| progress(p))
        })
        .await
        .map_err(|e| HarnessError::Environment {
            reason: format!("starting LocalStack was interrupted: {e}"),
            log: None,
        })??;
        Self::around(localstack, options).await
    }

    /// Starts the endpoint in front of a LocalStack already found or started (the demo
    /// obtains its own, with its own messages).
    ///
    /// # Errors
    /// The port could not be bound.
    pub async fn around(localstack: LocalStack, options: Options) -> Result<Self, HarnessError> {
        let listen = Listen {
            port: options.port,
            eks_delay: options.eks_delay,
            passthrough: options.passthrough,
            pod_limit: options.pod_limit,
        };
        let gateway = Gateway::start_on(
            localstack.endpoint(),
            &options.region,
            ACCOUNT,
            Creds::test_account(),
            options.vpc_endpoint,
            &listen,
        )
        .await
        .map_err(|e| HarnessError::Listen {
            reason: if e.kind() == std::io::ErrorKind::AddrInUse {
                format!(
                    "port {} on 127.0.0.1 is taken; choose another with --port",
                    options.port
                )
            } else {
                format!(
                    "the endpoint could not listen on 127.0.0.1:{}: {e}",
                    options.port
                )
            },
        })?;
        Ok(Self {
            gateway,
            localstack,
            region: options.region,
        })
    }

    /// Stops the endpoint, then LocalStack at once if it was started here (its state is lost
    /// either way); dropping the emulator stops LocalStack gracefully instead (about 2 s).
    pub fn stop_now(self) {
        let Self {
            gateway,
            localstack,
            ..
        } = self;
        drop(gateway);
        localstack.stop_now();
    }

    /// The endpoint's URL (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> &str {
        self.gateway.endpoint()
    }

    /// The LocalStack behind it.
    pub fn localstack(&self) -> &LocalStack {
        &self.localstack
    }

    /// The gateway (its decisions, its cache).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account root's credentials (LocalStack's test keys).
    pub fn root_credentials(&self) -> Creds {
        Creds::test_account()
    }

    /// An SDK configuration for the endpoint as the account root.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(self.endpoint(), &self.region, &Creds::test_account()).await
    }

    /// An SDK configuration for the endpoint with other credentials (an IAM user's keys, a
    /// session).
    pub async fn sdk_config_as(&self, creds: &Creds) -> aws_config::SdkConfig {
        sdk_config(self.endpoint(), &self.region, creds).await
    }

    /// The environment a client needs: `AWS_ENDPOINT_URL`, the root's keys, the region.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint().to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", self.region.clone()),
        ]
    }
}
