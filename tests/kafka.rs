//! CloudEvents over Kafka on the real server and a real broker (tansu; `support/kafka.rs`),
//! with an outside client (confluent-kafka) producing what nagare consumes and consuming what
//! nagare publishes: starts by Kafka events (binary and structured mode, a duplicate), a listen
//! resumed by an event from each transport with correlation picking the right instance, a
//! poison record sent to the dead-letter topic without blocking its partition, a crash between
//! storing and committing that loses and repeats nothing, a `kill -9` mid-stream, publishing
//! to topics by route (server-wide and per workflow), and two nodes of one consumer group.

#[path = "support/kafka.rs"]
mod kafka;
#[path = "support/postgres.rs"]
mod postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir, until};
use std::time::Duration;

on_both_stores!(kafka_events_start_instances);

const ON_ORDER: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: on-order, version: '1.0.0'}
schedule:
  on:
    one:
      with: {type: order.placed}
do:
  - take:
      set:
        order: '${ .[0].data.order }'
"#;

/// A server consuming `topic` in the consumer group `group` (tests run at once: each has its
/// own group, so their rebalances do not mix).
fn consuming(backing: &Backing, topic: &str, group: &str, more: &[&str]) -> Server {
    let mut args = vec![
        "--kafka",
        kafka::brokers(),
        "--kafka-topic",
        topic,
        "--kafka-group",
        group,
    ];
    args.extend_from_slice(more);
    Server::start(backing, &args)
}

fn instances(http: &Http, server: &Server, name: &str) -> Vec<Value> {
    let (s, v) =
        http.get(&server.api(&format!("/instances?namespace=test&name={name}&limit=1000")));
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// The orders of the completed instances of `on-order`, sorted.
fn orders(http: &Http, server: &Server) -> Vec<i64> {
    let mut orders: Vec<i64> = instances(http, server, "on-order")
        .iter()
        .filter(|i| i["status"] == "completed")
        .map(|i| {
            let one = http.instance(server, i["id"].as_str().unwrap());
            one["output"]["order"].as_i64().unwrap()
        })
        .collect();
    orders.sort();
    orders
}

fn metric(http: &Http, server: &Server, line_start: &str) -> f64 {
    let (_, v, _) = http.send("GET", &format!("{}/metrics", server.url), None, None);
    v.as_str()
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0)
}

fn kafka_events_start_instances(backing: &Backing) {
    let http = Http::default();
    let topic = kafka::topic("start", 1);
    let server = consuming(backing, &topic, &topic, &[]);
    http.push(&server, ON_ORDER);
    let structured = json!({"specversion": "1.0", "id": "s3", "source": "/test/kafka",
                            "type": "order.placed", "data": {"order": 3}});
    kafka::produce(
        &topic,
        &[
            kafka::binary("b1", "order.placed", "k1", json!({"order": 1})),
            kafka::binary("b2", "order.placed", "k2", json!({"order": 2})),
            kafka::structured(&structured),
            // The same event again (a producer's retry): one instance.
            kafka::binary("b1", "order.placed", "k1", json!({"order": 1})),
            // Another type starts nothing.
            kafka::binary("x1", "order.cancelled", "k1", json!({"order": 9})),
        ],
    );
    let got = until(
        &server,
        "three instances",
        || orders(&http, &server),
        |o| o.len() >= 3,
    );
    assert_eq!(got, vec![1, 2, 3]);
    let first = instances(&http, &server, "on-order")
        .into_iter()
        .map(|i| http.instance(&server, i["id"].as_str().unwrap()))
        .find(|i| i["output"]["order"] == 1)
        .unwrap();
    // The input is the triggering event, its data decoded from the record's JSON value.
    assert_eq!(first["input"][0]["id"], "b1");
    assert_eq!(first["input"][0]["source"], "/test/kafka");
    assert_eq!(first["input"][0]["datacontenttype"], "application/json");
    until(
        &server,
        "every record counted",
        || {
            (
                metric(
                    &http,
                    &server,
                    "nagare_kafka_records_total{outcome=\"stored\"}",
                ),
                metric(
                    &http,
                    &server,
                    "nagare_kafka_records_total{outcome=\"duplicate\"}",
                ),
            )
        },
        |(stored, dup)| *stored == 4.0 && *dup == 1.0,
    );
    assert_eq!(orders(&http, &server), vec![1, 2, 3], "no more instances");
}

