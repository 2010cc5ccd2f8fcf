//! Persistence behind one narrow trait, with two backends that pass one test suite
//! (`tests/store.rs`): [`sqlite`] (the embedded default, a data directory) and [`postgres`]
//! (shared by several nodes).
//!
//! The model (ARCHITECTURE.md, "Persistence"): per instance, an append-only history of
//! records (opaque JSON to the store: the runtime's `Record`s) from which the engine rebuilds the
//! instance by replay, plus a summary row (status, output, error, task history) kept for reads.
//! Both are written in one transaction, so a reader never sees a summary ahead of its history.
//! A node owns an instance (`owner`) while it holds a lease: its own node lease (one row per
//! node, renewed by the node's lease loop) or the instance's (`lease_until`, set when the
//! instance is created, claimed or written). Another node takes it only once both ran out.
//! Every append is fenced by the owner, so a node that lost an instance cannot write to its
//! history any more.
//!
//! Scheduled work (issue 6) adds **runs** — one per workflow (namespace/name, all versions) and
//! logical date, each linked to the instance that executes it once started — and
//! **per-workflow settings** (API overrides of the run control, pause, scheduling progress).
//!
//! Event-driven starts and correlation (issue 5) add a durable log of **incoming CloudEvents**:
//! stored once per (source, id) — the CloudEvents deduplication key — in one delivery order
//! (`seq`), before the API acknowledges them; and **event starts**, which make a `schedule.on`
//! workflow start exactly one instance per triggering event, also across nodes.
//!
//! The web UI (issue 8) adds **task logs**: what run and container tasks print, in pieces as
//! it is printed, kept beside the history but outside it (a log is not part of what replays).

mod error;
pub mod postgres;
mod shared;
pub mod sqlite;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Error, Failure};

pub type Result<T> = std::result::Result<T, Error>;

/// A workflow's identity: versions are immutable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkflowKey {
    pub namespace: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredWorkflow {
    pub key: WorkflowKey,
    /// The document as uploaded (YAML or JSON text).
    pub source: String,
    /// SHA-256 of `source`, hex: the same digest means the same content.
    pub digest: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// What `put_workflow` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    /// The same namespace/name/version with the same digest was already there.
    Unchanged,
    /// The same namespace/name/version exists with a different digest; nothing was written.
    Conflict,
}

/// A new instance: its summary row (status `pending`) and the first record of its history
/// are written together, owned by `owner` with a fresh lease.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstance {
    /// A UUID v7 string: ids sort by creation time.
    pub id: String,
    pub workflow: WorkflowKey,
    pub input: Value,
    /// Record 0 of the history.
    pub started: Value,
    pub created_at: i64,
    pub owner: String,
    /// The stored events (seqs, ascending) that start it (`schedule.on`: one, or a set for
    /// `all` and `until`), or none. An event starts at most one instance of a workflow: when
    /// one of these already started an instance of `workflow`'s namespace/name, this one is
    /// not created (nothing of it is written; [`Store::append`] reports it lost). Of
    /// concurrent creations (several nodes) exactly one wins. The events themselves are not
    /// looked up (a pruned or unknown seq starts like any other).
    pub starts: Vec<i64>,
}

/// The read model of an instance, rewritten with each append that changes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// One of the spec's phases: pending, running, waiting, suspended, cancelled, faulted,
    /// completed.
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<Value>,
    /// The per-task history (a JSON array, as the API shows it).
    pub tasks: Value,
    pub ended_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub id: String,
    pub workflow: WorkflowKey,
    pub status: String,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<Value>,
    pub tasks: Value,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    /// The node holding the lease, if any.
    pub owner: Option<String>,
}

/// Which instances to list: newest first, `limit` at most, before the cursor `before` (an id).
/// The filters that are set must all match. A `limit` of 0 means 50; more than 1000 means 1000.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub status: Option<String>,
    pub before: Option<String>,
    pub limit: u32,
}

