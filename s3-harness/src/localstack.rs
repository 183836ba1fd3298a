//! Finding or starting a healthy LocalStack.
//!
//! [`LocalStack::obtain`] tries, in order:
//! 1. an endpoint named by the user (`FARGATE_SIM_LOCALSTACK_URL`, then `AWS_ENDPOINT_URL`) —
//!    used as it is and never stopped;
//! 2. a reachable Docker daemon (only with the `docker` feature) — `localstack/localstack:4.13.1`
//!    through testcontainers, removed when the handle drops;
//! 3. host mode — a Python virtual environment in the user's cache directory, built on first use
//!    from the hash-pinned lock file committed beside this crate, and
//!    `python -m localstack.runtime.main` on a free loopback port with the settings that keep
//!    LocalStack off the network (see `docs/localstack.md`).
//!
//! Everything here is blocking on purpose: the handle is shared across the tests of one test
//! binary, each of which runs its own tokio runtime, so it must not belong to any runtime.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::HarnessError;

/// The LocalStack release this project pins, for host mode and for Docker alike.
pub const LOCALSTACK_VERSION: &str = "4.13.1";

/// The services the project needs; host mode starts only these.
pub const REQUIRED_SERVICES: [&str; 3] = ["s3", "iam", "sts"];

/// The lock file (every dependency pinned, with hashes) the host-mode environment is built from.
pub const REQUIREMENTS_LOCK: &str = include_str!("../localstack/requirements.lock");

/// The Python that starts LocalStack in host mode (`python -c LAUNCHER`): it keeps LocalStack's
/// first S3 request from asking DNS about `s3.localhost.localstack.cloud`, and refuses to run
/// with an HTTP server that ignores the loopback host (see the file's comments).
pub const LAUNCHER: &str = include_str!("../localstack/launch.py");

/// How long a start may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Where a LocalStack endpoint came from; decides whether the handle stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Named by the user in the given environment variable (or in code); never stopped by us.
    Given {
        /// The variable the URL came from, or `"argument"`.
        source: String,
    },
    /// A container started through Docker; removed when the handle drops.
    Docker,
    /// A host-mode process started by us; its process group is stopped when the handle drops.
    HostProcess {
        /// The LocalStack log file.
        log: PathBuf,
    },
}

/// Something slow is happening; the caller decides whether and how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Checking an endpoint named by the user.
    CheckingEndpoint(String),
    /// Probing for a Docker daemon.
    ProbingDocker,
    /// Building the Python environment (first use only; takes up to a minute).
    CreatingEnvironment(PathBuf),
    /// Installing the pinned packages into the environment.
    InstallingPackages {
        /// Number of pinned packages.
        count: usize,
    },
    /// Starting LocalStack on the given port.
    Starting {
        /// The loopback port.
        port: u16,
    },
    /// LocalStack answered healthy.
    Ready {
        /// The endpoint URL.
        endpoint: String,
        /// Time from start (or check) to healthy.
        elapsed: Duration,
    },
}

/// Options for [`LocalStack::obtain_with`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// An explicit endpoint (from a `--endpoint` flag); takes precedence over the environment.
    pub endpoint: Option<String>,
    /// Accept an endpoint that is not on the loopback interface.
    pub allow_remote: bool,
    /// Skip the Docker probe even when the `docker` feature is on.
    pub no_docker: bool,
}

/// A healthy LocalStack endpoint, and what is needed to stop it when it was ours.
#[derive(Debug)]
pub struct LocalStack {
    endpoint: String,
    origin: Origin,
    guard: Guard,
}

#[derive(Debug)]
enum Guard {
    None,
    /// Dropping the watchdog's stdin makes the watchdog stop LocalStack's process group.
    Host {
        child: Child,
        stdin: Option<ChildStdin>,
    },
    #[cfg(feature = "docker")]
    Docker(
        #[allow(dead_code, reason = "held so that dropping it removes the container")]
        Box<crate::docker::Container>,
    ),
}

