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
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
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

/// LocalStack logs kept in the cache: the newest this many, and none older than `LOG_MAX_AGE`
/// (a running instance writes to its log, so its log is never the oldest).
const LOG_KEEP: usize = 20;
const LOG_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a start may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Where a LocalStack endpoint came from; decides whether the handle stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Named by the user (a flag or an environment variable); never stopped by us.
    Given {
        /// Where the URL came from.
        source: EndpointSource,
    },
    /// A container started through Docker; removed when the handle drops.
    Docker,
    /// A host-mode process started by us; its process group is stopped when the handle drops.
    HostProcess {
        /// The LocalStack log file.
        log: PathBuf,
    },
}

/// Where an endpoint named by the user came from (it decides the hint in error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointSource {
    /// A command-line flag (`--endpoint`), or code.
    Flag,
    /// An environment variable.
    Env(&'static str),
}

impl std::fmt::Display for EndpointSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointSource::Flag => f.write_str("--endpoint"),
            EndpointSource::Env(var) => f.write_str(var),
        }
    }
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
            .map(|url| (url, EndpointSource::Flag))
            .or_else(|| env_endpoint().map(|(u, v)| (u, EndpointSource::Env(v))));
        if let Some((url, source)) = given {
            return Self::given(&url, source, options.allow_remote, progress);
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
        source: EndpointSource,
        allow_remote: bool,
        progress: &dyn Fn(Progress),
    ) -> Result<Self, HarnessError> {
        let endpoint = url.trim_end_matches('/').to_owned();
        let parsed = parse_endpoint(&endpoint)?;
        if !allow_remote && !parsed.is_loopback() {
            return Err(HarnessError::RemoteEndpoint {
                endpoint,
                origin: source,
            });
        }
        let addr = parsed.socket_addr(&endpoint, allow_remote)?;
        progress(Progress::CheckingEndpoint(endpoint.clone()));
        let started = Instant::now();
        check_health_at(&endpoint, addr, Duration::from_secs(3)).map_err(|e| match e {
            HarnessError::Unreachable { reason, .. } => HarnessError::Unreachable {
                endpoint: endpoint.clone(),
                origin: Some(source),
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
            origin: Origin::Given { source },
            guard: Guard::None,
        })
    }

    /// A handle on a LocalStack the caller already knows to be running (checked, or in front of
    /// a proxy under test): nothing is checked, and nothing is stopped when it drops.
    pub fn known(url: &str) -> Self {
        Self {
            endpoint: url.trim_end_matches('/').to_owned(),
            origin: Origin::Given {
                source: EndpointSource::Flag,
            },
            guard: Guard::None,
        }
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
        prune_logs(&dirs.logs, LOG_KEEP, LOG_MAX_AGE);
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

impl LocalStack {
    /// Stops a LocalStack started here at once (its state is in memory and is lost either way),
    /// instead of the graceful stop that dropping it makes (about 2 s). Given and Docker
    /// instances are left to their usual drop.
    pub fn stop_now(mut self) {
        if let Guard::Host { stdin, .. } = &mut self.guard
            && let Some(mut pipe) = stdin.take()
        {
            use std::io::Write as _;
            let _ = pipe.write_all(b"now\n");
        }
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
/// LocalStack gracefully and finally kill the whole process group; the line `now` kills the
/// group at once ([`LocalStack::stop_now`]). This is what guarantees
/// that a LocalStack started from a test never outlives the test process.
const WATCHDOG: &str = r#""$0" -c "$2" >>"$1" 2>&1 </dev/null &
p=$!
read how
[ "$how" = now ] && kill -KILL 0
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
        || read_small(&stamp).is_some_and(|s| s.trim() == lock_digest) && python.exists();
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

/// The host of an endpoint URL, as written: an address literal, `localhost`, or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// `localhost` (any case): the loopback interface, by definition (RFC 6761), without
    /// asking a resolver.
    Localhost,
    /// Any other name. Deciding whether it is on this machine would need DNS, whose answer
    /// can change between the check and the connection, so it is never taken as loopback.
    Name(String),
}

/// An `http://` endpoint split into host and port, without any name lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The host as written.
    pub host: Host,
    /// The port (80 when the URL names none).
    pub port: u16,
}

impl Endpoint {
    /// Whether the endpoint is on the loopback interface, decided from the URL alone.
    pub fn is_loopback(&self) -> bool {
        match &self.host {
            Host::Ip(ip) => ip.is_loopback(),
            Host::Localhost => true,
            Host::Name(_) => false,
        }
    }

    /// The address to connect to. Names other than `localhost` are resolved only when
    /// `resolve` is set (the user allowed endpoints off this machine).
    ///
    /// # Errors
    /// [`HarnessError::BadEndpoint`] when a name cannot be resolved, or must not be.
    pub fn socket_addr(&self, url: &str, resolve: bool) -> Result<SocketAddr, HarnessError> {
        match &self.host {
            Host::Ip(ip) => Ok(SocketAddr::new(*ip, self.port)),
            Host::Localhost => Ok(SocketAddr::from(([127, 0, 0, 1], self.port))),
            Host::Name(name) if resolve => (name.as_str(), self.port)
                .to_socket_addrs()
                .map_err(|e| bad(url, &format!("cannot resolve `{name}`: {e}")))?
                .next()
                .ok_or_else(|| bad(url, &format!("`{name}` resolves to no address"))),
            Host::Name(name) => Err(bad(
                url,
                &format!(
                    "`{name}` is a name; fargate-sim does not look names up to decide whether they are local"
                ),
            )),
        }
    }
}

fn bad(endpoint: &str, why: &str) -> HarnessError {
    HarnessError::BadEndpoint {
        endpoint: endpoint.to_owned(),
        reason: why.to_owned(),
    }
}

/// Splits an `http://` endpoint URL into host and port. Nothing is resolved: IP literals are
/// parsed, `localhost` is loopback, and any other name stays a name.
///
/// # Errors
/// [`HarnessError::BadEndpoint`] for anything that is not `http://HOST[:PORT][/…]`.
pub fn parse_endpoint(endpoint: &str) -> Result<Endpoint, HarnessError> {
    let bad = |why: &str| bad(endpoint, why);
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
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("expected `:PORT` after the IPv6 address"))?,
            ),
        };
        (h.to_owned(), port)
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
    let host = if let Ok(ip) = host.parse::<IpAddr>() {
        Host::Ip(ip)
    } else if host.eq_ignore_ascii_case("localhost") {
        Host::Localhost
    } else if host.is_empty() {
        return Err(bad("the URL needs a host"));
    } else {
        Host::Name(host)
    };
    Ok(Endpoint { host, port })
}