/// What one group commit writes for one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Append {
    pub instance: String,
    /// A new instance (owned by the appending node), created in this same transaction before
    /// the rest is written: starts are group-committed like steps. `records` then follow its
    /// record 0.
    pub created: Option<NewInstance>,
    /// Appended to the history in order, after the records already there.
    pub records: Vec<Value>,
    /// The new read model, when it changed.
    pub summary: Option<Summary>,
    /// CloudEvents to publish (lifecycle and emitted), in order, after those already queued.
    pub outbox: Vec<Queued>,
}

/// A control request for an instance, delivered to the node that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    Cancel,
    Suspend,
    Resume,
}

impl Control {
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Cancel => "cancel",
            Control::Suspend => "suspend",
            Control::Resume => "resume",
        }
    }

    pub fn parse(s: &str) -> Option<Control> {
        match s {
            "cancel" => Some(Control::Cancel),
            "suspend" => Some(Control::Suspend),
            "resume" => Some(Control::Resume),
            _ => None,
        }
    }
}

/// One queued lifecycle CloudEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Increases with every event queued (per store); the sending order.
    pub seq: i64,
    pub instance: String,
    /// Where it goes (`events::route::Destination::text`); `None`: the server's default sink.
    pub destination: Option<String>,
    pub event: Value,
}

/// A CloudEvent queued for publishing, with where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub destination: Option<String>,
    pub event: Value,
}

impl From<Value> for Queued {
    /// To the default sink.
    fn from(event: Value) -> Queued {
        Queued {
            destination: None,
            event,
        }
    }
}

/// A run to queue: one logical date of a workflow (namespace/name; `version` is the one to run).
/// Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub logical_date: i64,
    /// The data interval `[interval_start, interval_end)`.
    pub interval_start: i64,
    pub interval_end: i64,
    /// What queued it: `scheduled`, `backfill` or `manual` (the store rejects anything else).
    pub kind: String,
    pub created_at: i64,
}

/// A run as listed: its own columns joined with its instance's.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub logical_date: i64,
    pub interval_start: i64,
    pub interval_end: i64,
    pub kind: String,
    /// The instance executing (or that executed) this run; `None` while queued.
    pub instance: Option<String>,
    /// `queued` without an instance, else the instance's status.
    pub status: String,
    /// When the run was first queued (a rerun keeps it).
    pub created_at: i64,
    /// When the current instance was started: its `created_at` as given to `start_run`.
    pub started_at: Option<i64>,
    /// The current instance's `ended_at`.
    pub ended_at: Option<i64>,
    /// The instances of earlier attempts, oldest first: a rerun moves `instance` here (the
    /// instances themselves stay in the store).
    pub previous: Vec<String>,
    /// A person's override of the whole run's state (`failed` or `succeeded`; see
    /// [`Store::mark_run`]): the run control reads it instead of the instance's status. A
    /// rerun clears it.
    pub marked: Option<String>,
    /// Overrides of single tasks' states: task reference (a JSON pointer such as
    /// `/do/0/preprocess`) → `failed` or `succeeded`. A rerun clears them.
    pub task_marks: BTreeMap<String, String>,
}

/// The states a run or a task may be marked with ([`Store::mark_run`]).
pub const MARKS: [&str; 2] = ["failed", "succeeded"];

/// A workflow's settings (namespace/name, all versions), kept by the service.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowSettings {
    /// API overrides of the document's run control: a JSON object, key order kept.
    pub overrides: Value,
    /// No new runs while paused; running ones finish.
    pub paused: bool,
    /// The scheduler's progress: the last logical date it queued.
    pub last_scheduled: Option<i64>,
}

impl Default for WorkflowSettings {
    fn default() -> WorkflowSettings {
        WorkflowSettings {
            overrides: Value::Object(Default::default()),
            paused: false,
            last_scheduled: None,
        }
    }
}

/// A stored incoming CloudEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The delivery order: increases with every event stored (per store), never reused. An
    /// event with a greater seq was committed after it (see [`Store::put_events`]), so a reader
    /// paging with [`Store::events_after`] never skips one.
    pub seq: i64,
    /// The CloudEvents `source` attribute.
    pub source: String,
    /// The CloudEvents `id` attribute: unique per `source`.
    pub id: String,
    /// The CloudEvents `type` attribute.
    pub r#type: String,
    /// The whole event as received (a JSON object, key order kept).
    pub event: Value,
    /// When it was received: milliseconds since the Unix epoch (the caller's clock).
    pub received_at: i64,
}

