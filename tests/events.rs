//! CloudEvents in over HTTP (`POST /api/v1/events`) on the real server: the binding's three
//! modes and its errors, deduplication, `schedule.on` starting one instance per event,
//! `listen` resumed by an event with correlation picking the right instance among many, an
//! event that arrives before its listener, and one delivered to an instance whose node died.

#[path = "support/postgres.rs"]
mod postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir, until};
use std::time::Duration;

on_both_stores!(
    ingress_modes_errors_and_duplicates,
    schedule_on_starts_one_instance_per_event,
    schedule_on_all_and_until_start_per_event_set
);

fn event(id: &str, kind: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "https://shop.example.com/orders", "type": kind, "data": data})
}

fn post_event(http: &Http, server: &Server, e: &Value) -> (u16, Value) {
    let (s, v, _) = http.send(
        "POST",
        &server.api("/events"),
        Some("application/cloudevents+json"),
        Some(e.to_string().into_bytes()),
    );
    (s, v)
}

fn instances(http: &Http, server: &Server, name: &str) -> Vec<Value> {
    let (s, v) =
        http.get(&server.api(&format!("/instances?namespace=test&name={name}&limit=1000")));
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// An event larger than `--max-event-bytes` is refused with 413 and a problem document that
/// names the limit and the flag, whatever `--max-body` allows; one within it is stored.
#[test]
fn an_event_past_the_limit_is_refused() {
    let dir = TempDir::new("event-limit");
    let server = Server::start(
        &Backing::Sqlite(dir.path().to_path_buf()),
        &["--max-event-bytes", "2000", "--max-body", "1000000"],
    );
    let http = Http::default();
    let (s, v, ct) = http.send(
        "POST",
        &server.api("/events"),
        Some("application/cloudevents+json"),
        Some(
            event("big", "t", json!("x".repeat(5000)))
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(s, 413, "{v}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(v["status"], 413, "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("2000") && detail.contains("--max-event-bytes"),
        "{v}"
    );
    let (s, v) = post_event(
        &http,
        &server,
        &event("small", "t", json!("x".repeat(1000))),
    );
    assert_eq!(s, 202, "{v}");
    // Other routes keep --max-body.
    let (s, v) = http.post_yaml(
        &server.api("/workflows"),
        &format!(
            "document: {{dsl: '1.0.3', namespace: test, name: padded, version: '1.0.0'}}\ndo:\n  - s: {{set: {{a: 1}}}}\n# {}\n",
            "x".repeat(5000)
        ),
    );
    assert_eq!(s, 201, "{v}");
}

fn ingress_modes_errors_and_duplicates(backing: &Backing) {
    let http = Http::default();
    let server = Server::start(backing, &[]);
    let url = server.api("/events");
    // Structured.
    let (s, v) = post_event(&http, &server, &event("1", "t", json!({"a": 1})));
    assert_eq!(
        (s, v.clone()),
        (202, json!({"accepted": 1, "duplicates": 0})),
        "{v}"
    );
    // The same again: accepted once.
    let (s, v) = post_event(&http, &server, &event("1", "t", json!({"a": 1})));
    assert_eq!(
        (s, v.clone()),
        (202, json!({"accepted": 0, "duplicates": 1})),
        "{v}"
    );
    // Batch, with a duplicate inside.
    let batch = json!([
        event("2", "t", json!(2)),
        event("3", "t", json!(3)),
        event("2", "t", json!(2))
    ]);
    let (s, v, _) = http.send(
        "POST",
        &url,
        Some("application/cloudevents-batch+json"),
        Some(batch.to_string().into_bytes()),
    );
    assert_eq!(
        (s, v.clone()),
        (202, json!({"accepted": 2, "duplicates": 1})),
        "{v}"
    );
    // Binary.
    let (s, v) = binary(
        &http,
        &url,
        &[
            ("ce-specversion", "1.0"),
            ("ce-id", "4"),
            ("ce-source", "https://shop.example.com/orders"),
            ("ce-type", "t"),
        ],
        br#"{"b":2}"#,
    );
    assert_eq!(
        (s, v.clone()),
        (202, json!({"accepted": 1, "duplicates": 0})),
        "{v}"
    );
    // Errors: 400 with what is wrong, nothing stored.
    let (s, v) = post_event(
        &http,
        &server,
        &json!({"specversion": "1.0", "id": "5", "type": "t"}),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("`source`"), "{v}");
    let (s, v, _) = http.send(
        "POST",
        &url,
        Some("application/cloudevents+json"),
        Some(b"{".to_vec()),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("not JSON"), "{v}");
    let bad_batch = json!([event("6", "t", json!(6)), {"specversion": "0.3", "id": "7", "source": "/test", "type": "t"}]);
    let (s, v, _) = http.send(
        "POST",
        &url,
        Some("application/cloudevents-batch+json"),
        Some(bad_batch.to_string().into_bytes()),
    );
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("event 1 of the batch"),
        "{v}"
    );
    let (s, v, _) = http.send("POST", &url, Some("application/json"), Some(b"{}".to_vec()));
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("no CloudEvent"),
        "{v}"
    );
    // Event 6 of the refused batch was not stored: it is new now.
    let (s, v) = post_event(&http, &server, &event("6", "t", json!(6)));
    assert_eq!(
        (s, v.clone()),
        (202, json!({"accepted": 1, "duplicates": 0})),
        "{v}"
    );
}

fn binary(http: &Http, url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let (s, v, _) = http.send_with(
        "POST",
        url,
        Some("application/json"),
        headers,
        Some(body.to_vec()),
    );
    (s, v)
}

const ON_ORDER: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: on-order, version: '1.0.0'}
schedule:
  on:
    one:
      with: {type: order.placed, source: 'https://shop.example.com/orders'}
