//! The history of one instance: how it started and every event fed to its engine, appended and
//! flushed to disk *before* the engine sees the event. Replaying the history on a fresh engine
//! rebuilds the instance exactly (the engine is deterministic), so a killed run resumes where
//! it was: completed tasks are not run again, timers keep their original deadlines, retries
//! keep their attempt count. Effects that were in flight when the process died are performed
//! again (at-least-once for the interrupted task only).
//!
//! The file is JSON lines. A torn last line (the process died while writing it) is ignored:
//! its event was never given to the engine.

use crate::engine::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "camelCase")]
pub enum Record {
    /// The instance's start: its id, raw input and start time (milliseconds since the epoch).
    Started {
        id: String,
        input: Value,
        now: i64,
        /// Top-level tasks wait for run control (see [`crate::engine::Start::gate`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        gate: bool,
    },
    /// One event given to the engine at time `now`.
    Event {
        event: Event,
        now: i64,
    },
    /// The runtime suspended the instance: results that arrive are held, not given to the
    /// engine, until `Resumed`.
    Suspended {
        now: i64,
    },
    Resumed {
        now: i64,
    },
}

/// A new instance of `workflow` owned by `owner`: a fresh (time-ordered) id, and its history's
/// first record, `Started` now.
pub fn new_instance(
    workflow: crate::store::WorkflowKey,
    input: Value,
    owner: &str,
    gate: bool,
) -> crate::store::NewInstance {
    let id = uuid::Uuid::now_v7().to_string();
    let now = super::effect::now_ms();
    let started = Record::Started {
        id: id.clone(),
        input: input.clone(),
        now,
        gate,
    };
    crate::store::NewInstance {
        id,
        workflow,
        input,
        // A record is plain data; serializing it cannot fail.
        started: serde_json::to_value(&started).unwrap_or_default(),
        created_at: now,
        owner: owner.to_string(),
        starts: Vec::new(),
    }
}

/// A journal file.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    /// The file's length before the last record appended.
    before_last: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and reads the records it holds.
    pub fn open(path: &Path) -> std::io::Result<(Journal, Vec<Record>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut records = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(r) => records.push(r),
                Err(_) if i + 1 == lines.len() => {} // torn last write
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}:{}: not a journal record: {e}", path.display(), i + 1),
                    ));
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                before_last: 0,
                file,
            },
            records,
        ))
    }

    /// Appends a record and waits until it is on disk.
    pub fn append(&mut self, record: &Record) -> std::io::Result<()> {
        self.before_last = self.file.metadata()?.len();
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }

    /// Replaces the last record appended (a step that must not stand, see
    /// `engine::Event::Fault`) and waits until it is on disk.
    pub fn replace_last(&mut self, record: &Record) -> std::io::Result<()> {
        self.file.set_len(self.before_last)?;
        self.append(record)
    }

    /// The run's error for a journal that cannot be written.
    pub fn error(&self, e: std::io::Error) -> crate::error::Error {
        crate::error::Error::runtime(format!(
            "cannot write the journal {}: {e}",
            self.path.display()
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
