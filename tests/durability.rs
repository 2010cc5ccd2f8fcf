//! Crash safety of `nagare serve`, for real: spawn the binary, `kill -9` it mid-run, start it
//! again on the same store, and check the outcome and the task history. On both stores.
//!
//! What must hold: completed tasks are not run again (their side effects — lines appended to a
//! log file by shell tasks — appear once, except for the one task in flight at a kill, which
//! is at-least-once); waits end at their original deadline; retries keep their attempt count.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir};
use std::time::{Duration, Instant};

/// Runs `check` on a fresh SQLite data directory.
fn sqlite(check: fn(&Backing, &TempDir)) {
    let dir = TempDir::new("durability");
    let backing = Backing::Sqlite(dir.path().join("data"));
    check(&backing, &dir);
}

/// Runs `check` on a fresh PostgreSQL database.
fn postgres(check: fn(&Backing, &TempDir)) {
    let db = postgres::database();
    let dir = TempDir::new("durability");
    check(&Backing::Postgres(db.url().to_string()), &dir);
}

/// A restarted node keeps its name, so it gets its instances back at once.
const NODE: [&str; 2] = ["--node", "durability"];

const STEPS: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: steps, version: '1.0.0'}
do:
  - first:
      run:
        shell:
          command: 'echo first >> "$LOG"'
          environment: {LOG: '${ .log }'}
      output: {as: '${ $input }'}
  - pause:
      wait: {seconds: 3}
  - second:
      run:
        shell:
          command: 'echo second >> "$LOG"'
          environment: {LOG: '${ .log }'}
      output: {as: '${ $input }'}
  - done:
      set: {finished: true, log: '${ .log }'}
"#;

fn task<'a>(instance: &'a Value, name: &str) -> Vec<&'a Value> {
    instance["tasks"]
        .as_array()
        .map(|ts| ts.iter().filter(|t| t["name"] == name).collect())
        .unwrap_or_default()
}

fn millis(rfc3339: &Value) -> i64 {
    rfc3339
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .unwrap_or_else(|| panic!("not a timestamp: {rfc3339}"))
}

fn check_resume_after_kill(backing: &Backing, dir: &TempDir) {
    let http = Http::default();
    let log = dir.path().join("steps.log");
    let server = Server::start(backing, &NODE);
    http.push(&server, STEPS);
    let id = http.start(&server, "test/steps/1.0.0", &json!({"log": log}));
    http.until(
        &server,
        &id,
        Duration::from_secs(20),
        "the wait to start",
        |v| {
            task(v, "pause")
                .first()
                .is_some_and(|t| t["status"] == "running")
        },
    );
    server.kill();
    // Dead for a while: a wait that started over on restart would end 3 s after it.
    let killed = Instant::now();
    std::thread::sleep(Duration::from_millis(1200));
    let server = Server::start(backing, &NODE);
    let done = http.wait(&server, &id, 30);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", server.log());
    assert_eq!(done["output"], json!({"finished": true, "log": log}));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "first\nsecond\n");
    for name in ["first", "pause", "second", "done"] {
        let runs = task(&done, name);
        assert_eq!(runs.len(), 1, "{name} ran once: {done:#}");
        assert_eq!(runs[0]["status"], "completed", "{name}");
    }
    let pause = task(&done, "pause")[0];
    let waited = millis(&pause["endedAt"]) - millis(&pause["startedAt"]);
    assert!(
        (2900..4000).contains(&waited),
        "the wait ended {waited} ms after it started, not at its original deadline (3 s)"
    );
    assert!(killed.elapsed() < Duration::from_secs(10));
}

#[test]
fn resume_after_kill_sqlite() {
    sqlite(check_resume_after_kill);
}

#[test]
fn resume_after_kill_postgres() {
    postgres(check_resume_after_kill);
}

const FLAKY: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: flaky, version: '1.0.0'}
do:
  - attempt:
      try:
        - flaky:
            run:
              shell:
                command: 'echo x >> "$LOG"; exit 1'
                environment: {LOG: '${ .log }'}
      catch:
        as: failure
        retry:
          delay: {milliseconds: 700}
          limit:
            attempt: {count: 4}
        do:
          - gaveUp:
              set: {gaveUp: true}