impl LocalStack {
    /// Finds or starts LocalStack with default options.
    ///
    /// # Errors
    /// See [`LocalStack::obtain_with`].
    pub fn obtain(progress: &dyn Fn(Progress)) -> Result<Self, HarnessError> {
        Self::obtain_with(&Options::default(), progress)
    }

    /// Finds or starts LocalStack: given endpoint, then Docker, then host mode.
    ///
    /// # Errors
    /// An unreachable or unhealthy given endpoint, a non-loopback endpoint without
    /// `allow_remote`, no usable Python for host mode, or a LocalStack that did not become
    /// healthy in time (the error names its log file).
    pub fn obtain_with(
        options: &Options,
        progress: &dyn Fn(Progress),
    ) -> Result<Self, HarnessError> {
        let given = options
            .endpoint
            .clone()
            .map(|url| (url, "argument".to_owned()))
            .or_else(|| env_endpoint().map(|(u, v)| (u, v.to_owned())));
        if let Some((url, source)) = given {
            return Self::given(&url, &source, options.allow_remote, progress);
        }
        #[cfg(feature = "docker")]
        if !options.no_docker && std::env::var_os("FARGATE_SIM_NO_DOCKER").is_none() {
            progress(Progress::ProbingDocker);
            if crate::docker::daemon_reachable() {
                let started = Instant::now();
                let container = crate::docker::start()?;
                let endpoint = container.endpoint().to_owned();
                wait_healthy(&endpoint, Duration::from_secs(60), None)?;
                progress(Progress::Ready {
                    endpoint: endpoint.clone(),
                    elapsed: started.elapsed(),
                });
                return Ok(Self {
                    endpoint,
                    origin: Origin::Docker,
                    guard: Guard::Docker(Box::new(container)),
                });
            }
        }
        Self::start_host(progress)
    }

    /// Uses an endpoint named by the user after checking it is loopback (unless allowed) and
    /// healthy; the returned handle never stops it.
    ///
    /// # Errors
    /// [`HarnessError::RemoteEndpoint`], [`HarnessError::Unreachable`], [`HarnessError::Unhealthy`].
    pub fn given(
        url: &str,
        source: &str,
        allow_remote: bool,
        progress: &dyn Fn(Progress),
    ) -> Result<Self, HarnessError> {
        let endpoint = url.trim_end_matches('/').to_owned();
        let addr = endpoint_addr(&endpoint)?;
        if !allow_remote && !addr.ip().is_loopback() {
            return Err(HarnessError::RemoteEndpoint {
                endpoint,
                origin: source.to_owned(),
            });
        }
        progress(Progress::CheckingEndpoint(endpoint.clone()));
        let started = Instant::now();
        check_health(&endpoint, Duration::from_secs(3)).map_err(|e| match e {
            HarnessError::Unreachable { reason, .. } => HarnessError::Unreachable {
                endpoint: endpoint.clone(),
                origin: source.to_owned(),
                reason,
            },
            other => other,
        })?;
        progress(Progress::Ready {
            endpoint: endpoint.clone(),
            elapsed: started.elapsed(),
        });
        Ok(Self {
            endpoint,
            origin: Origin::Given {
                source: source.to_owned(),
            },
            guard: Guard::None,
        })
    }

