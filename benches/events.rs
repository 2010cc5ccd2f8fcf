//! Drives a real `nagare serve` (SQLite) with CloudEvents over HTTP while 10,000 instances
//! wait in a correlated `listen`: events accepted per second (each durably stored, then
//! delivered through the correlation index), single events and batches; and the latency from
//! posting an event to the start of the first task of the instance it triggers
//! (`schedule.on`), and of the task after a `listen` it resumes.
//!
//! `cargo bench --bench events` measures (NAGARE_BENCH_WAITING, default 10000;
//! NAGARE_BENCH_EVENTS, default 20000; NAGARE_BENCH_PROBES latency samples of each kind,
//! default 500, at most 999); `cargo test --benches` runs it small and checks every
//! event was accepted and every triggered instance ran.

#[path = "../tests/support/server.rs"]
mod server;
#[path = "support/waiting.rs"]
mod waiting;

use serde_json::Value;
use server::{Backing, Http, Server, TempDir, millis};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use waiting::{ON, PAY, event, now_ms, quantiles};

/// Posts `total` events in requests of `batch` (1: structured mode) from `clients` clients.
async fn post(url: &str, first_id: usize, total: usize, batch: usize, clients: usize) -> f64 {
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut jobs = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, next, url) = (http.clone(), next.clone(), format!("{url}/api/v1/events"));
        jobs.spawn(async move {
            let mut accepted = 0;
            loop {
                let at = next.fetch_add(batch, Ordering::Relaxed);
                if at >= total {
                    return accepted;
                }
                // Orders no instance waits for: each is looked up and matches nothing.
                let events: Vec<Value> = (at..(at + batch).min(total))
                    .map(|i| event(first_id + i, "payment.done", 1_000_000 + i))
                    .collect();
                let (ct, body) = if batch == 1 {
                    ("application/cloudevents+json", events[0].to_string())
                } else {
                    (
                        "application/cloudevents-batch+json",
                        Value::Array(events).to_string(),
                    )
                };
                let r: Value = http
                    .post(&url)
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await
                    .expect("post")
                    .json()
                    .await
                    .expect("answer");
                accepted += r["accepted"].as_u64().expect("accepted") as usize;
            }
        });
    }
    let mut accepted = 0;
    while let Some(r) = jobs.join_next().await {
        accepted += r.expect("client");
    }
    assert_eq!(accepted, total, "every event accepted once");
    total as f64 / started.elapsed().as_secs_f64()
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
            number("NAGARE_BENCH_EVENTS", 20_000),
            number("NAGARE_BENCH_PROBES", 500).min(999),
        )
    } else {
        (50, 200, 10)
    };
    let dir = TempDir::new("bench-events");
    let server = Server::start(&Backing::Sqlite(dir.path().join("data")), &[]);
    let http = Http::default();
    http.push(&server, PAY);
    http.push(&server, ON);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ids = waiting::start_waiting(&rt, &server, waiting);
    println!("events/sqlite: {waiting} instances waiting in a correlated listen");
    let mut id = 0;
    for (batch, clients) in [(1, 64), (100, 8), (1000, 2)] {
        let rate = rt.block_on(post(&server.url, id, events, batch, clients));
        id += events;
        println!(
            "events/sqlite: {events} events over HTTP, batches of {batch}, {clients} clients: {rate:.0} events/s (stored, then looked up in the index)"
        );
    }
    // The log is delivered behind the acknowledgements: a sentinel that starts an instance
    // shows when every event before it was delivered (and matched).
    let posted = Instant::now();
    let (s, _, _) = http.send(
        "POST",
        &server.api("/events"),
        Some("application/cloudevents+json"),
        Some(
            event(9_999_999, "start.me", usize::MAX)
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(s, 202);
    let deadline = Instant::now() + Duration::from_secs(600);
    while {
        let (_, v) = http.get(&server.api("/instances?namespace=bench&name=on-start&limit=10"));
        v["items"].as_array().unwrap().is_empty()
    } {
        assert!(Instant::now() < deadline, "the log was not delivered");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "events/sqlite: the rest of the log delivered {:.1} s after the last acknowledgement",
        posted.elapsed().as_secs_f64()
    );
    // Event → start of the first task of the instance it triggers (schedule.on), one at a time.
    let mut starts = Vec::new();
    for p in 0..probes {
        let sent = now_ms();
        let (s, _, _) = http.send(
            "POST",
            &server.api("/events"),
            Some("application/cloudevents+json"),
            Some(
                event(10_000_000 + p, "start.me", p)
                    .to_string()
                    .into_bytes(),
            ),
        );
        assert_eq!(s, 202);
        starts.push(sent);
    }
    let latencies = waiting::start_latencies(&server, probes + 1, &starts);
    let (p50, p99) = quantiles(latencies);
    println!(
        "events/sqlite: event → first task of the started instance (schedule.on), {probes} events one at a time: p50 {p50} ms, p99 {p99} ms"
    );
    // Event → the task after the listen of the instance it resumes.
    let mut resumes = Vec::new();
    for (n, instance) in ids.iter().enumerate().take(probes) {
        let sent = now_ms();
        http.send(
            "POST",
            &server.api("/events"),
            Some("application/cloudevents+json"),
            Some(
                event(20_000_000 + n, "payment.done", n)
                    .to_string()
                    .into_bytes(),
            ),
        );
        let done = http.wait(&server, instance, 30);
        assert_eq!(done["status"], "completed", "{done}");
        let paid = done["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "paid")
            .expect("the task after the listen");
        resumes.push(millis(&paid["startedAt"]) - sent);
    }
    let (p50, p99) = quantiles(resumes);
    println!(
        "events/sqlite: event → task after the listen of the instance it resumes (among {waiting} waiting), {probes} one at a time: p50 {p50} ms, p99 {p99} ms"
    );
}
