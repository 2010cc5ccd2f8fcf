//! Several `nagare serve` processes on one PostgreSQL share the instances: each drives the
//! instances it holds a lease on; when one is killed (`kill -9`), another takes its instances
//! over once their lease runs out, and no task runs on two nodes at once.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir};
use std::time::{Duration, Instant};

const LEASE: &str = "2s";

/// Each run of `work` logs when it starts and ends, with the node's name and a clock in ms.
const SLOW: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: slow, version: '1.0.0'}
do:
  - warmup: {wait: {milliseconds: 200}}
  - work:
      run:
        shell:
          command: 'echo "start $ID $(date +%s%3N)" >> "$LOG"; sleep 1.5; echo "end $ID $(date +%s%3N)" >> "$LOG"'
          environment: {LOG: '${ .log }', ID: '${ .id }'}
      output: {as: '${ $input }'}
  - finish: {set: {id: '${ .id }', done: true}}
"#;

fn start(backing: &Backing, name: &str) -> Server {
    Server::start(backing, &["--node", name, "--lease", LEASE])
}

#[test]
fn a_killed_node_s_instances_move_to_another() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let dir = TempDir::new("nodes");
    let log = dir.path().join("work.log");
    let http = Http::default();
    let a = start(&backing, "node-a");
    let b = start(&backing, "node-b");
    http.push(&a, SLOW);
    // Instances started on A are A's; those started on B are B's.
    let on_a: Vec<String> = (0..4)
        .map(|n| {
            http.start(
                &a,
                "test/slow/1.0.0",
                &json!({"log": log, "id": format!("a{n}")}),
            )
        })
        .collect();
    let on_b: Vec<String> = (0..2)
        .map(|n| {
            http.start(
                &b,
                "test/slow/1.0.0",
                &json!({"log": log, "id": format!("b{n}")}),
            )
        })
        .collect();
    // Kill A while its four runs of `work` are in progress: their processes have begun.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if (0..4).all(|n| text.contains(&format!("start a{n} "))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "work did not start on A: {text}\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed_at = now_ms();
    let killed = Instant::now();
    a.kill();
    for id in on_a.iter().chain(&on_b) {
        let done = http.wait(&b, id, 30);
        assert_eq!(done["status"], "completed", "{done:#}\n{}", b.log());
        assert_eq!(done["output"]["done"], true);
    }
    // Taken over within the lease (plus a tick) and the rerun of the 1.5 s task.
    let took = killed.elapsed();
    assert!(
        took < Duration::from_millis(2000 + 1000 + 1500 + 1500),
        "took {took:?}"
    );
    // No run of `work` overlaps another run of the same instance, and B's reruns of A's
    // instances began after A died (A's processes died with it).
    let text = std::fs::read_to_string(&log).unwrap();
    for id in on_a.iter().chain(&on_b) {
        let instance = http.instance(&b, id);
        let tag = instance["input"]["id"].as_str().unwrap().to_string();
        let mut open: Option<i64> = None;
        let mut starts = Vec::new();
        for line in text.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            if parts[1] != tag {
                continue;
            }
            let at: i64 = parts[2].parse().unwrap();
            match parts[0] {
                "start" => {
                    if let Some(prev) = open
                        && tag.starts_with('b')
                    {
                        panic!("{tag}: a second run started at {at} while the one of {prev} ran");
                    }
                    open = Some(at);
                    starts.push(at);
                }
                _ => open = None,
            }
        }
        if tag.starts_with('a') {
            // A's run was cut short by the kill; B's rerun started after it.
            assert_eq!(starts.len(), 2, "{tag}: {text}");
            assert!(starts[1] >= killed_at, "{tag} reran before A died: {text}");
        } else {
            assert_eq!(starts.len(), 1, "{tag} ran once on B: {text}");
        }
    }
    // The killed node's instances are listed with their new owner.
    let (_, page) = http.get(&b.api("/instances?namespace=test&name=slow&limit=100"));
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert!(items.iter().all(|i: &Value| i["status"] == "completed"));
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `run: workflow` resolves subflows from the store: one uploaded to another node after this
/// node started is found.
#[test]
fn a_subflow_uploaded_to_another_node_runs_here() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let http = Http::default();
    let a = start(&backing, "node-a");
    let b = start(&backing, "node-b");
    http.push(
        &a,
        r#"
document: {dsl: '1.0.3', namespace: test, name: parent, version: '1.0.0'}
do:
  - child:
      run:
        workflow: {namespace: test, name: child, version: '1.0.0', input: {n: '${ .n }'}}
"#,
    );
    http.push(
        &b,
        r#"
document: {dsl: '1.0.3', namespace: test, name: child, version: '1.0.0'}
do:
  - double: {set: {doubled: '${ .n * 2 }'}}
"#,
    );
    let id = http.start(&a, "test/parent/1.0.0", &json!({"n": 21}));
    let done = http.wait(&a, &id, 30);
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(done["output"], json!({"doubled": 42}));
}