    /// Starts LocalStack in host mode on a free loopback port, creating the Python environment
    /// first if needed.
    ///
    /// # Errors
    /// [`HarnessError::NoPython`], [`HarnessError::Environment`], [`HarnessError::StartFailed`].
    pub fn start_host(progress: &dyn Fn(Progress)) -> Result<Self, HarnessError> {
        let dirs = CacheDirs::new()?;
        let python = ensure_environment(&dirs, progress)?;
        let port = free_port()?;
        let endpoint = format!("http://127.0.0.1:{port}");
        fs::create_dir_all(&dirs.logs).map_err(|e| io_err("create", &dirs.logs, &e))?;
        let log = dirs.logs.join(format!("localstack-{port}.log"));
        progress(Progress::Starting { port });
        let started = Instant::now();
        let mut child = host_command(&python, &dirs.root, &log, port)
            .spawn()
            .map_err(|e| HarnessError::StartFailed {
                log: log.clone(),
                reason: format!("cannot run `sh`: {e}"),
            })?;
        let stdin = child.stdin.take();
        let mut handle = Self {
            endpoint: endpoint.clone(),
            origin: Origin::HostProcess { log: log.clone() },
            guard: Guard::Host { child, stdin },
        };
        let child = match &mut handle.guard {
            Guard::Host { child, .. } => Some(child),
            _ => None,
        };
        wait_healthy(&endpoint, START_TIMEOUT, child.map(|c| (c, log.as_path())))?;
        progress(Progress::Ready {
            endpoint,
            elapsed: started.elapsed(),
        });
        Ok(handle)
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:45123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where this LocalStack came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Keeps the process running after this handle is gone (host mode only: the watchdog is
    /// detached; the caller becomes responsible for stopping it).
    pub fn detach(mut self) -> String {
        if let Guard::Host { stdin, .. } = &mut self.guard
            && let Some(s) = stdin.take()
        {
            std::mem::forget(s);
        }
        self.guard = Guard::None;
        self.endpoint.clone()
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        if let Guard::Host { child, stdin } = &mut self.guard {
            // Closing the pipe tells the watchdog to stop LocalStack (TERM, then KILL to the
            // whole process group); wait for it so that nothing outlives the handle.
            drop(stdin.take());
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The endpoint named in the environment, with the variable it came from.
pub fn env_endpoint() -> Option<(String, &'static str)> {
    ["FARGATE_SIM_LOCALSTACK_URL", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|var| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (v.trim().to_owned(), var))
        })
}

/// The script run by `sh`: start LocalStack in the background, wait until our end of the
/// stdin pipe closes (handle dropped, or this process died for any reason), then stop
/// LocalStack gracefully and finally kill the whole process group. This is what guarantees
/// that a LocalStack started from a test never outlives the test process.
const WATCHDOG: &str = r#""$0" -c "$2" >>"$1" 2>&1 </dev/null &
p=$!
read _ignored
kill -TERM "$p" 2>/dev/null
i=0
while kill -0 "$p" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL 0
"#;

fn host_command(python: &Path, root: &Path, log: &Path, port: u16) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WATCHDOG)
        .arg(python)
        .arg(log)
        .arg(LAUNCHER);
    // Settings from docs/localstack.md, "Safe start": no DNS server (it would query a public
    // resolver and may rewrite resolv.conf), own filesystem root (instances would otherwise wipe
    // each other's files), no analytics, no certificate download. The hypercorn server binds
    // the host of GATEWAY_LISTEN; the default (twisted) listens on 0.0.0.0 whatever it says.
    cmd.env("SERVICES", REQUIRED_SERVICES.join(","))
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("GATEWAY_SERVER", "hypercorn")
        .env("DNS_ADDRESS", "0")
        .env("OVERRIDE_IN_DOCKER", "0")
        .env("FILESYSTEM_ROOT", root)
        .env("CLEAR_TMP_FOLDER", "0")
        .env("SKIP_SSL_CERT_DOWNLOAD", "1")
        .env("DISABLE_EVENTS", "1")
        .env("LOCALSTACK_TELEMETRY_DISABLED", "1")
        .env("PYTHONUNBUFFERED", "1")
        // LocalStack must not inherit an endpoint pointing at itself or real credentials.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Own process group: a Ctrl-C in the terminal reaches us, not LocalStack; we stop it.
        cmd.process_group(0);
    }
    cmd
}

