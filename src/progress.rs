//! Human-readable progress for slow steps (LocalStack install and start), on stderr.

use s3_harness::Progress;

/// Prints one line per progress event on stderr, unless `quiet`.
pub fn printer(quiet: bool) -> impl Fn(Progress) {
    move |p| {
        if quiet {
            return;
        }
        let line = match p {
            Progress::CheckingEndpoint(url) => format!("checking LocalStack at {url}"),
            Progress::ProbingDocker => return,
            Progress::CreatingEnvironment(dir) => {
                format!(
                    "first run: creating LocalStack's Python environment in {} (about a minute, once)",
                    dir.display()
                )
            }
            Progress::InstallingPackages { count } => {
                format!("installing {count} pinned packages (hashes checked)")
            }
            Progress::Starting { port } => format!("starting LocalStack on 127.0.0.1:{port}"),
            Progress::Ready { endpoint, elapsed } => {
                format!(
                    "LocalStack ready at {endpoint} ({:.1} s)",
                    elapsed.as_secs_f64()
                )
            }
            _ => return,
        };
        #[allow(clippy::print_stderr, reason = "the CLI owns the terminal")]
        {
            eprintln!("· {line}");
        }
    }
}
