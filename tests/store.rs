//! The `Store` contract: one suite of checks (tests/store/*.rs), each run against SQLite
//! (`on_sqlite::`) and PostgreSQL (`on_postgres::`), plus what only one backend has.

#[path = "support/postgres.rs"]
mod postgres;

#[path = "store/append.rs"]
mod append;
#[path = "store/durability.rs"]
mod durability;
#[path = "store/errors.rs"]
mod errors;
#[path = "store/events.rs"]
mod events;
#[path = "store/instances.rs"]
mod instances;
#[path = "store/leases.rs"]
mod leases;
#[path = "store/logs.rs"]
mod logs;
#[path = "store/queues.rs"]
mod queues;
#[path = "store/runs.rs"]
mod runs;
#[path = "store/workflows.rs"]
mod workflows;

use nagare::store::{self, Append, NewInstance, Store, Summary, WorkflowKey};
use serde_json::{Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs every listed check once per backend, each on a store of its own.
macro_rules! suite {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$module::$check(&super::Fixture::sqlite()).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$module::$check(&super::Fixture::postgres()).await;
                }
            )*
        }
    };
}

suite! {
    workflows::workflow_versions_are_immutable,
    workflows::workflows_are_listed_by_namespace_name_then_creation,
    workflows::concurrent_puts_create_a_version_once,
    instances::a_new_instance_is_pending_and_owned,
    instances::listing_is_newest_first_with_a_cursor_and_filters,
    instances::listing_pages_default_to_fifty,
    instances::json_keeps_its_key_order,
    append::appends_continue_the_history,
    append::appends_write_only_what_the_node_holds,
    append::a_node_that_lost_its_lease_cannot_append,
    append::a_big_batch_is_one_commit,
    append::instances_are_created_in_the_group_commit,
    append::rewind_keeps_a_prefix_of_an_ended_instance,
    leases::claim_takes_expired_leases,
    leases::claim_leaves_live_leases_alone,
    leases::a_restarted_node_gets_its_instances_back_at_once,
    leases::claim_takes_unowned_instances_up_to_the_limit,
    leases::repeated_claims_cycle_through_own_instances,
    leases::concurrent_claims_never_share_an_instance,
    leases::a_claim_without_own_takes_only_others,
    leases::ended_instances_are_held_while_events_wait,
    leases::renew_extends_every_lease_of_the_node,
    leases::a_node_lease_covers_all_its_instances,
    leases::release_all_frees_every_instance_of_the_node,
    leases::renewing_while_appending_never_deadlocks,
    queues::requests_reach_the_owner_oldest_first,
    queues::the_outbox_is_sent_in_order,
    queues::counts_by_status,
    runs::a_date_is_queued_once_and_rerun_only_when_ended,
    runs::runs_are_listed_by_logical_date_within_bounds,
    runs::a_run_shows_its_instance_status,
    runs::a_queued_run_starts_once,
    runs::concurrent_starts_of_a_run_have_one_winner,
    runs::max_active_runs_holds_across_nodes,
    runs::concurrent_overlapping_add_runs_create_each_date_once,
    runs::settings_default_and_round_trip,
    runs::marks_round_trip_on_a_run_and_its_tasks,
    runs::a_rerun_clears_marks,
    runs::run_of_finds_the_run_of_an_instance,
    runs::open_runs_are_the_queued_and_unfinished_ones_in_date_order,
    runs::previous_run_is_the_latest_earlier_date_whatever_its_state,
    events::events_are_stored_in_order_with_growing_seqs,
    events::duplicates_are_stored_once,
    events::an_event_without_its_attributes_fails_the_whole_batch,
    events::events_after_pages_by_seq,
    events::events_since_filters_by_type_and_time,
    events::last_event_seq_is_the_greatest_stored,
    events::prune_removes_only_older_events_and_their_starts,
    events::an_event_starts_one_instance_per_workflow,
    events::concurrent_starts_for_an_event_have_one_winner,
    events::concurrent_batches_store_each_event_once,
    events::a_batch_of_a_thousand_events_round_trips,
    events::events_survive_reopening,
    events::an_event_set_starts_once_or_not_at_all,
    events::a_refused_start_leaves_the_rest_of_its_group_commit,
    logs::logs_are_read_in_order_by_instance_and_task,
    logs::a_big_batch_of_log_pieces_is_paged,
    durability::data_survives_reopening,
    durability::opening_twice_at_once_is_harmless,
}

/// Where a check's store lives; `open` may be called again (a restart).
pub enum Fixture {
    Sqlite(TempDir),
    Postgres(postgres::TestDatabase),
}

impl Fixture {
    fn sqlite() -> Fixture {
        Fixture::Sqlite(TempDir::new("store"))
    }

