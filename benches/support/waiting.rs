//! What the event benchmarks share: instances made to wait in a correlated `listen` (started
//! over HTTP by 64 clients), the workflows they use, and quantiles.
#![allow(dead_code)]

use crate::server::{Http, Server};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Waits for `payment.done` of its own order, then runs `paid`.
pub const PAY: &str = r#"
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

/// Started by each `start.me` event.
pub const ON: &str = r#"
document: {dsl: '1.0.3', namespace: bench, name: on-start, version: '1.0.0'}
schedule:
  on:
    one:
      with: {type: start.me}
do:
  - first:
      set: {started: true}
"#;

pub fn event(id: usize, kind: &str, order: usize) -> Value {
    json!({"specversion": "1.0", "id": id.to_string(), "source": "https://bench.example.com",
           "type": kind, "data": {"order": order}})
}

/// Starts `n` instances of `pay` (orders 0..n) and returns their ids in order, once the last
/// one waits.
pub fn start_waiting(rt: &tokio::runtime::Runtime, server: &Server, n: usize) -> Vec<String> {
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
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return ids;
                    }
                    let r: Value = http
                        .post(&url)
                        .json(&json!({"order": i}))
                        .send()
                        .await
                        .expect("start")
                        .json()
                        .await
                        .expect("started");
                    ids.push((i, r["id"].as_str().expect("id").to_string()));
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
    let http = Http::default();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (_, v) =
            http.get(&server.api("/instances?namespace=bench&name=pay&status=waiting&limit=1000"));
        let last = ids.last().unwrap();
        let seen = v["items"].as_array().unwrap();
        if seen.iter().any(|i| i["id"] == *last) || seen.len() >= n.min(1000) {
            let (_, l) = http.get(&server.api(&format!("/instances/{last}")));
            if l["status"] == "waiting" {
                break;
            }
        }
        assert!(Instant::now() < deadline, "instances did not all wait");
        std::thread::sleep(Duration::from_millis(100));
    }
    ids
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// (p50, p99)
pub fn quantiles(mut v: Vec<i64>) -> (i64, i64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.5), at(0.99))
}

/// The instances of `bench/on-start` once there are `n`, all completed: the first task's
/// start minus `sent[order]` for each, skipping orders without a send time.
pub fn start_latencies(server: &Server, n: usize, sent: &[i64]) -> Vec<i64> {
    let http = Http::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, v) = http.get(&server.api("/instances?namespace=bench&name=on-start&limit=1000"));
        let items = v["items"].as_array().unwrap().clone();
        if items.len() == n && items.iter().all(|i| i["status"] == "completed") {
            let mut out = Vec::new();
            for i in items {
                let full = http.instance(server, i["id"].as_str().unwrap());
                let p = full["input"][0]["data"]["order"].as_u64().unwrap() as usize;
                if let Some(at) = sent.get(p) {
                    out.push(crate::server::millis(&full["tasks"][0]["startedAt"]) - at);
                }
            }
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "triggered instances did not all run"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
