//! The test broker and an outside client. The broker is tansu (a Kafka-protocol broker from
//! crates.io), started on demand through `scripts/kafka` (`scripts/test` starts it for the whole
//! run); the client is confluent-kafka in Python (`kafka_client.py`), so what nagare writes is
//! read, and what nagare reads is written, by a Kafka client that is not nagare's.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka");
const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/kafka_client.py");

fn script(args: &[&str]) -> String {
    let out = Command::new(SCRIPT)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/kafka: {e}"));
    assert!(
        out.status.success(),
        "these tests need the Kafka broker: `scripts/kafka {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The bootstrap address of the running broker (started if needed).
pub fn brokers() -> &'static str {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS.get_or_init(|| {
        script(&["start"]);
        script(&["url"])
    })
}

fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        brokers();
        script(&["python"])
    })
}

/// A new topic of its own for one test.
pub fn topic(tag: &str, partitions: u32) -> String {
    brokers();
    let name = format!("{tag}-{}", uuid::Uuid::new_v4().simple());
    script(&["topic", &name, &partitions.to_string()]);
    name
}

/// A binary-mode record of a CloudEvent with JSON data (ce_* headers), keyed by `key`.
pub fn binary(id: &str, kind: &str, key: &str, data: Value) -> Value {
    json!({
        "key": key,
        "headers": {"ce_specversion": "1.0", "ce_id": id, "ce_source": "/test/kafka",
                    "ce_type": kind, "content-type": "application/json"},
        "value": data.to_string(),
    })
}

/// A structured-mode record of a whole event.
pub fn structured(event: &Value) -> Value {
    json!({
        "key": null,
        "headers": {"content-type": "application/cloudevents+json"},
        "value": event.to_string(),
    })
}

/// Produces the records (each `{key, headers, value}`) with the outside client, in order, and
/// returns once the broker acknowledged every one.
pub fn produce(topic: &str, records: &[Value]) {
    let mut child = Command::new(python())
        .args([CLIENT, "produce", brokers(), topic])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the Kafka client");
    {
        let mut stdin = child.stdin.take().unwrap();
        for r in records {
            writeln!(stdin, "{r}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "producing to {topic} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads `n` records of the topic from its beginning with the outside client; panics with
/// what it got if there are fewer within `seconds`.
pub fn consume(topic: &str, n: usize, seconds: u32) -> Vec<Value> {
    let out = Command::new(python())
        .args([
            CLIENT,
            "consume",
            brokers(),
            topic,
            &n.to_string(),
            &seconds.to_string(),
        ])
        .output()
        .expect("run the Kafka client");
    let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        out.status.success(),
        "expected {n} records on {topic} within {seconds} s, got {}: {records:#?}\n{}",
        records.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    records
}