    fn postgres() -> Fixture {
        Fixture::Postgres(postgres::database())
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fixture::Sqlite(_) => "SQLite",
            Fixture::Postgres(_) => "PostgreSQL",
        }
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            Fixture::Sqlite(dir) => Arc::new(
                store::sqlite::Sqlite::open(dir.path())
                    .await
                    .expect("open the SQLite store"),
            ),
            Fixture::Postgres(db) => Arc::new(
                store::postgres::Postgres::connect(db.url())
                    .await
                    .expect("connect to the PostgreSQL store"),
            ),
        }
    }
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("nagare-{prefix}-{}", uuid::Uuid::new_v4().simple()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Long enough never to expire during a test.
pub const LONG: Duration = Duration::from_secs(600);
/// Short enough to wait out.
pub const SHORT: Duration = Duration::from_millis(200);

/// Instance ids that sort like UUID v7 strings do: by `n`.
pub fn id(n: u32) -> String {
    format!("01920000-0000-7000-8000-{n:012}")
}

pub fn key(namespace: &str, name: &str, version: &str) -> WorkflowKey {
    WorkflowKey {
        namespace: namespace.into(),
        name: name.into(),
        version: version.into(),
    }
}

pub fn started(n: u32) -> Value {
    json!({"started": {"id": id(n), "input": {"n": n}}})
}

pub fn new_instance(n: u32, owner: &str) -> NewInstance {
    NewInstance {
        id: id(n),
        workflow: key("default", "greet", "1.0.0"),
        input: json!({"n": n}),
        started: started(n),
        created_at: 1_700_000_000_000 + i64::from(n),
        owner: owner.into(),
        starts: Vec::new(),
    }
}

pub async fn create(store: &dyn Store, n: u32, owner: &str, lease: Duration) {
    store
        .create_instance(&new_instance(n, owner), lease)
        .await
        .expect("create instance");
}

pub fn summary(status: &str) -> Summary {
    Summary {
        status: status.into(),
        output: None,
        error: None,
        tasks: json!([]),
        ended_at: None,
    }
}

pub fn append(n: u32, records: Vec<Value>, summary: Option<Summary>, outbox: Vec<Value>) -> Append {
    Append {
        instance: id(n),
        created: None,
        records,
        summary,
        outbox: outbox.into_iter().map(Into::into).collect(),
    }
}

/// Sets an instance's status (as its owner).
pub async fn set_status(store: &dyn Store, owner: &str, n: u32, status: &str) {
    let lost = store
        .append(
            owner,
            LONG,
            &[append(n, vec![], Some(summary(status)), vec![])],
        )
        .await
        .expect("append");
    assert!(lost.is_empty(), "{owner} does not hold {}", id(n));
}

/// Polls `probe` until it answers `Some` (at most 10 s).
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// What only one backend has.

#[tokio::test]
async fn a_bad_postgres_url_is_reported_clearly() {
    let refused = store::postgres::Postgres::connect("postgres://nagare:secret@127.0.0.1:1/db")
        .await
        .err()
        .expect("nothing listens on port 1");
    let message = refused.to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at postgres://nagare:***@127.0.0.1:1/db"),
        "{message}"
    );
    assert!(
        !message.contains("secret"),
        "the password leaked: {message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");

    let malformed = store::postgres::Postgres::connect("postgres://nagare@127.0.0.1:notaport/db")
        .await
        .err()
        .expect("a malformed URL");
    assert!(
        malformed
            .to_string()
            .starts_with("cannot connect to PostgreSQL at "),
        "{malformed}"
    );

    let db = postgres::database();
    let missing = db.url().replace(db.name(), "nagare_no_such_database");
    let message = store::postgres::Postgres::connect(&missing)
        .await
        .err()
        .expect("an unknown database")
        .to_string();
    assert!(message.contains("nagare_no_such_database"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
}

#[tokio::test]
async fn open_picks_the_backend_from_the_url() {
    let dir = TempDir::new("store-open");
    let sqlite = store::open(None, dir.path()).await.expect("SQLite");
    assert_eq!(sqlite.outbox_depth().await.unwrap(), 0);
    assert!(dir.path().join("nagare.db").is_file());

    let db = postgres::database();
    let pg = store::open(Some(db.url()), dir.path())
        .await
        .expect("PostgreSQL");
    assert_eq!(pg.outbox_depth().await.unwrap(), 0);

    let other = store::open(Some("mysql://localhost/x"), dir.path()).await;
    let message = other.err().expect("unsupported").to_string();
    assert!(message.contains("unsupported --database"), "{message}");
}

#[tokio::test]
async fn sqlite_is_durable_and_versioned() {
    use sqlx::{Connection, Row};
    let dir = TempDir::new("store-sqlite");
    let store = store::sqlite::Sqlite::open(dir.path()).await.expect("open");
    create(&store, 1, "a", LONG).await;
    drop(store);
    let file = dir.path().join("nagare.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect("connect");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    let versions: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn sqlite_names_the_file_it_cannot_open() {
    let dir = TempDir::new("store-file");
    std::fs::create_dir_all(dir.path()).unwrap();
    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let message = store::sqlite::Sqlite::open(&not_a_dir)
        .await
        .err()
        .expect("a file is not a data directory")
        .to_string();
    assert!(
        message.starts_with("cannot open the SQLite store ") && message.contains("plain-file"),
        "{message}"
    );
}
