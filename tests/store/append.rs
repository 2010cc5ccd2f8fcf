//! The group commit: histories continue, summaries follow, and only the lease holder writes.

use super::{
    Fixture, LONG, SHORT, append, create, eventually, id, new_instance, set_status, started,
    summary,
};
use nagare::store::Summary;
use serde_json::json;
use std::time::Instant;

pub async fn appends_continue_the_history(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    let r = |n: u32| json!({"event": n});
    assert!(store.append("a", LONG, &[]).await.unwrap().is_empty());

    let first = [append(
        1,
        vec![r(1), r(2)],
        Some(summary("running")),
        vec![],
    )];
    assert!(store.append("a", LONG, &first).await.unwrap().is_empty());
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), r(1), r(2)]
    );
    assert_eq!(
        store.instance(&id(1)).await.unwrap().unwrap().status,
        "running"
    );

    // One instance twice in a batch: records in order, the last summary wins.
    let done = Summary {
        status: "completed".into(),
        output: Some(json!({"greeting": "hello"})),
        error: None,
        tasks: json!([{"name": "greet", "status": "completed"}]),
        ended_at: Some(1_700_000_000_123),
    };
    let second = [
        append(1, vec![r(3)], None, vec![]),
        append(
            1,
            vec![r(4)],
            Some(done.clone()),
            vec![json!({"type": "completed"})],
        ),
    ];
    assert!(store.append("a", LONG, &second).await.unwrap().is_empty());
    let history = store.history(&id(1)).await.unwrap();
    assert_eq!(history, [started(1), r(1), r(2), r(3), r(4)]);
    let row = store.instance(&id(1)).await.unwrap().unwrap();
    assert_eq!(row.status, done.status);
    assert_eq!(row.output, done.output);
    assert_eq!(row.error, None);
    assert_eq!(row.tasks, done.tasks);
    assert_eq!(row.ended_at, done.ended_at);
    assert_eq!(store.outbox_depth().await.unwrap(), 1);

    // Without a summary the read model stays as it was.
    let third = [append(1, vec![r(5)], None, vec![])];
    assert!(store.append("a", LONG, &third).await.unwrap().is_empty());
    assert_eq!(store.history(&id(1)).await.unwrap().len(), 6);
    let unchanged = store.instance(&id(1)).await.unwrap().unwrap();
    assert_eq!(
        (unchanged.status, unchanged.output),
        (done.status, done.output)
    );
}

pub async fn appends_write_only_what_the_node_holds(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    create(&*store, 2, "b", LONG).await;
    let batch = [
        append(
            1,
            vec![json!("r1")],
            Some(summary("running")),
            vec![json!("e1")],
        ),
        append(
            2,
            vec![json!("r2")],
            Some(summary("faulted")),
            vec![json!("e2")],
        ),
        append(9, vec![json!("r9")], None, vec![]),
    ];
    let lost = store.append("a", LONG, &batch).await.unwrap();
    assert_eq!(lost, [id(2), id(9)]);
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), json!("r1")]
    );
    assert_eq!(store.history(&id(2)).await.unwrap(), [started(2)]);
    assert!(store.history(&id(9)).await.unwrap().is_empty());
    assert_eq!(
        store.instance(&id(2)).await.unwrap().unwrap().status,
        "pending"
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 1);
    assert_eq!(
        store
            .instance(&id(2))
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("b")
    );

    let intruder = [append(
        1,
        vec![json!("x")],
        Some(summary("faulted")),
        vec![],
    )];
    assert_eq!(store.append("b", LONG, &intruder).await.unwrap(), [id(1)]);
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), json!("r1")]
    );
    assert_eq!(
        store.instance(&id(1)).await.unwrap().unwrap().status,
        "running"
    );
}

pub async fn a_node_that_lost_its_lease_cannot_append(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", SHORT).await;
    eventually("b to claim the expired lease", || {
        let store = store.clone();
        async move {
            let claimed = store.claim("b", LONG, 10, true).await.unwrap();
            claimed.contains(&id(1)).then_some(())
        }
    })
    .await;
    let stale = [append(
        1,
        vec![json!("late")],
        Some(summary("completed")),
        vec![json!("e")],
    )];
    assert_eq!(store.append("a", LONG, &stale).await.unwrap(), [id(1)]);
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);
    let row = store.instance(&id(1)).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.owner.as_deref()),
        ("pending", Some("b"))
    );
    assert_eq!(store.outbox_depth().await.unwrap(), 0);

    let fresh = [append(1, vec![json!("new")], None, vec![])];
    assert!(store.append("b", LONG, &fresh).await.unwrap().is_empty());
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), json!("new")]
    );
}

