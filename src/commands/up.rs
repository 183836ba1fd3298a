//! `fargate-sim up`, `down` and `status`: the local AWS endpoint (S3, STS, IAM, EKS) in front
//! of LocalStack, in the foreground or detached.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use emulator::gateway::{Decided, Event};
use emulator::{Emulator, Options};
use s3_harness::localstack::{self, CacheDirs};
use serde::{Deserialize, Serialize};

use crate::exit::Exit;
use crate::output;
use crate::progress::printer;

/// The port `up` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4599;

/// How decisions are shown while `up` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One readable line per decision, on standard error.
    Human,
    /// One JSON object per decision and per event, on standard error.
    Json,
}

/// Options of `fargate-sim up`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Finds or starts LocalStack (as `fargate-sim localstack start` does), then serves one endpoint on
127.0.0.1 that every AWS client can use: requests are routed by the service in their SigV4
credential scope.

  S3    every request signed and decided by fargate-sim's IAM engine (identity, bucket and
        session policies), then forwarded to LocalStack
  STS   AssumeRole decided on the role's trust policy and the caller's policies (the root
        may not assume roles); AssumeRole and GetSessionToken sessions remembered
  IAM   decided like S3 for IAM users and sessions, then forwarded; access keys made with
        `aws iam create-access-key` through the endpoint are known to it
  EKS   served by fargate-sim itself: clusters, Fargate profiles, tags (EKS's rules and words)
  anything else: refused with an error that names the services served

Standard output gets the environment to use, as shell `export` lines, so that
  eval \"$(fargate-sim up --detach)\"
sets AWS_ENDPOINT_URL, the account root's test keys, AWS_REGION and KUBECONFIG (a kubeconfig
for the cluster --cluster names, written beside up.log). The banner and one line per
authorization decision go to standard error.

Kubernetes: each ACTIVE cluster's API server is served at ENDPOINT/k8s/CLUSTER for kubectl
(plain HTTP on loopback, no authentication). Pods are placed by the Fargate profiles at
creation; a container whose image is the AWS CLI (amazon/aws-cli, public.ecr.aws/aws-cli/aws-cli)
runs as a process of the pinned AWS CLI with the execution role's session; any other image is
shown Running with no process.

--detach starts the endpoint in the background (its output goes to up.log in the cache
directory, or in FARGATE_SIM_STATE_DIR), prints the exports once it is ready, and exits; `fargate-sim down` stops it (and the
LocalStack it started); `fargate-sim status` says what runs where.

Exit status: 0 stopped by Ctrl-C/SIGTERM, or detached and ready; 2 it could not start (no
LocalStack, the port is taken, already running).")]
pub struct Args {
    /// The loopback port of the endpoint.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Run in the background; print the exports when ready and exit.
    #[arg(long)]
    pub detach: bool,
    /// Seconds an EKS cluster or Fargate profile stays CREATING or DELETING.
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0)]
    pub eks_delay: f64,
    /// How decisions are shown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Forward services other than S3, STS, IAM and EKS to LocalStack as they are, with no IAM
    /// check (they are refused otherwise).
    #[arg(long)]
    pub passthrough: bool,
    /// Do not use Docker for LocalStack even if a daemon is reachable.
    #[arg(long)]
    pub no_docker: bool,
    /// The cluster the kubeconfig's context names (create it with `fargate-sim eksctl create
    /// cluster` or `aws eks create-cluster`).
    #[arg(long, value_name = "NAME", default_value = "fargate-sim")]
    pub cluster: String,
    /// Seconds a pod's AWS CLI container may run before it is stopped.
    #[arg(long, value_name = "SECONDS", default_value_t = emulator::gateway::DEFAULT_POD_LIMIT)]
    pub pod_timeout: f64,
    /// Internal: the detached child of `up --detach`.
    #[arg(long, hide = true)]
    pub detached_child: bool,
}

/// What a detached `up` writes once it is ready, for `down` and `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    pid: u32,
    endpoint: String,
    localstack: String,
    region: String,
    log: PathBuf,
}

