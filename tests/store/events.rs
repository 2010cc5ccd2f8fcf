//! Incoming CloudEvents (issue 5): stored once per (source, id) in one delivery order, read by
//! seq or by type and time, pruned by age; and `schedule.on` starts, one instance per event.

use super::{Fixture, LONG, id, key, new_instance, started};
use nagare::store::{Append, NewInstance, Result, Store, StoredEvent};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

const T0: i64 = 1_700_000_000_000;

/// A CloudEvent from `source` with `id`, of `type`; its keys deliberately not sorted.
fn event(source: &str, id: &str, r#type: &str) -> Value {
    json!({
        "specversion": "1.0",
        "type": r#type,
        "source": source,
        "id": id,
        "time": "2024-05-01T12:00:00Z",
        "datacontenttype": "application/json",
        "data": {"zebra": 1, "apple": [1.5, "x", null], "id": id},
    })
}

fn seqs(events: &[StoredEvent]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

fn ids(events: &[StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.id.as_str()).collect()
}

async fn all(store: &dyn Store) -> Vec<StoredEvent> {
    store.events_after(0, 10_000).await.unwrap()
}

/// Stores `events` received at `at`, each expected to be new; returns their seqs.
/// Creates `new` alone, as the engine's group commit does: true when it was created, false
/// when its events had already started an instance of its workflow.
async fn start_for_events(store: &dyn Store, new: &NewInstance) -> Result<bool> {
    let alone = Append {
        instance: new.id.clone(),
        created: Some(new.clone()),
        records: Vec::new(),
        summary: None,
        outbox: Vec::new(),
    };
    Ok(store.append(&new.owner, LONG, &[alone]).await?.is_empty())
}

/// Three new events, of types a, b and c; their seqs.
async fn three_events(store: &dyn Store) -> Vec<i64> {
    let events = [
        event("/s", "1", "a"),
        event("/s", "2", "b"),
        event("/s", "3", "c"),
    ];
    put_new(store, &events, T0).await
}

async fn put_new(store: &dyn Store, events: &[Value], at: i64) -> Vec<i64> {
    let put = store.put_events(events, at).await.unwrap();
    put.into_iter()
        .map(|s| s.expect("a new event"))
        .collect::<Vec<_>>()
}

pub async fn events_are_stored_in_order_with_growing_seqs(f: &Fixture) {
    let store = f.open().await;
    assert!(all(&*store).await.is_empty());
    assert!(store.put_events(&[], T0).await.unwrap().is_empty());
    let batch = [
        event("/orders", "3", "order.created"),
        event("/orders", "1", "order.created"),
        event("/billing", "1", "invoice.paid"),
    ];
    let first = put_new(&*store, &batch, T0).await;
    let second = put_new(&*store, &[event("/orders", "2", "order.shipped")], T0 + 5).await;
    let seqs_put: Vec<i64> = first.iter().chain(&second).copied().collect();
    assert!(seqs_put.windows(2).all(|w| w[0] < w[1]), "{seqs_put:?}");

    let stored = all(&*store).await;
    assert_eq!(seqs(&stored), seqs_put);
    assert_eq!(ids(&stored), ["3", "1", "1", "2"]);
    let one = &stored[2];
    assert_eq!(
        (one.source.as_str(), one.id.as_str(), one.r#type.as_str()),
        ("/billing", "1", "invoice.paid")
    );
    assert_eq!(one.received_at, T0);
    assert_eq!(stored[3].received_at, T0 + 5);
    for (stored, given) in stored.iter().zip(batch.iter().chain([&event(
        "/orders",
        "2",
        "order.shipped",
    )])) {
        assert_eq!(&stored.event, given);
        // The text as well: key order and numbers survive.
        assert_eq!(stored.event.to_string(), given.to_string());
    }
}

pub async fn duplicates_are_stored_once(f: &Fixture) {
    let store = f.open().await;
    let a = event("/s", "a", "t");
    let b = event("/s", "b", "t");
    // Same id, other source: another event.
    let a_elsewhere = event("/other", "a", "t");
    let mut retried_a = event("/s", "a", "t2");
    retried_a["data"] = json!("a retry may differ; the first one stored is kept");

    let put = store
        .put_events(&[a.clone(), b.clone(), a.clone(), a_elsewhere.clone()], T0)
        .await
        .unwrap();
    assert!(
        put[0].is_some() && put[1].is_some() && put[3].is_some(),
        "{put:?}"
    );
    assert_eq!(put[2], None, "{put:?}");
    assert!(put[0] < put[1] && put[1] < put[3], "{put:?}");

    let again = store
        .put_events(
            &[
                retried_a,
                event("/s", "c", "t"),
                b.clone(),
                event("/s", "c", "t"),
            ],
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(again[0], None);
    assert!(again[1].unwrap() > put[3].unwrap(), "{again:?}");
    assert_eq!(&again[2..], [None, None]);

    let stored = all(&*store).await;
    let keys: Vec<_> = stored
        .iter()
        .map(|e| (e.source.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        keys,
        [("/s", "a"), ("/s", "b"), ("/other", "a"), ("/s", "c")]
    );
    assert_eq!(stored[0].event, a);
    assert_eq!(stored[0].received_at, T0);
    assert_eq!(
        seqs(&stored),
        [put[0], put[1], put[3], again[1]].map(Option::unwrap)
    );
    assert_eq!(store.last_event_seq().await.unwrap(), again[1].unwrap());
}

pub async fn an_event_without_its_attributes_fails_the_whole_batch(f: &Fixture) {
    let store = f.open().await;
    let good = event("/s", "kept-out", "t");
    let without = |attribute: &str| {
        let mut e = event("/s", "bad", "t");
        e.as_object_mut().unwrap().remove(attribute);
        e
    };
    let with = |attribute: &str, value: Value| {
        let mut e = event("/s", "bad", "t");
        e[attribute] = value;
        e
    };
    let bad = [
        ("source", without("source")),
        ("id", without("id")),
        ("type", without("type")),
        ("id", with("id", json!(7))),
        ("source", with("source", json!(null))),
        ("type", with("type", json!({"not": "a string"}))),
        ("id", with("id", json!(""))),
        ("JSON object", json!(["not", "an", "event"])),
        ("JSON object", json!("text")),
    ];
    for (what, bad) in bad {
        let error = store
            .put_events(&[good.clone(), bad.clone()], T0)
            .await
            .expect_err("a batch with an invalid event");
        assert!(
            matches!(error, nagare::store::Error::Invalid(_)),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(what), "{what}: {error}");
        assert!(message.contains("event 1"), "{error}");
        assert!(all(&*store).await.is_empty(), "{bad} wrote something");
    }
    assert_eq!(store.last_event_seq().await.unwrap(), 0);
    // The store is unharmed, and the good event can still be stored.
    assert!(store.put_events(&[good], T0).await.unwrap()[0].is_some());
}

pub async fn events_after_pages_by_seq(f: &Fixture) {
    let store = f.open().await;
    let batch: Vec<_> = (0..7).map(|n| event("/s", &n.to_string(), "t")).collect();
    let put = put_new(&*store, &batch, T0).await;
    assert!(store.events_after(0, 0).await.unwrap().is_empty());
    assert!(store.events_after(put[6], 10).await.unwrap().is_empty());

    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events_after(after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = page.last().unwrap().seq;
        seen.extend(page);
    }
    assert_eq!(seqs(&seen), put);
    assert_eq!(ids(&seen), ["0", "1", "2", "3", "4", "5", "6"]);
    let from_middle = store.events_after(put[3], 2).await.unwrap();
    assert_eq!(ids(&from_middle), ["4", "5"]);
    // A cursor between seqs (there are gaps after pruning or rollbacks) works too.
    assert_eq!(
        seqs(&store.events_after(put[0] - 1, 1).await.unwrap()),
        [put[0]]
    );
}

pub async fn events_since_filters_by_type_and_time(f: &Fixture) {
    let store = f.open().await;
    put_new(
        &*store,
        &[event("/s", "1", "a"), event("/s", "2", "b")],
        T0 + 10,
    )
    .await;
    put_new(
        &*store,
        &[event("/s", "3", "c"), event("/s", "4", "a")],
        T0 + 20,
    )
    .await;
    // Received earlier than the ones before it, stored later: the order is still by seq.
    put_new(&*store, &[event("/s", "5", "b")], T0 + 15).await;
    let types = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let since = |names: &'static [&'static str], at: i64, limit: u32| {
        let store = store.clone();
        async move {
            let found = store.events_since(&types(names), at, limit).await.unwrap();
            ids(&found)
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(since(&[], T0, 100).await, ["1", "2", "3", "4", "5"]);
    assert_eq!(since(&[], T0 + 10, 100).await, ["1", "2", "3", "4", "5"]);
    assert_eq!(since(&[], T0 + 11, 100).await, ["3", "4", "5"]);
    assert_eq!(since(&[], T0 + 16, 100).await, ["3", "4"]);
    assert_eq!(since(&[], T0 + 21, 100).await, Vec::<String>::new());
    assert_eq!(since(&["a"], T0, 100).await, ["1", "4"]);
    assert_eq!(since(&["a"], T0 + 11, 100).await, ["4"]);
    assert_eq!(since(&["b", "c"], T0, 100).await, ["2", "3", "5"]);
    assert_eq!(since(&["b", "c"], T0 + 15, 100).await, ["3", "5"]);
    assert_eq!(since(&["nope"], T0, 100).await, Vec::<String>::new());
    assert_eq!(since(&["a", "b", "c"], T0, 2).await, ["1", "2"]);
    assert_eq!(since(&[], T0, 0).await, Vec::<String>::new());
    let found = store.events_since(&types(&["c"]), T0, 10).await.unwrap();
    assert_eq!(found[0].event, event("/s", "3", "c"));
    assert_eq!(found[0].received_at, T0 + 20);
}

pub async fn last_event_seq_is_the_greatest_stored(f: &Fixture) {
    let store = f.open().await;
    assert_eq!(store.last_event_seq().await.unwrap(), 0);
    let put = put_new(&*store, &[event("/s", "1", "t"), event("/s", "2", "t")], T0).await;
    assert_eq!(store.last_event_seq().await.unwrap(), put[1]);
    // Only duplicates: nothing new.
    store
        .put_events(&[event("/s", "2", "t")], T0 + 1)
        .await
        .unwrap();
    assert_eq!(store.last_event_seq().await.unwrap(), put[1]);
    let more = put_new(&*store, &[event("/s", "3", "t")], T0 + 2).await;
    assert_eq!(store.last_event_seq().await.unwrap(), more[0]);
    assert_eq!(store.prune_events(T0 + 100).await.unwrap(), 3);
    assert_eq!(store.last_event_seq().await.unwrap(), 0);
    // Seqs are never reused, also after everything was pruned.
    let after = put_new(&*store, &[event("/s", "4", "t")], T0 + 3).await;
    assert!(after[0] > more[0], "{after:?} after {more:?}");
}

pub async fn prune_removes_only_older_events_and_their_starts(f: &Fixture) {
    let store = f.open().await;
    let old = put_new(
        &*store,
        &[event("/s", "1", "t"), event("/s", "2", "t")],
        T0 + 10,
    )
    .await;
    let new = put_new(&*store, &[event("/s", "3", "t")], T0 + 20).await;
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[old[0]], &new_instance(1, "a"))
        )
        .await
        .unwrap()
    );
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[new[0]], &new_instance(2, "a"))
        )
        .await
        .unwrap()
    );
    assert_eq!(store.prune_events(T0).await.unwrap(), 0);
    assert_eq!(store.prune_events(T0 + 10).await.unwrap(), 0);
    assert_eq!(all(&*store).await.len(), 3);
    assert_eq!(store.prune_events(T0 + 11).await.unwrap(), 2);
    assert_eq!(seqs(&all(&*store).await), new);
    assert_eq!(store.prune_events(T0 + 11).await.unwrap(), 0);
    // The pruned event's start went with it (its instance stays); the kept one's did not.
    assert!(store.instance(&id(1)).await.unwrap().is_some());
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[old[0]], &new_instance(3, "a"))
        )
        .await
        .unwrap()
    );
    assert!(
        !start_for_events(
            &*store,
            &starting("default", "greet", &[new[0]], &new_instance(4, "a"))
        )
        .await
        .unwrap()
    );
    // A pruned event is a new one when it comes again.
    let back = store
        .put_events(&[event("/s", "1", "t"), event("/s", "3", "t")], T0 + 30)
        .await
        .unwrap();
    assert!(back[0].unwrap() > new[0], "{back:?}");
    assert_eq!(back[1], None);
}

