//! PostgreSQL stopped under a running server: the API answers 503 with `Retry-After` (not
//! 422, not 500) for as long as the database is away, the process stays up, and once the
//! database is back the same requests succeed, an instance that was running before the
//! outage completes, and new instances run. A cluster of the test's own is stopped
//! (`support/private_postgres.rs`): the shared one serves other tests meanwhile.

use super::private_postgres::Cluster;
use super::server::{Backing, Http, Server};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Generous: how long a signal may take to show (each request during the outage may wait
/// the store's connection timeout before it answers).
const DEADLINE: Duration = Duration::from_secs(180);

const DAILY: &str = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: daily
  version: '1.0.0'
  metadata:
    nagare: {startDate: '2026-11-01', catchup: false}
schedule:
  cron: '0 0 * * *'
do:
  - work: {set: {day: '${ .logicalDate }'}}
"#;

/// An answer with its `Retry-After` header.
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

fn send(method: &str, url: &str, body: Option<&Value>) -> Answer {
    super::runtime().block_on(async {
        let mut r = reqwest::Client::new()
            .request(method.parse().unwrap(), url)
            .timeout(Duration::from_secs(90));
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = r.send().await.expect("the server answers");
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let text = r.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            retry_after,
        }
    })
}

/// Asks until the answer has `status`; panics with the last answer after [`DEADLINE`].
fn until_status(
    server: &Server,
    method: &str,
    url: &str,
    body: Option<&Value>,
    status: u16,
) -> Answer {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let answer = send(method, url, body);
        if answer.status == status {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{method} {url} never answered {status}; last {} {}\n--- server log ---\n{}",
            answer.status,
            answer.body,
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_unavailable(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 503, "{what}: {}", answer.body);
    let seconds: u32 = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("{what}: a 503 without Retry-After"))
        .parse()
        .expect("Retry-After in seconds");
    assert!(seconds >= 1, "{what}: Retry-After {seconds}");
    super::assert_problem(&answer.body, 503);
}

#[test]
fn postgres_stopped_under_a_running_server() {
    let cluster = Cluster::start();
    let mut server = Server::start(&Backing::Postgres(cluster.url()), &[]);
    let http = Http::default();
    http.push(&server, super::HELLO);
    http.push(&server, DAILY);
    http.push(&server, &super::waiter("outlasting", 4000));
    let first = http.start(&server, "test/hello/1.0.0", &json!({"name": "before"}));
    assert_eq!(http.wait(&server, &first, 60)["status"], "completed");
    // Waits past the outage: it must complete once the database is back.
    let outlasting = http.start(&server, "test/outlasting/1.0.0", &json!({}));

    cluster.stop();
    let list = server.api("/instances");
    let backfill = server.api("/workflows/test/daily/backfill");
    let range = json!({"from": "2026-11-02", "to": "2026-11-03"});
    let answer = until_status(&server, "GET", &list, None, 503);
    assert_unavailable(&answer, "GET /instances");
    // The rest answer 503 too while the database is down: reads, run control, writes that go
    // through the engine's group commit.
    let start = server.api("/workflows/test/hello/1.0.0/instances");
    for (method, url, body) in [
        ("POST", &backfill, Some(&range)),
        ("GET", &server.api("/workflows"), None),
        ("GET", &server.api(&format!("/instances/{first}")), None),
        ("GET", &server.api("/workflows/test/daily/runs"), None),
        ("POST", &start, Some(&json!({"name": "during"}))),
    ] {
        assert_unavailable(&send(method, url, body), &format!("{method} {url}"));
    }
    // Liveness does not depend on the store, and the process is still there.
    assert_eq!(
        send("GET", &format!("{}/healthz", server.url), None).status,
        200
    );
    assert!(server.is_running(), "the server exited: {}", server.log());
    // Readiness says which part is unwell.
    let ready = until_status(&server, "GET", &format!("{}/readyz", server.url), None, 503);
    assert_eq!(
        ready.body["store"]["status"], "unreachable",
        "{}",
        ready.body
    );

    cluster.resume();
    let ready = until_status(&server, "GET", &format!("{}/readyz", server.url), None, 200);
    assert_eq!(ready.body["store"]["status"], "ok", "{}", ready.body);
    let answer = until_status(&server, "GET", &list, None, 200);
    assert!(answer.retry_after.is_none());
    let answer = until_status(&server, "POST", &backfill, Some(&range), 202);
    assert_eq!(
        answer.body["queued"],
        json!(["2026-11-02", "2026-11-03"]),
        "{}",
        answer.body
    );
    assert!(server.is_running(), "the server exited: {}", server.log());
    // The engine, lease and runs loops went on: the instance from before the outage ends,
    // a new one runs, and the backfilled runs are carried out.
    let deadline = Instant::now() + DEADLINE;
    let until_ended = |id: &str| loop {
        let v = http.wait(&server, id, 30);
        if v["status"] == "completed" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} did not complete: {v}\n{}",
            server.log()
        );
    };
    until_ended(&outlasting);
    let after = http.start(&server, "test/hello/1.0.0", &json!({"name": "after"}));
    until_ended(&after);
    assert_eq!(
        http.instance(&server, &after)["output"],
        json!({"message": "hello after"})
    );
    let runs = server.api("/workflows/test/daily/runs?from=2026-11-02&to=2026-11-03");
    loop {
        let (s, v) = http.get(&runs);
        assert_eq!(s, 200, "{v}");
        let statuses: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["status"].as_str())
            .collect();
        if statuses == ["completed", "completed"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "backfilled runs: {v}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.is_running());
}
