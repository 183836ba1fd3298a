//! Reading the CLI's inputs with bounds: files and standard input are read up to a limit
//! (never whole before the size check), standard input at most once, JSON Lines a bounded
//! line at a time, and directories walked with loop detection, skipping what is not a regular
//! file.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The largest policy document read (the engine's own limit).
pub const MAX_POLICY_BYTES: u64 = iam_sim::policy::MAX_POLICY_BYTES as u64;
/// The largest manifest or ClusterConfig read (the Kubernetes API server refuses request
/// bodies above 3 MiB; a little more leaves room for several documents).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The longest line of a JSON Lines case file.
pub const MAX_LINE_BYTES: u64 = 2 * MAX_POLICY_BYTES;

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// Why an input could not be read.
#[derive(Debug)]
pub enum InputError {
    /// The operating system refused (missing file, permissions, a directory where a file was
    /// expected).
    Io {
        /// The path as given.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// More bytes than the limit.
    TooLarge {
        /// The path as given.
        path: PathBuf,
        /// The limit.
        limit: u64,
        /// The size, when the file system knows it (not for pipes).
        size: Option<u64>,
    },
    /// `-` was given twice; standard input can be read once.
    StdinTwice,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { path, source } => write!(f, "cannot read `{}`: {source}", shown(path)),
            InputError::TooLarge { path, limit, size } => {
                write!(f, "`{}` is ", shown(path))?;
                match size {
                    Some(s) => write!(f, "{s} bytes")?,
                    None => write!(f, "more than {limit} bytes")?,
                }
                write!(
                    f,
                    "; fargate-sim reads at most {limit} bytes from one input (is this the right file?)"
                )
            }
            InputError::StdinTwice => write!(
                f,
                "`-` (standard input) is given more than once; it can be read only once"
            ),
        }
    }
}

fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

/// What one input held.
#[derive(Debug)]
pub enum Content {
    /// UTF-8 text.
    Text(String),
    /// Bytes that are not UTF-8: the offset and value of the first bad byte.
    NotUtf8 {
        /// Byte offset.
        offset: usize,
        /// The byte.
        byte: u8,
    },
}

impl Content {
    /// Bytes as text, or where they stop being UTF-8.
    fn of(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(s) => Content::Text(s),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                Content::NotUtf8 {
                    offset,
                    byte: e.as_bytes().get(offset).copied().unwrap_or(0),
                }
            }
        }
    }
}

/// Opens `path` (or takes standard input for `-`) for reading.
fn open(path: &Path) -> Result<(Box<dyn Read>, Option<u64>), InputError> {
    if path == Path::new("-") {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(InputError::StdinTwice);
        }
        return Ok((Box::new(std::io::stdin()), None));
    }
    let io = |source| InputError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        )));
    }
    let size = meta.is_file().then_some(meta.len());
    Ok((Box::new(file), size))
}

/// Reads at most `limit` bytes of `path` (or standard input for `-`).
///
/// # Errors
/// [`InputError`]; a file over the limit is refused before anything is allocated for it.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    read_limited(path, limit, limit, |_| false)
}

/// Reads `path` up to `small` bytes, or up to `large` when its first bytes pass `wants_large`
/// (a Terraform plan or a CloudFormation template may be far larger than a policy): a regular
/// file over `small` is judged by its first 64 KiB before the rest is read, a stream by the
/// `small` bytes already read. Anything refused is refused before more is allocated for it.
///
/// # Errors
/// As [`read_bytes`]; `TooLarge` names the limit that applied.
pub fn read_sniffed(
    path: &Path,
    small: u64,
    large: u64,
    wants_large: impl Fn(&[u8]) -> bool,
) -> Result<Content, InputError> {
    read_limited(path, small, large, wants_large).map(Content::of)
}

fn read_limited(
    path: &Path,
    small: u64,
    large: u64,
    wants_large: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, InputError> {
    let (mut reader, size) = open(path)?;
    let io = |source| InputError::Io {
        path: path.to_owned(),
        source,
    };
    let too_large = |limit, size| InputError::TooLarge {
        path: path.to_owned(),
        limit,
        size,
    };
    // With one limit there is nothing to sniff: a file over it is refused unread.
    if large <= small && size.is_some_and(|s| s > small) {
        return Err(too_large(small, size));
    }
    let first = size.map_or(small, |s| s.min(small).min(64 << 10));
    let mut bytes = Vec::with_capacity(size.unwrap_or(8192).min(small) as usize);
    (&mut reader)
        .take(first + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let over_small = size.map_or(bytes.len() as u64 > small, |s| s > small);
    if over_small {
        if !wants_large(&bytes) {
            return Err(too_large(small, size));
        }
        if size.is_some_and(|s| s > large) {
            return Err(too_large(large, size));
        }
    }
    let limit = if over_small { large } else { small };
    reader
        .take((limit + 1).saturating_sub(bytes.len() as u64))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit, size));
    }
    Ok(bytes)
}

/// Reads `path` as [`read_bytes`] does and checks that it is UTF-8.
///
/// # Errors
/// As [`read_bytes`].
pub fn read_content(path: &Path, limit: u64) -> Result<Content, InputError> {
    read_bytes(path, limit).map(Content::of)
}