/// One `GET /_localstack/health`; healthy when S3, IAM and STS are `available` or `running`.
///
/// # Errors
/// [`HarnessError::Unreachable`] (nothing answers) or [`HarnessError::Unhealthy`].
pub fn check_health(endpoint: &str, timeout: Duration) -> Result<(), HarnessError> {
    let addr = parse_endpoint(endpoint)?.socket_addr(endpoint, false)?;
    check_health_at(endpoint, addr, timeout)
}

fn check_health_at(
    endpoint: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), HarnessError> {
    let unreachable = |reason: String| HarnessError::Unreachable {
        endpoint: endpoint.to_owned(),
        origin: None,
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

/// The last three lines of a log, read from its last 16 KiB only.
fn log_tail(log: &Path) -> String {
    use std::io::{Seek, SeekFrom};
    const TAIL: u64 = 16 << 10;
    let mut bytes = Vec::new();
    if let Ok(mut f) = File::open(log) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
        let _ = f.take(TAIL).read_to_end(&mut bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
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

/// A small file (a stamp) read with a bound.
fn read_small(path: &Path) -> Option<String> {
    let mut s = String::new();
    File::open(path)
        .ok()?
        .take(4096)
        .read_to_string(&mut s)
        .ok()?;
    Some(s)
}

/// Removes old LocalStack logs: beyond the newest `keep`, and any older than `max_age`.
/// Best effort: a log that cannot be removed is left.
pub fn prune_logs(dir: &Path, keep: usize, max_age: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("localstack-") && name.ends_with(".log")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    logs.sort_by_key(|l| std::cmp::Reverse(l.0));
    let now = std::time::SystemTime::now();
    for (i, (modified, path)) in logs.iter().enumerate() {
        let old = now.duration_since(*modified).is_ok_and(|age| age > max_age);
        if i >= keep || old {
            let _ = fs::remove_file(path);
        }
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

    fn loopback(url: &str) -> Option<bool> {
        parse_endpoint(url).ok().map(|e| e.is_loopback())
    }

    #[test]
    fn loopback_literals_and_localhost_are_loopback() {
        assert_eq!(loopback("http://127.0.0.1:4566"), Some(true));
        assert_eq!(loopback("http://127.3.4.5:4566"), Some(true));
        assert_eq!(loopback("http://LocalHost:1/"), Some(true));
        assert_eq!(loopback("http://[::1]:4566"), Some(true));
    }

    #[test]
    fn other_addresses_are_not_loopback() {
        assert_eq!(loopback("http://10.0.0.1:4566"), Some(false));
        assert_eq!(loopback("http://[::ffff:10.0.0.1]:4566"), Some(false));
    }

    #[test]
    fn a_name_is_never_taken_for_loopback_and_never_resolved() {
        let e = parse_endpoint("http://example.com:4566").ok();
        assert_eq!(
            e,
            Some(Endpoint {
                host: Host::Name("example.com".into()),
                port: 4566
            })
        );
        // Without permission to go off the machine, the name is not looked up at all.
        let err = e.map(|e| e.socket_addr("http://example.com:4566", false));
        assert!(matches!(err, Some(Err(HarnessError::BadEndpoint { .. }))));
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
            "http://[::1]x",
            "http://:4566",
        ] {
            assert!(
                matches!(parse_endpoint(bad), Err(HarnessError::BadEndpoint { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn remote_endpoint_is_refused_without_permission() {
        for url in ["http://192.0.2.1:4566", "http://example.com:4566"] {
            let err = LocalStack::given(url, EndpointSource::Flag, false, &|_| {});
            assert!(
                matches!(err, Err(HarnessError::RemoteEndpoint { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn old_logs_are_pruned_and_the_newest_kept() {
        let dir = std::env::temp_dir().join(format!("fsim-prune-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        for i in 0..5 {
            fs::write(dir.join(format!("localstack-{i}.log")), "x")
                .unwrap_or_else(|e| panic!("{e}"));
            std::thread::sleep(Duration::from_millis(20));
        }
        fs::write(dir.join("other.txt"), "x").unwrap_or_else(|e| panic!("{e}"));
        prune_logs(&dir, 2, LOG_MAX_AGE);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        left.sort();
        assert_eq!(left, ["localstack-3.log", "localstack-4.log", "other.txt"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn lock_file_pins_localstack_with_hashes_and_names_no_host() {
        assert!(REQUIREMENTS_LOCK.contains(&format!("localstack-core=={LOCALSTACK_VERSION}")));
        assert!(REQUIREMENTS_LOCK.contains("--hash=sha256:"));
        assert!(!REQUIREMENTS_LOCK.contains("://"));
    }
}
