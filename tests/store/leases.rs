//! Leases: claim, renew, release; concurrent claims never share an instance.

use super::{Fixture, LONG, SHORT, append, create, eventually, id, set_status, summary};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub async fn claim_takes_expired_leases(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", SHORT).await;
    create(&*store, 2, "a", LONG).await;
    let claimed = eventually("the lease to expire", || {
        let store = store.clone();
        async move {
            let claimed = store.claim("b", LONG, 10, true).await.unwrap();
            (!claimed.is_empty()).then_some(claimed)
        }
    })
    .await;
    assert_eq!(claimed, [id(1)]);
    assert_eq!(
        store
            .instance(&id(1))
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        store
            .instance(&id(2))
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("a")
    );
}

pub async fn claim_leaves_live_leases_alone(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    assert!(store.claim("b", LONG, 10, true).await.unwrap().is_empty());
    assert_eq!(
        store
            .instance(&id(1))
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("a")
    );
}

pub async fn a_restarted_node_gets_its_instances_back_at_once(f: &Fixture) {
    let before = f.open().await;
    create(&*before, 1, "a", LONG).await;
    create(&*before, 2, "a", LONG).await;
    create(&*before, 3, "b", LONG).await;
    drop(before);
    let after = f.open().await;
    assert_eq!(
        after.claim("a", LONG, 10, true).await.unwrap(),
        [id(1), id(2)]
    );
}

pub async fn claim_takes_unowned_instances_up_to_the_limit(f: &Fixture) {
    let store = f.open().await;
    for n in 1..=5 {
        create(&*store, n, "a", LONG).await;
    }
    store.release_all("a").await.unwrap();
    assert!(store.claim("b", LONG, 0, true).await.unwrap().is_empty());
    let first = store.claim("b", LONG, 2, true).await.unwrap();
    assert_eq!(first.len(), 2);
    // The three unowned ones come before b's own.
    let second = store.claim("b", LONG, 3, true).await.unwrap();
    let expected: Vec<_> = (1..=5).map(id).filter(|i| !first.contains(i)).collect();
    assert_eq!(second, expected);
    assert!(store.claim("c", LONG, 10, true).await.unwrap().is_empty());
}

pub async fn repeated_claims_cycle_through_own_instances(f: &Fixture) {
    let store = f.open().await;
    for n in 1..=6 {
        create(&*store, n, "a", LONG).await;
    }
    let mut seen = BTreeSet::new();
    for _ in 0..3 {
        // Distinct lease times (milliseconds) between rounds.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let claimed = store.claim("a", LONG, 2, true).await.unwrap();
        assert_eq!(claimed.len(), 2);
        seen.extend(claimed);
    }
    assert_eq!(seen, (1..=6).map(id).collect());
}

/// Without `own`, a claim leaves the node's own instances out (a running node drives them
/// already) and takes only the unowned ones.
pub async fn a_claim_without_own_takes_only_others(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    create(&*store, 2, "b", LONG).await;
    store.release_all("b").await.unwrap();
    assert_eq!(store.claim("a", LONG, 10, false).await.unwrap(), [id(2)]);
    assert!(store.claim("a", LONG, 10, false).await.unwrap().is_empty());
    assert_eq!(store.claim("a", LONG, 10, true).await.unwrap().len(), 2);
}

