//! Creating, reading and listing instances; JSON round trips.

use super::{Fixture, LONG, append, create, id, key, new_instance, set_status, started};
use nagare::store::{Filter, NewInstance, Summary};
use serde_json::json;

pub async fn a_new_instance_is_pending_and_owned(f: &Fixture) {
    let store = f.open().await;
    create(&*store, 1, "a", LONG).await;
    let row = store.instance(&id(1)).await.unwrap().expect("created");
    assert_eq!(row.id, id(1));
    assert_eq!(row.workflow, key("default", "greet", "1.0.0"));
    assert_eq!(row.status, "pending");
    assert_eq!(row.input, json!({"n": 1}));
    assert_eq!((row.output, row.error), (None, None));
    assert_eq!(row.tasks, json!([]));
    assert_eq!(row.created_at, new_instance(1, "a").created_at);
    assert_eq!(row.ended_at, None);
    assert_eq!(row.owner.as_deref(), Some("a"));
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);

    assert_eq!(store.instance(&id(2)).await.unwrap(), None);
    assert!(store.history(&id(2)).await.unwrap().is_empty());
    let again = store.create_instance(&new_instance(1, "b"), LONG).await;
    assert!(
        matches!(again, Err(nagare::store::Error::Conflict(_))),
        "an id is created once: {again:?}"
    );
    assert_eq!(store.history(&id(1)).await.unwrap(), [started(1)]);
}

fn ids(rows: &[nagare::store::InstanceRow]) -> Vec<String> {
    rows.iter().map(|r| r.id.clone()).collect()
}

fn these(ns: &[u32]) -> Vec<String> {
    ns.iter().map(|&n| id(n)).collect()
}

pub async fn listing_is_newest_first_with_a_cursor_and_filters(f: &Fixture) {
    let store = f.open().await;
    // Odd: greet 1.0.0, even: greet 2.0.0; 7 lives in another namespace.
    for n in 1..=7 {
        let mut new = new_instance(n, "a");
        if n % 2 == 0 {
            new.workflow.version = "2.0.0".into();
        }
        if n == 7 {
            new.workflow.namespace = "other".into();
        }
        store.create_instance(&new, LONG).await.unwrap();
    }
    set_status(&*store, "a", 2, "running").await;
    set_status(&*store, "a", 4, "running").await;
    let list = |filter: Filter| {
        let store = store.clone();
        async move { ids(&store.instances(&filter).await.unwrap()) }
    };

    assert_eq!(list(Filter::default()).await, these(&[7, 6, 5, 4, 3, 2, 1]));
    // Pages of three, each starting after the last id of the previous one.
    let page = |before: Option<u32>| Filter {
        before: before.map(id),
        limit: 3,
        ..Filter::default()
    };
    assert_eq!(list(page(None)).await, these(&[7, 6, 5]));
    assert_eq!(list(page(Some(5))).await, these(&[4, 3, 2]));
    assert_eq!(list(page(Some(2))).await, these(&[1]));
    assert_eq!(list(page(Some(1))).await, these(&[]));

    let namespace = Filter {
        namespace: Some("default".into()),
        ..Filter::default()
    };
    assert_eq!(list(namespace.clone()).await, these(&[6, 5, 4, 3, 2, 1]));
    let version = Filter {
        name: Some("greet".into()),
        version: Some("2.0.0".into()),
        ..Filter::default()
    };
    assert_eq!(list(version).await, these(&[6, 4, 2]));
    let running = Filter {
        status: Some("running".into()),
        ..Filter::default()
    };
    assert_eq!(list(running.clone()).await, these(&[4, 2]));
    let none = Filter {
        version: Some("1.0.0".into()),
        ..running
    };
    assert_eq!(list(none).await, these(&[]));
    let combined = Filter {
        before: Some(id(4)),
        limit: 2,
        ..namespace
    };
    assert_eq!(list(combined).await, these(&[3, 2]));
    let unknown = Filter {
        name: Some("nope".into()),
        ..Filter::default()
    };
    assert_eq!(list(unknown).await, these(&[]));
}

pub async fn listing_pages_default_to_fifty(f: &Fixture) {
    let store = f.open().await;
    for n in 1..=51 {
        create(&*store, n, "a", LONG).await;
    }
    let all = |limit| Filter {
        limit,
        ..Filter::default()
    };
    let default = store.instances(&all(0)).await.unwrap();
    assert_eq!(default.len(), 50);
    assert_eq!(default[0].id, id(51));
    assert_eq!(store.instances(&all(51)).await.unwrap().len(), 51);
    assert_eq!(store.instances(&all(u32::MAX)).await.unwrap().len(), 51);
}

pub async fn json_keeps_its_key_order(f: &Fixture) {
    let store = f.open().await;
    let value = |tag: &str| {
        json!({"zeta": tag, "alpha": {"y": true, "b": [{"k2": 1, "k1": 2.5}]}, "mid": null,
               "émoji": "🦀", "escaped": "quote \" backslash \\ nul \u{0} tab \t"})
    };
    let new = NewInstance {
        input: value("input"),
        started: value("started"),
        ..new_instance(1, "a")
    };
    store.create_instance(&new, LONG).await.unwrap();
    let summary = Summary {
        status: "completed".into(),
        output: Some(value("output")),
        error: Some(value("error")),
        tasks: json!([value("task")]),
        ended_at: Some(1),
    };
    let batch = [append(
        1,
        vec![value("record")],
        Some(summary),
        vec![value("event")],
    )];
    assert!(store.append("a", LONG, &batch).await.unwrap().is_empty());

    let text = |v: &serde_json::Value| v.to_string();
    let row = store.instance(&id(1)).await.unwrap().unwrap();
    assert_eq!(text(&row.input), text(&value("input")));
    assert_eq!(text(&row.output.unwrap()), text(&value("output")));
    assert_eq!(text(&row.error.unwrap()), text(&value("error")));
    assert_eq!(text(&row.tasks), text(&json!([value("task")])));
    let history: Vec<_> = store
        .history(&id(1))
        .await
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(history, [text(&value("started")), text(&value("record"))]);
    let listed = store.instances(&Filter::default()).await.unwrap();
    assert_eq!(text(&listed[0].input), text(&value("input")));
    let outbox = store.outbox("a", 10).await.unwrap();
    assert_eq!(text(&outbox[0].event), text(&value("event")));
}
