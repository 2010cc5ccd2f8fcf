//! Workflow versions: immutable, idempotent, conflicting content refused atomically.

use super::{Fixture, key};
use nagare::store::Put;
use std::time::Duration;

pub async fn workflow_versions_are_immutable(f: &Fixture) {
    let store = f.open().await;
    let k = key("default", "greet", "1.0.0");
    assert_eq!(store.workflow(&k).await.unwrap(), None);
    assert_eq!(store.workflow_count().await.unwrap(), 0);
    assert_eq!(
        store.put_workflow(&k, "a", "da").await.unwrap(),
        Put::Created
    );
    assert_eq!(store.workflow_count().await.unwrap(), 1);
    assert_eq!(
        store.put_workflow(&k, "a", "da").await.unwrap(),
        Put::Unchanged
    );
    assert_eq!(
        store.put_workflow(&k, "b", "db").await.unwrap(),
        Put::Conflict
    );
    // Neither an unchanged put nor a refused one counts: the count marks new versions only.
    assert_eq!(store.workflow_count().await.unwrap(), 1);
    let stored = store.workflow(&k).await.unwrap().expect("stored");
    assert_eq!(stored.key, k);
    assert_eq!(
        (stored.source.as_str(), stored.digest.as_str()),
        ("a", "da")
    );
    assert!(
        stored.created_at > 1_600_000_000_000,
        "{}",
        stored.created_at
    );
    let other = key("default", "greet", "2.0.0");
    assert_eq!(store.workflow(&other).await.unwrap(), None);
}

pub async fn workflows_are_listed_by_namespace_name_then_creation(f: &Fixture) {
    let store = f.open().await;
    // Created in this order; "2" before "1" shows creation (not version) orders a name.
    for (ns, name, version) in [
        ("b", "x", "1"),
        ("a", "y", "2"),
        ("a", "y", "1"),
        ("a", "x", "1"),
    ] {
        let put = store
            .put_workflow(&key(ns, name, version), "src", version)
            .await;
        assert_eq!(put.unwrap(), Put::Created);
        // Distinct creation times (milliseconds).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let listed: Vec<_> = store
        .workflows()
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.key.namespace, w.key.name, w.key.version))
        .collect();
    let expected = [
        ("a", "x", "1"),
        ("a", "y", "2"),
        ("a", "y", "1"),
        ("b", "x", "1"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(listed, expected);
}

pub async fn concurrent_puts_create_a_version_once(f: &Fixture) {
    let store = f.open().await;
    for same_content in [false, true] {
        let k = key("default", "race", if same_content { "2" } else { "1" });
        let puts: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let k = k.clone();
                let content = if same_content { 0 } else { i };
                tokio::spawn(async move {
                    let put = store
                        .put_workflow(&k, &format!("source {content}"), &format!("d{content}"))
                        .await
                        .unwrap();
                    (put, content)
                })
            })
            .collect();
        let mut results = Vec::new();
        for put in puts {
            results.push(put.await.unwrap());
        }
        let created: Vec<_> = results.iter().filter(|(p, _)| *p == Put::Created).collect();
        assert_eq!(created.len(), 1, "{results:?}");
        let loser = if same_content {
            Put::Unchanged
        } else {
            Put::Conflict
        };
        assert_eq!(
            results.iter().filter(|(p, _)| *p == loser).count(),
            7,
            "{results:?}"
        );
        let stored = store.workflow(&k).await.unwrap().unwrap();
        assert_eq!(stored.digest, format!("d{}", created[0].1));
    }
}
