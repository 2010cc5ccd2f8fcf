//! Drives a real `nagare serve` (SQLite) with CloudEvents over HTTP while 10,000 instances
//! wait in a correlated `listen`: events accepted per second (each durably stored, then
//! delivered through the correlation index), single events and batches; and the latency from
//! posting an event to the start of the first task of the instance it triggers
//! (`schedule.on`), and of the task after a `listen` it resumes.
//!
//! `cargo bench --bench events` measures (NAGARE_BENCH_WAITING, default 10000;
//! NAGARE_BENCH_EVENTS, default 20000); `cargo test --benches` runs it small and checks every
//! event was accepted and every triggered instance ran.

#[path = "../tests/support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir, millis};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PAY: &str = r#"
document: {dsl: '1.0.3', namespace: bench, name: pay, version: '1.0.0'}
do:
  - wait-for-payment:
      listen:
        to:
          one:
            with: {type: payment.done}
            correlate:
              order: {from: '${ .data.order }', expect: '${ .order }'}
  - paid:
      set: {paid: true}
"#;

const ON: &str = r#"
document: {dsl: '1.0.3', namespace: bench, name: on-start, version: '1.0.0'}
schedule:
  on:
    one:
      with: {type: start.me}
do:
  - first:
      set: {started: true}
"#;

fn event(id: usize, kind: &str, order: usize) -> Value {
    json!({"specversion": "1.0", "id": id.to_string(), "source": "https://bench.example.com",
           "type": kind, "data": {"order": order}})
}

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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn quantiles(mut v: Vec<i64>) -> (i64, i64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.5), at(0.99))
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
            200,
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
    // The waiting instances (started by 64 clients).
    let ids: Vec<String> = rt.block_on(async {
        let http = reqwest::Client::new();
        let next = Arc::new(AtomicUsize::new(0));
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let (http, next) = (http.clone(), next.clone());
            let url = server.api("/workflows/bench/pay/1.0.0/instances");
            jobs.spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= waiting {
                        return ids;
                    }
                    let r: Value = http
                        .post(&url)
                        .json(&json!({"order": n}))
                        .send()
                        .await
                        .expect("start")
                        .json()
                        .await
                        .expect("started");
                    ids.push((n, r["id"].as_str().expect("id").to_string()));
                }
            });
        }
        let mut all = Vec::new();
        while let Some(r) = jobs.join_next().await {
            all.extend(r.expect("starter"));
        }
        all.sort();
        all.into_iter().map(|(_, id)| id).collect()
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (_, v) =
            http.get(&server.api("/instances?namespace=bench&name=pay&status=waiting&limit=1000"));
        let last = ids.last().unwrap();
        let seen = v["items"].as_array().unwrap();
        if seen.iter().any(|i| i["id"] == *last) || seen.len() >= waiting.min(1000) {
            let (_, l) = http.get(&server.api(&format!("/instances/{last}")));
            if l["status"] == "waiting" {
                break;
            }
        }
        assert!(Instant::now() < deadline, "instances did not all wait");
        std::thread::sleep(Duration::from_millis(100));
    }
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
    let deadline = Instant::now() + Duration::from_secs(60);
    let latencies = loop {
        let (_, v) = http.get(&server.api("/instances?namespace=bench&name=on-start&limit=1000"));
        let items = v["items"].as_array().unwrap().clone();
        if items.len() == probes + 1 && items.iter().all(|i| i["status"] == "completed") {
            let mut out = Vec::new();
            for i in items {
                let full = http.instance(&server, i["id"].as_str().unwrap());
                let p = full["input"][0]["data"]["order"].as_u64().unwrap() as usize;
                if p == usize::MAX {
                    continue;
                }
                out.push(millis(&full["tasks"][0]["startedAt"]) - starts[p]);
            }
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "triggered instances did not all run"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
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
