//! The pod runner: containers whose image is the AWS CLI run as processes of the real, pinned
//! AWS CLI, the way Fargate would run them — credentials from Fargate's `AssumeRole` of the
//! profile's execution role, the endpoint as `AWS_ENDPOINT_URL`, an environment with nothing
//! of the host's, a fresh working directory, limits on memory, file size, time and output.
//! What they print is the pod's log; how they end sets the container's state. Nothing but
//! `aws` is ever run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use scheduler::kube::{Effect, Exit, Launch, PodRef};
use tokio::io::AsyncReadExt;

use super::{PRINCIPAL_HEADER, SOURCE_ACCOUNT_HEADER, SOURCE_ARN_HEADER, State, now_secs};

/// The most a container's process may print before it is stopped (its log keeps the first
/// MiB; see `scheduler::kube::pods::MAX_LOG`).
pub const MAX_OUTPUT: usize = 8 << 20;
/// The address space a process gets when its container sets no memory limit.
pub const DEFAULT_MEMORY: u64 = 1 << 30;
/// The largest file a process may write in its working directory.
pub const MAX_FILE: u64 = 64 << 20;

/// Asks to be killed when fargate-sim goes (`PR_SET_PDEATHSIG`, so that a killed endpoint
/// leaves no process behind; gone already if it went before), sets the limits, then becomes
/// the AWS CLI. Run by the pinned environment's Python, so that no unsafe code is needed
/// between fork and exec.
const LIMITS: &str = "import ctypes, os, resource, signal, sys\n\
m, f, parent = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])\n\
ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))\n\
if os.getppid() != parent: sys.exit(137)\n\
resource.setrlimit(resource.RLIMIT_AS, (m, m))\n\
resource.setrlimit(resource.RLIMIT_FSIZE, (f, f))\n\
os.execv(sys.argv[4], sys.argv[4:])\n";

/// Environment variables of a container that are not passed on: they would send the AWS CLI
/// somewhere other than the endpoint.
fn blocked(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("AWS_ENDPOINT_URL")
        || upper == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
        || upper.ends_with("_PROXY")
        || upper == "PATH"
        || upper == "PYTHONPATH"
        || upper == "PYTHONSTARTUP"
        || upper == "LD_PRELOAD"
        || upper == "LD_LIBRARY_PATH"
}

/// Starts and stops what the model asked for.
pub(super) fn dispatch(state: &Arc<State>, cluster: &str, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Start(launch) => {
                let stop = match state.processes.lock() {
                    Ok(mut p) => p
                        .entry(launch.pod.uid.clone())
                        .or_insert_with(|| tokio::sync::watch::channel(false).0)
                        .subscribe(),
                    Err(_) => continue,
                };
                let state = state.clone();
                let cluster = cluster.to_owned();
                tokio::spawn(async move { run(state, cluster, launch, stop).await });
            }
            Effect::Stop(pod) => {
                if let Ok(mut p) = state.processes.lock()
                    && let Some(tx) = p.remove(&pod.uid)
                {
                    let _ = tx.send(true);
                }
            }
        }
    }
}

/// Tells the model something about a pod, then starts or stops what that asks for.
fn report(
    state: &Arc<State>,
    cluster: &str,
    f: impl FnOnce(&mut scheduler::kube::Kube, &mut scheduler::Cluster, f64),
) {
    let effects = {
        let Ok(mut plane) = state.eks.lock() else {
            return;
        };
        let Some((kube, fargate)) = plane.kube_any(cluster) else {
            return;
        };
        f(kube, fargate, now_secs());
        kube.take_effects()
    };
    state.kube_changed.send_modify(|v| *v += 1);
    dispatch(state, cluster, effects);
}

async fn run(
    state: Arc<State>,
    cluster: String,
    launch: Launch,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if launch.delay > 0.0 {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(launch.delay)) => {}
            _ = stop.wait_for(|s| *s) => {
                report(&state, &cluster, |k, c, now| k.container_exited(c, &launch.pod, &launch.container, &Exit::Code(137), now));
                return;
            }
        }
        report(&state, &cluster, |k, _, now| {
            k.container_started(&launch.pod, &launch.container, now);
        });
    }
    let exit = execute(&state, &cluster, &launch, &mut stop).await;
    report(&state, &cluster, |k, c, now| {
        k.container_exited(c, &launch.pod, &launch.container, &exit, now);
    });
}

