//! The SQLite schema, as ordered migrations: append new versions, never edit applied ones.

/// `(version, SQL)`, applied in order, each once, each in its own transaction.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, V4),
    (5, V5),
    (6, V6),
    (7, V7),
];

/// JSON is TEXT (key order survives), times are milliseconds since the epoch.
const V1: &str = "
CREATE TABLE workflows (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, name, version)
);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    tasks TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT,
    owner TEXT,
    lease_until BIGINT,
    -- The seq of the next record: an append learns where to continue from the row it
    -- updates anyway, instead of reading the history's end.
    next_seq BIGINT NOT NULL
);
CREATE INDEX instances_workflow ON instances (namespace, name, version, id);
CREATE INDEX instances_status ON instances (status, id);
-- Not on lease_until: the group commit rewrites it in every append, and an unindexed column
-- keeps those updates cheap (heap-only on PostgreSQL).
CREATE INDEX instances_owner ON instances (owner);
-- What claim scans: the unfinished instances.
CREATE INDEX instances_live ON instances (id)
    WHERE status NOT IN ('completed', 'faulted', 'cancelled');

CREATE TABLE records (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    seq BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;

-- AUTOINCREMENT: a seq is never reused after its row is deleted, so seqs only grow.
CREATE TABLE requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    control TEXT NOT NULL
);
CREATE INDEX requests_instance ON requests (instance_id);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    event TEXT NOT NULL
);
CREATE INDEX outbox_instance ON outbox (instance_id);
";

/// Runs and per-workflow settings (issue 6), both keyed by namespace/name (all versions).
const V2: &str = "
-- One run per workflow and logical date: the primary key makes that hold across nodes.
-- `previous`: a JSON array of the instance ids of earlier attempts, oldest first (a rerun
-- moves instance_id there; those instances stay in the instances table).
CREATE TABLE runs (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    logical_date BIGINT NOT NULL,
    version TEXT NOT NULL,
    interval_start BIGINT NOT NULL,
    interval_end BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('scheduled', 'backfill', 'manual')),
    instance_id TEXT REFERENCES instances (id),
    previous TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    PRIMARY KEY (namespace, name, logical_date)
) WITHOUT ROWID;
-- An instance executes at most one run, and the service finds a run from its instance.
CREATE UNIQUE INDEX runs_instance ON runs (instance_id);

CREATE TABLE workflow_settings (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    overrides TEXT NOT NULL,
    paused BOOLEAN NOT NULL,
    last_scheduled BIGINT,
    PRIMARY KEY (namespace, name)
);
";

/// Marks on runs (issue 6): a person's override of a run's state, or of one task's.
const V3: &str = r#"
-- Airflow's "mark failed / mark succeeded": a person overrides what a run, or one task of
-- it, counts as, and the run control reads the mark instead of the instance's own state.
-- The instance itself (its status, its history) is not changed.
-- `marked`: NULL (no mark) or the state the whole run is marked with.
ALTER TABLE runs ADD COLUMN marked TEXT CHECK (marked IN ('failed', 'succeeded'));
-- `task_marks`: a JSON object, task reference (a JSON pointer such as "/do/0/preprocess") to
-- 'failed' or 'succeeded'. A rerun clears both marks with the attempt they were about.
ALTER TABLE runs ADD COLUMN task_marks TEXT NOT NULL DEFAULT '{}';
"#;

/// Incoming CloudEvents and the instances they started (issue 5: event-driven starts and
/// correlation).
const V4: &str = r#"
-- The durable log of incoming CloudEvents: the API stores an event here (and answers 202)
-- before anything acts on it, so an acknowledged event survives a crash, and every node reads
-- the same events in the same order. `seq` is that delivery order.
-- AUTOINCREMENT: a seq is never reused after its row is pruned, so seqs only grow (a
-- reader's cursor stays valid). SQLite has one writer, so seqs are committed in order.
-- (source, id) identifies a CloudEvent (the spec's deduplication key): a producer's retry of
-- an event is stored once, so it cannot start or resume anything twice.
-- `event`: the whole event as JSON text (key order kept); `received_at`: ms since the epoch.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (source, id)
);
-- Listens and correlation look events up by type since a time (a listener's start).
CREATE INDEX events_type ON events (type, received_at);
-- Pruning deletes the events received before a time.
CREATE INDEX events_received ON events (received_at);

-- `schedule.on`: a workflow starts exactly one instance per triggering event. Every node sees
-- every event, so the primary key decides which node's start wins (the others write nothing),
-- and a node that restarts and reads the events again does not start them twice.
-- The foreign key is checked at commit: the start is recorded first, so a losing start stops
-- before it writes its instance.
CREATE TABLE event_starts (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    seq BIGINT NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances (id) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (namespace, name, seq)
) WITHOUT ROWID;
-- Pruning an event deletes its starts.
CREATE INDEX event_starts_seq ON event_starts (seq);
"#;

/// Where each queued event goes (issue 5: routes to HTTP sinks and Kafka topics). NULL: the
/// server's default sink (rows queued before routes existed).
const V5: &str = "ALTER TABLE outbox ADD COLUMN destination TEXT;";

/// Task logs (issue 8): what run and container tasks print, in pieces as printed. Outside the
/// history (nothing replays them) and without a foreign key (appended off the group commit).
const V6: &str = r#"
CREATE TABLE task_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    task TEXT NOT NULL,
    effect BIGINT NOT NULL,
    stream TEXT NOT NULL,
    at BIGINT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX task_logs_instance ON task_logs (instance_id, seq);
"#;

/// Node leases (issue 5): a node renews one row instead of the lease of every instance it
/// holds; an instance moves only when both its own lease (set when it was created, claimed
/// or written) and its owner's lease ran out. The nodes that own instances now are given
/// their instances' latest lease, so nothing moves at the upgrade; from then on every owner
/// has a node row. Claims read the unfinished instances by owner, and releasing ended
/// instances reads only the ended ones a node still owns.
const V7: &str = r#"
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    lease_until BIGINT NOT NULL
);
INSERT INTO nodes (name, lease_until)
    SELECT owner, COALESCE(MAX(lease_until), 0) FROM instances
    WHERE owner IS NOT NULL GROUP BY owner;
CREATE INDEX instances_ended_owned ON instances (owner)
    WHERE owner IS NOT NULL AND status IN ('completed', 'faulted', 'cancelled');
-- What claim reads: the unfinished instances by owner (none, or a node whose lease ran out).
CREATE INDEX instances_live_owner ON instances (owner)
    WHERE status NOT IN ('completed', 'faulted', 'cancelled');
"#;
