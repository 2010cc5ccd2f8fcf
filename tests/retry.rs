//! Retry of one failed task: a faulted instance runs again from the step that failed it; the
//! tasks before it keep their outputs and are not run again. On both stores, through the API
//! and the client command.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
mod server;

use serde_json::json;
use server::{Backing, Http, Server, TempDir};
use std::process::Command;

const PIPELINE: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: fragile, version: '1.0.0'}
do:
  - prepare:
      run:
        shell:
          command: 'echo prepared >> "$LOG"; echo 41'
          environment: {LOG: '${ .log }'}
      output: {as: '${ {log: $input.log, flag: $input.flag, prepared: (. | tonumber)} }'}
  - fragile:
      run:
        shell:
          command: 'test -f "$FLAG" && echo attempted >> "$LOG"'
          environment: {LOG: '${ .log }', FLAG: '${ .flag }'}
      output: {as: '${ $input }'}
  - finish:
      set: {answer: '${ .prepared + 1 }'}
"#;

fn check(backing: &Backing, dir: &TempDir) {
    let http = Http::default();
    let log = dir.path().join("retry.log");
    let flag = dir.path().join("flag");
    let server = Server::start(backing, &[]);
    http.push(&server, PIPELINE);
    let id = http.start(
        &server,
        "test/fragile/1.0.0",
        &json!({"log": log, "flag": flag}),
    );
    let failed = http.wait(&server, &id, 30);
    assert_eq!(failed["status"], "faulted", "{failed:#}");
    // Retrying a completed or unknown instance is refused.
    let (s, _) = http.post_json(&server.api("/instances/nope/retry"), &json!({}));
    assert_eq!(s, 404);
    // The cause is fixed; retry with the client command.
    std::fs::write(&flag, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["instances", "retry", &id, "--server", &server.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = http.wait(&server, &id, 30);
    assert_eq!(done["status"], "completed", "{done:#}\n{}", server.log());
    assert_eq!(done["output"], json!({"answer": 42}));
    // `prepare` ran once: its output was kept, not recomputed.
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "prepared\nattempted\n"
    );
    let prepare: Vec<_> = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "prepare")
        .collect();
    assert_eq!(prepare.len(), 1);
    assert_eq!(prepare[0]["status"], "completed");
    let (s, v) = http.post_json(&server.api(&format!("/instances/{id}/retry")), &json!({}));
    assert_eq!(s, 409, "a completed instance is not retried: {v}");
}

#[test]
fn retry_from_the_failed_task_sqlite() {
    let dir = TempDir::new("retry");
    check(&Backing::Sqlite(dir.path().join("data")), &dir);
}

#[test]
fn retry_from_the_failed_task_postgres() {
    let db = postgres::database();
    let dir = TempDir::new("retry");
    check(&Backing::Postgres(db.url().to_string()), &dir);
}