/// Twenty instances wait for their own order's payment; a Kafka event resumes exactly the
/// matching one, and an HTTP event another.
#[test]
fn listen_resumed_by_kafka_and_http_events_with_correlation() {
    let dir = TempDir::new("kafka-listen");
    let http = Http::default();
    let topic = kafka::topic("listen", 2);
    let server = consuming(
        &Backing::Sqlite(dir.path().to_path_buf()),
        &topic,
        &topic,
        &[],
    );
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
    kafka::produce(
        &topic,
        &[kafka::binary(
            "p7",
            "payment.done",
            "7",
            json!({"order": 7}),
        )],
    );
    let seven = http.wait(&server, &ids[7], 30);
    assert_eq!(seven["status"], "completed", "{seven:#}");
    assert_eq!(seven["output"], json!({"paid": 7}));
    let e = json!({"specversion": "1.0", "id": "p12", "source": "/test/http",
                   "type": "payment.done", "data": {"order": 12}});
    let (s, v, _) = http.send(
        "POST",
        &server.api("/events"),
        Some("application/cloudevents+json"),
        Some(e.to_string().into_bytes()),
    );
    assert_eq!(s, 202, "{v}");
    let twelve = http.wait(&server, &ids[12], 30);
    assert_eq!(twelve["output"], json!({"paid": 12}));
    for (i, id) in ids.iter().enumerate() {
        if i != 7 && i != 12 {
            assert_eq!(
                http.instance(&server, id)["status"],
                "waiting",
                "instance {i}"
            );
        }
    }
}

