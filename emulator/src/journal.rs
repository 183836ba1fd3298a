//! The run journal: what a demo run is about to create in AWS (LocalStack), written to disk
//! *before* each create call and updated after it, so that a run that dies — SIGKILL, a crash,
//! a closed terminal — leaves a record of everything it may have made.
//!
//! One journal per run, `<dir>/<run id>.json`, beside `<dir>/<run id>.lock`, which the run
//! holds locked for its whole life. A journal whose lock can be taken belongs to a run that is
//! no longer alive (or ended with `--keep`): its resources are leftovers, named at the start of
//! every later run and removed by `fargate-sim demo --cleanup`.
//!
//! The journal is rewritten whole (to a temporary file, then renamed) on every change: a run
//! creates a handful of resources, and a reader never sees half a file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::flow::{Created, RunId};

/// Whether a resource of the journal is known to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    /// The create call was about to be sent (or was in flight): the resource may exist.
    Intended,
    /// The create call succeeded.
    Created,
}

/// One resource of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The resource.
    pub resource: Created,
    /// Whether it is known to exist.
    pub state: State,
}

/// What a journal file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The run.
    pub run_id: RunId,
    /// The LocalStack endpoint the resources were created in.
    pub endpoint: String,
    /// Whether that LocalStack was started by the run itself (it stops with the run, and its
    /// resources with it).
    pub own_localstack: bool,
    /// The run ended with `--keep`: the resources were left on purpose.
    pub kept: bool,
    /// The run closed its journal: whatever it still names is left over, whether or not the
    /// lock can be taken yet (a child process forked by another thread can hold a copy of the
    /// lock's descriptor for a moment after the run has let it go).
    #[serde(default)]
    pub ended: bool,
    /// Seconds since the Unix epoch when the run started.
    pub started: u64,
    /// The resources, in creation order.
    pub entries: Vec<Entry>,
}

/// The journal of the running process; dropping it releases the lock (and leaves the file).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    lock_path: PathBuf,
    /// Held while the run lives; `None` once the journal is closed.
    lock: Option<File>,
    record: Record,
}

fn io(op: &str, path: &Path, e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot {op} `{}`: {e}", path.display()))
}

impl Journal {
    /// Starts the journal of `run_id` in `dir`, holding its lock.
    ///
    /// # Errors
    /// The directory or files cannot be written, or the lock is held (the run id is in use).
    pub fn create(
        dir: &Path,
        run_id: RunId,
        endpoint: &str,
        own_localstack: bool,
    ) -> std::io::Result<Self> {
        fs::create_dir_all(dir).map_err(|e| io("create", dir, &e))?;
        let lock_path = dir.join(format!("{run_id}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io("open", &lock_path, &e))?;
        lock.try_lock().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("run id {run_id} is in use by another run"),
            )
        })?;
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let journal = Self {
            path: dir.join(format!("{run_id}.json")),
            lock_path,
            lock: Some(lock),
            record: Record {
                run_id,
                endpoint: endpoint.to_owned(),
                own_localstack,
                kept: false,
                ended: false,
                started,
                entries: Vec::new(),
            },
        };
        journal.write()?;
        Ok(journal)
    }

    fn write(&self) -> std::io::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(&self.record)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut f = File::create(&tmp).map_err(|e| io("create", &tmp, &e))?;
        f.write_all(&text)
            .and_then(|()| f.sync_data())
            .map_err(|e| io("write", &tmp, &e))?;
        fs::rename(&tmp, &self.path).map_err(|e| io("rename", &tmp, &e))
    }

    /// Records that `resource` is about to be created.
    ///
    /// # Errors
    /// The journal cannot be written (the create must then not be sent).
    pub fn intend(&mut self, resource: &Created) -> std::io::Result<()> {
        self.record.entries.push(Entry {
            resource: resource.clone(),
            state: State::Intended,
        });
        self.write()
    }

    /// Records that `resource` now exists.
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn confirm(&mut self, resource: &Created) -> std::io::Result<()> {
        if let Some(e) = self
            .record
            .entries
            .iter_mut()
            .rev()
            .find(|e| e.resource == *resource)
        {
            e.state = State::Created;
        }
        self.write()
    }

    /// Records that `resource` is gone (deleted, or found never to have been created).
    ///
    /// # Errors
    /// The journal cannot be written.
    pub fn forget(&mut self, resource: &Created) -> std::io::Result<()> {
        self.record.entries.retain(|e| e.resource != *resource);
        self.write()
    }

    /// The resources still recorded.
    pub fn entries(&self) -> &[Entry] {
        &self.record.entries
    }

    /// Ends the journal: removed when nothing is left in it, else kept (marked `kept` when
    /// that was asked for) for a later `--cleanup`. The lock is released when the journal is
    /// dropped.
    ///
    /// # Errors
    /// The files cannot be removed or written.
    pub fn close_in_place(&mut self, kept: bool) -> std::io::Result<()> {
        if self.record.entries.is_empty() {
            let _ = fs::remove_file(&self.path);
            let _ = fs::remove_file(&self.lock_path);
            return Ok(());
        }
        self.record.kept = kept;
        self.record.ended = true;
        let written = self.write();
        self.lock = None;
        written
    }
}

