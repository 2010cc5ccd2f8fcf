//! Drives a real `nagare serve` (SQLite) with CloudEvents from Kafka (the tansu broker of the
//! tests) while 10,000 instances wait in a correlated `listen`: records consumed per second
//! (each durably stored before its offset is committed, then delivered through the
//! correlation index), and the latency from producing an event to the start of the first task
//! of the instance it triggers (`schedule.on`), and of the task after a `listen` it resumes.
//! The records are produced with rdkafka (librdkafka) from this process.
//!
//! `cargo bench --bench kafka` measures (NAGARE_BENCH_WAITING, default 10000;
//! NAGARE_BENCH_EVENTS, default 200000; NAGARE_BENCH_FETCH_WAIT_MS, default 5);
//! `cargo test --benches` runs it small and checks every record was stored and every
//! triggered instance ran.

#[path = "../tests/support/kafka.rs"]
mod kafka;
#[path = "../tests/support/server.rs"]
mod server;
#[path = "support/waiting.rs"]
mod waiting;

use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use server::{Backing, Http, Server, TempDir, millis};
use std::time::{Duration, Instant};
use waiting::{ON, PAY, event, now_ms, quantiles};

/// Produces the events in binary mode and waits for every acknowledgement.
async fn produce(producer: &FutureProducer, topic: &str, events: &[Value]) {
    // The records own their bytes; the sends borrow them until acknowledged.
    let records: Vec<(String, String, OwnedHeaders)> = events
        .iter()
        .map(|e| {
            let mut headers = OwnedHeaders::new_with_capacity(5);
            for name in ["specversion", "id", "source", "type"] {
                headers = headers.insert(Header {
                    key: &format!("ce_{name}"),
                    value: e[name].as_str(),
                });
            }
            headers = headers.insert(Header {
                key: "content-type",
                value: Some("application/json"),
            });
            (
                e["data"]["order"].to_string(),
                e["data"].to_string(),
                headers,
            )
        })
        .collect();
    let sends: Vec<_> = records
        .iter()
        .map(|(key, payload, headers)| {
            producer.send(
                FutureRecord::to(topic)
                    .headers(headers.clone())
                    .key(key)
                    .payload(payload),
                Duration::from_secs(30),
            )
        })
        .collect();
    for s in futures::future::join_all(sends).await {
        s.expect("produced");
    }
}