do:
  - take:
      set:
        order: '${ .[0].data.order }'
        events: '${ length }'
"#;

fn schedule_on_starts_one_instance_per_event(backing: &Backing) {
    let http = Http::default();
    let server = Server::start(backing, &[]);
    http.push(&server, ON_ORDER);
    let (s, _) = post_event(
        &http,
        &server,
        &event("o1", "order.placed", json!({"order": 1})),
    );
    assert_eq!(s, 202);
    let done = until(
        &server,
        "the instance of the event",
        || instances(&http, &server, "on-order"),
        |i| i.len() == 1 && i[0]["status"] == "completed",
    );
    let one = http.instance(&server, done[0]["id"].as_str().unwrap());
    assert_eq!(one["output"], json!({"order": 1, "events": 1}));
    assert_eq!(
        one["input"][0]["id"], "o1",
        "the input is the triggering events"
    );
    // Delivered twice: still one instance. Other types start nothing.
    post_event(
        &http,
        &server,
        &event("o1", "order.placed", json!({"order": 1})),
    );
    post_event(
        &http,
        &server,
        &event("x", "order.cancelled", json!({"order": 1})),
    );
    post_event(
        &http,
        &server,
        &event("o2", "order.placed", json!({"order": 2})),
    );
    let all = until(
        &server,
        "the second order's instance",
        || instances(&http, &server, "on-order"),
        |i| i.len() == 2 && i.iter().all(|x| x["status"] == "completed"),
    );
    assert_eq!(all.len(), 2);
    // A new version takes over the trigger at once: the next event starts it.
    http.push(
        &server,
        &ON_ORDER
            .replace("version: '1.0.0'", "version: '2.0.0'")
            .replace(
                "events: '${ length }'",
                "events: '${ length }'\n        second: true",
            ),
    );
    post_event(
        &http,
        &server,
        &event("o3", "order.placed", json!({"order": 3})),
    );
    let all = until(
        &server,
        "the new version's instance",
        || instances(&http, &server, "on-order"),
        |i| i.len() == 3 && i.iter().all(|x| x["status"] == "completed"),
    );
    let third = all
        .iter()
        .find(|i| i["workflow"]["version"] == "2.0.0")
        .unwrap_or_else(|| panic!("no instance of 2.0.0 in {all:?}"));
    let third = http.instance(&server, third["id"].as_str().unwrap());
    assert_eq!(
        third["output"],
        json!({"order": 3, "events": 1, "second": true})
    );
}