/// The cache folders host mode uses.
#[derive(Debug, Clone)]
pub struct CacheDirs {
    /// `<cache>/fargate-sim`.
    pub base: PathBuf,
    /// The virtual environment.
    pub venv: PathBuf,
    /// LocalStack's `FILESYSTEM_ROOT`, shared by every instance so that the service catalogue
    /// (about 3 s to build) is built once.
    pub root: PathBuf,
    /// LocalStack logs.
    pub logs: PathBuf,
}

impl CacheDirs {
    /// Resolves `FARGATE_SIM_CACHE_DIR`, else `$XDG_CACHE_HOME/fargate-sim`, else
    /// `$HOME/.cache/fargate-sim`.
    ///
    /// # Errors
    /// [`HarnessError::Environment`] when none of these is set.
    pub fn new() -> Result<Self, HarnessError> {
        let base = if let Some(d) = std::env::var_os("FARGATE_SIM_CACHE_DIR") {
            PathBuf::from(d)
        } else if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(d).join("fargate-sim")
        } else if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            PathBuf::from(h).join(".cache").join("fargate-sim")
        } else {
            return Err(HarnessError::Environment {
                reason: "no cache directory: set FARGATE_SIM_CACHE_DIR or HOME".into(),
                log: None,
            });
        };
        Ok(Self {
            venv: base.join(format!("localstack-{LOCALSTACK_VERSION}-venv")),
            root: base.join("localstack-root"),
            logs: base.join("logs"),
            base,
        })
    }
}

/// Makes sure the host-mode environment exists and matches the committed lock file; returns
/// the environment's Python. Concurrent callers (several test binaries) serialise on a lock.
///
/// # Errors
/// [`HarnessError::NoPython`] or [`HarnessError::Environment`].
pub fn ensure_environment(
    dirs: &CacheDirs,
    progress: &dyn Fn(Progress),
) -> Result<PathBuf, HarnessError> {
    let python = dirs.venv.join("bin").join("python");
    let stamp = dirs.venv.join(".fargate-sim-lock");
    let lock_digest = digest(REQUIREMENTS_LOCK);
    let up_to_date =
        || fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == lock_digest) && python.exists();
    if up_to_date() {
        return Ok(python);
    }
    fs::create_dir_all(&dirs.base).map_err(|e| io_err("create", &dirs.base, &e))?;
    let lock_path = dirs.base.join(".venv.lock");
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_err("open", &lock_path, &e))?;
    lock_file
        .lock()
        .map_err(|e| io_err("lock", &lock_path, &e))?;
    if up_to_date() {
        return Ok(python);
    }
    let base_python = find_python()?;
    progress(Progress::CreatingEnvironment(dirs.venv.clone()));
    if dirs.venv.exists() {
        fs::remove_dir_all(&dirs.venv).map_err(|e| io_err("remove", &dirs.venv, &e))?;
    }
    let log = dirs.base.join("venv-install.log");
    run_logged(
        Command::new(&base_python)
            .arg("-m")
            .arg("venv")
            .arg(&dirs.venv),
        &log,
        "python -m venv",
    )?;
    let req = dirs.base.join("localstack-requirements.lock");
    fs::write(&req, REQUIREMENTS_LOCK).map_err(|e| io_err("write", &req, &e))?;
    let count = REQUIREMENTS_LOCK
        .lines()
        .filter(|l| l.contains("==") && !l.trim_start().starts_with('#'))
        .count();
    progress(Progress::InstallingPackages { count });
    run_logged(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .args(["--require-hashes", "--no-deps", "-r"])
            .arg(&req),
        &log,
        "pip install",
    )?;
    fs::write(&stamp, &lock_digest).map_err(|e| io_err("write", &stamp, &e))?;
    drop(lock_file);
    Ok(python)
}

