//! Runs (one per workflow and logical date: queue, rerun, start, list) and workflow settings.

use super::{Fixture, LONG, append, create, id, new_instance, set_status, started};
use nagare::store::{NewRun, RunRow, Store, Summary, WorkflowSettings};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

fn date(day: i64) -> i64 {
    T0 + day * DAY
}

fn dates(days: impl IntoIterator<Item = i64>) -> Vec<i64> {
    days.into_iter().map(date).collect()
}

/// The run of `day` of default/greet 1.0.0, for the data of that day.
fn run(day: i64, kind: &str) -> NewRun {
    NewRun {
        namespace: "default".into(),
        name: "greet".into(),
        version: "1.0.0".into(),
        logical_date: date(day),
        interval_start: date(day),
        interval_end: date(day + 1),
        kind: kind.into(),
        created_at: 1_700_000_000_000 + day,
    }
}

fn runs_of(days: impl IntoIterator<Item = i64>, kind: &str) -> Vec<NewRun> {
    days.into_iter().map(|d| run(d, kind)).collect()
}

async fn all_runs(store: &dyn Store) -> Vec<RunRow> {
    store.runs("default", "greet", None, None, 0).await.unwrap()
}

async fn the_run(store: &dyn Store, day: i64) -> RunRow {
    let found = store
        .runs("default", "greet", Some(date(day)), Some(date(day)), 0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the run of day {day}: {found:?}");
    found.into_iter().next().unwrap()
}

/// Starts the run of `day` as instance `n`, owned by `a`; it must win.
async fn start(store: &dyn Store, day: i64, n: u32) {
    let started = store
        .start_run(
            "default",
            "greet",
            date(day),
            &new_instance(n, "a"),
            LONG,
            None,
        )
        .await
        .unwrap();
    assert!(started, "the run of day {day} was queued");
}

/// Ends instance `n` (owned by `a`) with `status` at `ended_at`.
async fn end(store: &dyn Store, n: u32, status: &str, ended_at: i64) {
    let summary = Summary {
        status: status.into(),
        output: None,
        error: None,
        tasks: json!([]),
        ended_at: Some(ended_at),
    };
    let lost = store
        .append("a", LONG, &[append(n, vec![], Some(summary), vec![])])
        .await
        .unwrap();
    assert!(lost.is_empty());
}

pub async fn a_date_is_queued_once_and_rerun_only_when_ended(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    let queued = store
        .add_runs(&runs_of(0..3, "scheduled"), false)
        .await
        .unwrap();
    assert_eq!(queued, dates(0..3));
    // Overlapping: only the new dates are queued; existing runs keep what they were.
    let queued = store
        .add_runs(&runs_of(1..5, "backfill"), false)
        .await
        .unwrap();
    assert_eq!(queued, dates(3..5));
    assert_eq!(the_run(store, 1).await.kind, "scheduled");
    assert_eq!(the_run(store, 3).await.kind, "backfill");
    // A date named twice in one call: once, the first one named.
    let twice = [run(5, "manual"), run(5, "backfill")];
    assert_eq!(store.add_runs(&twice, false).await.unwrap(), dates([5]));
    assert_eq!(the_run(store, 5).await.kind, "manual");
    assert_eq!(all_runs(store).await.len(), 6);

    // Day 0 is running (instance 1), day 1 completed (instance 2), day 2 still queued.
    start(store, 0, 1).await;
    set_status(store, "a", 1, "running").await;
    start(store, 1, 2).await;
    end(store, 2, "completed", T0 + 7).await;

    // Without rerun, nothing changes, ended or not.
    assert!(
        store
            .add_runs(&runs_of(0..3, "backfill"), false)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(the_run(store, 1).await.instance, Some(id(2)));

    // With rerun: the ended run is reset, the queued one stays queued, the running one is
    // skipped.
    let queued = store
        .add_runs(&runs_of(0..3, "backfill"), true)
        .await
        .unwrap();
    assert_eq!(queued, dates(1..3));
    let running = the_run(store, 0).await;
    assert_eq!(
        (
            running.instance,
            running.status.as_str(),
            running.kind.as_str()
        ),
        (Some(id(1)), "running", "scheduled")
    );
    assert!(running.previous.is_empty());
    let reset = the_run(store, 1).await;
    assert_eq!(reset.instance, None);
    assert_eq!(reset.status, "queued");
    assert_eq!((reset.started_at, reset.ended_at), (None, None));
    assert_eq!(reset.previous, [id(2)]);
    assert_eq!(reset.kind, "backfill", "a rerun takes the new kind");
    assert_eq!(
        reset.created_at,
        run(1, "scheduled").created_at,
        "and keeps created_at"
    );
    let old = store.instance(&id(2)).await.unwrap().expect("kept");
    assert_eq!(old.status, "completed");
    assert!(the_run(store, 2).await.previous.is_empty());

    // Second attempt, faulted, rerun again: both earlier instances are kept, oldest first.
    start(store, 1, 3).await;
    end(store, 3, "faulted", T0 + 9).await;
    let mut newer = run(1, "manual");
    newer.version = "2.0.0".into();
    assert_eq!(store.add_runs(&[newer], true).await.unwrap(), dates([1]));
    let again = the_run(store, 1).await;
    assert_eq!(again.previous, [id(2), id(3)]);
    assert_eq!(
        (again.version.as_str(), again.kind.as_str()),
        ("2.0.0", "manual")
    );
    assert!(store.instance(&id(3)).await.unwrap().is_some());

    // A rerun naming only the running one changes nothing.
    assert!(
        store
            .add_runs(&[run(0, "manual")], true)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(the_run(store, 0).await.instance, Some(id(1)));

    // An unknown kind fails the whole call: the valid run next to it is not queued either.
    let bad = [run(9, "scheduled"), run(10, "hourly")];
    let refused = store.add_runs(&bad, false).await;
    assert!(
        matches!(refused, Err(nagare::store::Error::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(all_runs(store).await.len(), 6);
    assert!(store.add_runs(&[], true).await.unwrap().is_empty());
}

pub async fn runs_are_listed_by_logical_date_within_bounds(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    // Named out of order; queued dates come back ascending.
    let queued = store
        .add_runs(&runs_of([4, 0, 3, 1, 2], "backfill"), false)
        .await
        .unwrap();
    assert_eq!(queued, dates(0..5));
    // Other workflows' runs of the same dates are runs of their own.
    let mut other_name = run(2, "scheduled");
    other_name.name = "other".into();
    let mut other_namespace = run(2, "scheduled");
    other_namespace.namespace = "ns2".into();
    assert_eq!(
        store
            .add_runs(&[other_name, other_namespace], false)
            .await
            .unwrap(),
        [date(2), date(2)]
    );
    assert_eq!(
        store
            .runs("default", "other", None, None, 0)
            .await
            .unwrap()
            .len(),
        1
    );

    let listed = |from: Option<i64>, to: Option<i64>, limit: u32| async move {
        store
            .runs("default", "greet", from.map(date), to.map(date), limit)
            .await
            .unwrap()
            .iter()
            .map(|r| r.logical_date)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(None, None, 0).await, dates(0..5));
    assert_eq!(listed(Some(1), Some(3), 0).await, dates(1..=3), "inclusive");
    assert_eq!(listed(Some(3), None, 0).await, dates(3..5));
    assert_eq!(listed(None, Some(1), 0).await, dates(0..=1));
    assert_eq!(listed(None, None, 2).await, dates(0..2));
    assert_eq!(listed(Some(1), None, 2).await, dates(1..3));
    assert!(listed(Some(3), Some(2), 0).await.is_empty());

    let row = the_run(store, 3).await;
    assert_eq!(
        row,
        RunRow {
            namespace: "default".into(),
            name: "greet".into(),
            version: "1.0.0".into(),
            logical_date: date(3),
            interval_start: date(3),
            interval_end: date(4),
            kind: "backfill".into(),
            instance: None,
            status: "queued".into(),
            created_at: run(3, "backfill").created_at,
            started_at: None,
            ended_at: None,
            previous: vec![],
            marked: None,
            task_marks: BTreeMap::new(),
        }
    );

    // A limit of 0 is 1000, and 1000 is the most one call returns.
    let many = store
        .add_runs(&runs_of(10..1010, "backfill"), false)
        .await
        .unwrap();
    assert_eq!(many.len(), 1000);
    assert_eq!(listed(None, None, 0).await.len(), 1000);
    assert_eq!(listed(None, None, 5000).await.len(), 1000);
    assert_eq!(listed(None, None, 0).await[0], date(0));
    assert_eq!(listed(Some(1000), None, 0).await, dates(1000..1010));
}

pub async fn a_run_shows_its_instance_status(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    // Runs belong to the workflow, not to one version: both versions are listed together.
    let mut v2 = run(1, "manual");
    v2.version = "2.0.0".into();
    store
        .add_runs(&[run(0, "scheduled"), v2], false)
        .await
        .unwrap();
    let versions: Vec<_> = all_runs(store)
        .await
        .into_iter()
        .map(|r| r.version)
        .collect();
    assert_eq!(versions, ["1.0.0", "2.0.0"]);

    assert_eq!(the_run(store, 0).await.status, "queued");
    start(store, 0, 1).await;
    let row = the_run(store, 0).await;
    assert_eq!(row.instance, Some(id(1)));
    assert_eq!(row.status, "pending");
    assert_eq!(row.started_at, Some(new_instance(1, "a").created_at));
    assert_eq!(row.ended_at, None);
    set_status(store, "a", 1, "running").await;
    assert_eq!(the_run(store, 0).await.status, "running");
    end(store, 1, "completed", T0 + 42).await;
    let row = the_run(store, 0).await;
    assert_eq!(
        (row.status.as_str(), row.ended_at),
        ("completed", Some(T0 + 42))
    );
    assert_eq!(the_run(store, 1).await.status, "queued");
}

pub async fn a_queued_run_starts_once(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    // No run, no start, and nothing written.
    let unknown = store
        .start_run(
            "default",
            "greet",
            date(0),
            &new_instance(1, "a"),
            LONG,
            None,
        )
        .await
        .unwrap();
    assert!(!unknown);
    assert_eq!(store.instance(&id(1)).await.unwrap(), None);

    store
        .add_runs(&runs_of(0..2, "scheduled"), false)
        .await
        .unwrap();
    start(store, 0, 1).await;
    // Created exactly as create_instance does: pending, owned, record 0.
    let created = store.instance(&id(1)).await.unwrap().expect("created");
    assert_eq!(created.status, "pending");
    assert_eq!(created.owner.as_deref(), Some("a"));
    assert_eq!(created.input, json!({"n": 1}));
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);
    assert!(
        store.claim("b", LONG, 10, true).await.unwrap().is_empty(),
        "leased"
    );

    let second = store
        .start_run(
            "default",
            "greet",
            date(0),
            &new_instance(2, "b"),
            LONG,
            None,
        )
        .await
        .unwrap();
    assert!(!second, "a run starts once");
    assert_eq!(store.instance(&id(2)).await.unwrap(), None);
    assert_eq!(the_run(store, 0).await.instance, Some(id(1)));

    // A start that fails (the instance id exists) leaves the run queued.
    let clash = store
        .start_run(
            "default",
            "greet",
            date(1),
            &new_instance(1, "a"),
            LONG,
            None,
        )
        .await;
    assert!(
        matches!(clash, Err(nagare::store::Error::Conflict(_))),
        "{clash:?}"
    );
    let still = the_run(store, 1).await;
    assert_eq!((still.instance, still.status.as_str()), (None, "queued"));
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);
}

pub async fn concurrent_starts_of_a_run_have_one_winner(f: &Fixture) {
    // Two handles: two nodes on one database (on SQLite, two pools on one file).
    let nodes = [f.open().await, f.open().await];
    nodes[0]
        .add_runs(&runs_of(0..5, "scheduled"), false)
        .await
        .unwrap();
    for day in 0..5u32 {
        let tries: Vec<_> = (0..8u32)
            .map(|i| {
                let store: Arc<dyn Store> = nodes[i as usize % 2].clone();
                let n = day * 100 + i;
                tokio::spawn(async move {
                    let new = new_instance(n, &format!("node{i}"));
                    let won = store
                        .start_run("default", "greet", date(i64::from(day)), &new, LONG, None)
                        .await
                        .unwrap();
                    (n, won)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for t in tries {
            let (n, won) = t.await.unwrap();
            let side = if won { &mut winners } else { &mut losers };
            side.push(n);
        }
        assert_eq!(winners.len(), 1, "day {day}: {winners:?}");
        let run = the_run(&*nodes[1], i64::from(day)).await;
        assert_eq!(run.instance, Some(id(winners[0])));
        for n in losers {
            assert_eq!(nodes[0].instance(&id(n)).await.unwrap(), None, "loser {n}");
        }
    }
}

pub async fn concurrent_overlapping_add_runs_create_each_date_once(f: &Fixture) {
    let nodes = [f.open().await, f.open().await];
    let ranges = [0..20i64, 10..30, 5..25, 0..30];
    for round in 0..3i64 {
        let offset = round * 100;
        let calls: Vec<_> = ranges
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let store: Arc<dyn Store> = nodes[i % 2].clone();
                let runs = runs_of((range.start + offset)..(range.end + offset), "backfill");
                tokio::spawn(async move { store.add_runs(&runs, false).await.unwrap() })
            })
            .collect();
        let mut all = Vec::new();
        for call in calls {
            all.extend(call.await.unwrap());
        }
        let distinct: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 30, "round {round}: each date queued by one call");
        assert_eq!(
            distinct.into_iter().collect::<Vec<_>>(),
            dates(offset..offset + 30)
        );
    }
    assert_eq!(all_runs(&*nodes[0]).await.len(), 90);

    // Concurrent reruns of overlapping ranges of queued runs: no deadlock, and every named
    // date is reported queued to each call.
    let calls: Vec<_> = ranges
        .iter()
        .enumerate()
        .map(|(i, range)| {
            let store: Arc<dyn Store> = nodes[i % 2].clone();
            let range = range.clone();
            tokio::spawn(async move {
                let queued = store
                    .add_runs(&runs_of(range.clone(), "manual"), true)
                    .await
                    .unwrap();
                (range, queued)
            })
        })
        .collect();
    for call in calls {
        let (range, queued) = call.await.unwrap();
        assert_eq!(queued, dates(range));
    }
    assert_eq!(all_runs(&*nodes[1]).await.len(), 90);
}

/// Marks the run of `day` (or one task of it) as `mark_run` does; the run must exist.
async fn mark(store: &dyn Store, day: i64, task: Option<&str>, state: Option<&str>) {
    let found = store
        .mark_run("default", "greet", date(day), task, state)
        .await
        .unwrap();
    assert!(found, "the run of day {day} exists");
}

/// The marks of the run of `day`: the run's own, then its tasks'.
async fn marks(store: &dyn Store, day: i64) -> (Option<String>, BTreeMap<String, String>) {
    let run = the_run(store, day).await;
    (run.marked, run.task_marks)
}

fn task_marks<const N: usize>(marks: [(&str, &str); N]) -> BTreeMap<String, String> {
    marks
        .into_iter()
        .map(|(task, state)| (task.to_string(), state.to_string()))
        .collect()
}

pub async fn marks_round_trip_on_a_run_and_its_tasks(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    store
        .add_runs(&runs_of(0..2, "scheduled"), false)
        .await
        .unwrap();
    assert_eq!(marks(store, 0).await, (None, BTreeMap::new()), "no marks");

    // The whole run: set, overwrite.
    mark(store, 0, None, Some("failed")).await;
    assert_eq!(the_run(store, 0).await.marked.as_deref(), Some("failed"));
    mark(store, 0, None, Some("succeeded")).await;
    assert_eq!(the_run(store, 0).await.marked.as_deref(), Some("succeeded"));
    assert_eq!(marks(store, 1).await, (None, BTreeMap::new()), "other runs");

    // Tasks: set, add, overwrite one, remove one; the run's own mark stays.
    mark(store, 0, Some("/do/0/preprocess"), Some("failed")).await;
    mark(store, 0, Some("/do/1/train"), Some("succeeded")).await;
    assert_eq!(
        marks(store, 0).await,
        (
            Some("succeeded".into()),
            task_marks([("/do/0/preprocess", "failed"), ("/do/1/train", "succeeded")])
        )
    );
    mark(store, 0, Some("/do/0/preprocess"), Some("succeeded")).await;
    mark(store, 0, Some("/do/1/train"), None).await;
    // Removing a mark that is not there changes nothing (the run exists: true).
    mark(store, 0, Some("/do/2/never"), None).await;
    assert_eq!(
        marks(store, 0).await,
        (
            Some("succeeded".into()),
            task_marks([("/do/0/preprocess", "succeeded")])
        )
    );
    // Removing the run's mark keeps the tasks' marks.
    mark(store, 0, None, None).await;
    assert_eq!(
        marks(store, 0).await,
        (None, task_marks([("/do/0/preprocess", "succeeded")]))
    );
    // A queued run can be marked too.
    mark(store, 1, Some("/do/0/preprocess"), Some("failed")).await;
    assert_eq!(
        marks(store, 1).await.1,
        task_marks([("/do/0/preprocess", "failed")])
    );

    // No run for that date (or for that workflow): false, and no run appears.
    for task in [None, Some("/do/0/preprocess")] {
        for state in [Some("failed"), None] {
            let unknown = store
                .mark_run("default", "greet", date(7), task, state)
                .await
                .unwrap();
            assert!(!unknown, "day 7, {task:?}, {state:?}");
            let other = store
                .mark_run("default", "other", date(0), task, state)
                .await
                .unwrap();
            assert!(!other, "default/other, {task:?}, {state:?}");
        }
    }
    assert_eq!(all_runs(store).await.len(), 2);
    assert!(
        store
            .runs("default", "other", None, None, 0)
            .await
            .unwrap()
            .is_empty()
    );

    // Only failed or succeeded: anything else is an error, and nothing changes.
    let before = all_runs(store).await;
    for task in [None, Some("/do/0/preprocess")] {
        for state in ["running", "FAILED", "", "skipped"] {
            let bad = store
                .mark_run("default", "greet", date(0), task, Some(state))
                .await;
            assert!(
                matches!(bad, Err(nagare::store::Error::Invalid(_))),
                "{task:?} marked `{state}`: {bad:?}"
            );
        }
    }
    assert_eq!(all_runs(store).await, before);

    // Marks stay on a started run (the instance is not changed by them), and are stored.
    mark(store, 0, None, Some("failed")).await;
    start(store, 0, 1).await;
    let started = the_run(store, 0).await;
    assert_eq!(started.status, "pending");
    assert_eq!(
        (started.marked, started.task_marks),
        (
            Some("failed".into()),
            task_marks([("/do/0/preprocess", "succeeded")])
        )
    );
    assert_eq!(
        store.instance(&id(1)).await.unwrap().unwrap().status,
        "pending"
    );
    let reopened = f.open().await;
    assert_eq!(
        marks(&*reopened, 0).await,
        (
            Some("failed".into()),
            task_marks([("/do/0/preprocess", "succeeded")])
        )
    );
}

pub async fn a_rerun_clears_marks(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    store
        .add_runs(&runs_of(0..3, "scheduled"), false)
        .await
        .unwrap();
    // Day 0 completed (instance 1), day 1 running (instance 2), day 2 queued; all marked.
    start(store, 0, 1).await;
    end(store, 1, "completed", T0 + 5).await;
    start(store, 1, 2).await;
    set_status(store, "a", 2, "running").await;
    for day in 0..3 {
        mark(store, day, None, Some("failed")).await;
        mark(store, day, Some("/do/0/preprocess"), Some("succeeded")).await;
    }
    let marked = (
        Some("failed".to_string()),
        task_marks([("/do/0/preprocess", "succeeded")]),
    );

    // Queueing the dates again without rerun changes nothing.
    assert!(
        store
            .add_runs(&runs_of(0..3, "manual"), false)
            .await
            .unwrap()
            .is_empty()
    );
    for day in 0..3 {
        assert_eq!(marks(store, day).await, marked, "day {day}");
    }

    // A rerun resets the ended run and the queued one, marks and all; the running one is
    // skipped and keeps its marks.
    let queued = store
        .add_runs(&runs_of(0..3, "manual"), true)
        .await
        .unwrap();
    assert_eq!(queued, dates([0, 2]));
    for day in [0, 2] {
        assert_eq!(
            marks(store, day).await,
            (None, BTreeMap::new()),
            "day {day}"
        );
    }
    assert_eq!(the_run(store, 0).await.previous, [id(1)]);
    assert_eq!(marks(store, 1).await, marked, "the running run");
    assert_eq!(the_run(store, 1).await.instance, Some(id(2)));
}

pub async fn run_of_finds_the_run_of_an_instance(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    assert_eq!(store.run_of(&id(1)).await.unwrap(), None, "unknown id");
    store
        .add_runs(&runs_of(0..2, "scheduled"), false)
        .await
        .unwrap();
    start(store, 0, 1).await;
    mark(store, 0, Some("/do/0/preprocess"), Some("failed")).await;
    let found = store.run_of(&id(1)).await.unwrap().expect("the run of 1");
    assert_eq!(found, the_run(store, 0).await);
    assert_eq!(found.logical_date, date(0));
    assert_eq!(
        found.task_marks,
        task_marks([("/do/0/preprocess", "failed")])
    );
    // An instance that executes no run.
    create(store, 9, "a", LONG).await;
    assert_eq!(store.run_of(&id(9)).await.unwrap(), None, "not a run's");

    // Ended, it is still the run's instance.
    end(store, 1, "faulted", T0 + 3).await;
    let ended = store
        .run_of(&id(1))
        .await
        .unwrap()
        .expect("still the run of 1");
    assert_eq!(
        (ended.status.as_str(), ended.ended_at),
        ("faulted", Some(T0 + 3))
    );

    // After a rerun, the earlier attempt's instance is no run's; the new one is.
    store.add_runs(&[run(0, "manual")], true).await.unwrap();
    assert_eq!(store.run_of(&id(1)).await.unwrap(), None, "rerun, queued");
    start(store, 0, 2).await;
    assert_eq!(
        store.run_of(&id(1)).await.unwrap(),
        None,
        "an earlier attempt"
    );
    let again = store.run_of(&id(2)).await.unwrap().expect("the run of 2");
    assert_eq!(again, the_run(store, 0).await);
    assert_eq!((again.instance, again.previous), (Some(id(2)), vec![id(1)]));
}

pub async fn settings_default_and_round_trip(f: &Fixture) {
    let store = f.open().await;
    let defaults = store.settings("default", "greet").await.unwrap();
    assert_eq!(defaults, WorkflowSettings::default());
    assert_eq!(defaults.overrides, json!({}));
    assert!(!defaults.paused);
    assert_eq!(defaults.last_scheduled, None);

    let overrides = json!({"zeta": 1, "maxActiveRuns": 16,
                           "alpha": {"y": true, "b": [{"k2": 1, "k1": "2026-01-01"}]}});
    let written = WorkflowSettings {
        overrides: overrides.clone(),
        paused: true,
        last_scheduled: Some(date(3)),
    };
    store
        .put_settings("default", "greet", &written)
        .await
        .unwrap();
    let read = store.settings("default", "greet").await.unwrap();
    assert_eq!(read, written);
    assert_eq!(
        read.overrides.to_string(),
        overrides.to_string(),
        "key order"
    );
    // Settings are per namespace/name.
    for (namespace, name) in [("default", "other"), ("ns2", "greet")] {
        assert_eq!(
            store.settings(namespace, name).await.unwrap(),
            WorkflowSettings::default(),
            "{namespace}/{name}"
        );
    }

    // An upsert replaces every field.
    let replaced = WorkflowSettings {
        overrides: json!({"catchup": false}),
        paused: false,
        last_scheduled: None,
    };
    store
        .put_settings("default", "greet", &replaced)
        .await
        .unwrap();
    assert_eq!(store.settings("default", "greet").await.unwrap(), replaced);

    // Overrides are an object; anything else is refused and nothing changes.
    let bad = WorkflowSettings {
        overrides: json!([1, 2]),
        ..WorkflowSettings::default()
    };
    let refused = store.put_settings("default", "greet", &bad).await;
    assert!(
        matches!(refused, Err(nagare::store::Error::Invalid(_))),
        "{refused:?}"
    );
    drop(store);
    let reopened = f.open().await;
    assert_eq!(
        reopened.settings("default", "greet").await.unwrap(),
        replaced
    );
}

/// `max_active`: nodes starting different runs of one workflow at once never exceed it; an
/// ended run frees its slot.
pub async fn max_active_runs_holds_across_nodes(f: &Fixture) {
    let nodes = [f.open().await, f.open().await];
    nodes[0]
        .add_runs(&runs_of(0..6, "backfill"), false)
        .await
        .unwrap();
    let tries: Vec<_> = (0..6u32)
        .map(|day| {
            let store: Arc<dyn Store> = nodes[day as usize % 2].clone();
            tokio::spawn(async move {
                let new = new_instance(day, &format!("node{}", day % 2));
                store
                    .start_run(
                        "default",
                        "greet",
                        date(i64::from(day)),
                        &new,
                        LONG,
                        Some(2),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut started = 0;
    for t in tries {
        started += usize::from(t.await.unwrap());
    }
    assert_eq!(started, 2, "two runs at most");
    // One of them ends: one more may start.
    let running: Vec<RunRow> = nodes[0]
        .runs("default", "greet", None, None, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.instance.is_some())
        .collect();
    let first = running[0].instance.clone().unwrap();
    let owner = nodes[0]
        .instance(&first)
        .await
        .unwrap()
        .unwrap()
        .owner
        .unwrap();
    let n: u32 = (0..6).find(|n| id(*n) == first).unwrap();
    set_status(&*nodes[0], &owner, n, "completed").await;
    let queued: Vec<i64> = nodes[0]
        .runs("default", "greet", None, None, 0)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.instance.is_none())
        .map(|r| r.logical_date)
        .collect();
    let new = new_instance(50, "node0");
    assert!(
        nodes[0]
            .start_run("default", "greet", queued[0], &new, LONG, Some(2))
            .await
            .unwrap()
    );
    let new = new_instance(51, "node0");
    assert!(
        !nodes[1]
            .start_run("default", "greet", queued[1], &new, LONG, Some(2))
            .await
            .unwrap()
    );
}

/// The run of `day` of `namespace/name` (version 1.0.0).
fn run_in(namespace: &str, name: &str, day: i64) -> NewRun {
    NewRun {
        namespace: namespace.into(),
        name: name.into(),
        ..run(day, "scheduled")
    }
}

/// Starts the run of `day` of `namespace/name` as instance `n`, owned by `a`; it must win.
async fn start_in(store: &dyn Store, namespace: &str, name: &str, day: i64, n: u32) {
    let mut new = new_instance(n, "a");
    new.workflow.namespace = namespace.into();
    new.workflow.name = name.into();
    let started = store
        .start_run(namespace, name, date(day), &new, LONG, None)
        .await
        .unwrap();
    assert!(
        started,
        "the run of day {day} of {namespace}/{name} was queued"
    );
}

/// The logical dates and statuses of `rows`.
fn dated(rows: &[RunRow]) -> Vec<(i64, &str)> {
    rows.iter()
        .map(|r| (r.logical_date, r.status.as_str()))
        .collect()
}

pub async fn open_runs_are_the_queued_and_unfinished_ones_in_date_order(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    assert!(
        store
            .open_runs("default", "greet")
            .await
            .unwrap()
            .is_empty()
    );

    // Named out of order; one date of another version (runs are the workflow's).
    let mut v2 = run(6, "manual");
    v2.version = "2.0.0".into();
    let mut runs = runs_of([8, 3, 0, 5, 1, 7, 2, 4], "scheduled");
    runs.push(v2);
    store.add_runs(&runs, false).await.unwrap();
    // Day 0 completed, 1 running, 2 queued, 3 faulted, 4 pending (started, not yet running),
    // 5 cancelled, 6 suspended, 7 waiting, 8 queued.
    start(store, 0, 10).await;
    end(store, 10, "completed", T0 + 1).await;
    start(store, 1, 11).await;
    set_status(store, "a", 11, "running").await;
    start(store, 3, 13).await;
    end(store, 13, "faulted", T0 + 3).await;
    start(store, 4, 14).await;
    start(store, 5, 15).await;
    end(store, 15, "cancelled", T0 + 5).await;
    start(store, 6, 16).await;
    set_status(store, "a", 16, "suspended").await;
    start(store, 7, 17).await;
    set_status(store, "a", 17, "waiting").await;

    // Other workflows' runs, queued and running, of the same dates: not these.
    store
        .add_runs(
            &[
                run_in("default", "other", 1),
                run_in("default", "other", 2),
                run_in("ns2", "greet", 2),
                run_in("ns2", "greet", 9),
            ],
            false,
        )
        .await
        .unwrap();
    start_in(store, "default", "other", 1, 21).await;
    set_status(store, "a", 21, "running").await;
    start_in(store, "ns2", "greet", 9, 29).await;

    let open = store.open_runs("default", "greet").await.unwrap();
    assert_eq!(
        dated(&open),
        [
            (date(1), "running"),
            (date(2), "queued"),
            (date(4), "pending"),
            (date(6), "suspended"),
            (date(7), "waiting"),
            (date(8), "queued"),
        ],
        "{open:#?}"
    );
    // The rows are the runs as listed (instance, version, times and all).
    let listed: Vec<RunRow> = all_runs(store)
        .await
        .into_iter()
        .filter(|r| open.iter().any(|o| o.logical_date == r.logical_date))
        .collect();
    assert_eq!(open, listed);
    assert_eq!(open[3].version, "2.0.0");
    assert_eq!(open[0].instance, Some(id(11)));
    assert_eq!(open[1].instance, None);

    // The other workflows have their own.
    let other = store.open_runs("default", "other").await.unwrap();
    assert_eq!(dated(&other), [(date(1), "running"), (date(2), "queued")]);
    let ns2 = store.open_runs("ns2", "greet").await.unwrap();
    assert_eq!(dated(&ns2), [(date(2), "queued"), (date(9), "pending")]);
    assert!(store.open_runs("ns2", "other").await.unwrap().is_empty());

    // A run that ends leaves; a rerun of an ended one is open again (queued).
    end(store, 11, "completed", T0 + 11).await;
    store.add_runs(&[run(3, "manual")], true).await.unwrap();
    let open = store.open_runs("default", "greet").await.unwrap();
    assert_eq!(
        dated(&open),
        [
            (date(2), "queued"),
            (date(3), "queued"),
            (date(4), "pending"),
            (date(6), "suspended"),
            (date(7), "waiting"),
            (date(8), "queued"),
        ]
    );
    assert_eq!(open[1].previous, [id(13)]);

    // All of them, not a page: more than a listing's 1000.
    store
        .add_runs(&runs_of(100..1200, "backfill"), false)
        .await
        .unwrap();
    let open = store.open_runs("default", "greet").await.unwrap();
    assert_eq!(open.len(), 6 + 1100);
    assert!(
        open.windows(2)
            .all(|w| w[0].logical_date < w[1].logical_date)
    );
    assert_eq!(open.last().unwrap().logical_date, date(1199));
}

pub async fn previous_run_is_the_latest_earlier_date_whatever_its_state(f: &Fixture) {
    let store = f.open().await;
    let store = &*store;
    assert_eq!(
        store
            .previous_run("default", "greet", date(5))
            .await
            .unwrap(),
        None,
        "no runs"
    );
    // Days 0 (completed), 2 (running), 5 (queued, of another version), 9 (faulted).
    let mut v2 = run(5, "manual");
    v2.version = "2.0.0".into();
    store
        .add_runs(
            &[
                run(9, "scheduled"),
                v2,
                run(2, "scheduled"),
                run(0, "scheduled"),
            ],
            false,
        )
        .await
        .unwrap();
    start(store, 0, 1).await;
    end(store, 1, "completed", T0 + 1).await;
    start(store, 2, 2).await;
    set_status(store, "a", 2, "running").await;
    start(store, 9, 9).await;
    end(store, 9, "faulted", T0 + 9).await;
    // Other workflows have runs in the gaps (and after): they are not the previous ones.
    store
        .add_runs(
            &[
                run_in("default", "other", 1),
                run_in("default", "other", 4),
                run_in("ns2", "greet", 3),
                run_in("ns2", "greet", 8),
                run_in("default", "other", 20),
            ],
            false,
        )
        .await
        .unwrap();
    start_in(store, "default", "other", 4, 40).await;

    let previous = |before: i64| async move {
        store
            .previous_run("default", "greet", before)
            .await
            .unwrap()
            .map(|r| (r.logical_date, r.status))
    };
    let is = |day: i64, status: &str| Some((date(day), status.to_string()));
    assert_eq!(previous(i64::MIN).await, None);
    assert_eq!(previous(date(0)).await, None, "nothing before the first");
    assert_eq!(previous(date(0) + 1).await, is(0, "completed"));
    assert_eq!(previous(date(1)).await, is(0, "completed"));
    assert_eq!(
        previous(date(2)).await,
        is(0, "completed"),
        "strictly before"
    );
    assert_eq!(previous(date(2) + 1).await, is(2, "running"));
    assert_eq!(previous(date(4)).await, is(2, "running"));
    assert_eq!(previous(date(5)).await, is(2, "running"));
    assert_eq!(previous(date(6)).await, is(5, "queued"));
    assert_eq!(previous(date(9)).await, is(5, "queued"));
    assert_eq!(previous(date(10)).await, is(9, "faulted"));
    assert_eq!(previous(date(1000)).await, is(9, "faulted"));
    assert_eq!(previous(i64::MAX).await, is(9, "faulted"));

    // The whole row, as listed.
    for (before, day) in [(date(1), 0), (date(3), 2), (date(6), 5), (date(10), 9)] {
        let found = store
            .previous_run("default", "greet", before)
            .await
            .unwrap()
            .expect("a previous run");
        assert_eq!(found, the_run(store, day).await, "before day {day}");
    }
    assert_eq!(
        store
            .previous_run("default", "greet", date(6))
            .await
            .unwrap()
            .unwrap()
            .version,
        "2.0.0"
    );

    // The other workflows' own previous runs.
    let other = |namespace: &'static str, name: &'static str, before: i64| async move {
        store
            .previous_run(namespace, name, before)
            .await
            .unwrap()
            .map(|r| (r.namespace, r.name, r.logical_date, r.status))
    };
    assert_eq!(
        other("default", "other", date(9)).await,
        Some(("default".into(), "other".into(), date(4), "pending".into()))
    );
    assert_eq!(
        other("default", "other", date(4)).await,
        Some(("default".into(), "other".into(), date(1), "queued".into()))
    );
    assert_eq!(other("default", "other", date(1)).await, None);
    assert_eq!(
        other("ns2", "greet", date(9)).await,
        Some(("ns2".into(), "greet".into(), date(8), "queued".into()))
    );
    assert_eq!(other("ns2", "other", date(9)).await, None);

    // A rerun (queued again, with an earlier attempt) is still the previous run.
    store.add_runs(&[run(9, "manual")], true).await.unwrap();
    let rerun = store
        .previous_run("default", "greet", date(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (rerun.logical_date, rerun.status.as_str(), rerun.previous),
        (date(9), "queued", vec![id(9)])
    );
}