/// The most events one read returns ([`Store::events_after`], [`Store::events_since`]).
pub const EVENT_PAGE_MAX: u32 = 10_000;

/// The most log pieces [`Store::logs`] returns at once.
pub const LOG_PAGE_MAX: u32 = 1_000;

/// A piece of a task's log, as the process printed it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogChunk {
    pub instance: String,
    /// The task's reference (`/do/1/load`).
    pub task: String,
    /// The effect that printed it: one attempt of the task (a retry is a new effect; an
    /// effect performed again after a crash keeps its id, and its log is then written twice).
    pub effect: u64,
    pub stream: crate::functions::log::Stream,
    /// When it was printed (milliseconds since the epoch).
    pub at: i64,
    pub text: String,
}

/// A stored log piece: `seq` increases with every piece stored for an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLog {
    pub seq: i64,
    pub chunk: LogChunk,
}

/// The phases after which an instance never changes again.
pub const ENDED: [&str; 3] = ["completed", "faulted", "cancelled"];

#[async_trait]
pub trait Store: Send + Sync {
    /// Stores a workflow version; versions are immutable (see [`Put`]).
    async fn put_workflow(&self, key: &WorkflowKey, source: &str, digest: &str) -> Result<Put>;
    async fn workflow(&self, key: &WorkflowKey) -> Result<Option<StoredWorkflow>>;
    /// Every stored version, ordered by namespace, name, then creation.
    async fn workflows(&self) -> Result<Vec<StoredWorkflow>>;
    /// How many versions are stored. Versions are never replaced or deleted, so this changes
    /// exactly when one is added: a cheap test of whether [`Store::workflows`] would answer
    /// something new.
    async fn workflow_count(&self) -> Result<i64>;

    /// Creates an instance with its first record, owned by `new.owner` for `lease` (an error
    /// when its [`NewInstance::starts`] already started one).
    async fn create_instance(&self, new: &NewInstance, lease: Duration) -> Result<()>;
    async fn instance(&self, id: &str) -> Result<Option<InstanceRow>>;
    async fn instances(&self, filter: &Filter) -> Result<Vec<InstanceRow>>;
    /// The instance's records in order (empty for an unknown id).
    async fn history(&self, id: &str) -> Result<Vec<Value>>;

    /// The group commit: writes every append in one transaction, each only while `node` holds
    /// the instance's lease (which the write renews for `lease`). Returns the ids of the
    /// instances `node` does not hold, and of the created ones whose events already started
    /// an instance (nothing was written for those).
    async fn append(&self, node: &str, lease: Duration, batch: &[Append]) -> Result<Vec<String>>;

    /// Takes up to `limit` instances that need an owner — unfinished, or ended with queued
    /// outgoing events — whose own lease and whose owner's node lease both expired, that have
    /// none, or — with `own` — that `node` itself holds (a restarted node gets its instances
    /// back at once; a running one has them already and leaves them out). Concurrent claims never take the same
    /// instance (`FOR UPDATE SKIP LOCKED` on PostgreSQL). Returns the ids now held by `node`.
    /// The oldest leases go first (no lease at all first), so unowned and expired instances
    /// come before the node's own, and repeated claims cycle through all of the node's own.
    async fn claim(
        &self,
        node: &str,
        lease: Duration,
        limit: u32,
        own: bool,
    ) -> Result<Vec<String>>;
    /// Extends `node`'s node lease (one row, whatever it holds). While the lease ran, no
    /// other node could take its instances, and the answer is `None`; when it had run out
    /// (or there was none) some may have moved, and the answer is the ids it still holds.
    async fn renew(&self, node: &str, lease: Duration) -> Result<Option<Vec<String>>>;
    /// Gives up `node`'s lease on the ended instances whose outgoing events were all sent.
    async fn release_ended(&self, node: &str) -> Result<()>;
    /// Gives up `node`'s leases on every instance (a clean shutdown).
    async fn release_all(&self, node: &str) -> Result<()>;

