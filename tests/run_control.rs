//! Run control on the real server, with a fake clock (`--fake-clock FILE`) where time matters:
//! cron in a time zone across DST, catchup after downtime, pause, `dependsOnPast` blocking and
//! unblocking, marking a run or task failed / succeeded, retry and clear of one task keeping
//! the outputs before it, and task limits (`maxActiveTasks`, `--max-active-tasks`) honoured at
//! every moment. Nothing here sleeps to let time pass: tests poll for a state with a deadline,
//! and "nothing happened" is checked after the runs loop has provably looked (its tick counter
//! in /metrics).

#[path = "support/postgres.rs"]
mod postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir, most_at_once, until};
use std::path::{Path, PathBuf};

on_both_stores!(depends_on_past_and_marks);

/// A fake clock: a file the server reads "now" from.
struct Clock(PathBuf);

impl Clock {
    fn new(dir: &TempDir, at: &str) -> Clock {
        let c = Clock(dir.path().join("clock"));
        c.set(at);
        c
    }

    fn set(&self, at: &str) {
        std::fs::write(&self.0, at).unwrap();
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

fn runs(http: &Http, server: &Server, workflow: &str) -> Vec<Value> {
    let (s, v) = http.get(&server.api(&format!("/workflows/test/{workflow}/runs")));
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// One run; `null` while it is not queued yet.
fn run(http: &Http, server: &Server, workflow: &str, date: &str) -> Value {
    let (s, v) = http.get(&server.api(&format!("/workflows/test/{workflow}/runs/{date}")));
    match s {
        200 => v,
        404 => Value::Null,
        _ => panic!("{s} {v}"),
    }
}

fn act(http: &Http, server: &Server, workflow: &str, date: &str, action: &str, body: Value) {
    let url = server.api(&format!("/workflows/test/{workflow}/runs/{date}/{action}"));
    let (s, v) = http.post_json(&url, &body);
    assert_eq!(s, 202, "{action} {date}: {v}\n{}", server.log());
}

/// Waits until the runs loop has made two more passes: whatever the clock says now has been
/// seen by it.
fn loop_has_looked(http: &Http, server: &Server) {
    let ticks = || {
        let (_, text, _) = http.send("GET", &format!("{}/metrics", server.url), None, None);
        text.as_str()
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("nagare_run_ticks_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let start = ticks();
    until(server, "two passes of the runs loop", ticks, |t| {
        *t >= start + 2.0
    });
}

fn status_of(items: &[Value], date: &str) -> String {
    items
        .iter()
        .find(|r| r["logicalDate"] == date)
        .map(|r| r["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "absent".into())
}

const CRON: &str = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: nightly
  version: '1.0.0'
  metadata:
    nagare: {startDate: '2026-03-27', timezone: Europe/Paris, catchup: true}
schedule:
  cron: '30 2 * * *'
do:
  - report:
      set:
        day: '${ .logicalDate }'
        at: '${ .logicalTime }'
"#;

/// Cron at 02:30 Paris time, across the spring-forward night (02:30 does not exist on
/// 2026-03-29): the server is up for a day, down for four, and catches up on restart.
#[test]
fn cron_in_a_time_zone_across_dst_and_catchup_after_downtime() {
    let dir = TempDir::new("clock");
    let clock = Clock::new(&dir, "2026-03-28T12:00:00Z");
    let data = Backing::Sqlite(dir.path().join("data"));
    let http = Http::default();
    let server = Server::start(&data, &["--fake-clock", clock.arg()]);
    http.push(&server, CRON);
    // The interval of the 27th ends at 02:30 on the 28th: it is due; the 28th's is not.
    let items = until(
        &server,
        "the run of the 27th",
        || runs(&http, &server, "nightly"),
        |items| items.len() == 1 && items[0]["status"] == "completed",
    );
    assert_eq!(items[0]["logicalDate"], "2026-03-27");
    assert_eq!(items[0]["logicalTime"], "2026-03-27T01:30:00Z");
    loop_has_looked(&http, &server);
    assert_eq!(
        runs(&http, &server, "nightly").len(),
        1,
        "nothing else is due"
    );
    server.stop();

    // Four days of downtime, then a restart: every missed date runs, once, oldest first.
    clock.set("2026-04-01T12:00:00Z");
    let server = Server::start(&data, &["--fake-clock", clock.arg()]);
    let items = until(
        &server,
        "the catchup",
        || runs(&http, &server, "nightly"),
        |items| items.len() == 5 && items.iter().all(|r| r["status"] == "completed"),
    );
    let times: Vec<&str> = items
        .iter()
        .map(|r| r["logicalTime"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2026-03-27T01:30:00Z",
            "2026-03-28T01:30:00Z",
            // 02:30 is skipped by the DST change: once, at 03:00 CEST.
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z",
            "2026-03-31T00:30:00Z",
        ]
    );
    for r in &items[1..] {
        assert_eq!(r["kind"], "scheduled", "{r}");
    }
    // The run's input carries its logical date and data interval.
    let dst = &items[2];
    assert_eq!(dst["logicalDate"], "2026-03-29");
    assert_eq!(dst["dataInterval"]["end"], "2026-03-30T00:30:00Z");
    let instance = http.instance(&server, dst["instance"].as_str().unwrap());
    assert_eq!(
        instance["output"],
        json!({"day": "2026-03-29", "at": "2026-03-29T01:00:00Z"})
    );

    // Paused: the clock moves two days and nothing is queued; unpaused, both run.
    let (s, v) = http.post_json(&server.api("/workflows/test/nightly/pause"), &json!({}));
    assert_eq!(s, 200, "{v}");
    clock.set("2026-04-03T12:00:00Z");
    loop_has_looked(&http, &server);
    assert_eq!(
        runs(&http, &server, "nightly").len(),
        5,
        "queued while paused"
    );
    http.post_json(&server.api("/workflows/test/nightly/unpause"), &json!({}));
    until(
        &server,
        "the runs after unpausing",
        || runs(&http, &server, "nightly"),
        |items| items.len() == 7 && items.iter().all(|r| r["status"] == "completed"),
    );
}

/// Two top-level tasks; the run of 2026-11-02 fails in `load` unless its flag file exists.
fn pipeline(flag: &Path, depends_on_past: bool) -> String {
    format!(
        r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: pipeline
  version: '1.0.0'
  metadata:
    nagare: {{dependsOnPast: {depends_on_past}, maxActiveRuns: 4, startDate: '2026-11-01', catchup: true}}
schedule:
  cron: '0 0 * * *'
do:
  - extract:
      set:
        day: '${{ .logicalDate }}'
        stamp: '${{ now }}'
      export:
        as: '.'
  - load:
      run:
        shell:
          command: 'sleep 0.2; test "$DAY" != 2026-11-02 || test -f {flag}'
          environment:
            DAY: '${{ .day }}'
      output:
        as: '${{ $context }}'
  - publish:
      set:
        loaded: '${{ .day }}'
"#,
        flag = flag.display()
    )
}

fn task<'a>(run: &'a Value, name: &str) -> Vec<&'a Value> {
    run["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["name"] == name)
        .collect()
}

/// `dependsOnPast`: the run of the 3rd waits for `load` of the 2nd, which failed; it starts
/// again when that task is retried, keeping what `extract` produced. Marking the latest date
/// failed stops the dates after it, while the older ones finish.
fn depends_on_past_and_marks(backing: &Backing) {
    let dir = TempDir::new("dop");
    let flag = dir.path().join("flag");
    // Catchup queues the 1st to the 3rd at once; the clock stays there.
    let clock = Clock::new(&dir, "2026-11-04T12:00:00Z");
    let http = Http::default();
    let server = Server::start(backing, &["--fake-clock", clock.arg()]);
    http.push(&server, &pipeline(&flag, true));
    let blocked = until(
        &server,
        "the 3rd waiting for the 2nd's load",
        || run(&http, &server, "pipeline", "2026-11-03"),
        |r| {
            r["waiting"]["/do/1/load"]
                .as_str()
                .is_some_and(|w| w.contains("dependsOnPast"))
        },
    );
    let why = blocked["waiting"]["/do/1/load"].as_str().unwrap();
    assert!(why.contains("dependsOnPast"), "{why}");
    assert_eq!(blocked["status"], "running");
    until(
        &server,
        "the 1st to complete and the 2nd to fail",
        || runs(&http, &server, "pipeline"),
        |items| {
            status_of(items, "2026-11-01") == "completed"
                && status_of(items, "2026-11-02") == "faulted"
        },
    );
    // Still waiting: the 2nd's `load` failed.
    let blocked = run(&http, &server, "pipeline", "2026-11-03");
    assert!(blocked["waiting"]["/do/1/load"].is_string(), "{blocked:#}");
    // `extract` of the 3rd did run: its own dependency (the 2nd's extract) succeeded.
    assert_eq!(task(&blocked, "extract")[0]["status"], "completed");

    // Retry the failed task of the 2nd: extract keeps its output, load runs again.
    let before = run(&http, &server, "pipeline", "2026-11-02");
    let stamp = task(&before, "extract")[0]["output"]["stamp"].clone();
    std::fs::write(&flag, "").unwrap();
    act(&http, &server, "pipeline", "2026-11-02", "retry", json!({}));
    let after = until(
        &server,
        "the retried 2nd and the unblocked 3rd",
        || runs(&http, &server, "pipeline"),
        |items| items.iter().all(|r| r["status"] == "completed"),
    );
    assert_eq!(after.len(), 3);
    let second = run(&http, &server, "pipeline", "2026-11-02");
    let extracts = task(&second, "extract");
    assert_eq!(extracts.len(), 1, "extract ran once: {second:#}");
    assert_eq!(extracts[0]["output"]["stamp"], stamp);
    assert_eq!(task(&second, "load")[0]["status"], "completed");
    assert_eq!(second["instance"], before["instance"], "the same instance");

    // Clear one task of a completed run: it and the tasks after it run again.
    let third = run(&http, &server, "pipeline", "2026-11-03");
    let load_started = task(&third, "load")[0]["startedAt"].clone();
    let extract_started = task(&third, "extract")[0]["startedAt"].clone();
    act(
        &http,
        &server,
        "pipeline",
        "2026-11-03",
        "clear",
        json!({"task": "/do/1/load"}),
    );
    let cleared = until(
        &server,
        "the cleared 3rd to end again",
        || run(&http, &server, "pipeline", "2026-11-03"),
        |r| r["status"] == "completed" && task(r, "load")[0]["startedAt"] != load_started,
    );
    assert_eq!(task(&cleared, "extract")[0]["startedAt"], extract_started);
    assert_eq!(task(&cleared, "publish").len(), 1);

    // Mark a task of the latest date failed: the next date waits for it; marked succeeded,
    // it runs.
    let extract = json!({"task": "/do/0/extract"});
    act(
        &http,
        &server,
        "pipeline",
        "2026-11-03",
        "mark-failed",
        extract.clone(),
    );
    let (s, v) = http.post_json(
        &server.api("/workflows/test/pipeline/runs"),
        &json!({"logicalDate": "2026-11-04"}),
    );
    assert_eq!(s, 201, "{v}");
    let waiting = until(
        &server,
        "the 4th to wait for the 3rd",
        || run(&http, &server, "pipeline", "2026-11-04"),
        |r| {
            r["waiting"]["/do/0/extract"]
                .as_str()
                .is_some_and(|w| w.contains("dependsOnPast"))
        },
    );
    assert!(
        waiting["waiting"]["/do/0/extract"]
            .as_str()
            .unwrap()
            .contains("2026-11-03"),
        "{waiting:#}"
    );
    let third = run(&http, &server, "pipeline", "2026-11-03");
    assert_eq!(third["taskMarks"]["/do/0/extract"], "failed");
    act(
        &http,
        &server,
        "pipeline",
        "2026-11-03",
        "mark-succeeded",
        extract,
    );
    until(
        &server,
        "the 4th to run once the 3rd is marked succeeded",
        || run(&http, &server, "pipeline", "2026-11-04"),
        |r| r["status"] == "completed",
    );
}

/// Marking the latest running date failed cancels it and stops the next date, while the
/// older date keeps running to its end.
#[test]
fn mark_failed_stops_later_dates_while_older_ones_run() {
    let dir = TempDir::new("markfailed");
    let clock = Clock::new(&dir, "2026-11-04T12:00:00Z");
    let http = Http::default();
    let server = Server::start(
        &Backing::Sqlite(dir.path().join("data")),
        &["--fake-clock", clock.arg()],
    );
    http.push(
        &server,
        r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: slow
  version: '1.0.0'
  metadata:
    nagare: {dependsOnPast: true, maxActiveRuns: 3, startDate: '2026-11-01', catchup: true}
schedule:
  cron: '0 0 * * *'
do:
  - first: {wait: {milliseconds: 600}}
  - second: {wait: {milliseconds: 600}}
"#,
    );
    // The 2nd runs `first` once the 1st's `first` succeeded, while the 1st runs `second`.
    until(
        &server,
        "the 2nd to run its first task",
        || run(&http, &server, "slow", "2026-11-02"),
        |r| {
            task(r, "first")
                .first()
                .is_some_and(|t| t["status"] == "running")
        },
    );
    // Through the client, as people do it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args([
            "mark",
            "test/slow",
            "--date",
            "2026-11-02",
            "--state",
            "failed",
        ])
        .args(["--server", &server.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["requested"], "mark-failed");
    let items = until(
        &server,
        "the 1st to complete and the 2nd to be cancelled",
        || runs(&http, &server, "slow"),
        |items| {
            status_of(items, "2026-11-01") == "completed"
                && status_of(items, "2026-11-02") == "cancelled"
        },
    );
    assert_eq!(items[1]["marked"], "failed");
    let third = until(
        &server,
        "the 3rd to wait",
        || run(&http, &server, "slow", "2026-11-03"),
        |r| {
            r["waiting"]["/do/0/first"]
                .as_str()
                .is_some_and(|w| w.contains("dependsOnPast"))
        },
    );
    assert_eq!(third["status"], "running");
    assert!(task(&third, "first").is_empty(), "{third:#}");
}

/// Four runs at once, but `maxActiveTasks: 2` for the workflow: at no moment do more than
/// two of its tasks run; and `--max-active-tasks 1` on the server caps it at one.
#[test]
fn task_limits_hold_at_every_moment() {
    const LIMITED: &str = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: limited
  version: '1.0.0'
  metadata:
    nagare: {maxActiveRuns: 4, maxActiveTasks: 2, startDate: '2026-11-01', catchup: true}
schedule:
  cron: '0 0 * * *'
do:
  - a: {wait: {milliseconds: 150}}
  - b: {wait: {milliseconds: 150}}
"#;
    for (args, limit) in [(vec![], 2), (vec!["--max-active-tasks", "1"], 1)] {
        let dir = TempDir::new("limits");
        // Catchup queues the 1st to the 4th at once.
        let clock = Clock::new(&dir, "2026-11-05T12:00:00Z");
        let http = Http::default();
        let mut args = args;
        args.extend(["--fake-clock", clock.arg()]);
        let server = Server::start(&Backing::Sqlite(dir.path().join("data")), &args);
        http.push(&server, LIMITED);
        let items = until(
            &server,
            "the four runs",
            || runs(&http, &server, "limited"),
            |items| items.len() == 4 && items.iter().all(|r| r["status"] == "completed"),
        );
        let mut tasks = Vec::new();
        for r in &items {
            let date = r["logicalDate"].as_str().unwrap();
            let run = run(&http, &server, "limited", date);
            tasks.extend(run["tasks"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(tasks.len(), 8);
        let most = most_at_once(&tasks);
        assert_eq!(most, limit, "{args:?}: most tasks at once");
    }
}

/// `--max-active-runs 2` caps the runs of all workflows together: two workflows, each
/// allowing four runs at once and catching up three dates, never run more than two runs at
/// any moment between them — and do run two at once.
#[test]
fn server_run_limit_holds_across_workflows() {
    let workflow = |name: &str| {
        format!(
            r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: {name}
  version: '1.0.0'
  metadata:
    nagare: {{maxActiveRuns: 4, startDate: '2026-11-01', catchup: true}}
schedule:
  cron: '0 0 * * *'
do:
  - work: {{wait: {{milliseconds: 200}}}}
"#
        )
    };
    let dir = TempDir::new("serverruns");
    // Catchup queues the 1st to the 3rd of each workflow at once; the clock stays there.
    let clock = Clock::new(&dir, "2026-11-04T12:00:00Z");
    let http = Http::default();
    let server = Server::start(
        &Backing::Sqlite(dir.path().join("data")),
        &["--max-active-runs", "2", "--fake-clock", clock.arg()],
    );
    let names = ["alpha", "beta"];
    for name in names {
        http.push(&server, &workflow(name));
    }
    let both = || {
        names
            .iter()
            .map(|name| runs(&http, &server, name))
            .collect::<Vec<_>>()
    };
    let all = until(&server, "the three runs of each workflow", both, |each| {
        each.iter()
            .all(|items| items.len() == 3 && items.iter().all(|r| r["status"] == "completed"))
    });
    for (name, items) in names.iter().zip(&all) {
        let dates: Vec<&str> = items
            .iter()
            .map(|r| r["logicalDate"].as_str().unwrap())
            .collect();
        assert_eq!(dates, ["2026-11-01", "2026-11-02", "2026-11-03"], "{name}");
    }
    assert_eq!(all.iter().map(Vec::len).sum::<usize>(), 6);
    let most = most_at_once(all.iter().flatten());
    assert_eq!(most, 2, "most runs at once, both workflows: {all:#?}");
}