pub async fn an_event_starts_one_instance_per_workflow(f: &Fixture) {
    let store = f.open().await;
    let seq = put_new(&*store, &[event("/s", "1", "t")], T0).await[0];
    let first = new_instance(1, "a");
    assert!(
        start_for_events(&*store, &starting("default", "greet", &[seq], &first))
            .await
            .unwrap()
    );
    // Created exactly as create_instance does.
    let row = store.instance(&id(1)).await.unwrap().expect("the instance");
    assert_eq!(row.status, "pending");
    assert_eq!(row.owner.as_deref(), Some("a"));
    assert_eq!(row.input, first.input);
    assert_eq!(row.created_at, first.created_at);
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);
    assert_eq!(
        store.claim("b", LONG, 10, true).await.unwrap(),
        Vec::<String>::new()
    );

    // The same event again, from another node: nothing is written.
    assert!(
        !start_for_events(
            &*store,
            &starting("default", "greet", &[seq], &new_instance(2, "b"))
        )
        .await
        .unwrap()
    );
    assert_eq!(store.instance(&id(2)).await.unwrap(), None);
    // Even when the same instance id is offered again.
    assert!(
        !start_for_events(&*store, &starting("default", "greet", &[seq], &first))
            .await
            .unwrap()
    );
    let count: i64 = store
        .count_by_status()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(count, 1);

    // Another workflow (or namespace) started by the same event, and another event.
    for (n, namespace, name, seq) in [
        (3, "default", "other", seq),
        (4, "team", "greet", seq),
        (5, "default", "greet", seq + 1),
    ] {
        assert!(
            start_for_events(
                &*store,
                &starting(namespace, name, &[seq], &new_instance(n, "a"))
            )
            .await
            .unwrap(),
            "{namespace}/{name} for {seq}"
        );
        assert!(store.instance(&id(n)).await.unwrap().is_some());
    }
    // An instance id already taken is an error, and records no start.
    let taken = start_for_events(
        &*store,
        &starting("default", "greet", &[seq + 2], &new_instance(1, "a")),
    )
    .await;
    assert!(taken.is_err(), "{taken:?}");
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[seq + 2], &new_instance(6, "a"))
        )
        .await
        .unwrap()
    );
}