pub async fn a_big_batch_is_one_commit(f: &Fixture) {
    let store = f.open().await;
    const N: u32 = 300;
    for n in 1..=N {
        create(&*store, n, "a", LONG).await;
    }
    let batch: Vec<_> = (1..=N)
        .map(|n| {
            let records = (0..3).map(|i| json!({"n": n, "i": i})).collect();
            append(n, records, Some(summary("running")), vec![json!({"n": n})])
        })
        .collect();
    let began = Instant::now();
    assert!(store.append("a", LONG, &batch).await.unwrap().is_empty());
    eprintln!(
        "{}: one append of {N} instances x 3 records: {:?}",
        f.name(),
        began.elapsed()
    );
    for n in [1, N / 2, N] {
        let history = store.history(&id(n)).await.unwrap();
        assert_eq!(history.len(), 4);
        assert_eq!(history[3], json!({"n": n, "i": 2}));
    }
    assert_eq!(store.outbox_depth().await.unwrap(), i64::from(N));
    let counts = store.count_by_status().await.unwrap();
    assert_eq!(counts, [("running".to_string(), i64::from(N))]);
}

/// A start rides the group commit: the row, record 0, the following records and the summary
/// in one transaction, next to appends of instances that already existed.
pub async fn instances_are_created_in_the_group_commit(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    let r = |n: u32| json!({"event": n});
    let mut fresh = append(2, vec![r(1)], Some(summary("completed")), vec![]);
    fresh.created = Some(new_instance(2, "a"));
    let batch = [append(1, vec![r(9)], None, vec![]), fresh];
    assert!(store.append("a", LONG, &batch).await.unwrap().is_empty());
    assert_eq!(store.history(&id(2)).await.unwrap(), [started(2), r(1)]);
    let row = store.instance(&id(2)).await.unwrap().unwrap();
    assert_eq!(row.status, "completed");
    assert_eq!(row.input, json!({"n": 2}));
    assert_eq!(row.owner.as_deref(), Some("a"));
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1), r(9)]);
    // A creation that fails (the id exists) fails the whole commit: nothing of it is written.
    let mut again = append(2, vec![r(2)], None, vec![]);
    again.created = Some(new_instance(2, "a"));
    let clash = store.append("a", LONG, &[again]).await;
    assert!(
        matches!(clash, Err(nagare::store::Error::Conflict(_))),
        "{clash:?}"
    );
    assert_eq!(store.history(&id(2)).await.unwrap(), [started(2), r(1)]);
}

/// Retry: an ended instance's history is cut to a prefix and the instance taken again; a
/// running one, or one held by another node, is left alone.
pub async fn rewind_keeps_a_prefix_of_an_ended_instance(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    let r = |n: u32| json!({"event": n});
    let mut failed = summary("faulted");
    failed.error = Some(json!({"status": 500}));
    failed.ended_at = Some(1);
    let batch = [append(1, vec![r(1), r(2), r(3)], Some(failed), vec![])];
    assert!(store.append("a", LONG, &batch).await.unwrap().is_empty());
    // Held by `a` (lease live): `b` cannot take it.
    assert!(!store.rewind(&id(1), 2, "b", LONG).await.unwrap());
    store.release_ended("a").await.unwrap();
    assert!(store.rewind(&id(1), 2, "b", LONG).await.unwrap());
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1), r(1)]);
    let row = store.instance(&id(1)).await.unwrap().unwrap();
    assert_eq!(row.status, "running");
    assert_eq!(row.error, None);
    assert_eq!(row.ended_at, None);
    assert_eq!(row.owner.as_deref(), Some("b"));
    // The history goes on from the cut.
    let more = [append(1, vec![r(7)], None, vec![])];
    assert!(store.append("b", LONG, &more).await.unwrap().is_empty());
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), r(1), r(7)]
    );
    // Running now: no second rewind.
    assert!(!store.rewind(&id(1), 1, "b", LONG).await.unwrap());
    set_status(&*store, "b", 1, "completed").await;
    // Never below the start, and an unknown id is no instance.
    assert!(store.rewind(&id(1), 0, "b", LONG).await.unwrap());
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);
    assert!(!store.rewind("nope", 1, "b", LONG).await.unwrap());
}