fn log(state: &Arc<State>, cluster: &str, pod: &PodRef, container: &str, text: &[u8]) {
    report(state, cluster, |k, _, _| k.append_log(pod, container, text));
}

/// Whether a URL's host is a loopback address written as an IP (no name is resolved).
fn loopback_literal(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

async fn execute(
    state: &Arc<State>,
    cluster: &str,
    launch: &Launch,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Exit {
    let program = launch.args.first().map(String::as_str).unwrap_or("");
    let name = program.rsplit('/').next().unwrap_or(program);
    if name != "aws" {
        return Exit::StartError(format!(
            "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"{program}\": executable file not found in $PATH: unknown (fargate-sim runs only the AWS CLI's `aws` in a container)"
        ));
    }
    let args = &launch.args[1..];
    if let Some(w) = args.windows(2).find(|w| w[0] == "--endpoint-url")
        && !loopback_literal(&w[1])
    {
        log(
            state,
            cluster,
            &launch.pod,
            &launch.container,
            format!(
                "fargate-sim: --endpoint-url {} is not a loopback address; containers may only reach the endpoint\n",
                w[1]
            )
            .as_bytes(),
        );
        return Exit::Code(255);
    }
    let Some(aws) = aws_cli().await else {
        return Exit::StartError(
            "the pinned AWS CLI is not installed (run `fargate-sim localstack install`)".into(),
        );
    };
    let region = launch
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "AWS_REGION" || k == "AWS_DEFAULT_REGION")
        .map_or_else(|| state.region.clone(), |(_, v)| v.clone());
    let creds = match assume_for_pod(
        &state.own_url,
        &state.region,
        &state.root,
        &state.account,
        &launch.role_arn,
        &launch.profile_arn,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            return Exit::StartError(format!(
                "Fargate could not assume the pod execution role {}: {e}",
                launch.role_arn
            ));
        }
    };
    let Ok(home) = tempfile::tempdir() else {
        return Exit::StartError("no temporary directory for the container".into());
    };
    let python = aws.with_file_name("python");
    let memory = launch.memory_limit.unwrap_or(DEFAULT_MEMORY);
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg("-c")
        .arg(LIMITS)
        .arg(memory.to_string())
        .arg(MAX_FILE.to_string())
        .arg(std::process::id().to_string())
        .arg(&aws)
        .args(args)
        .env_clear()
        .current_dir(home.path())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("LANG", "C.UTF-8")
        .env("AWS_CONFIG_FILE", home.path().join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", &region)
        .env("AWS_DEFAULT_REGION", &region)
        .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key);
    if let Some(t) = &creds.session_token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    for (k, v) in &launch.env {
        if !blocked(k)
            && !k.is_empty()
            && !k.contains('=')
            && !k.contains('\0')
            && !v.contains('\0')
        {
            cmd.env(k, v);
        }
    }
    cmd.env("AWS_ENDPOINT_URL", &state.own_url);
    if let Some(s3) = &state.pod_s3_url {
        cmd.env("AWS_ENDPOINT_URL_S3", s3);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Exit::StartError(format!("{} could not be started: {e}", aws.display())),
    };
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        return Exit::StartError("the container's output could not be read".into());
    };
    let limit = launch
        .deadline
        .map_or(state.pod_limit, |d| d.min(state.pod_limit));
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(limit.max(0.0));
    let (mut buf_out, mut buf_err) = (vec![0u8; 8192], vec![0u8; 8192]);
    let (mut out_open, mut err_open) = (true, true);
    let mut total = 0usize;
    let mut killed: Option<Exit> = None;
    while out_open || err_open {
        tokio::select! {
            n = out.read(&mut buf_out), if out_open => match n {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => { total += n; log(state, cluster, &launch.pod, &launch.container, &buf_out[..n]); }
            },
            n = err.read(&mut buf_err), if err_open => match n {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => { total += n; log(state, cluster, &launch.pod, &launch.container, &buf_err[..n]); }
            },
            () = tokio::time::sleep_until(deadline) => {
                killed = Some(if launch.deadline.is_some_and(|d| d <= state.pod_limit) {
                    Exit::DeadlineExceeded
                } else {
                    Exit::Limit(format!("fargate-sim stopped the container's process after {limit} s, the limit for a container (up --pod-timeout)"))
                });
                break;
            }
            _ = stop.wait_for(|s| *s) => {
                killed = Some(Exit::Code(137));
                break;
            }
        }
        if total > MAX_OUTPUT {
            killed = Some(Exit::Limit(format!(
                "fargate-sim stopped the container's process: it printed more than {} MiB",
                MAX_OUTPUT >> 20
            )));
            break;
        }
    }
    if let Some(exit) = killed {
        let _ = child.kill().await;
        return exit;
    }
    match child.wait().await {
        Ok(status) => match status.code() {
            Some(c) => Exit::Code(c),
            None => {
                use std::os::unix::process::ExitStatusExt as _;
                Exit::Code(128 + status.signal().unwrap_or(9))
            }
        },
        Err(e) => Exit::StartError(format!(
            "the container's process could not be waited for: {e}"
        )),
    }
}