/// Records that are not CloudEvents go to the dead-letter topic with the reason and their
/// origin; the valid record after them on the same partition is not held back.
#[test]
fn poison_records_go_to_the_dead_letter_topic() {
    let dir = TempDir::new("kafka-poison");
    let http = Http::default();
    let (topic, dead) = (kafka::topic("poison", 1), kafka::topic("dead", 1));
    let server = consuming(
        &Backing::Sqlite(dir.path().to_path_buf()),
        &topic,
        &topic,
        &["--kafka-dead-letter", &dead],
    );
    http.push(&server, ON_ORDER);
    let mut no_type = kafka::binary("n1", "order.placed", "k", json!({"order": 5}));
    no_type["headers"]
        .as_object_mut()
        .unwrap()
        .remove("ce_type");
    kafka::produce(
        &topic,
        &[
            json!({"key": "k", "headers": {}, "value": "just some text"}),
            no_type,
            json!({"key": "k", "headers": {"content-type": "application/cloudevents+json"},
                   "value": "{not json"}),
            kafka::binary("ok", "order.placed", "k", json!({"order": 6})),
        ],
    );
    let got = until(
        &server,
        "the valid event's instance",
        || orders(&http, &server),
        |o| !o.is_empty(),
    );
    assert_eq!(got, vec![6]);
    let dead = kafka::consume(&dead, 3, 30);
    let reasons: Vec<&str> = dead
        .iter()
        .map(|r| r["headers"]["nagare_error"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].contains("no CloudEvent in the record"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("`type`"), "{reasons:?}");
    assert!(reasons[2].contains("not JSON"), "{reasons:?}");
    for (i, r) in dead.iter().enumerate() {
        assert_eq!(r["headers"]["nagare_topic"], topic);
        assert_eq!(r["headers"]["nagare_partition"], "0");
        assert_eq!(r["headers"]["nagare_offset"], i.to_string());
        assert_eq!(r["key"], "k", "the record is copied as it came");
    }
    assert_eq!(dead[0]["value"], "just some text");
    assert_eq!(
        metric(
            &http,
            &server,
            "nagare_kafka_records_total{outcome=\"dead_letter\"}"
        ),
        3.0
    );
}

/// The server stores a batch and dies before committing its offsets: the restarted server
/// gets the same records again, and deduplication makes each start exactly one instance.
/// Then a `kill -9` while records stream in: again every event, once.
#[test]
fn a_crash_between_store_and_commit_loses_and_repeats_nothing() {
    // The crash hook is compiled only into a test build: fail loudly rather than skip.
    // (At run time, not in a `const` block: the other tests of this file need no feature.)
    if !cfg!(feature = "test-hooks") {
        panic!(
            "this test needs nagare's crash hook: run it with `cargo test --features \
             test-hooks` (scripts/test does)"
        );
    }
    let dir = TempDir::new("kafka-crash");
    let backing = Backing::Sqlite(dir.path().to_path_buf());
    let http = Http::default();
    let topic = kafka::topic("crash", 2);
    let records = |from: i64, to: i64| -> Vec<Value> {
        (from..to)
            .map(|i| {
                kafka::binary(
                    &format!("c{i}"),
                    "order.placed",
                    &i.to_string(),
                    json!({"order": i}),
                )
            })
            .collect()
    };
    {
        let server = Server::start(&backing, &[]);
        http.push(&server, ON_ORDER);
        server.stop();
    }
    kafka::produce(&topic, &records(0, 50));
    // Static membership, the same member id for every incarnation: a restarted node takes
    // its partitions back at once. (A dynamic member's partitions would move only when the
    // broker ends the dead member's session, which tansu 0.6 does not do; see README.)
    let member = ["--kafka-option", "group.instance.id=crash-node"];
    let crashing = consuming(
        &backing,
        &topic,
        &topic,
        &[member[0], member[1], "--crash-after-kafka-store"],
    );
    until(
        &crashing,
        "the crash after the first stored batch",
        || crashing.log(),
        |log| log.contains("crashing after storing a Kafka batch"),
    );
    crashing.kill();
    let server = consuming(&backing, &topic, &topic, &member);
    let got = until(
        &server,
        "50 instances",
        || orders(&http, &server),
        |o| o.len() >= 50,
    );
    assert_eq!(got, (0..50).collect::<Vec<_>>(), "each event once");
    until(
        &server,
        "the stored batch consumed again",
        || {
            metric(
                &http,
                &server,
                "nagare_kafka_records_total{outcome=\"duplicate\"}",
            )
        },
        |d| *d >= 1.0,
    );
    // kill -9 while 300 more records arrive in ten bursts.
    let producer = std::thread::spawn({
        let (topic, records) = (topic.clone(), records(50, 350));
        move || {
            for chunk in records.chunks(30) {
                kafka::produce(&topic, chunk);
                std::thread::sleep(Duration::from_millis(30));
            }
        }
    });
    until(
        &server,
        "some of the stream",
        || orders(&http, &server),
        |o| o.len() > 60,
    );
    server.kill();
    producer.join().unwrap();
    let server = consuming(&backing, &topic, &topic, &member);
    let got = until(
        &server,
        "350 instances",
        || orders(&http, &server),
        |o| o.len() >= 350,
    );
    assert_eq!(got, (0..350).collect::<Vec<_>>(), "each event once");
}

/// Emitted events and lifecycle events published to topics by routes: the server's, and a
/// workflow's own (tried first). Read back with the outside client.
#[test]
fn events_are_published_to_kafka_topics_by_route() {
    let dir = TempDir::new("kafka-egress");
    let http = Http::default();
    let (orders_topic, lifecycle, special) = (
        kafka::topic("orders", 3),
        kafka::topic("lifecycle", 3),
        kafka::topic("special", 1),
    );
    let server = Server::start(
        &Backing::Sqlite(dir.path().to_path_buf()),
        &[
            "--kafka",
            kafka::brokers(),
            "--route",
            &format!("order.*=kafka:{orders_topic}"),
            "--route",
            &format!("io.serverlessworkflow.workflow.*=kafka:{lifecycle}"),
        ],
    );
    http.push(
        &server,
        r#"
document: {dsl: '1.0.3', namespace: test, name: ship, version: '1.0.0'}
do:
  - announce:
      emit:
        event:
          with:
            source: https://shop.example.com
            type: order.shipped
            subject: '${ "order-" + (.order | tostring) }'
            data: {order: '${ .order }', carrier: kite}
"#,
    );
    // Its own route wins over the server's for order.shipped.
    http.push(
        &server,
        &format!(
            r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: special
  version: '1.0.0'
  metadata:
    nagare:
      routes:
        - {{types: 'order.shipped', to: 'kafka:{special}'}}
do:
  - announce:
      emit:
        event:
          with: {{source: https://shop.example.com, type: order.shipped, data: {{special: true}}}}
"#
        ),
    );
    let id = http.start(&server, "test/ship/1.0.0", &json!({"order": 42}));
    assert_eq!(http.wait(&server, &id, 30)["status"], "completed");
    let shipped = kafka::consume(&orders_topic, 1, 30);
    let r = &shipped[0];
    assert_eq!(r["headers"]["ce_type"], "order.shipped");
    assert_eq!(r["headers"]["ce_source"], "https://shop.example.com");
    assert_eq!(r["headers"]["ce_specversion"], "1.0");
    assert_eq!(r["headers"]["content-type"], "application/json");
    assert_eq!(r["key"], "order-42", "keyed by the subject");
    let data: Value = serde_json::from_str(r["value"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({"order": 42, "carrier": "kite"}));
    // The workflow's lifecycle, in order, keyed by the instance (so on one partition).
    let events = kafka::consume(&lifecycle, 2, 30);
    let types: Vec<&str> = events
        .iter()
        .map(|r| r["headers"]["ce_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "io.serverlessworkflow.workflow.started.v1",
            "io.serverlessworkflow.workflow.completed.v1"
        ]
    );
    assert!(
        events.iter().all(|r| r["key"] == id.as_str()),
        "{events:#?}"
    );
    let special_id = http.start(&server, "test/special/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &special_id, 30)["status"], "completed");
    let got = kafka::consume(&special, 1, 30);
    assert_eq!(got[0]["value"], json!({"special": true}).to_string());
    assert_eq!(
        got[0]["key"],
        special_id.as_str(),
        "no subject: keyed by the instance"
    );
}

/// Two nodes in one consumer group split a topic's partitions and each event starts one
/// instance; when one node stops, the other takes all partitions.
#[test]
fn two_nodes_in_one_group_split_the_partitions() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let http = Http::default();
    let topic = kafka::topic("split", 4);
    let group = format!("split-{}", uuid::Uuid::new_v4().simple());
    let a = consuming(&backing, &topic, &group, &["--node", "a"]);
    http.push(&a, ON_ORDER);
    let b = consuming(&backing, &topic, &group, &["--node", "b"]);
    let stored = |s: &Server| metric(&http, s, "nagare_kafka_records_total{outcome=\"stored\"}");
    // Until the group has settled on both members, keep sending keys over every partition.
    let mut next = 0;
    until(
        &a,
        "both nodes consuming",
        || {
            let batch: Vec<Value> = (next..next + 20)
                .map(|i| {
                    kafka::binary(
                        &format!("s{i}"),
                        "order.placed",
                        &i.to_string(),
                        json!({"order": i}),
                    )
                })
                .collect();
            kafka::produce(&topic, &batch);
            next += 20;
            std::thread::sleep(Duration::from_millis(300));
            (stored(&a), stored(&b))
        },
        |(x, y)| *x > 0.0 && *y > 0.0,
    );
    let got = until(
        &a,
        "every event's instance",
        || orders(&http, &a),
        |o| o.len() >= next as usize,
    );
    assert_eq!(got, (0..next).collect::<Vec<_>>(), "each event once");
    // B leaves cleanly; A gets its partitions.
    b.stop();
    let total = next + 40;
    let batch: Vec<Value> = (next..total)
        .map(|i| {
            kafka::binary(
                &format!("s{i}"),
                "order.placed",
                &i.to_string(),
                json!({"order": i}),
            )
        })
        .collect();
    kafka::produce(&topic, &batch);
    let got = until(
        &a,
        "the events after B left",
        || orders(&http, &a),
        |o| o.len() >= total as usize,
    );
    assert_eq!(got, (0..total).collect::<Vec<_>>());
}