/// Where a detached `up` keeps `up.json` (what runs where) and `up.log`: `FARGATE_SIM_STATE_DIR`,
/// else the cache directory.
fn state_dir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("FARGATE_SIM_STATE_DIR").filter(|d| !d.is_empty()) {
        let d = PathBuf::from(d);
        std::fs::create_dir_all(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        return Ok(d);
    }
    let base = CacheDirs::new().map_err(|e| e.to_string())?.base;
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    Ok(base)
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join("up.json")
}

/// The shell lines `up` prints. `FARGATE_SIM_LOCALSTACK_URL` names LocalStack itself, so that
/// `fargate-sim demo` and `localstack status` run in the same shell find LocalStack, not the
/// endpoint that `AWS_ENDPOINT_URL` now names.
fn exports(endpoint: &str, localstack: &str, region: &str, kubeconfig: &Path) -> String {
    format!(
        "unset AWS_SESSION_TOKEN AWS_PROFILE\nexport AWS_ENDPOINT_URL={endpoint}\nexport AWS_ACCESS_KEY_ID=test\nexport AWS_SECRET_ACCESS_KEY=test\nexport AWS_REGION={region}\nexport AWS_DEFAULT_REGION={region}\nexport FARGATE_SIM_LOCALSTACK_URL={localstack}\nexport KUBECONFIG={}\n",
        kubeconfig.display()
    )
}

/// The kubeconfig `up` writes: one context for the cluster `cluster`, named by the cluster's
/// ARN as `aws eks update-kubeconfig` names it, whose API server is the endpoint's
/// `/k8s/CLUSTER` (plain HTTP on loopback: kubectl sends no credentials there, and none are
/// written).
fn kubeconfig(endpoint: &str, region: &str, cluster: &str) -> String {
    let arn = format!(
        "arn:aws:eks:{region}:{}:cluster/{cluster}",
        emulator::ACCOUNT
    );
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {endpoint}/k8s/{cluster}\n  name: {arn}\ncontexts:\n- context:\n    cluster: {arn}\n    user: {arn}\n  name: {arn}\ncurrent-context: {arn}\npreferences: {{}}\nusers:\n- name: {arn}\n  user: {{}}\n"
    )
}

/// Writes the kubeconfig into `dir`; returns its path.
fn write_kubeconfig(
    dir: &Path,
    endpoint: &str,
    region: &str,
    cluster: &str,
) -> Result<PathBuf, String> {
    let path = dir.join("kubeconfig");
    std::fs::write(&path, kubeconfig(endpoint, region, cluster))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

const BANNER: &str = concat!(
    "  enforced: S3, STS, IAM and EKS — every call signature-checked, and every caller but the\n",
    "    account root decided by fargate-sim's IAM engine (the root: resource policies only)\n",
    "  other services: refused (an AWS-shaped error names the services served)"
);

const BANNER_PASSTHROUGH: &str = concat!(
    "  enforced: S3, STS, IAM and EKS — every call signature-checked, and every caller but the\n",
    "    account root decided by fargate-sim's IAM engine (the root: resource policies only)\n",
    "  other services: NOT ENFORCED — forwarded to LocalStack as they are (--passthrough)"
);

/// Runs `up`.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
pub fn run(args: &Args) -> Exit {
    if !(0.0..=3600.0).contains(&args.eks_delay) {
        eprintln!("error: --eks-delay must be between 0 and 3600 seconds");
        return Exit::Error;
    }
    let dir = match state_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    if let Some(s) = running(&dir) {
        eprintln!(
            "error: fargate-sim up is already running (pid {}, {}); stop it with `fargate-sim down`",
            s.pid, s.endpoint
        );
        return Exit::Error;
    }
    if args.detach && !args.detached_child {
        return detach(args, &dir);
    }
    serve(args, &dir)
}

/// The state of a detached `up` that is still alive; a stale file is removed.
fn running(dir: &Path) -> Option<State> {
    let path = state_path(dir);
    let text = std::fs::read_to_string(&path).ok()?;
    let state: State = serde_json::from_str(&text).ok()?;
    if alive(state.pid) {
        Some(state)
    } else {
        let _ = std::fs::remove_file(&path);
        None
    }
}

/// Whether the process runs: it exists and is not a zombie waiting to be reaped (a detached
/// `up` is reaped by whichever process adopted it, which may take its time).
fn alive(pid: u32) -> bool {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    if rustix::process::test_kill_process(p).is_err() {
        return false;
    }
    // The state is the field after the parenthesised command name.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_none_or(|state| state != 'Z' && state != 'X'),
        Err(_) => true,
    }
}