/// Reads `path` as UTF-8 text, with a message naming the first bad byte otherwise.
///
/// # Errors
/// As [`read_bytes`], and a message for text that is not UTF-8.
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    match read_content(path, limit).map_err(|e| e.to_string())? {
        Content::Text(s) => Ok(s),
        Content::NotUtf8 { offset, byte } => Err(format!(
            "`{}` is not UTF-8 text: byte 0x{byte:02X} at offset {offset}; save it as UTF-8",
            shown(path)
        )),
    }
}

/// One line of a JSON Lines file, or why it could not be read.
pub enum Line {
    /// The text of the line, without its end.
    Text(String),
    /// Longer than [`MAX_LINE_BYTES`]; nothing after it is read (an endless line, such as
    /// `/dev/zero`, would otherwise be skipped forever).
    TooLong,
    /// Not UTF-8.
    NotUtf8,
}

/// A JSON Lines reader that never holds more than one bounded line.
pub struct Lines {
    reader: Box<dyn BufRead>,
    buf: Vec<u8>,
}

impl Lines {
    /// Opens `path` (or standard input for `-`).
    ///
    /// # Errors
    /// [`InputError`] when it cannot be opened.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let (reader, _) = open(path)?;
        Ok(Self {
            reader: Box::new(std::io::BufReader::with_capacity(64 << 10, reader)),
            buf: Vec::new(),
        })
    }

    /// The next line, or `None` at the end.
    ///
    /// # Errors
    /// A read error of the underlying file.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        let mut any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr_nl(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = (MAX_LINE_BYTES as usize + 1).saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            self.reader.consume(take);
            if self.buf.len() > MAX_LINE_BYTES as usize {
                self.buf.clear();
                return Ok(Some(Line::TooLong));
            }
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some(
            match String::from_utf8(std::mem::take(&mut self.buf)) {
                Ok(s) => Line::Text(s),
                Err(_) => Line::NotUtf8,
            },
        ))
    }
}

fn memchr_nl(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// What a directory walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The regular files with the extension, sorted.
    pub files: Vec<PathBuf>,
    /// What was skipped, one sentence each (links that loop or dangle, FIFOs, sockets,
    /// unreadable entries).
    pub skipped: Vec<String>,
}

/// Every regular file ending in `.{ext}` for one of `exts` below `dir`, following symbolic links with loop
/// detection (ripgrep's walker, without its ignore rules: every file counts).
pub fn walk(dir: &Path, exts: &[&str]) -> Walk {
    let mut out = Walk::default();
    let walker = ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .follow_links(true)
        .build();
    for entry in walker {
        match entry {
            Err(e) => out.skipped.push(format!("skipped {}", walk_error(&e))),
            Ok(entry) => {
                let path = entry.path();
                if path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_none_or(|e| !exts.contains(&e))
                {
                    continue;
                }
                match entry.file_type() {
                    Some(t) if t.is_file() => out.files.push(path.to_owned()),
                    Some(t) if t.is_dir() => {}
                    _ => out.skipped.push(format!(
                        "skipped `{}`: not a regular file (a FIFO, socket or device is never read)",
                        path.display()
                    )),
                }
            }
        }
    }
    out.files.sort();
    out.files.dedup();
    out
}

fn walk_error(e: &ignore::Error) -> String {
    match e {
        ignore::Error::WithPath { path, err } => match err.as_ref() {
            ignore::Error::Loop { child, .. } => format!(
                "`{}`: a symbolic link loop (it leads back to `{}`)",
                child.display(),
                path.display()
            ),
            other => format!("`{}`: {}", path.display(), io_reason(other)),
        },
        ignore::Error::Loop { child, ancestor } => format!(
            "`{}`: a symbolic link loop (it leads back to `{}`)",
            child.display(),
            ancestor.display()
        ),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error(err)
        }
        other => other.to_string(),
    }
}

fn io_reason(e: &ignore::Error) -> String {
    match e.io_error() {
        Some(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "a dangling symbolic link (its target does not exist)".into()
        }
        Some(io) => io.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_with_its_size() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; 2048]).unwrap_or_else(|e| panic!("{e}"));
        let err = read_bytes(&p, 1024).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                format!(
                    "`{}` is 2048 bytes; fargate-sim reads at most 1024 bytes from one input (is this the right file?)",
                    p.display()
                )
                .as_str()
            )
        );
    }

    #[test]
    fn an_endless_device_is_cut_at_the_limit() {
        let err = read_bytes(Path::new("/dev/zero"), 4096);
        assert!(matches!(
            err,
            Err(InputError::TooLarge {
                size: None,
                limit: 4096,
                ..
            })
        ));
    }

    #[test]
    fn the_first_invalid_byte_is_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("latin1.json");
        std::fs::write(&p, b"{\"Sid\":\"caf\xe9\"}").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            read_content(&p, 1024),
            Ok(Content::NotUtf8 {
                offset: 11,
                byte: 0xE9
            })
        ));
    }
}