    /// Retry of an ended instance: keeps the first `keep` records of its history (at least
    /// the start), drops the rest, clears its output and error, marks it running and gives
    /// it to `node` for `lease` — all in one transaction, and only while the instance is
    /// ended and nobody holds it. False (nothing changed) otherwise.
    async fn rewind(&self, id: &str, keep: usize, node: &str, lease: Duration) -> Result<bool>;

    /// Queues a control request for the instance's owner. False when the instance is unknown.
    async fn request(&self, id: &str, control: Control) -> Result<bool>;
    /// Takes (and removes) the queued requests of the instances `node` holds, oldest first.
    async fn take_requests(&self, node: &str) -> Result<Vec<(String, Control)>>;

    /// The oldest queued outgoing events of the instances `node` holds, in `seq` order, at most
    /// `limit` (0 gives none).
    async fn outbox(&self, node: &str, limit: u32) -> Result<Vec<Outgoing>>;
    /// Removes sent events.
    async fn sent(&self, seqs: &[i64]) -> Result<()>;

    /// Queues runs, all in one transaction. A run is unique per namespace, name and logical
    /// date, also across nodes (the primary key): concurrent calls naming the same date queue
    /// it once. A date that already has a run is skipped, unless `rerun`: then a run whose
    /// instance has ended (or that has none yet) is reset to queued — its instance moves to
    /// [`RunRow::previous`], its marks ([`RunRow::marked`], [`RunRow::task_marks`]) are
    /// cleared, it takes this call's version, interval and kind, and keeps its `created_at` —
    /// while a run whose instance is unfinished is still skipped. A date named
    /// twice in `runs` counts once (the first). Returns the logical dates queued by this call
    /// (new runs, and with `rerun` the reset or already queued ones), ascending — once per
    /// workflow the call names, so a call naming one workflow gets each date at most once.
    async fn add_runs(&self, runs: &[NewRun], rerun: bool) -> Result<Vec<i64>>;
    /// The runs of a workflow (all versions) with `from <= logical_date <= to` (a missing
    /// bound is open), ascending by logical date, at most `limit` (0 means 1000; 1000 at most).
    async fn runs(
        &self,
        namespace: &str,
        name: &str,
        from: Option<i64>,
        to: Option<i64>,
        limit: u32,
    ) -> Result<Vec<RunRow>>;
    /// Starts a queued run: atomically, while the run has no instance, creates `new` exactly as
    /// [`Store::create_instance`] does and links it to the run (`started_at` is
    /// `new.created_at`). False, with nothing written, when the run is unknown or already has
    /// an instance: of concurrent starts of one run, exactly one wins. With `max_active`, also
    /// false when that many runs of the workflow already have an unfinished instance — checked
    /// under a per-workflow lock, so nodes starting runs at once never exceed it.
    async fn start_run(
        &self,
        namespace: &str,
        name: &str,
        logical_date: i64,
        new: &NewInstance,
        lease: Duration,
        max_active: Option<u32>,
    ) -> Result<bool>;

    /// Marks a run, or one task of it, failed or succeeded (`state`), or removes the mark
    /// (`None`). `task: None` marks the whole run (column `marked`); `Some(reference)` sets that
    /// key of `task_marks`. False when there is no run for that date. A `state` other than
    /// `failed` or `succeeded` ([`MARKS`]) is an error, and nothing is written.
    async fn mark_run(
        &self,
        namespace: &str,
        name: &str,
        logical_date: i64,
        task: Option<&str>,
        state: Option<&str>,
    ) -> Result<bool>;
    /// The run an instance executes (or executed, while it is still the run's instance: a
    /// rerun's earlier instances, in [`RunRow::previous`], are not found). `None` too for an
    /// unknown id or an instance that executes no run.
    async fn run_of(&self, instance: &str) -> Result<Option<RunRow>>;
    /// The runs of a workflow that have not finished: queued (no instance yet) or with an
    /// unfinished instance; ascending by logical date (all of them: run control needs every
    /// one, and there are as many as `maxActiveRuns` plus the queue).
    async fn open_runs(&self, namespace: &str, name: &str) -> Result<Vec<RunRow>>;
    /// The run with the greatest logical date before `before` (`dependsOnPast`'s previous
    /// run), whatever its state.
    async fn previous_run(
        &self,
        namespace: &str,
        name: &str,
        before: i64,
    ) -> Result<Option<RunRow>>;