/// Twenty instances wait for a payment of their own order; events resume exactly the one
/// whose correlation key matches.
#[test]
fn listen_resumed_by_the_event_with_its_correlation_key() {
    let dir = TempDir::new("events");
    let http = Http::default();
    let server = Server::start(&Backing::Sqlite(dir.path().join("data")), &[]);
    http.push(
        &server,
        r#"
document: {dsl: '1.0.3', namespace: test, name: pay, version: '1.0.0'}
do:
  - wait-for-payment:
      listen:
        to:
          one:
            with: {type: payment.done}
            correlate:
              order: {from: '${ .data.order }', expect: '${ .order }'}
  - done:
      set: {paid: '${ .[0].order }'}
"#,
    );
    let ids: Vec<String> = (0..20)
        .map(|i| http.start(&server, "test/pay/1.0.0", &json!({"order": i})))
        .collect();
    for id in &ids {
        http.until(&server, id, Duration::from_secs(20), "waiting", |v| {
            v["status"] == "waiting"
        });
    }
    post_event(
        &http,
        &server,
        &event("p7", "payment.done", json!({"order": 7})),
    );
    let seven = http.wait(&server, &ids[7], 20);
    assert_eq!(seven["status"], "completed", "{seven:#}");
    assert_eq!(seven["output"], json!({"paid": 7}));
    for (i, id) in ids.iter().enumerate() {
        if i != 7 {
            assert_eq!(
                http.instance(&server, id)["status"],
                "waiting",
                "instance {i}"
            );
        }
    }
    // An event that arrives before its listener starts (during a wait) is not lost.
    http.push(
        &server,
        r#"
document: {dsl: '1.0.3', namespace: test, name: late, version: '1.0.0'}
do:
  - first: {wait: {milliseconds: 500}}
  - then-listen:
      listen:
        to:
          one:
            with: {type: late.event}
"#,
    );
    let late = http.start(&server, "test/late/1.0.0", &json!({}));
    post_event(
        &http,
        &server,
        &event("l1", "late.event", json!({"early": true})),
    );
    let v = http.wait(&server, &late, 20);
    assert_eq!(v["output"], json!([{"early": true}]), "{v:#}");
}

/// Node A holds a waiting instance and dies; the event arrives at node B, which takes the
/// instance over when A's lease expires and delivers the event to it.
#[test]
fn an_event_reaches_an_instance_whose_node_died() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let http = Http::default();
    let a = Server::start(&backing, &["--node", "a", "--lease", "2s"]);
    http.push(
        &a,
        r#"
document: {dsl: '1.0.3', namespace: test, name: wake, version: '1.0.0'}
do:
  - sleep:
      listen:
        to:
          one:
            with: {type: wake.up}
"#,
    );
    let id = http.start(&a, "test/wake/1.0.0", &json!({}));
    http.until(&a, &id, Duration::from_secs(20), "waiting", |v| {
        v["status"] == "waiting"
    });
    let b = Server::start(&backing, &["--node", "b", "--lease", "2s"]);
    a.kill();
    let (s, v) = post_event(&http, &b, &event("w1", "wake.up", json!({"hello": "b"})));
    assert_eq!(s, 202, "{v}");
    let done = http.until(&b, &id, Duration::from_secs(30), "completed on b", |v| {
        v["status"] == "completed"
    });
    assert_eq!(done["output"], json!([{"hello": "b"}]));
}

const ON_SETS: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: ship-when-ready, version: '1.0.0'}
schedule:
  on:
    all:
      - with: {type: order.paid}
        correlate: {order: {from: '${ .data.order }'}}
      - with: {type: order.packed, data: '${ .weight < 30 }'}
        correlate: {order: {from: '${ .data.order }'}}