pub async fn concurrent_claims_never_share_an_instance(f: &Fixture) {
    let store = f.open().await;
    const N: u32 = 40;
    for n in 1..=N {
        create(&*store, n, "seed", Duration::ZERO).await;
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let claimed: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    let nodes: Vec<_> = (0..6)
        .map(|i| {
            let (store, claimed) = (store.clone(), claimed.clone());
            tokio::spawn(async move {
                let node = format!("node-{i}");
                loop {
                    let ids = store.claim(&node, LONG, 3, true).await.unwrap();
                    let mut claimed = claimed.lock().unwrap();
                    for id in ids {
                        claimed.entry(id).or_default().insert(node.clone());
                    }
                    if claimed.len() == N as usize || Instant::now() > deadline {
                        return;
                    }
                }
            })
        })
        .collect();
    for node in nodes {
        node.await.unwrap();
    }
    let claimed = claimed.lock().unwrap().clone();
    assert_eq!(claimed.len(), N as usize, "every instance is claimed");
    for (id, nodes) in &claimed {
        assert_eq!(nodes.len(), 1, "{id} was claimed by {nodes:?}");
        let owner = store.instance(id).await.unwrap().unwrap().owner;
        assert_eq!(owner.as_ref(), nodes.iter().next());
    }
}

pub async fn ended_instances_are_held_while_events_wait(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    create(&*store, 2, "a", LONG).await;
    create(&*store, 3, "a", LONG).await;
    let batch = [
        append(1, vec![], Some(summary("completed")), vec![json!("done")]),
        append(2, vec![], Some(summary("faulted")), vec![]),
    ];
    assert!(store.append("a", LONG, &batch).await.unwrap().is_empty());
    store.release_ended("a").await.unwrap();
    let owner = |n| {
        let store = store.clone();
        async move { store.instance(&id(n)).await.unwrap().unwrap().owner }
    };
    assert_eq!(
        owner(1).await.as_deref(),
        Some("a"),
        "its event is not sent yet"
    );
    assert_eq!(owner(2).await, None);
    assert_eq!(owner(3).await.as_deref(), Some("a"), "still pending");

    store.release_all("a").await.unwrap();
    assert_eq!(
        store.claim("b", LONG, 10, true).await.unwrap(),
        [id(1), id(3)]
    );
    let outbox = store.outbox("b", 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    store.sent(&[outbox[0].seq]).await.unwrap();
    store.release_ended("b").await.unwrap();
    assert_eq!(owner(1).await, None);
    assert_eq!(owner(3).await.as_deref(), Some("b"));
    assert!(store.claim("c", LONG, 10, true).await.unwrap().is_empty());
}

/// Renewing keeps every instance of the node, whatever its own lease; only what a node that
/// does not renew holds moves.
pub async fn renew_extends_every_lease_of_the_node(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", SHORT).await;
    create(&*store, 2, "a", SHORT).await;
    create(&*store, 3, "b", SHORT).await;
    set_status(&*store, "a", 2, "completed").await;
    assert_eq!(
        store.renew("a", LONG).await.unwrap(),
        None,
        "a's lease still ran: nothing could move"
    );
    assert_eq!(store.renew("nobody", LONG).await.unwrap(), Some(vec![]));
    // b did not renew: its instance moves; a's stay.
    let claimed = eventually("b's lease to expire", || {
        let store = store.clone();
        async move {
            let claimed = store.claim("c", LONG, 10, true).await.unwrap();
            (!claimed.is_empty()).then_some(claimed)
        }
    })
    .await;
    assert_eq!(claimed, [id(3)]);
    tokio::time::sleep(SHORT).await;
    assert_eq!(store.claim("c", LONG, 10, true).await.unwrap(), [id(3)]);
    assert_eq!(
        store
            .instance(&id(1))
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("a")
    );
}

/// A node's lease covers every instance it holds, also those whose own lease ran out long
/// ago, and those it creates later; when the node stops renewing, all of them can move.
pub async fn a_node_lease_covers_all_its_instances(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", Duration::ZERO).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    // a's lease (from the creation) had run out: the answer says what a still holds.
    assert_eq!(
        store.renew("a", SHORT * 3).await.unwrap(),
        Some(vec![id(1)])
    );
    create(&*store, 2, "a", Duration::ZERO).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(store.claim("b", LONG, 10, true).await.unwrap().is_empty());
    let claimed = eventually("a's node lease to expire", || {
        let store = store.clone();
        async move {
            let claimed = store.claim("b", LONG, 10, true).await.unwrap();
            (!claimed.is_empty()).then_some(claimed)
        }
    })
    .await;
    assert_eq!(claimed, [id(1), id(2)]);
    assert_eq!(store.renew("a", LONG).await.unwrap(), Some(vec![]));
}

pub async fn release_all_frees_every_instance_of_the_node(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    create(&*store, 2, "a", LONG).await;
    create(&*store, 3, "b", LONG).await;
    store.release_all("a").await.unwrap();
    assert_eq!(store.instance(&id(1)).await.unwrap().unwrap().owner, None);
    assert_eq!(store.instance(&id(2)).await.unwrap().unwrap().owner, None);
    assert_eq!(
        store
            .instance(&id(3))
            .await
            .unwrap()
            .unwrap()
            .owner
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        store.claim("c", LONG, 10, true).await.unwrap(),
        [id(1), id(2)]
    );
}

pub async fn renewing_while_appending_never_deadlocks(f: &Fixture) {
    let store = f.open().await;
    const N: u32 = 30;
    const ROUNDS: u32 = 60;
    for n in 1..=N {
        create(&*store, n, "a", LONG).await;
    }
    // Two group commits at once (each naming the instances in other orders), while the
    // lease loop renews and releases.
    let writers: Vec<_> = (0..2u32)
        .map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    let mut order: Vec<u32> = (1..=N).collect();
                    order.rotate_left(((round * 7 + writer * 11) % N) as usize);
                    if (round + writer) % 2 == 1 {
                        order.reverse();
                    }
                    let batch: Vec<_> = order
                        .iter()
                        .map(|&n| append(n, vec![json!([writer, round])], None, vec![]))
                        .collect();
                    let lost = store.append("a", LONG, &batch).await.expect("append");
                    assert!(lost.is_empty());
                }
            })
        })
        .collect();
    let mut renewals = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        let held = store.renew("a", LONG).await.expect("renew");
        assert_eq!(held, None, "the lease never ran out");
        store.release_ended("a").await.expect("release_ended");
        renewals += 1;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(renewals > 0);
    let history = store.history(&id(N)).await.unwrap();
    assert_eq!(history.len(), 1 + 2 * ROUNDS as usize);
}
