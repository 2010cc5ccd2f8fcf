//! No workflow can stall or crash nagare: expressions run within a budget, on the real
//! binary — `nagare run` (exit 1 and the JSON error, a journal that resumes to the same
//! fault) and `nagare serve` (the instance faults, the server keeps answering, also when it
//! restarts over a stored instance that runs into the bomb) — and what they compute does not
//! depend on the host's time zone.

#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir};
use std::process::Command;
use std::time::Duration;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn nagare(args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("nagare runs");
    Out {
        code: out
            .status
            .code()
            .expect("exited, not killed by a signal (an abort or a stack overflow)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The last line of stderr as JSON (the error of a faulted run).
fn error(out: &Out) -> Value {
    let line = out.stderr.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}", out.stderr))
}

const DEPTH_BOMB: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: depth-bomb, version: '1.0.0'}
do:
  - bomb:
      set:
        nested: '${ reduce range(100000) as $i (null; [.]) }'
"#;

#[test]
fn a_value_depth_bomb_faults_the_run_cleanly() {
    let dir = TempDir::new("containment");
    let file = write(&dir, "bomb.yaml", DEPTH_BOMB);
    let out = nagare(&["run", &file, "--eval-time", "600s"], &[]);
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let e = error(&out);
    assert_eq!(
        e["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/expression",
        "{e}"
    );
    assert_eq!(e["status"], 400);
    assert_eq!(e["instance"], "/do/0/bomb");
    let detail = e["detail"].as_str().unwrap();
    assert!(
        detail.contains("nested more than 10000 levels") && detail.contains("--eval-depth"),
        "{detail}"
    );
}

const RUNAWAY_CAUGHT: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: runaway, version: '1.0.0'}
do:
  - guarded:
      try:
        - spin:
            set:
              n: '${ last(repeat(1)) }'
      catch:
        errors:
          with:
            type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
        as: e
        do:
          - note:
              set:
                caught: '${ $e.title }'
"#;

#[test]
fn a_runaway_expression_runs_out_of_steps_and_try_catches_it() {
    let dir = TempDir::new("containment");
    let file = write(&dir, "runaway.yaml", RUNAWAY_CAUGHT);
    let out = nagare(
        &[
            "run",
            &file,
            "--eval-steps",
            "200000",
            "--eval-time",
            "600s",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let output: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(output, json!({"caught": "Expression Budget Exceeded"}));
}

#[test]
fn a_workflow_lowers_the_budget_in_its_metadata() {
    let dir = TempDir::new("containment");
    let text = RUNAWAY_CAUGHT.replace(
        "version: '1.0.0'}",
        "version: '1.0.0', metadata: {nagare: {limits: {evalSteps: 5000}}}}",
    );
    let file = write(&dir, "lowered.yaml", &text);
    let out = nagare(&["run", &file], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bad = write(
        &dir,
        "bad.yaml",
        &RUNAWAY_CAUGHT.replace(
            "version: '1.0.0'}",
            "version: '1.0.0', metadata: {nagare: {limits: {evalSteps: -1}}}}",
        ),
    );
    let out = nagare(&["validate", &bad], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("(at /document/metadata/nagare/limits/evalSteps)"),
        "{}",
        out.stderr
    );
}

const SPIN: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: spin, version: '1.0.0'}
do:
  - before:
      set:
        ok: true
  - guarded:
      try:
        - spin:
            set:
              n: '${ last(repeat(1)) }'
      catch:
        do:
          - caught:
              set:
                caught: true
"#;

#[test]
fn an_evaluation_out_of_time_faults_the_instance_and_a_resumed_journal_agrees() {
    let dir = TempDir::new("containment");
    let file = write(&dir, "spin.yaml", SPIN);
    let journal = dir.path().join("spin.journal");
    let journal = journal.to_str().unwrap();
    let args = [
        "run",
        &file,
        "--journal",
        journal,
        "--eval-steps",
        "100000000000",
        "--eval-time",
        "200ms",
    ];
    let out = nagare(&args, &[]);
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let e = error(&out);
    // Not catchable: time is not deterministic, so the step that ran out of it does not stand.
    assert_eq!(
        e["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
        "{e}"
    );
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("ran longer than 200 ms"),
        "{e}"
    );
    let text = std::fs::read_to_string(journal).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"]["kind"], "fault", "{text}");
    // Resuming the journal replays to the same fault without evaluating the spin again (it
    // would take until the step budget, minutes).
    let again = nagare(&args, &[]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(error(&again), e);
}

const LOCAL_TIME: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: local-time, version: '1.0.0'}
do:
  - stamp:
      set:
        utc: '${ 1700000000 | strflocaltime("%Y-%m-%d %H:%M %Z") }'
        hour: '${ 1700000000 | localtime | .[3] }'
"#;

#[test]
fn a_history_replays_the_same_under_any_host_time_zone() {
    let dir = TempDir::new("containment");
    let file = write(&dir, "local-time.yaml", LOCAL_TIME);
    let journal = dir.path().join("local-time.journal");
    let journal = journal.to_str().unwrap();
    let first = nagare(
        &["run", &file, "--journal", journal],
        &[("TZ", "Asia/Tokyo")],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let output: Value = serde_json::from_str(first.stdout.trim()).unwrap();
    assert_eq!(output, json!({"utc": "2023-11-14 22:13 UTC", "hour": 22}));
    // The same history replayed on a host in another zone ends the same.
    let replayed = nagare(
        &["run", &file, "--journal", journal],
        &[("TZ", "America/New_York")],
    );
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(replayed.stdout.trim()).unwrap(),
        output
    );
    // The workflow's zone, when it names one.
    let paris = write(
        &dir,
        "paris.yaml",
        &LOCAL_TIME.replace(
            "version: '1.0.0'}",
            "version: '1.0.0', metadata: {nagare: {timezone: Europe/Paris}}}",
        ),
    );
    let out = nagare(&["run", &paris], &[("TZ", "Asia/Tokyo")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let output: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(output["utc"], "2023-11-14 23:13 CET");
    assert_eq!(output["hour"], 23);
}

/// A workflow that waits, then runs into a bomb: stored while waiting, it is replayed into
/// the bomb by the restarted server.
const WAIT_THEN_BOMB: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: wait-then-bomb, version: '1.0.0'}
do:
  - pause:
      wait: PT2S
  - bomb:
      set:
        nested: '${ reduce range(1e9) as $i (null; [.]) }'
"#;

const TRIVIAL: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: trivial, version: '1.0.0'}
do:
  - one:
      set:
        ok: true
"#;

#[test]
fn a_server_survives_bombs_and_restarts_over_a_stored_one() {
    let dir = TempDir::new("containment");
    let backing = Backing::Sqlite(dir.path().join("data"));
    // Time is left out of it: a debug build may be slow, the memory and depth limits are not.
    let node = [
        "--node",
        "containment",
        "--eval-memory",
        "16MiB",
        "--eval-time",
        "600s",
    ];
    let http = Http::default();
    let server = Server::start(&backing, &node);
    http.push(&server, DEPTH_BOMB);
    http.push(&server, WAIT_THEN_BOMB);
    http.push(&server, TRIVIAL);
    // A bomb faults its instance; the server goes on answering and running others.
    let bomb = http.start(&server, "test/depth-bomb/1.0.0", &json!({}));
    let done = http.wait(&server, &bomb, 60);
    assert_eq!(done["status"], "faulted", "{done:#}\n{}", server.log());
    assert!(
        done["error"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nested more than")),
        "{done:#}"
    );
    let trivial = http.start(&server, "test/trivial/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &trivial, 60)["status"], "completed");
    // Stored mid-wait, then the server dies; the restarted one replays it into the bomb.
    let stored = http.start(&server, "test/wait-then-bomb/1.0.0", &json!({}));
    http.until(
        &server,
        &stored,
        Duration::from_secs(30),
        "the wait to begin",
        |v| v["status"] == "waiting",
    );
    server.kill();
    let server = Server::start(&backing, &node);
    let done = http.wait(&server, &stored, 60);
    assert_eq!(done["status"], "faulted", "{done:#}\n{}", server.log());
    assert!(
        done["error"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("allocated more than 16 MiB")),
        "{done:#}"
    );
    let (s, health) = http.get(&format!("{}/readyz", server.url));
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["engine"]["status"], "ok");
    let trivial = http.start(&server, "test/trivial/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &trivial, 60)["status"], "completed");
    server.stop();
}

#[test]
fn a_server_faults_an_instance_whose_evaluation_runs_out_of_time() {
    let dir = TempDir::new("containment");
    let backing = Backing::Sqlite(dir.path().join("data"));
    let node = [
        "--node",
        "containment",
        "--eval-steps",
        "100000000000",
        "--eval-time",
        "300ms",
    ];
    let http = Http::default();
    let server = Server::start(&backing, &node);
    http.push(&server, SPIN);
    let id = http.start(&server, "test/spin/1.0.0", &json!({}));
    let done = http.wait(&server, &id, 60);
    assert_eq!(done["status"], "faulted", "{done:#}\n{}", server.log());
    assert_eq!(
        done["error"]["type"],
        "https://serverlessworkflow.io/spec/1.0.0/errors/runtime"
    );
    // The restarted server keeps the fault: it does not run the spin again.
    server.kill();
    let server = Server::start(&backing, &node);
    let again = http.instance(&server, &id);
    assert_eq!(again["status"], "faulted");
    assert_eq!(again["error"], done["error"]);
    let (s, _) = http.get(&format!("{}/healthz", server.url));
    assert_eq!(s, 200);
    server.stop();
}

/// As deep a value as the default memory budget lets an evaluation build is dropped inside it
/// without overflowing the stack (jaq drops nested arrays recursively).
#[test]
fn the_deepest_value_the_memory_budget_allows_is_dropped_cleanly() {
    let dir = TempDir::new("containment");
    let file = write(
        &dir,
        "deep.yaml",
        r#"
document: {dsl: '1.0.3', namespace: test, name: deep, version: '1.0.0'}
do:
  - bomb:
      set:
        n: '${ reduce range(1e9) as $i (null; [.]) | 1 }'
"#,
    );
    let out = nagare(
        &[
            "run",
            &file,
            "--eval-steps",
            "100000000000",
            "--eval-time",
            "600s",
        ],
        &[],
    );
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let e = error(&out);
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("allocated more than 64 MiB"),
        "{e}"
    );
}

/// A step that panics (`__test_panic`, a native only test builds have, stands for a bug).
const CRASH: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: crash, version: '1.0.0'}
do:
  - first: {wait: {milliseconds: 50}}
  - boom: {set: {n: '${ __test_panic }'}}
"#;

fn needs_test_hooks(problem: &str) -> ! {
    panic!(
        "this test needs a build with `--features test-hooks` (scripts/test passes it): {problem}"
    )
}

#[test]
fn a_step_that_crashes_faults_its_instance_not_the_process() {
    let dir = TempDir::new("containment");
    let file = write(&dir, "crash.yaml", CRASH);
    let journal = dir.path().join("crash.journal");
    let journal = journal.to_str().unwrap();
    let out = nagare(&["run", &file, "--journal", journal], &[]);
    if out.code == 2 {
        needs_test_hooks(&out.stderr);
    }
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let e = error(&out);
    assert_eq!(
        e["type"], "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
        "{e}"
    );
    assert!(
        e["detail"].as_str().unwrap().contains("step crashed"),
        "{e}"
    );
    // The crash is in the journal in the step's place: resuming ends the same, without
    // crashing again.
    let again = nagare(&["run", &file, "--journal", journal], &[]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(error(&again)["detail"], e["detail"]);
    assert!(!again.stderr.contains("panicked at"), "{}", again.stderr);

    let backing = Backing::Sqlite(dir.path().join("data"));
    let http = Http::default();
    let server = Server::start(&backing, &["--node", "containment"]);
    let (s, v) = http.post_yaml(&server.api("/workflows"), CRASH);
    if s == 400 {
        needs_test_hooks(&v.to_string());
    }
    http.push(&server, TRIVIAL);
    let id = http.start(&server, "test/crash/1.0.0", &json!({}));
    let done = http.wait(&server, &id, 60);
    assert_eq!(done["status"], "faulted", "{done:#}\n{}", server.log());
    assert!(
        done["error"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("step crashed")),
        "{done:#}"
    );
    let trivial = http.start(&server, "test/trivial/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &trivial, 60)["status"], "completed");
    // A restarted server does not replay it into the crash.
    server.kill();
    let server = Server::start(&backing, &["--node", "containment"]);
    assert_eq!(http.instance(&server, &id)["status"], "faulted");
    let trivial = http.start(&server, "test/trivial/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &trivial, 60)["status"], "completed");
    assert!(!server.log().contains("panicked at"), "{}", server.log());
    server.stop();
}