"#;

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn check_retries_keep_count(backing: &Backing, dir: &TempDir) {
    let http = Http::default();
    let log = dir.path().join("flaky.log");
    let server = Server::start(backing, &NODE);
    http.push(&server, FLAKY);
    let id = http.start(&server, "test/flaky/1.0.0", &json!({"log": log}));
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines(&log) < 2 {
        assert!(
            Instant::now() < deadline,
            "no second attempt: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    let server = Server::start(backing, &NODE);
    let done = http.wait(&server, &id, 30);
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["output"], json!({"gaveUp": true}));
    let attempt = task(&done, "attempt");
    assert_eq!(attempt.len(), 1, "{done:#}");
    // 1 try + 4 retries, counted across the crash.
    assert_eq!(attempt[0]["attempts"], 5, "{done:#}");
    assert_eq!(task(&done, "flaky").len(), 5, "{done:#}");
    // The attempt in flight at the kill (if one was) may have run twice: at-least-once.
    let runs = lines(&log);
    assert!((5..=6).contains(&runs), "the process ran {runs} times");
}

#[test]
fn retries_keep_count_sqlite() {
    sqlite(check_retries_keep_count);
}

#[test]
fn retries_keep_count_postgres() {
    postgres(check_retries_keep_count);
}

const CHAIN: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: chain, version: '1.0.0'}
do:
  - t1: {run: {shell: {command: 'echo "$ID t1" >> "$LOG"; sleep 0.05', environment: {LOG: '${ .log }', ID: '${ .id }'}}}, output: {as: '${ $input }'}}
  - t2: {run: {shell: {command: 'echo "$ID t2" >> "$LOG"; sleep 0.05', environment: {LOG: '${ .log }', ID: '${ .id }'}}}, output: {as: '${ $input }'}}
  - t3: {run: {shell: {command: 'echo "$ID t3" >> "$LOG"; sleep 0.05', environment: {LOG: '${ .log }', ID: '${ .id }'}}}, output: {as: '${ $input }'}}
  - t4: {wait: {milliseconds: 150}}
  - t5: {run: {shell: {command: 'echo "$ID t5" >> "$LOG"; sleep 0.05', environment: {LOG: '${ .log }', ID: '${ .id }'}}}, output: {as: '${ $input }'}}
  - t6: {run: {shell: {command: 'echo "$ID t6" >> "$LOG"; sleep 0.05', environment: {LOG: '${ .log }', ID: '${ .id }'}}}, output: {as: '${ $input }'}}
  - t7: {set: {id: '${ .id }', done: true}}
"#;

/// Several instances, the server killed at random moments three times.
fn check_kill_at_random_points(backing: &Backing, dir: &TempDir) {
    let http = Http::default();
    let log = dir.path().join("chain.log");
    let mut server = Server::start(backing, &NODE);
    http.push(&server, CHAIN);
    let ids: Vec<String> = (0..6)
        .map(|n| http.start(&server, "test/chain/1.0.0", &json!({"log": log, "id": n})))
        .collect();
    let kills = 3;
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(fastrand::u64(50..400)));
        server.kill();
        server = Server::start(backing, &NODE);
    }
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    for (n, id) in ids.iter().enumerate() {
        let done = http.wait(&server, id, 60);
        assert_eq!(done["status"], "completed", "{done:#}\n{}", server.log());
        assert_eq!(done["output"], json!({"id": n, "done": true}));
        for t in ["t1", "t2", "t3", "t4", "t5", "t6", "t7"] {
            let runs = task(&done, t);
            let completed = runs.iter().filter(|r| r["status"] == "completed").count();
            assert_eq!(completed, 1, "{t} of instance {n} completed once: {done:#}");
        }
        // The side effects happened in order; a task repeats only if it was in flight at a kill.
        let mine: Vec<String> = text()
            .lines()
            .filter(|l| l.starts_with(&format!("{n} ")))
            .map(|l| l[2..].to_string())
            .collect();
        let mut distinct = mine.clone();
        distinct.dedup();
        assert_eq!(
            distinct,
            ["t1", "t2", "t3", "t5", "t6"],
            "instance {n}: {mine:?}"
        );
        assert!(mine.len() <= 5 + kills, "instance {n}: {mine:?}");
    }
}

#[test]
fn kill_at_random_points_sqlite() {
    sqlite(check_kill_at_random_points);
}

#[test]
fn kill_at_random_points_postgres() {
    postgres(check_kill_at_random_points);
}