    /// A workflow's settings; the defaults when never written.
    async fn settings(&self, namespace: &str, name: &str) -> Result<WorkflowSettings>;
    /// Replaces a workflow's settings (all fields at once). `overrides` must be an object.
    async fn put_settings(
        &self,
        namespace: &str,
        name: &str,
        settings: &WorkflowSettings,
    ) -> Result<()>;

    /// Stores incoming CloudEvents in one transaction: durable when this returns (the API
    /// answers 202 only then). `events` are whole CloudEvents as JSON objects; the store reads
    /// their `source`, `id` and `type` attributes. An event that is not an object, or whose
    /// `source`, `id` or `type` is missing, not a string or empty (CloudEvents requires
    /// non-empty strings), is an error, and nothing of the batch is written. An event whose
    /// (source, id) is already stored — by an earlier call, or earlier in the same batch — is a
    /// duplicate and is not stored again. Returns, per event of `events` in order, `Some(seq)`
    /// for one stored by this call and `None` for a duplicate; the new seqs increase in the
    /// batch's order.
    ///
    /// Seqs become visible in their order: calls (also from several nodes) are serialized, so
    /// once a reader sees an event, every event with a smaller seq is visible too.
    async fn put_events(&self, events: &[Value], received_at: i64) -> Result<Vec<Option<i64>>>;
    /// Stored events with `seq > after`, ascending by seq, at most `limit` (0 gives none; at
    /// most [`EVENT_PAGE_MAX`]). Paging: pass the last seq of one page to get the next.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>>;
    /// The greatest seq stored; 0 when no event is stored (also after pruning them all).
    async fn last_event_seq(&self) -> Result<i64>;
    /// Stored events whose type is one of `types` (any type when `types` is empty), received
    /// at or after `since`, ascending by seq, at most `limit` (0 gives none; at most
    /// [`EVENT_PAGE_MAX`]).
    async fn events_since(
        &self,
        types: &[String],
        since: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>>;
    /// Deletes the events received before `before`, with the records of the instances they
    /// started ([`NewInstance::starts`]; the instances themselves stay). Returns how many
    /// events were deleted.
    async fn prune_events(&self, before: i64) -> Result<u64>;
    /// Which of `seqs` already started an instance of the workflow.
    async fn started_events(&self, namespace: &str, name: &str, seqs: &[i64]) -> Result<Vec<i64>>;

    /// Stores pieces of task logs, in their order. Not fenced by leases: a log is what was
    /// printed, by whichever node ran the task.
    async fn append_logs(&self, chunks: &[LogChunk]) -> Result<()>;
    /// The log pieces of an instance (of one task when `task` is given) with `seq > after`,
    /// ascending, at most `limit` (at most [`LOG_PAGE_MAX`]). Paging: pass the last seq.
    async fn logs(
        &self,
        instance: &str,
        task: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredLog>>;

    /// How many instances are in each status.
    async fn count_by_status(&self) -> Result<Vec<(String, i64)>>;
    /// How many outgoing events are queued (all nodes).
    async fn outbox_depth(&self) -> Result<i64>;
}

/// Opens the store named by `database` (a `postgres://` URL), or the SQLite store in `data`.
pub async fn open(database: Option<&str>, data: &std::path::Path) -> Result<Arc<dyn Store>> {
    match database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(postgres::Postgres::connect(url).await?))
        }
        Some(url) => Err(Error::invalid(format!(
            "unsupported --database `{url}`: give a postgres:// URL, or leave it out for the SQLite store in --data"
        ))),
        None => Ok(Arc::new(sqlite::Sqlite::open(data).await?)),
    }
}