pub async fn concurrent_starts_for_an_event_have_one_winner(f: &Fixture) {
    // Two handles: two nodes on one database (on SQLite, two pools on one file).
    let nodes = [f.open().await, f.open().await];
    let seqs = put_new(
        &*nodes[0],
        &(0..5)
            .map(|n| event("/s", &n.to_string(), "t"))
            .collect::<Vec<_>>(),
        T0,
    )
    .await;
    for (round, &seq) in seqs.iter().enumerate() {
        let tries: Vec<_> = (0..8u32)
            .map(|i| {
                let store: Arc<dyn Store> = nodes[i as usize % 2].clone();
                let n = round as u32 * 100 + i;
                tokio::spawn(async move {
                    let new = new_instance(n, &format!("node{i}"));
                    let won =
                        start_for_events(&*store, &starting("default", "greet", &[seq], &new))
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
            if won {
                winners.push(n);
            } else {
                losers.push(n);
            }
        }
        assert_eq!(winners.len(), 1, "event {seq}: {winners:?}");
        assert!(nodes[1].instance(&id(winners[0])).await.unwrap().is_some());
        for n in losers {
            assert_eq!(nodes[0].instance(&id(n)).await.unwrap(), None, "loser {n}");
        }
    }
}

pub async fn concurrent_batches_store_each_event_once(f: &Fixture) {
    // Overlapping batches from two nodes, in opposite orders: each event is stored once,
    // exactly one call gets its seq, and nothing deadlocks.
    let nodes = [f.open().await, f.open().await];
    let calls: Vec<_> = (0..6usize)
        .map(|i| {
            let store: Arc<dyn Store> = nodes[i % 2].clone();
            let mut batch: Vec<_> = (0..200)
                .map(|n| event("/s", &(n + i * 50).to_string(), "t"))
                .collect();
            if i % 2 == 1 {
                batch.reverse();
            }
            tokio::spawn(async move {
                let put = store.put_events(&batch, T0).await.unwrap();
                (batch, put)
            })
        })
        .collect();
    let mut got = Vec::new();
    let mut keys = HashSet::new();
    for call in calls {
        let (batch, put) = call.await.unwrap();
        for (e, seq) in batch.iter().zip(&put) {
            if let Some(seq) = seq {
                got.push(*seq);
                assert!(keys.insert(e["id"].as_str().unwrap().to_string()), "{e}");
            }
        }
        // Within a call, new seqs follow the batch's order.
        let mine: Vec<i64> = put.iter().flatten().copied().collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
    }
    // Ids 0..450.
    assert_eq!(keys.len(), 450);
    got.sort_unstable();
    let stored = all(&*nodes[0]).await;
    assert_eq!(seqs(&stored), got);
}

pub async fn a_batch_of_a_thousand_events_round_trips(f: &Fixture) {
    let store = f.open().await;
    let batch: Vec<_> = (0..1000)
        .map(|n| {
            let mut e = event("/bulk", &format!("e{n:04}"), ["x", "y"][n % 2]);
            e["data"]["payload"] = json!("p".repeat(n % 300));
            e
        })
        .collect();
    let put = put_new(&*store, &batch, T0).await;
    assert_eq!(put.len(), 1000);
    assert!(put.windows(2).all(|w| w[0] < w[1]));
    let stored = all(&*store).await;
    assert_eq!(seqs(&stored), put);
    let events: Vec<_> = stored.iter().map(|e| e.event.clone()).collect();
    assert_eq!(events, batch);
    assert_eq!(
        store
            .events_since(&["y".to_string()], T0, 10_000)
            .await
            .unwrap()
            .len(),
        500
    );
    // All of it again: every one a duplicate.
    let again = store.put_events(&batch, T0 + 1).await.unwrap();
    assert!(again.iter().all(Option::is_none));
    assert_eq!(store.last_event_seq().await.unwrap(), put[999]);
}

pub async fn events_survive_reopening(f: &Fixture) {
    let store = f.open().await;
    let put = put_new(&*store, &[event("/s", "1", "t"), event("/s", "2", "t")], T0).await;
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[put[0]], &new_instance(1, "a"))
        )
        .await
        .unwrap()
    );
    drop(store);
    let store = f.open().await;
    assert_eq!(seqs(&all(&*store).await), put);
    assert_eq!(
        store
            .put_events(&[event("/s", "2", "t")], T0)
            .await
            .unwrap(),
        [None]
    );
    assert!(
        !start_for_events(
            &*store,
            &starting("default", "greet", &[put[0]], &new_instance(2, "a"))
        )
        .await
        .unwrap()
    );
    let next = put_new(&*store, &[event("/s", "3", "t")], T0).await;
    assert!(next[0] > put[1]);
}

