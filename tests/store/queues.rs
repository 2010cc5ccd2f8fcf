//! Control requests, the outbox, and the counts.

use super::{Fixture, LONG, append, create, id, set_status};
use nagare::store::Control;
use serde_json::json;

pub async fn requests_reach_the_owner_oldest_first(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    create(&*store, 2, "a", LONG).await;
    create(&*store, 3, "b", LONG).await;
    assert!(!store.request(&id(9), Control::Cancel).await.unwrap());
    for (n, control) in [
        (1, Control::Cancel),
        (3, Control::Suspend),
        (2, Control::Suspend),
        (1, Control::Resume),
    ] {
        assert!(store.request(&id(n), control).await.unwrap());
    }
    assert!(store.take_requests("c").await.unwrap().is_empty());
    let taken = store.take_requests("a").await.unwrap();
    let expected = [
        (id(1), Control::Cancel),
        (id(2), Control::Suspend),
        (id(1), Control::Resume),
    ];
    assert_eq!(taken, expected);
    assert!(store.take_requests("a").await.unwrap().is_empty());
    assert_eq!(
        store.take_requests("b").await.unwrap(),
        [(id(3), Control::Suspend)]
    );
}

pub async fn the_outbox_is_sent_in_order(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    create(&*store, 2, "a", LONG).await;
    create(&*store, 3, "b", LONG).await;
    let e = |n: u32| json!({"type": "notice", "n": n});
    let first = [
        append(1, vec![], None, vec![e(1), e(2)]),
        append(2, vec![], None, vec![e(3)]),
    ];
    let second = [
        append(2, vec![], None, vec![e(4)]),
        append(1, vec![], None, vec![e(5)]),
    ];
    assert!(store.append("a", LONG, &first).await.unwrap().is_empty());
    // Each event keeps where it goes; `None` is the default sink.
    let mut theirs = [append(3, vec![], None, vec![e(99), e(100)])];
    theirs[0].outbox[1].destination = Some("kafka:orders".into());
    assert!(store.append("b", LONG, &theirs).await.unwrap().is_empty());
    assert!(store.append("a", LONG, &second).await.unwrap().is_empty());
    assert_eq!(store.outbox_depth().await.unwrap(), 7);

    let queued = store.outbox("a", 10).await.unwrap();
    let events: Vec<_> = queued.iter().map(|o| o.event.clone()).collect();
    assert_eq!(events, [e(1), e(2), e(3), e(4), e(5)]);
    let instances: Vec<_> = queued.iter().map(|o| o.instance.clone()).collect();
    assert_eq!(instances, [id(1), id(1), id(2), id(2), id(1)]);
    assert!(queued.windows(2).all(|w| w[0].seq < w[1].seq), "{queued:?}");
    assert_eq!(store.outbox("a", 2).await.unwrap(), queued[..2]);
    assert!(store.outbox("a", 0).await.unwrap().is_empty());
    let b = store.outbox("b", 10).await.unwrap();
    assert_eq!(
        (b[0].event.clone(), b[0].destination.clone()),
        (e(99), None)
    );
    assert_eq!(
        (b[1].event.clone(), b[1].destination.as_deref()),
        (e(100), Some("kafka:orders"))
    );
    assert!(store.outbox("c", 10).await.unwrap().is_empty());

    // Sending the newest first: seqs still only grow afterwards.
    let newest = queued[4].seq;
    store
        .sent(&[queued[0].seq, queued[1].seq, newest])
        .await
        .unwrap();
    store.sent(&[]).await.unwrap();
    let left: Vec<_> = store.outbox("a", 10).await.unwrap();
    assert_eq!(left, queued[2..4]);
    assert_eq!(store.outbox_depth().await.unwrap(), 4);
    let later = [append(1, vec![], None, vec![e(6)])];
    assert!(store.append("a", LONG, &later).await.unwrap().is_empty());
    let last = store.outbox("a", 10).await.unwrap().pop().unwrap();
    assert_eq!(last.event, e(6));
    assert!(last.seq > newest, "{} after {newest}", last.seq);
}

pub async fn counts_by_status(f: &Fixture) {
    let store = f.open().await;
    assert!(store.count_by_status().await.unwrap().is_empty());
    for n in 1..=4 {
        create(&*store, n, "a", LONG).await;
    }
    set_status(&*store, "a", 1, "running").await;
    set_status(&*store, "a", 2, "completed").await;
    set_status(&*store, "a", 3, "running").await;
    let counts = store.count_by_status().await.unwrap();
    let expected = [("completed", 1), ("pending", 1), ("running", 2)];
    let expected: Vec<_> = expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    assert_eq!(counts, expected);
}