/// A node stopped with SIGTERM gives its leases back: another node takes its instances over at
/// once, not after the lease (here 30 s) runs out.
#[test]
fn a_stopped_node_hands_its_instances_over_at_once() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let http = Http::default();
    let a = Server::start(&backing, &["--node", "node-a", "--lease", "30s"]);
    let b = Server::start(&backing, &["--node", "node-b", "--lease", "30s"]);
    http.push(
        &a,
        r#"
document: {dsl: '1.0.3', namespace: test, name: pause, version: '1.0.0'}
do:
  - pause: {wait: {seconds: 2}}
  - done: {set: {done: true}}
"#,
    );
    let id = http.start(&a, "test/pause/1.0.0", &json!({}));
    http.until(&a, &id, Duration::from_secs(20), "the wait", |v| {
        v["status"] == "waiting"
            && v["tasks"]
                .as_array()
                .is_some_and(|ts| ts.iter().any(|t| t["name"] == "pause"))
    });
    let stopped = Instant::now();
    a.stop();
    let done = http.wait(&b, &id, 30);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", b.log());
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "took {:?}",
        stopped.elapsed()
    );
}

/// Waits two seconds, then appends a line to the log (a task whose run can be counted).
const PAUSED: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: paused, version: '1.0.0'}
do:
  - pause: {wait: PT2S}
  - note:
      run:
        shell:
          command: 'echo "ran $ID" >> "$LOG"'
          environment: {LOG: '${ .log }', ID: '${ .id }'}
"#;

/// Spins in one evaluation for as long as its node lets it (after a first durable step, so
/// that the instance is stored before its node gets stuck).
const SPIN: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: spin, version: '1.0.0'}
do:
  - first: {wait: {milliseconds: 100}}
  - spin: {set: {n: '${ last(repeat(1)) }'}}
"#;

/// A node whose engine thread is stuck (here: one evaluation that its node lets run for 4 s,
/// twice the lease) says so on /readyz and /healthz, gives its leases up without the engine's
/// help, and another node takes its instances over; when the engine is back, the node is
/// ready again and runs none of them a second time.
#[test]
fn a_node_with_a_stuck_engine_gives_its_instances_up() {
    let db = postgres::database();
    let backing = Backing::Postgres(db.url().to_string());
    let dir = TempDir::new("nodes");
    let log = dir.path().join("paused.log");
    let http = Http::default();
    let stuck = Server::start(
        &backing,
        &[
            "--node",
            "node-stuck",
            "--lease",
            LEASE,
            "--eval-steps",
            "1000000000000000",
            "--eval-time",
            "4s",
        ],
    );
    let other = Server::start(
        &backing,
        &[
            "--node",
            "node-other",
            "--lease",
            LEASE,
            "--eval-time",
            "1s",
        ],
    );
    http.push(&stuck, PAUSED);
    http.push(&stuck, SPIN);
    let paused = http.start(&stuck, "test/paused/1.0.0", &json!({"log": log, "id": "p"}));
    http.until(
        &stuck,
        &paused,
        Duration::from_secs(30),
        "the pause to begin",
        |v| v["status"] == "waiting",
    );
    let spin = http.start(&stuck, "test/spin/1.0.0", &json!({}));
    // The stuck node says so, without its engine's help.
    let ready = server::until(
        &stuck,
        "the stuck node to be unready",
        || http.get(&format!("{}/readyz", stuck.url)),
        |(s, v)| *s == 503 && v["engine"]["status"] == "stuck",
    );
    assert!(
        ready.1["engine"]["detail"]
            .as_str()
            .unwrap()
            .contains("busy with one batch"),
        "{ready:?}"
    );
    let (s, health) = http.get(&format!("{}/healthz", stuck.url));
    assert_eq!(
        s, 200,
        "alive, though stuck for less than a lease: {health}"
    );
    assert_eq!(health["engine"]["status"], "stuck");
    // The other node takes both over: the paused one completes there, once; the spin runs
    // out of the other node's time budget.
    let done = http.wait(&other, &paused, 60);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", other.log());
    let again = http.wait(&other, &spin, 60);
    assert_eq!(again["status"], "faulted", "{again:#}");
    assert!(
        again["error"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("ran longer than")),
        "{again:#}"
    );
    assert!(
        stuck.log().contains("giving its leases up"),
        "{}",
        stuck.log()
    );
    // Back from its spin, the stuck node is ready again, and ran nothing twice.
    server::until(
        &stuck,
        "the stuck node to be ready again",
        || http.get(&format!("{}/readyz", stuck.url)),
        |(s, v)| *s == 200 && v["leases"]["status"] == "ok",
    );
    let later = http.start(&stuck, "test/paused/1.0.0", &json!({"log": log, "id": "q"}));
    assert_eq!(http.wait(&stuck, &later, 60)["status"], "completed");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran p\nran q\n");
}