fn stored(http: &Http, server: &Server) -> u64 {
    let (_, v, _) = http.send("GET", &format!("{}/metrics", server.url), None, None);
    v.as_str()
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("nagare_kafka_records_total{outcome=\"stored\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let number = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (waiting, events, probes) = if measuring {
        (
            number("NAGARE_BENCH_WAITING", 10_000),
            number("NAGARE_BENCH_EVENTS", 200_000),
            200,
        )
    } else {
        (50, 500, 10)
    };
    let topic = kafka::topic("bench", 4);
    let dir = TempDir::new("bench-kafka");
    // tansu answers a fetch only when its max wait is up, not when a record arrives (Kafka
    // does), so the wait is what an idle partition's latency is made of: 5 ms, not 500
    // (NAGARE_BENCH_FETCH_WAIT_MS; 1 ms halves the latency, but tansu 0.6 then sometimes
    // stops answering the consumer group at all).
    let server = Server::start(
        &Backing::Sqlite(dir.path().join("data")),
        &[
            "--kafka",
            kafka::brokers(),
            "--kafka-topic",
            &topic,
            // A group of its own: tansu keeps the members of a killed server for its whole
            // session (45 s), and a new member of their group waits that long for its
            // partitions (the 45 s stalls of some runs).
            "--kafka-group",
            &topic,
            "--kafka-option",
            &format!(
                "fetch.wait.max.ms={}",
                number("NAGARE_BENCH_FETCH_WAIT_MS", 5)
            ),
        ],
    );
    let http = Http::default();
    http.push(&server, PAY);
    http.push(&server, ON);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ids = waiting::start_waiting(&rt, &server, waiting);
    println!("kafka/sqlite: {waiting} instances waiting in a correlated listen");
    let producer: FutureProducer = rt.block_on(async {
        ClientConfig::new()
            .set("bootstrap.servers", kafka::brokers())
            .set("linger.ms", "0")
            .set("acks", "all")
            .create()
            .expect("producer")
    });
    // Orders no instance waits for: each is stored, delivered, looked up and matches nothing.
    let all: Vec<Value> = (0..events)
        .map(|i| event(i, "payment.done", 1_000_000 + i))
        .collect();
    let began = Instant::now();
    rt.block_on(async {
        for chunk in all.chunks(10_000) {
            produce(&producer, &topic, chunk).await;
        }
    });
    let produced = began.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while stored(&http, &server) < events as u64 {
        assert!(Instant::now() < deadline, "the records were not all stored");
        std::thread::sleep(Duration::from_millis(5));
    }
    let consumed = began.elapsed();
    println!(
        "kafka/sqlite: {events} records over 4 partitions: produced in {:.2} s, all stored {:.2} s after the first was sent: {:.0} records/s consumed and stored",
        produced.as_secs_f64(),
        consumed.as_secs_f64(),
        events as f64 / consumed.as_secs_f64()
    );
    // The log is delivered behind the commits: a sentinel that starts an instance shows when
    // every event before it was delivered (and matched).
    let stored_at = Instant::now();
    rt.block_on(produce(
        &producer,
        &topic,
        &[event(99_999_999, "start.me", usize::MAX)],
    ));
    let deadline = Instant::now() + Duration::from_secs(600);
    while {
        let (_, v) = http.get(&server.api("/instances?namespace=bench&name=on-start&limit=10"));
        v["items"].as_array().unwrap().is_empty()
    } {
        assert!(Instant::now() < deadline, "the log was not delivered");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "kafka/sqlite: the rest of the log delivered through the index of the {waiting} waiting instances {:.1} s after the last record was stored",
        stored_at.elapsed().as_secs_f64()
    );
    // Event → start of the first task of the instance it triggers, one at a time.
    let mut sent = Vec::new();
    for p in 0..probes {
        sent.push(now_ms());
        rt.block_on(produce(
            &producer,
            &topic,
            &[event(100_000_000 + p, "start.me", p)],
        ));
        // One at a time: wait for this one's instance before the next.
        let deadline = Instant::now() + Duration::from_secs(30);
        while {
            let (_, v) =
                http.get(&server.api("/instances?namespace=bench&name=on-start&limit=1000"));
            v["items"].as_array().unwrap().len() < p + 2
        } {
            assert!(Instant::now() < deadline, "probe {p} did not start");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let latencies = waiting::start_latencies(&server, probes + 1, &sent);
    let (p50, p99) = quantiles(latencies);
    println!(
        "kafka/sqlite: produced event → first task of the started instance (schedule.on), {probes} one at a time: p50 {p50} ms, p99 {p99} ms"
    );
    // Event → the task after the listen of the instance it resumes.
    let mut resumes = Vec::new();
    for (n, instance) in ids.iter().enumerate().take(probes) {
        let at = now_ms();
        rt.block_on(produce(
            &producer,
            &topic,
            &[event(200_000_000 + n, "payment.done", n)],
        ));
        let done = http.wait(&server, instance, 30);
        assert_eq!(done["status"], "completed", "{done}");
        let paid = done["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "paid")
            .expect("the task after the listen");
        resumes.push(millis(&paid["startedAt"]) - at);
    }
    let (p50, p99) = quantiles(resumes);
    println!(
        "kafka/sqlite: produced event → task after the listen of the instance it resumes (among {waiting} waiting), {probes} one at a time: p50 {p50} ms, p99 {p99} ms"
    );
}