do:
  - ship:
      set:
        order: '${ .[0].data.order }'
        types: '${ map(.type) }'
"#;

const ON_BATCH: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: batch-of-three, version: '1.0.0'}
schedule:
  on:
    any:
      - with: {type: reading}
    until: '${ length >= 3 }'
do:
  - sum:
      set: {total: '${ map(.data.v) | add }'}
"#;

/// `all` starts one instance per correlated pair of events (an expression filter on the
/// data too); `any` with `until` one per three readings; restarts and duplicates start
/// nothing twice.
fn schedule_on_all_and_until_start_per_event_set(backing: &Backing) {
    let http = Http::default();
    let server = Server::start(backing, &[]);
    http.push(&server, ON_SETS);
    http.push(&server, ON_BATCH);
    let post = |e: Value| assert_eq!(post_event(&http, &server, &e).0, 202);
    post(event("p1", "order.paid", json!({"order": 1})));
    post(event("p2", "order.paid", json!({"order": 2})));
    // Too heavy: the expression filter refuses it.
    post(event(
        "k1",
        "order.packed",
        json!({"order": 1, "weight": 45}),
    ));
    post(event(
        "k2",
        "order.packed",
        json!({"order": 2, "weight": 10}),
    ));
    post(event("p2", "order.paid", json!({"order": 2})));
    for i in 0..7 {
        post(event(&format!("r{i}"), "reading", json!({"v": i})));
    }
    let shipped = until(
        &server,
        "order 2 shipped",
        || instances(&http, &server, "ship-when-ready"),
        |i| i.len() == 1 && i[0]["status"] == "completed",
    );
    let one = http.instance(&server, shipped[0]["id"].as_str().unwrap());
    assert_eq!(
        one["output"],
        json!({"order": 2, "types": ["order.paid", "order.packed"]})
    );
    let sums = until(
        &server,
        "two batches of three readings",
        || instances(&http, &server, "batch-of-three"),
        |i| i.len() == 2 && i.iter().all(|x| x["status"] == "completed"),
    );
    let mut totals: Vec<Value> = sums
        .iter()
        .map(|i| http.instance(&server, i["id"].as_str().unwrap())["output"]["total"].clone())
        .collect();
    totals.sort_by_key(|v| v.as_i64());
    assert_eq!(totals, [json!(3), json!(12)], "0+1+2 and 3+4+5");
    // Order 1 is packed light enough now: its pair completes.
    post(event(
        "k1b",
        "order.packed",
        json!({"order": 1, "weight": 20}),
    ));
    until(
        &server,
        "order 1 shipped",
        || instances(&http, &server, "ship-when-ready"),
        |i| i.len() == 2 && i.iter().all(|x| x["status"] == "completed"),
    );
    // A restart reads the events again: nothing starts twice, and the open set (reading 6)
    // is gathered again and completed by two more readings.
    server.stop();
    let server = Server::start(backing, &[]);
    for i in 7..9 {
        let e = event(&format!("r{i}"), "reading", json!({"v": i}));
        assert_eq!(post_event(&http, &server, &e).0, 202);
    }
    let sums = until(
        &server,
        "the third batch",
        || instances(&http, &server, "batch-of-three"),
        |i| i.len() == 3 && i.iter().all(|x| x["status"] == "completed"),
    );
    assert_eq!(sums.len(), 3);
    // Events are offered in log order: once a later event's instance exists, everything
    // before it was offered too.
    http.push(&server, ON_ORDER);
    post_event(
        &http,
        &server,
        &event("last", "order.placed", json!({"order": 9})),
    );
    until(
        &server,
        "the last event's instance",
        || instances(&http, &server, "on-order"),
        |i| i.len() == 1,
    );
    assert_eq!(instances(&http, &server, "ship-when-ready").len(), 2);
    assert_eq!(instances(&http, &server, "batch-of-three").len(), 3);
}
