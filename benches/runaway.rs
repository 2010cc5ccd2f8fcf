//! What runaway expressions cost everyone else on a node: a real `nagare serve` (SQLite)
//! runs trivial instances alone, then the same number while runaway instances evaluate,
//! and reports the trivial ones' start→end latency (p50, p99) both ways, and how the runaway
//! ones ended (they must fault with the budget's error).
//!
//! A runaway instance is a `for` whose every iteration spins (`last(repeat(1))`) inside a
//! `try` that catches the step budget's error: its one step evaluates spin after spin, until
//! the step's time budget (`--eval-time`, 1 s by default, shared by the step's evaluations)
//! voids it and faults the instance. So each holds the engine thread for about the time
//! budget, once.
//!
//! `cargo bench --bench runaway` measures (NAGARE_BENCH_TRIVIAL, default 100;
//! NAGARE_BENCH_RUNAWAY, default 5); `cargo test --benches` runs it small and checks the
//! outcomes.

#[path = "../tests/support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Server, TempDir};
use std::time::{Duration, Instant};

const TRIVIAL: &str = r#"
document: {dsl: '1.0.3', namespace: bench, name: trivial, version: '1.0.0'}
do:
  - a: {set: {a: 1}}
  - b: {set: {b: '${ .a + 1 }'}}
"#;

const RUNAWAY: &str = r#"
document: {dsl: '1.0.3', namespace: bench, name: runaway, version: '1.0.0'}
do:
  - spins:
      for: {each: i, in: '${ [range(1000)] }'}
      do:
        - guarded:
            try:
              - spin: {set: {n: '${ last(repeat(1)) }'}}
            catch:
              do:
                - next: {set: {caught: true}}
"#;

/// Starts `n` trivial instances from `clients` threads; their start→end latencies, sorted.
fn trivial(url: &str, n: usize, clients: usize) -> Vec<Duration> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (next, url) = (next.clone(), url.to_string());
            std::thread::spawn(move || {
                let http = server::Http::default();
                let mut seen = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    let t0 = Instant::now();
                    let (s, v) = http.post_json(
                        &format!("{url}/api/v1/workflows/bench/trivial/1.0.0/instances"),
                        &json!({}),
                    );
                    assert_eq!(s, 201, "{v}");
                    let id = v["id"].as_str().unwrap().to_string();
                    let (s, done) = http.get(&format!("{url}/api/v1/instances/{id}?wait=120"));
                    assert_eq!(s, 200);
                    assert_eq!(done["status"], "completed", "{done}");
                    seen.push(t0.elapsed());
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all
}

fn at(all: &[Duration], q: f64) -> f64 {
    all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let number = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n, runaways) = if measuring {
        (
            number("NAGARE_BENCH_TRIVIAL", 100),
            number("NAGARE_BENCH_RUNAWAY", 5),
        )
    } else {
        (20, 2)
    };
    let dir = TempDir::new("bench-runaway");
    let server = Server::start(&Backing::Sqlite(dir.path().join("data")), &[]);
    let http = server::Http::default();
    http.push(&server, TRIVIAL);
    http.push(&server, RUNAWAY);
    // Warm-up: the definition compiled, connections open.
    trivial(&server.url, 10, 10);
    let alone = trivial(&server.url, n, 10);
    // The runaway ones are started from threads of their own (a start is answered once its
    // first step is committed, which is after the spin), the trivial ones right after the
    // first runaway start is on its way, so that they overlap.
    let started = Instant::now();
    let starters: Vec<_> = (0..runaways)
        .map(|_| {
            let url = server.url.clone();
            std::thread::spawn(move || {
                let (s, v) = server::Http::default().post_json(
                    &format!("{url}/api/v1/workflows/bench/runaway/1.0.0/instances"),
                    &json!({}),
                );
                assert_eq!(s, 201, "{v}");
                v["id"].as_str().unwrap().to_string()
            })
        })
        .collect();
    // A head start for the runaway starts (the measurement, not an assertion, depends on it:
    // the figures say how many trivial instances waited behind a runaway step).
    std::thread::sleep(Duration::from_millis(50));
    let loaded = trivial(&server.url, n, 10);
    let ids: Vec<String> = starters.into_iter().map(|t| t.join().unwrap()).collect();
    let mut ended = Vec::new();
    for id in &ids {
        let done: Value = http.wait(&server, id, 300);
        assert_eq!(done["status"], "faulted", "{done:#}");
        assert_eq!(
            done["error"]["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
            "{done:#}"
        );
        let detail = done["error"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("ran longer than"), "{detail}");
        ended.push(server::millis(&done["endedAt"]) - server::millis(&done["startedAt"]));
    }
    println!(
        "runaway/sqlite: {n} trivial instances alone: start→end p50 {:.1} ms, p99 {:.1} ms",
        at(&alone, 0.5),
        at(&alone, 0.99)
    );
    println!(
        "runaway/sqlite: {n} trivial instances with {runaways} runaway ones: start→end p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(&loaded, 0.5),
        at(&loaded, 0.99),
        at(&loaded, 1.0)
    );
    println!(
        "runaway/sqlite: the runaway instances faulted with the time budget's error after {:?} ms each ({:.1} s for all)",
        ended,
        started.elapsed().as_secs_f64()
    );
    server.stop();
}
