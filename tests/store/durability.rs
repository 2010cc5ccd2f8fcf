//! What was committed is there after a reopen; opening (and migrating) again is harmless.

use super::{Fixture, LONG, append, create, id, key, started, summary};
use nagare::store::{Control, Put};
use serde_json::json;

pub async fn data_survives_reopening(f: &Fixture) {
    let store = f.open().await;
    let k = key("default", "greet", "1.0.0");
    assert_eq!(
        store.put_workflow(&k, "src", "d").await.unwrap(),
        Put::Created
    );
    create(&*store, 1, "a", LONG).await;
    let batch = [append(
        1,
        vec![json!("r1")],
        Some(summary("running")),
        vec![json!("e1")],
    )];
    assert!(store.append("a", LONG, &batch).await.unwrap().is_empty());
    assert!(store.request(&id(1), Control::Suspend).await.unwrap());
    drop(store);

    let store = f.open().await;
    assert_eq!(store.workflow(&k).await.unwrap().unwrap().source, "src");
    assert_eq!(
        store.history(&id(1)).await.unwrap(),
        [started(1), json!("r1")]
    );
    let row = store.instance(&id(1)).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.owner.as_deref()),
        ("running", Some("a"))
    );
    assert_eq!(store.outbox("a", 10).await.unwrap()[0].event, json!("e1"));
    assert_eq!(
        store.take_requests("a").await.unwrap(),
        [(id(1), Control::Suspend)]
    );
    // The history continues where it was.
    let more = [append(1, vec![json!("r2")], None, vec![])];
    assert!(store.append("a", LONG, &more).await.unwrap().is_empty());
    assert_eq!(store.history(&id(1)).await.unwrap().len(), 3);
}

pub async fn opening_twice_at_once_is_harmless(f: &Fixture) {
    // Two nodes starting together both migrate the same empty database.
    let (one, two) = tokio::join!(f.open(), f.open());
    create(&*one, 1, "a", LONG).await;
    assert_eq!(two.history(&id(1)).await.unwrap(), [started(1)]);
    drop((one, two));
    let again = f.open().await;
    assert_eq!(
        again.instance(&id(1)).await.unwrap().unwrap().status,
        "pending"
    );
}
