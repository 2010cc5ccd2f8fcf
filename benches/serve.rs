//! Drives a real `nagare serve` over HTTP: instances of a 10-task workflow completed per
//! second, and the latency from the start request to the instance's end (p50, p99), with the
//! SQLite store and with PostgreSQL.
//!
//! Two workflows: `ten-sets` (10 `set` tasks: the instance runs in one engine step, one
//! commit) and `ten-waits` (10 zero-length `wait` tasks: each task is an effect whose result is
//! persisted before the next task starts, so 10 durable steps per instance — what the group
//! commit is for).
//!
//! `cargo bench --bench serve` measures (NAGARE_BENCH_INSTANCES, default 2000, and
//! NAGARE_BENCH_CLIENTS, default 64); `cargo test --benches` runs it once, small, and checks
//! that every instance completed.

#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "../tests/support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Server, TempDir};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn workflow(name: &str, task: &str) -> String {
    let tasks: String = (1..=10)
        .map(|n| format!("  - t{n}: {}\n", task.replace("N", &n.to_string())))
        .collect();
    format!(
        "document: {{dsl: '1.0.3', namespace: bench, name: {name}, version: '1.0.0'}}\ndo:\n{tasks}"
    )
}

struct Report {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn drive(url: &str, name: &str, instances: usize, clients: usize) -> Report {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut jobs = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, next, url) = (http.clone(), next.clone(), url.to_string());
        let start_url = format!("{url}/api/v1/workflows/bench/{name}/1.0.0/instances");
        jobs.spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < instances {
                let t0 = Instant::now();
                let r: Value = http
                    .post(&start_url)
                    .json(&json!({"n": 1}))
                    .send()
                    .await
                    .expect("start")
                    .json()
                    .await
                    .expect("start answer");
                let id = r["id"].as_str().expect("an id").to_string();
                let done: Value = http
                    .get(format!("{url}/api/v1/instances/{id}?wait=60"))
                    .send()
                    .await
                    .expect("wait")
                    .json()
                    .await
                    .expect("instance");
                assert_eq!(done["status"], "completed", "{done}");
                latencies.push(t0.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(r) = jobs.join_next().await {
        all.extend(r.expect("client"));
    }
    let elapsed = started.elapsed();
    assert_eq!(all.len(), instances);
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Report {
        per_second: instances as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn bench(store: &str, backing: &Backing, instances: usize, clients: usize) {
    let server = Server::start(backing, &[]);
    let http = server::Http::default();
    http.push(&server, &workflow("ten-sets", "{set: {tN: true}}"));
    http.push(&server, &workflow("ten-waits", "{wait: {milliseconds: 0}}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for name in ["ten-sets", "ten-waits"] {
        // A short warm-up: definitions compiled, connections open.
        rt.block_on(drive(&server.url, name, clients.min(instances), clients));
        let r = rt.block_on(drive(&server.url, name, instances, clients));
        println!(
            "serve/{store}/{name}: {instances} instances, {clients} clients: {:.0} instances/s, start→end p50 {:.1} ms, p99 {:.1} ms",
            r.per_second,
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    // `cargo test --benches` passes no `--bench`: run small, as a test.
    let measuring = std::env::args().any(|a| a == "--bench");
    let number = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (instances, clients) = if measuring {
        (
            number("NAGARE_BENCH_INSTANCES", 2000),
            number("NAGARE_BENCH_CLIENTS", 64),
        )
    } else {
        (40, 8)
    };
    let dir = TempDir::new("bench-serve");
    bench(
        "sqlite",
        &Backing::Sqlite(dir.path().join("data")),
        instances,
        clients,
    );
    let db = postgres::database();
    bench(
        "postgres",
        &Backing::Postgres(db.url().to_string()),
        instances,
        clients,
    );
}