#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
fn serve(args: &Args, dir: &Path) -> Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let options = Options {
        port: args.port,
        eks_delay: args.eks_delay,
        passthrough: args.passthrough,
        pod_limit: args.pod_timeout,
        localstack: localstack::Options {
            no_docker: args.no_docker,
            ..localstack::Options::default()
        },
        ..Options::default()
    };
    let format = args.format;
    let started = Instant::now();
    runtime.block_on(async move {
        let progress = printer(false);
        let emu = match Emulator::start_reporting(options, Arc::new(progress)).await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        };
        let mut decisions = emu.gateway().subscribe();
        match format {
            Format::Human => eprintln!(
                "· fargate-sim endpoint ready at {} in {:.1} s (LocalStack at {})\n{}\n· press Ctrl-C to stop",
                emu.endpoint(),
                started.elapsed().as_secs_f64(),
                emu.localstack().endpoint(),
                if args.passthrough { BANNER_PASSTHROUGH } else { BANNER }
            ),
            Format::Json => eprintln!(
                "{}",
                serde_json::json!({
                    "event": "ready",
                    "endpoint": emu.endpoint(),
                    "localstack": emu.localstack().endpoint(),
                    "region": emu.region(),
                    "enforced": {"s3": true, "sts": true, "iam": true, "eks": true, "other": if args.passthrough { "forwarded unenforced" } else { "refused" }},
                })
            ),
        }
        let config = match write_kubeconfig(dir, emu.endpoint(), emu.region(), &args.cluster) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        };
        if output::raw(&exports(
            emu.endpoint(),
            emu.localstack().endpoint(),
            emu.region(),
            &config,
        )).is_err() {
            return Exit::PipeClosed;
        }
        if args.detached_child {
            let state = State {
                pid: std::process::id(),
                endpoint: emu.endpoint().to_owned(),
                localstack: emu.localstack().endpoint().to_owned(),
                region: emu.region().to_owned(),
                log: dir.join("up.log"),
            };
            let path = state_path(dir);
            let tmp = path.with_extension("json.tmp");
            let written = serde_json::to_string(&state)
                .map_err(std::io::Error::other)
                .and_then(|t| std::fs::write(&tmp, t))
                .and_then(|()| std::fs::rename(&tmp, &path));
            if let Err(e) = written {
                eprintln!("error: cannot write {}: {e}", path.display());
                return Exit::Error;
            }
        }
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                d = decisions.recv() => match d {
                    Ok(Event::Decided(d)) => show(&d, format),
                    Ok(Event::Upstream(e)) => match format {
                        Format::Human => eprintln!("! {}", output::visible(&e)),
                        Format::Json => eprintln!("{}", serde_json::json!({"event": "upstream-error", "message": e})),
                    },
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        eprintln!("· {n} decisions were not shown (the terminal fell behind)");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        eprintln!("· stopping the endpoint and LocalStack");
        emu.stop_now();
        if args.detached_child {
            let _ = std::fs::remove_file(state_path(dir));
        }
        Exit::Success
    })
}

/// One decision, as a line on standard error.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
fn show(d: &Decided, format: Format) {
    match format {
        Format::Human => {
            let line = format!(
                "{:<12} {} {} on {}{}{}",
                d.decision.as_str(),
                d.principal,
                d.action,
                d.resource,
                d.statement
                    .as_deref()
                    .map(|s| format!("\n             by {s}"))
                    .unwrap_or_default(),
                d.message
                    .as_deref()
                    .map(|m| format!("\n             {m}"))
                    .unwrap_or_default()
            );
            eprintln!("{}", output::visible(&line));
        }
        Format::Json => eprintln!(
            "{}",
            serde_json::json!({
                "event": "decision",
                "principal": d.principal,
                "action": d.action,
                "resource": d.resource,
                "decision": d.decision.as_str(),
                "statement": d.statement,
                "message": d.message,
            })
        ),
    }
}

