//! Runs by logical date on the real server: backfill within `maxActiveRuns`, no duplicate
//! runs (also with two nodes), rerun, ad-hoc runs, the run's input, pause, the schedule
//! queuing due runs. On both stores.

#[path = "support/postgres.rs"]
mod postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir, millis, most_at_once};
use std::time::{Duration, Instant};

on_both_stores!(backfill, schedule_and_pause);

/// A daily pipeline: two runs at most at once; each run takes a little while.
const DAILY: &str = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: daily
  version: '1.0.0'
  metadata:
    nagare: {startDate: '2026-11-01', timezone: Europe/Paris, maxActiveRuns: 2}
schedule:
  cron: '0 0 * * *'
do:
  - work: {wait: {milliseconds: 300}}
  - report:
      set:
        day: '${ .logicalDate }'
        from: '${ .dataInterval.start }'
        kind: '${ .runKind }'
"#;

fn runs(http: &Http, server: &Server, query: &str) -> Vec<Value> {
    let (s, v) = http.get(&server.api(&format!("/workflows/test/daily/runs{query}")));
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

fn until_all_ended(http: &Http, server: &Server, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let items = runs(http, server, "");
        let ended = items
            .iter()
            .filter(|r| {
                matches!(
                    r["status"].as_str(),
                    Some("completed" | "faulted" | "cancelled")
                )
            })
            .count();
        if items.len() == count && ended == count {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "runs did not end: {items:#?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn backfill(backing: &Backing) {
    let http = Http::default();
    let server = Server::start(backing, &[]);
    // Ends on the 24th, so the schedule's own latest due run is the last day of the week
    // backfilled here, whatever the day the tests run.
    http.push(
        &server,
        &DAILY.replace(
            "maxActiveRuns: 2}",
            "maxActiveRuns: 2, endDate: '2026-11-24'}",
        ),
    );
    let body = json!({"from": "2026-11-18", "to": "2026-11-24"});
    let (s, v) = http.post_json(&server.api("/workflows/test/daily/backfill"), &body);
    assert_eq!(s, 202, "{v}");
    // The schedule itself may have queued the latest due date (the 24th) first.
    let week: Vec<String> = (18..=24).map(|d| format!("2026-11-{d}")).collect();
    let queued: Vec<String> = serde_json::from_value(v["queued"].clone()).unwrap();
    assert!(queued == week || queued == week[..6], "{v}");
    let items = until_all_ended(&http, &server, 7);
    assert!(
        items.iter().all(|r| r["status"] == "completed"),
        "{items:#?}"
    );
    assert!(
        most_at_once(&items) <= 2,
        "maxActiveRuns 2 broken: {items:#?}"
    );
    // Oldest first: each run started no earlier than the one before it.
    let starts: Vec<i64> = items.iter().map(|r| millis(&r["startedAt"])).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    // The run's input: its logical date in the workflow's zone and its data interval.
    let first = http.instance(&server, items[0]["instance"].as_str().unwrap());
    assert_eq!(
        first["output"],
        json!({"day": "2026-11-18", "from": "2026-11-17T23:00:00Z", "kind": "backfill"})
    );
    // The same range again: nothing new (runs are unique per date).
    let (_, again) = http.post_json(&server.api("/workflows/test/daily/backfill"), &body);
    assert_eq!(again["queued"], json!([]), "{again}");
    assert_eq!(again["skipped"], 7);
    let days: Vec<String> = items
        .iter()
        .map(|r| r["logicalDate"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(days, week);
    // Rerun of two dates: they run again, with new instances.
    let (_, rerun) = http.post_json(
        &server.api("/workflows/test/daily/backfill"),
        &json!({"from": "2026-11-20", "to": "2026-11-21", "rerun": true}),
    );
    assert_eq!(
        rerun["queued"],
        json!(["2026-11-20", "2026-11-21"]),
        "{rerun}"
    );
    let after = until_all_ended(&http, &server, 7);
    assert_ne!(after[2]["instance"], items[2]["instance"]);
    assert_eq!(after[0]["instance"], items[0]["instance"]);
    // An ad-hoc run for one date; the same date again is a conflict; off the grid is refused.
    let (s, v) = http.post_json(
        &server.api("/workflows/test/daily/runs"),
        &json!({"logicalDate": "2026-11-10"}),
    );
    assert_eq!(s, 201, "{v}");
    let (s, _) = http.post_json(
        &server.api("/workflows/test/daily/runs"),
        &json!({"logicalDate": "2026-11-10"}),
    );
    assert_eq!(s, 409);
    let (s, v) = http.post_json(
        &server.api("/workflows/test/daily/runs"),
        &json!({"logicalDate": "2026-11-10T13:00"}),
    );
    assert_eq!(s, 422, "{v}");
    let items = until_all_ended(&http, &server, 8);
    assert_eq!(items[0]["logicalDate"], "2026-11-10");
    assert_eq!(items[0]["kind"], "manual");
    // Bad requests.
    let (s, _) = http.post_json(
        &server.api("/workflows/test/daily/backfill"),
        &json!({"from": "yesterday"}),
    );
    assert_eq!(s, 400);
    let (s, _) = http.post_json(&server.api("/workflows/test/nothing/backfill"), &body);
    assert_eq!(s, 404);
}

/// Every second, from a start date far back, without catchup: one run per due second.
const TICKING: &str = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: ticking
  version: '1.0.0'
  metadata:
    nagare: {startDate: '2026-01-01', catchup: false}
schedule:
  every: {seconds: 1}
do:
  - tick: {set: {at: '${ .logicalTime }'}}
"#;

fn count(http: &Http, server: &Server) -> usize {
    let (_, v) = http.get(&server.api("/workflows/test/ticking/runs"));
    v["items"].as_array().map_or(0, Vec::len)
}

fn schedule_and_pause(backing: &Backing) {
    let http = Http::default();
    let server = Server::start(backing, &[]);
    http.push(&server, TICKING);
    // Due runs are queued as they fall due, one per second (no catchup of the months before).
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&http, &server) < 3 {
        assert!(
            Instant::now() < deadline,
            "no scheduled runs: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(count(&http, &server) <= 5);
    let (s, v) = http.post_json(&server.api("/workflows/test/ticking/pause"), &json!({}));
    assert_eq!(s, 200, "{v}");
    std::thread::sleep(Duration::from_millis(300));
    let paused = count(&http, &server);
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(
        count(&http, &server),
        paused,
        "runs were queued while paused"
    );
    http.post_json(&server.api("/workflows/test/ticking/unpause"), &json!({}));
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&http, &server) <= paused {
        assert!(Instant::now() < deadline, "no runs after unpause");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, v) = http.get(&server.api("/workflows/test/ticking/runs"));
    for r in v["items"].as_array().unwrap() {
        assert_eq!(r["kind"], "scheduled");
    }
}

/// Two nodes backfilling the same range at once: each date has one run, run once.
#[test]
fn two_nodes_never_duplicate_runs() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let a = Server::start(&backing, &["--node", "a"]);
    let b = Server::start(&backing, &["--node", "b"]);
    let http = Http::default();
    // Ends on the 10th, so the schedule's own latest run falls in the range too.
    http.push(
        &a,
        &DAILY.replace(
            "maxActiveRuns: 2}",
            "maxActiveRuns: 2, endDate: '2026-11-10'}",
        ),
    );
    let body = json!({"from": "2026-11-01", "to": "2026-11-10"});
    let (ua, ub) = (
        a.api("/workflows/test/daily/backfill"),
        b.api("/workflows/test/daily/backfill"),
    );
    let t = std::thread::spawn(move || Http::default().post_json(&ub, &body));
    let (_, va) = http.post_json(&ua, &json!({"from": "2026-11-01", "to": "2026-11-10"}));
    let (_, vb) = t.join().unwrap();
    // No date was queued by both nodes (the scheduler may have queued the 10th itself).
    let a_dates = va["queued"].as_array().unwrap();
    let b_dates = vb["queued"].as_array().unwrap();
    assert!(a_dates.iter().all(|d| !b_dates.contains(d)), "{va} {vb}");
    assert!(a_dates.len() + b_dates.len() >= 9, "{va} {vb}");
    let items = until_all_ended(&http, &a, 10);
    assert!(items.iter().all(|r| r["status"] == "completed"));
    assert!(
        most_at_once(&items) <= 2,
        "maxActiveRuns across nodes: {items:#?}"
    );
    let (_, all) = http.get(&a.api("/instances?namespace=test&name=daily&limit=100"));
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        10,
        "one instance per date"
    );
}

/// `nagare backfill … --wait` queues the range and shows runs done / total until the end.
#[test]
fn backfill_command_shows_progress() {
    let dir = TempDir::new("runs");
    let server = Server::start(&Backing::Sqlite(dir.path().join("data")), &[]);
    let http = Http::default();
    http.push(&server, DAILY);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args([
            "backfill",
            "test/daily",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-05",
            "--wait",
        ])
        .args(["--server", &server.url])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("5/5 runs done"), "{stderr}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["queued"].as_array().unwrap().len(), 5);
    // Listing and pausing through the client too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args([
            "runs",
            "test/daily",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-03",
        ])
        .args(["--server", &server.url])
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["logicalDate"], "2026-11-02");
    assert_eq!(lines[0]["status"], "completed");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["pause", "test/daily", "--server", &server.url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (_, settings) = http.get(&server.api("/workflows/test/daily/settings"));
    assert_eq!(settings["paused"], true);
    assert_eq!(settings["maxActiveRuns"], 2);
    assert_eq!(settings["timezone"], "Europe/Paris");
    // Overrides through the API: applied when valid, refused (and not kept) when not.
    let patch = |body: Value| {
        http.send(
            "PATCH",
            &server.api("/workflows/test/daily/settings"),
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        )
    };
    let (s, v, _) = patch(json!({"maxActiveRuns": 5}));
    assert_eq!((s, &v["maxActiveRuns"]), (200, &json!(5)), "{v}");
    let (s, v, _) = patch(json!({"maxActiveRuns": 0}));
    assert_eq!(s, 400, "{v}");
    let (s, v, _) = patch(json!({"endDate": "2026-10-01"}));
    assert_eq!(s, 400, "an end before the start: {v}");
    let (_, settings) = http.get(&server.api("/workflows/test/daily/settings"));
    assert_eq!(settings["maxActiveRuns"], 5);
    assert_eq!(settings["endDate"], Value::Null);
    let (s, v, _) = patch(json!({"maxActiveRuns": null}));
    assert_eq!((s, &v["maxActiveRuns"]), (200, &json!(2)), "{v}");
}
