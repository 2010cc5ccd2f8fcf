//! The SQLite schema, as ordered migrations: append new versions, never edit applied ones.

/// `(version, SQL)`, applied in order, each once, each in its own transaction.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3)];

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