fn run_logged(cmd: &mut Command, log: &Path, what: &str) -> Result<(), HarnessError> {
    let out = File::create(log).map_err(|e| io_err("create", log, &e))?;
    let err = out.try_clone().map_err(|e| io_err("open", log, &e))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| HarnessError::Environment {
            reason: format!("`{what}` could not run: {e}"),
            log: None,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(HarnessError::Environment {
            reason: format!("`{what}` failed ({status})"),
            log: Some(log.to_owned()),
        })
    }
}

/// Finds a Python 3.10 or 3.11 (the versions LocalStack 4.13.1 runs on): `FARGATE_SIM_PYTHON`,
/// then `python3.11`, `python3.10`, `python3` on `PATH`.
///
/// # Errors
/// [`HarnessError::NoPython`] naming what was tried.
pub fn find_python() -> Result<PathBuf, HarnessError> {
    let mut tried = Vec::new();
    let candidates: Vec<PathBuf> = std::env::var_os("FARGATE_SIM_PYTHON")
        .map(|p| vec![PathBuf::from(p)])
        .unwrap_or_else(|| {
            ["python3.11", "python3.10", "python3"]
                .iter()
                .map(PathBuf::from)
                .collect()
        });
    for candidate in candidates {
        let out = Command::new(&candidate)
            .args([
                "-c",
                "import sys, venv; print('%d.%d' % sys.version_info[:2])",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let v = String::from_utf8_lossy(&o.stdout).trim().to_owned();
                if v == "3.10" || v == "3.11" {
                    return Ok(candidate);
                }
                tried.push(format!("{} is Python {v}", candidate.display()));
            }
            Ok(_) => tried.push(format!("{} has no `venv` module", candidate.display())),
            Err(_) => tried.push(format!("{} not found", candidate.display())),
        }
    }
    Err(HarnessError::NoPython { tried })
}

fn free_port() -> Result<u16, HarnessError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| HarnessError::StartFailed {
        log: PathBuf::new(),
        reason: format!("no free port: {e}"),
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| HarnessError::StartFailed {
            log: PathBuf::new(),
            reason: format!("no free port: {e}"),
        })
}

/// Resolves the host and port of an `http://` endpoint without any DNS traffic beyond the
/// system resolver (and only for names; IP literals are parsed).
fn endpoint_addr(endpoint: &str) -> Result<SocketAddr, HarnessError> {
    let bad = |why: &str| HarnessError::BadEndpoint {
        endpoint: endpoint.to_owned(),
        reason: why.to_owned(),
    };
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| bad("expected a URL like http://127.0.0.1:4566"))?;
    let default_port = match scheme {
        "http" => 80,
        "https" => {
            return Err(bad(
                "fargate-sim speaks plain HTTP to LocalStack (its gateway serves http://HOST:4566); use http://",
            ));
        }
        _ => return Err(bad("the scheme must be http (LocalStack's gateway)")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("the URL needs a host (and no user info)"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed `[` in the host"))?;
        (h.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
        None => default_port,
    };
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| bad(&format!("cannot resolve `{host}`: {e}")))?
        .next()
        .ok_or_else(|| bad(&format!("`{host}` resolves to no address")))
}

/// One `GET /_localstack/health`; healthy when S3, IAM and STS are `available` or `running`.
///
/// # Errors
/// [`HarnessError::Unreachable`] (nothing answers) or [`HarnessError::Unhealthy`].
pub fn check_health(endpoint: &str, timeout: Duration) -> Result<(), HarnessError> {
    let addr = endpoint_addr(endpoint)?;
    let unreachable = |reason: String| HarnessError::Unreachable {
        endpoint: endpoint.to_owned(),
        origin: String::new(),
        reason,
    };
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| unreachable(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| unreachable(e.to_string()))?;
    let req =
        format!("GET /_localstack/health HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(req.as_bytes())
        .map_err(|e| unreachable(e.to_string()))?;
    let mut body = Vec::new();
    stream
        .take(1 << 20)
        .read_to_end(&mut body)
        .map_err(|e| unreachable(e.to_string()))?;
    let text = String::from_utf8_lossy(&body);
    let (head, json) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let unhealthy = |reason: String| HarnessError::Unhealthy {
        endpoint: endpoint.to_owned(),
        reason,
    };
    if !head.starts_with("HTTP/1.") || head.split_whitespace().nth(1).is_none_or(|c| c != "200") {
        return Err(unhealthy(format!(
            "`/_localstack/health` answered `{}`; is this LocalStack?",
            head.lines().next().unwrap_or("")
        )));
    }
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|_| unhealthy("`/_localstack/health` did not return JSON".into()))?;
    let missing: Vec<String> = REQUIRED_SERVICES
        .iter()
        .filter(|s| {
            !matches!(
                value
                    .pointer(&format!("/services/{s}"))
                    .and_then(|v| v.as_str()),
                Some("available" | "running")
            )
        })
        .map(|s| (*s).to_owned())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(unhealthy(format!(
            "services not available: {}",
            missing.join(", ")
        )))
    }
}