/// `schedule.on` with `all` or `until` starts for a set of events: all recorded, or none.
pub async fn an_event_set_starts_once_or_not_at_all(f: &Fixture) {
    let store = f.open().await;
    let s = three_events(&*store).await;
    let start = |seqs: Vec<i64>, n: u32| {
        let store = store.clone();
        async move {
            start_for_events(
                &*store,
                &starting("default", "greet", &seqs, &new_instance(n, "a")),
            )
            .await
            .unwrap()
        }
    };
    assert!(start(vec![s[0], s[1]], 1).await);
    // Overlaps the first set: nothing of it is written, not even the new event's start.
    assert!(!start(vec![s[1], s[2]], 2).await);
    assert!(store.instance(&id(2)).await.unwrap().is_none());
    let others = store.started_events("default", "greet", &s).await.unwrap();
    assert_eq!(others, [s[0], s[1]]);
    assert!(
        start(vec![s[2]], 3).await,
        "the freed event starts on its own"
    );
    assert_eq!(
        store.started_events("default", "greet", &s).await.unwrap(),
        s
    );
    // Per workflow: another workflow may use the same events.
    assert!(
        store
            .started_events("default", "other", &s)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Starts ride the group commit: in one batch, a creation whose events already started an
/// instance is reported lost with nothing of it written (not even its free events' starts),
/// and the rest of the batch is written (another creation, an existing instance's records).
pub async fn a_refused_start_leaves_the_rest_of_its_group_commit(f: &Fixture) {
    let store = f.open().await;
    let s = three_events(&*store).await;
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[s[0]], &new_instance(1, "a"))
        )
        .await
        .unwrap()
    );
    let created = |n: u32, seqs: &[i64]| Append {
        created: Some(starting("default", "greet", seqs, &new_instance(n, "a"))),
        ..super::append(n, vec![json!({"step": n})], None, vec![json!({"id": n})])
    };
    let batch = [
        created(2, &[s[1]]),
        // Its first event started instance 1; its second is free, and stays so.
        created(3, &[s[0], s[2]]),
        super::append(1, vec![json!({"step": 1})], None, vec![]),
    ];
    let lost = store.append("a", LONG, &batch).await.unwrap();
    assert_eq!(lost, [id(3)]);
    assert!(store.instance(&id(3)).await.unwrap().is_none());
    assert!(store.history(&id(3)).await.unwrap().is_empty());
    assert_eq!(
        store.history(&id(2)).await.unwrap(),
        [started(2), json!({"step": 2})]
    );
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), json!({"step": 1})]
    );
    // Only the winners' events are recorded: nothing of the refused set is left.
    assert_eq!(
        store.started_events("default", "greet", &s).await.unwrap(),
        [s[0], s[1]]
    );
    let outgoing = store.outbox("a", 10).await.unwrap();
    let ids: Vec<&Value> = outgoing.iter().map(|o| &o.event["id"]).collect();
    assert_eq!(ids, [&json!(2)]);
    assert!(
        start_for_events(
            &*store,
            &starting("default", "greet", &[s[2]], &new_instance(4, "a"))
        )
        .await
        .unwrap(),
        "the refused set's free event starts on its own"
    );
    // Created on its own, a refused start is an error and writes nothing.
    let again = store
        .create_instance(
            &starting("default", "greet", &[s[1]], &new_instance(5, "a")),
            LONG,
        )
        .await;
    assert!(again.is_err(), "{again:?}");
    assert!(store.instance(&id(5)).await.unwrap().is_none());
}

/// `new` as a start of namespace/name by the events `seqs` (`schedule.on`).
fn starting(namespace: &str, name: &str, seqs: &[i64], new: &NewInstance) -> NewInstance {
    NewInstance {
        workflow: key(namespace, name, &new.workflow.version),
        starts: seqs.to_vec(),
        ..new.clone()
    }
}