/// Starts `up` again as a background process and waits until it is ready.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
fn detach(args: &Args, dir: &Path) -> Exit {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot find this program to start it in the background: {e}");
            return Exit::Error;
        }
    };
    let log_path = dir.join("up.log");
    let log = match std::fs::File::create(&log_path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", log_path.display());
            return Exit::Error;
        }
    };
    let Ok(log2) = log.try_clone() else {
        eprintln!("error: cannot write {}", log_path.display());
        return Exit::Error;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("up")
        .arg("--port")
        .arg(args.port.to_string())
        .arg("--eks-delay")
        .arg(args.eks_delay.to_string())
        .arg("--cluster")
        .arg(&args.cluster)
        .arg("--pod-timeout")
        .arg(args.pod_timeout.to_string())
        .arg("--format")
        .arg(match args.format {
            Format::Human => "human",
            Format::Json => "json",
        })
        .arg("--detached-child")
        .args(args.passthrough.then_some("--passthrough"))
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        // Its own process group: a Ctrl-C in this terminal does not reach it.
        .process_group(0);
    if args.no_docker {
        cmd.arg("--no-docker");
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot start the background endpoint: {e}");
            return Exit::Error;
        }
    };
    eprintln!(
        "· starting the endpoint in the background (log: {})",
        log_path.display()
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(state) = running(dir).filter(|s| s.pid == child.id()) {
            eprintln!(
                "· ready at {}; stop it with `fargate-sim down`",
                state.endpoint
            );
            let config = dir.join("kubeconfig");
            return match output::raw(&exports(
                &state.endpoint,
                &state.localstack,
                &state.region,
                &config,
            )) {
                Ok(()) => Exit::Success,
                Err(_) => Exit::PipeClosed,
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
            let last: Vec<&str> = tail.lines().rev().take(5).collect();
            eprintln!(
                "error: the background endpoint stopped ({status}) before it was ready:\n{}",
                last.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
            return Exit::Error;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            eprintln!(
                "error: the background endpoint was not ready within 10 minutes; see {}",
                log_path.display()
            );
            return Exit::Error;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops what `up --detach` started.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
pub fn down() -> Exit {
    let dir = match state_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let Some(state) = running(&dir) else {
        eprintln!("· nothing to stop: no detached `fargate-sim up` is running");
        return Exit::Success;
    };
    let Some(pid) = i32::try_from(state.pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Exit::Error;
    };
    if let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
        eprintln!("error: cannot stop pid {}: {e}", state.pid);
        return Exit::Error;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(state.pid) {
        if Instant::now() > deadline {
            eprintln!(
                "error: pid {} did not stop within 10 s; see {}",
                state.pid,
                state.log.display()
            );
            return Exit::Error;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_file(state_path(&dir));
    eprintln!("· stopped the endpoint at {}", state.endpoint);
    Exit::Success
}

/// Says what runs where.
#[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
pub fn status(json: bool) -> Exit {
    let dir = match state_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let state = running(&dir);
    let text = match (&state, json) {
        (Some(s), true) => format!(
            "{}\n",
            serde_json::json!({"running": true, "pid": s.pid, "endpoint": s.endpoint, "localstack": s.localstack, "region": s.region, "log": s.log})
        ),
        (None, true) => "{\"running\":false}\n".to_owned(),
        (Some(s), false) => format!(
            "endpoint    {} (pid {})\nLocalStack  {}\nregion      {}\nlog         {}\n",
            s.endpoint,
            s.pid,
            s.localstack,
            s.region,
            s.log.display()
        ),
        (None, false) => "no detached `fargate-sim up` is running\n".to_owned(),
    };
    match output::raw(&text) {
        Ok(()) if state.is_some() => Exit::Success,
        Ok(()) => Exit::Failure,
        Err(_) => Exit::PipeClosed,
    }
}