fn wait_healthy(
    endpoint: &str,
    timeout: Duration,
    mut child: Option<(&mut Child, &Path)>,
) -> Result<(), HarnessError> {
    let deadline = Instant::now() + timeout;
    let mut last;
    loop {
        match check_health(endpoint, Duration::from_millis(500)) {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        if let Some((c, log)) = child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            return Err(HarnessError::StartFailed {
                log: log.to_path_buf(),
                reason: format!(
                    "LocalStack exited ({status}) before it was healthy; {}",
                    log_tail(log)
                ),
            });
        }
        if Instant::now() >= deadline {
            let log = child.map(|(_, l)| l.to_path_buf()).unwrap_or_default();
            return Err(HarnessError::StartFailed {
                reason: format!("not healthy after {} s ({last})", timeout.as_secs()),
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    if lines.is_empty() {
        "its log is empty".into()
    } else {
        format!(
            "last log lines: {}",
            lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    }
}

fn io_err(op: &str, path: &Path, e: &std::io::Error) -> HarnessError {
    HarnessError::Environment {
        reason: format!("cannot {op} `{}`: {e}", path.display()),
        log: None,
    }
}

/// FNV-1a, enough to notice that the committed lock file changed since the environment was built.
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{LOCALSTACK_VERSION}-{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing_accepts_loopback_forms() {
        assert_eq!(
            endpoint_addr("http://127.0.0.1:4566").ok(),
            Some(SocketAddr::from(([127, 0, 0, 1], 4566)))
        );
        assert_eq!(
            endpoint_addr("http://localhost:1/").ok(),
            Some(SocketAddr::from(([127, 0, 0, 1], 1)))
        );
        assert!(endpoint_addr("http://[::1]:4566").is_ok_and(|a| a.ip().is_loopback()));
        assert!(
            endpoint_addr("http://10.1.2.3").is_ok_and(|a| a.port() == 80 && !a.ip().is_loopback())
        );
    }

    #[test]
    fn endpoint_parsing_rejects_garbage() {
        for bad in [
            "https://127.0.0.1:4566",
            "127.0.0.1:4566",
            "ftp://x",
            "http://",
            "http://h:99999",
            "http://u@127.0.0.1",
        ] {
            assert!(
                matches!(endpoint_addr(bad), Err(HarnessError::BadEndpoint { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn remote_endpoint_is_refused_without_permission() {
        let err = LocalStack::given("http://192.0.2.1:4566", "test", false, &|_| {});
        assert!(matches!(err, Err(HarnessError::RemoteEndpoint { .. })));
    }

    #[test]
    fn lock_file_pins_localstack_with_hashes_and_names_no_host() {
        assert!(REQUIREMENTS_LOCK.contains(&format!("localstack-core=={LOCALSTACK_VERSION}")));
        assert!(REQUIREMENTS_LOCK.contains("--hash=sha256:"));
        assert!(!REQUIREMENTS_LOCK.contains("://"));
    }
}