/// The pinned AWS CLI: `FARGATE_SIM_AWS_CLI`, or the one in LocalStack's locked environment.
async fn aws_cli() -> Option<PathBuf> {
    static CLI: tokio::sync::OnceCell<Option<PathBuf>> = tokio::sync::OnceCell::const_new();
    CLI.get_or_init(|| async {
        if let Some(p) = std::env::var_os("FARGATE_SIM_AWS_CLI") {
            return Some(PathBuf::from(p));
        }
        tokio::task::spawn_blocking(|| {
            let dirs = s3_harness::localstack::CacheDirs::new().ok()?;
            let python = s3_harness::localstack::ensure_environment(&dirs, &|_| {}).ok()?;
            Some(python.with_file_name("aws"))
        })
        .await
        .ok()
        .flatten()
    })
    .await
    .clone()
}

/// What Fargate does before starting a pod: assume the execution role through the endpoint's
/// STS as `eks-fargate-pods.amazonaws.com`, with the profile's ARN as `aws:SourceArn` and the
/// account as `aws:SourceAccount`.
///
/// # Errors
/// STS's refusal, in the AWS CLI's words.
pub async fn assume_for_pod(
    endpoint: &str,
    region: &str,
    root: &s3_harness::Creds,
    account: &str,
    role_arn: &str,
    profile_arn: &str,
) -> Result<s3_harness::Creds, String> {
    let conf = s3_harness::client::sdk_config(endpoint, region, root).await;
    let sts = aws_sdk_sts::Client::new(&conf);
    let (source_arn, source_account) = (profile_arn.to_owned(), account.to_owned());
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("fargate-pod")
        .customize()
        .mutate_request(move |req| {
            req.headers_mut()
                .insert(PRINCIPAL_HEADER, "eks-fargate-pods.amazonaws.com");
            req.headers_mut()
                .insert(SOURCE_ARN_HEADER, source_arn.clone());
            req.headers_mut()
                .insert(SOURCE_ACCOUNT_HEADER, source_account.clone());
        })
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(se) => format!(
                "An error occurred ({}) when calling the AssumeRole operation: {}",
                aws_sdk_sts::error::ProvideErrorMetadata::code(se).unwrap_or("Unknown"),
                aws_sdk_sts::error::ProvideErrorMetadata::message(se).unwrap_or("")
            ),
            None => format!(
                "AssumeRole failed: {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ),
        })?;
    let c = out
        .credentials()
        .ok_or("AssumeRole returned no credentials")?;
    Ok(s3_harness::Creds {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: c.secret_access_key().to_owned(),
        session_token: Some(c.session_token().to_owned()),
    })
}

/// The processes of live pods, by pod uid: a stop signal each.
pub(super) type Processes = std::sync::Mutex<HashMap<String, tokio::sync::watch::Sender<bool>>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_ip_literals_are_loopback() {
        assert!(loopback_literal("http://127.0.0.1:4599"));
        assert!(loopback_literal("http://[::1]:4599/"));
        assert!(!loopback_literal("http://localhost:4599"));
        assert!(!loopback_literal("https://s3.amazonaws.com"));
        assert!(!loopback_literal("http://10.0.0.1"));
    }

    #[test]
    fn variables_that_redirect_the_cli_are_not_passed_on() {
        assert!(blocked("AWS_ENDPOINT_URL_S3"));
        assert!(blocked("https_proxy"));
        assert!(blocked("LD_PRELOAD"));
        assert!(!blocked("BUCKET"));
        assert!(!blocked("AWS_REGION"));
    }
}