/// A journal left by a run that is no longer alive.
#[derive(Debug, Clone)]
pub struct Leftover {
    /// What it recorded.
    pub record: Record,
    /// Its file.
    pub path: PathBuf,
}

impl Leftover {
    /// Rewrites the journal with what is still left.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&mut self, entries: Vec<Entry>) -> std::io::Result<()> {
        self.record.entries = entries;
        let text = serde_json::to_vec_pretty(&self.record)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        fs::write(&tmp, text).map_err(|e| io("write", &tmp, &e))?;
        fs::rename(&tmp, &self.path).map_err(|e| io("rename", &tmp, &e))
    }

    /// Removes the journal (after its resources were removed, or went with their LocalStack).
    pub fn discard(&self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_file(self.path.with_extension("lock"));
    }
}

/// The journals in `dir` whose run is no longer alive (their lock can be taken). Files that
/// cannot be read as journals are skipped.
pub fn leftovers(dir: &Path) -> Vec<Leftover> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Leftover> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|path| {
            let text = read_bounded(&path)?;
            let record: Record = serde_json::from_slice(&text).ok()?;
            if !record.ended {
                let lock = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path.with_extension("lock"))
                    .ok()?;
                // Held by a live run: not a leftover. (The lock is released when `lock` drops.)
                lock.try_lock().ok()?;
                // Read again under the lock: the run may have written it since.
                let text = read_bounded(&path)?;
                let record: Record = serde_json::from_slice(&text).ok()?;
                return Some(Leftover { record, path });
            }
            Some(Leftover { record, path })
        })
        .collect();
    out.sort_by_key(|l| l.record.started);
    out
}

fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fsim-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn intent_is_on_disk_before_the_create_and_a_live_run_is_no_leftover() {
        let d = dir("live");
        let id = RunId::generate();
        let mut j =
            Journal::create(&d, id, "http://127.0.0.1:1", false).unwrap_or_else(|e| panic!("{e}"));
        let role = Created::Role { name: "r".into() };
        j.intend(&role).unwrap_or_else(|e| panic!("{e}"));
        let text = fs::read_to_string(d.join(format!("{id}.json"))).unwrap_or_default();
        assert!(text.contains("\"intended\""), "{text}");
        assert!(leftovers(&d).is_empty(), "the run still holds its lock");
        drop(j);
        let left = leftovers(&d);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].record.entries[0].resource, role);
        assert_eq!(left[0].record.entries[0].state, State::Intended);
        let _ = fs::remove_dir_all(&d);
    }

    /// A journal in a fresh directory named after `name`, with a bucket created (intended,
    /// then confirmed).
    fn journal_with_a_bucket(name: &str) -> (PathBuf, RunId, Journal, Created) {
        let d = dir(name);
        let id = RunId::generate();
        let mut j =
            Journal::create(&d, id, "http://127.0.0.1:1", false).unwrap_or_else(|e| panic!("{e}"));
        let b = Created::Bucket { name: "b".into() };
        j.intend(&b).unwrap_or_else(|e| panic!("{e}"));
        j.confirm(&b).unwrap_or_else(|e| panic!("{e}"));
        (d, id, j, b)
    }

    #[test]
    fn an_empty_journal_is_removed_on_close() {
        let (d, _, mut j, b) = journal_with_a_bucket("empty");
        j.forget(&b).unwrap_or_else(|e| panic!("{e}"));
        j.close_in_place(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read_dir(&d).map(|r| r.count()).unwrap_or(0), 0);
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_closed_journal_is_a_leftover_while_a_copy_of_its_lock_is_still_held() {
        let (d, id, mut j, _) = journal_with_a_bucket("closed");
        j.close_in_place(true).unwrap_or_else(|e| panic!("{e}"));
        // What a child forked between the close and its exec would hold.
        let held = File::options()
            .write(true)
            .open(d.join(format!("{id}.lock")))
            .unwrap_or_else(|e| panic!("{e}"));
        held.try_lock().unwrap_or_else(|e| panic!("{e}"));
        let left = leftovers(&d);
        assert_eq!(left.len(), 1);
        assert!(left[0].record.kept);
        drop((held, j));
        let _ = fs::remove_dir_all(&d);
    }
}
