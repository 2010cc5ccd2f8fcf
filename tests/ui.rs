//! The web UI end to end: headless Chromium (over chromedriver) against a live `nagare serve`
//! with a token. Through the page only: sign in, upload a workflow (and see a bad one's error
//! at its line), watch a scheduled run fail and a triggered run turn completed in the grid
//! without a reload, retry the failed task from the run detail, pause and unpause, backfill
//! from the form, mark a task failed, the emitted event in the run detail, the graph with the
//! run's states. Screenshots go to
//! `$CARGO_TARGET_DIR/ui-artifacts/` (or `target/ui-artifacts/`). A second test fills the grid
//! with 1,000 runs × 20 tasks and reports how long the page takes to draw it.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/server.rs"]
mod server;

use browser::Browser;
use serde_json::json;
use server::{Backing, Http, Server, TempDir, until};
use std::path::PathBuf;

const TOKEN: &str = "ui-test-token";

fn artifacts() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("ui-artifacts")
}

fn serve(dir: &TempDir) -> (Server, Http) {
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("{TOKEN}\n")).unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        &Backing::Sqlite(data),
        &["--token-file", tokens.to_str().unwrap()],
    );
    let mut http = Http::default();
    http.token = Some(TOKEN.into());
    (server, http)
}

/// Signs in through the page's form and turns confirmation dialogs into a record of what
/// they asked (answered yes), so the test can check each action says what it will do.
fn sign_in(browser: &Browser, server: &Server) {
    browser.open(&format!("{}/", server.url));
    browser.wait_for("form#token", 20);
    assert!(
        browser.text("main").contains("needs a token"),
        "the UI asks for the token"
    );
    browser.type_into("form#token input[name=token]", TOKEN);
    browser.click("form#token button");
    browser.wait_for("form#upload", 20);
    browser.script(
        "window.asked = []; window.confirm = (q) => { window.asked.push(q); return true; };",
        json!([]),
    );
}

fn last_question(browser: &Browser) -> String {
    browser
        .script("return window.asked[window.asked.length - 1]", json!([]))
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn cell(date: &str, task: &str, state: &str) -> String {
    format!("td.cell[data-date='{date}'][data-task='{task}'][data-state='{state}']")
}

fn daily(marker: &std::path::Path) -> String {
    format!(
        r#"document:
  dsl: '1.0.3'
  namespace: ui
  name: daily
  version: '1.0.0'
  metadata:
    nagare: {{startDate: '2026-11-01', endDate: '2026-11-09', catchup: false}}
schedule:
  cron: '0 0 * * *'
do:
  - extract:
      set:
        day: '${{ .logicalDate }}'
  - load:
      run:
        shell:
          command: 'test -f {marker} && echo loaded'
  - report:
      switch:
        - done:
            when: '${{ . == "loaded\n" }}'
            then: publish
        - other:
            then: end
  - publish:
      wait: PT0S
  - announce:
      emit:
        event:
          with:
            source: https://nagare.io/ui-test
            type: io.nagare.ui.loaded
            data:
              said: '${{ . }}'
"#,
        marker = marker.display()
    )
}

#[test]
fn a_day_in_the_ui() {
    let dir = TempDir::new("ui");
    let (server, http) = serve(&dir);
    let browser = Browser::start();
    let shots = artifacts();
    let marker = dir.path().join("input-ready");

    // Without the token the API refuses, and so the page asks for it.
    let (s, _) = Http::default().get(&server.api("/workflows"));
    assert_eq!(s, 401);
    sign_in(&browser, &server);

    // A broken definition: the error is shown under the line it is about.
    browser.fill(
        "form#upload textarea",
        "document:\n  dsl: '1.0.3'\n  namespace: ui\n  name: broken\n  version: '1'\ndo:\n  - a:\n      sett: {x: 1}\n",
    );
    browser.click("form#upload button");
    browser.wait_for("#diagnostics .where", 20);
    let diagnostics = browser.text("#diagnostics");
    assert!(diagnostics.contains("line 8"), "{diagnostics}");
    assert!(diagnostics.contains("sett"), "{diagnostics}");

    // Upload: the scheduler at once queues the last due date (catchup off), 2026-11-09,
    // whose `load` fails: its input is not there yet.
    browser.fill("form#upload textarea", &daily(&marker));
    browser.click("form#upload button");
    browser.wait_for("tr[data-workflow='ui/daily']", 20);
    browser.click("tr[data-workflow='ui/daily'] a");
    browser.wait_for("table.grid", 20);
    // A mark on the window: a reload would lose it.
    browser.script("window.sameLoad = true;", json!([]));
    browser.wait_for(&cell("2026-11-09", "load", "faulted"), 60);
    browser.wait_for(&cell("2026-11-09", "extract", "completed"), 5);

    // Trigger a run for one date from the form: its cells turn completed, live.
    std::fs::write(&marker, "").unwrap();
    browser.fill("#trigger input[name=date]", "2026-11-02");
    browser.click("#trigger button");
    assert!(last_question(&browser).contains("2026-11-02"));
    for task in ["extract", "load", "report", "publish", "announce"] {
        browser.wait_for(&cell("2026-11-02", task, "completed"), 60);
    }
    assert_eq!(
        browser.script("return window.sameLoad === true", json!([])),
        true,
        "the grid updated without a reload"
    );
    let hover = browser.script(
        &format!(
            "return document.querySelector(\"{}\").title",
            cell("2026-11-02", "load", "completed")
        ),
        json!([]),
    );
    assert!(
        hover.as_str().unwrap().contains("completed in"),
        "a cell's title gives the duration: {hover}"
    );

    // Pause and unpause from the grid.
    for (paused, asked) in [(true, "Pause ui/daily?"), (false, "Unpause ui/daily?")] {
        browser.click("#pause");
        assert!(last_question(&browser).starts_with(asked));
        until(
            &server,
            &format!("the workflow paused: {paused}"),
            || http.get(&server.api("/workflows/ui/daily/settings")).1,
            |v| v["paused"] == paused,
        );
        browser.wait_for(&format!("#pause[data-paused='{paused}']"), 20);
    }

    // Backfill three days from the form.
    browser.fill("#backfill input[name=from]", "2026-11-05");
    browser.fill("#backfill input[name=to]", "2026-11-07");
    browser.click("#backfill button");
    assert!(last_question(&browser).contains("from 2026-11-05 to 2026-11-07"));
    for date in ["2026-11-05", "2026-11-06", "2026-11-07"] {
        browser.wait_for(&cell(date, "announce", "completed"), 60);
    }

    // Mark one task of a finished run failed, from its detail; the grid shows the mark.
    browser.click(&cell("2026-11-06", "publish", "completed"));
    browser.wait_for("#run-state.s-completed", 20);
    browser.click("tr[data-reference='/do/3/publish'] button[data-task-act=mark-failed]");
    assert!(last_question(&browser).contains("Mark task /do/3/publish of 2026-11-06 failed?"));
    until(
        &server,
        "the task marked failed",
        || {
            http.get(&server.api("/workflows/ui/daily/runs/2026-11-06"))
                .1
        },
        |v| v["taskMarks"]["/do/3/publish"] == "failed",
    );
    browser.click("#crumbs a");
    browser.wait_for(&cell("2026-11-06", "publish", "marked-failed"), 20);
    browser.screenshot(&shots, "grid");

    // The failed run: its detail, then a retry of the failed task from there.
    browser.click(&cell("2026-11-09", "load", "faulted"));
    browser.wait_for("#run-state.s-faulted", 20);
    browser.wait_for("tr[data-reference='/do/1/load'][data-state='faulted']", 20);
    browser.script(
        "document.querySelectorAll('details').forEach((d) => { d.open = true; })",
        json!([]),
    );
    let log = browser.text("tr.io pre.log");
    assert!(
        log.contains("exited with code 1"),
        "the failed task's log: {log}"
    );
    browser.screenshot(&shots, "run-failed");
    browser.click("tr[data-reference='/do/1/load'] button[data-task-act=retry]");
    assert!(last_question(&browser).contains("from task /do/1/load"));
    browser.wait_for("#run-state.s-completed", 60);
    browser.wait_for(
        "tr[data-reference='/do/3/publish'][data-state='completed']",
        20,
    );
    let (_, run) = http.get(&server.api("/workflows/ui/daily/runs/2026-11-09"));
    assert_eq!(run["status"], "completed", "{run}");
    browser.script(
        "document.querySelectorAll('details').forEach((d) => { d.open = true; })",
        json!([]),
    );
    browser.resize(1400, 1600);
    browser.screenshot(&shots, "run-detail");
    browser.resize(1400, 1000);

    // The graph, with the states of that run on its nodes and the switch's jump drawn.
    browser.click("a[href='#/graph/ui/daily/2026-11-09']");
    browser.wait_for(
        ".node[data-ref='/do/3/publish'][data-state='completed']",
        20,
    );
    browser.wait_for(
        ".node[data-ref='/do/2/report'] li[data-jump='/do/3/publish']",
        5,
    );
    let curves = browser.script(
        "return document.querySelectorAll('svg.jumps > path').length",
        json!([]),
    );
    assert_eq!(curves, 1, "one jump drawn (the `done` case to publish)");
    browser.screenshot(&shots, "graph");

    // Every step above went through the one page load.
    assert_eq!(
        browser.script("return window.sameLoad === true", json!([])),
        true
    );
}

/// 1,000 daily runs of a 20-task workflow, all completed, in one grid: how long the page
/// takes to draw it (the page reports its render time in `window.nagareGrid`).
#[test]
fn a_thousand_runs_by_twenty_tasks() {
    let dir = TempDir::new("ui-big");
    let (server, http) = serve(&dir);
    let tasks: String = (0..20)
        .map(|i| format!("  - step{i:02}:\n      set:\n        n: {i}\n"))
        .collect();
    let yaml = format!(
        "document:\n  dsl: '1.0.3'\n  namespace: ui\n  name: wide\n  version: '1.0.0'\n  metadata:\n    nagare: {{startDate: '2023-01-01', endDate: '2025-09-27', catchup: false, maxActiveRuns: 64}}\nschedule:\n  cron: '0 0 * * *'\ndo:\n{tasks}"
    );
    let (s, v) = http.post_yaml(&server.api("/workflows"), &yaml);
    assert_eq!(s, 201, "{v}");
    let (s, v) = http.post_json(
        &server.api("/workflows/ui/wide/backfill"),
        &json!({"from": "2023-01-01", "to": "2025-09-27"}),
    );
    assert_eq!(s, 202, "{v}");
    // What the UI reads refuses what it cannot answer.
    let (s, v) = http.get(&server.api("/workflows/ui/wide/grid?limit=0"));
    assert_eq!(s, 400, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("`limit`"), "{v}");
    for path in ["grid", "grid/stream", "graph"] {
        let (s, v) = http.get(&server.api(&format!("/workflows/ui/nothing/{path}")));
        assert_eq!(s, 404, "{path}: {v}");
    }
    let grid_url = server.api("/workflows/ui/wide/grid?limit=1000");
    // Twenty thousand tasks: longer than `until`'s 30 s on a loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let (_, g) = http.get(&grid_url);
        let runs = g["runs"].as_array().cloned().unwrap_or_default();
        let done = runs.iter().filter(|r| r["status"] == "completed").count();
        if runs.len() == 1000 && done == 1000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{done} of {} runs completed after 300 s\n{}",
            runs.len(),
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let started = std::time::Instant::now();
    let (s, g) = http.get(&grid_url);
    let api_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(s, 200);
    assert_eq!(g["tasks"].as_array().unwrap().len(), 20);

    let browser = Browser::start();
    sign_in(&browser, &server);
    browser.click("tr[data-workflow='ui/wide'] a");
    browser.wait_for("table.grid", 20);
    browser.fill("#limit", "1000");
    browser.script(
        "document.querySelector('#limit').dispatchEvent(new Event('change'))",
        json!([]),
    );
    let drawn = browser.wait_for("td.cell[data-date='2023-01-01'][data-task='step19']", 30);
    assert!(!drawn.is_empty());
    let cells = browser.script(
        "return document.querySelectorAll('td.cell[data-task][data-state=completed]').length",
        json!([]),
    );
    assert_eq!(cells, 20_000, "every cell drawn, completed");
    let figures = browser.script("return window.nagareGrid", json!([]));
    assert_eq!(figures["runs"], 1000);
    let render = figures["renderMs"].as_f64().unwrap();
    browser.screenshot(&artifacts(), "grid-1000x20");
    eprintln!(
        "grid of 1000 runs x 20 tasks: API {api_ms:.0} ms, page render {render:.0} ms (window.nagareGrid: {figures})"
    );
    assert!(
        render < 2000.0,
        "the grid of 1,000 × 20 draws in under 2 s: {render} ms"
    );
}

/// A run task's log, live in the run detail while it prints (stdout and stderr), and the
/// instance controls clicked there: suspend, resume, cancel, each confirmed first and each
/// seen in the run's lifecycle events.
#[test]
fn a_live_log_and_the_instance_controls() {
    let dir = TempDir::new("ui-live");
    let (server, http) = serve(&dir);
    let browser = Browser::start();
    let shots = artifacts();
    let yaml = r#"document:
  dsl: '1.0.3'
  namespace: ui
  name: chatty
  version: '1.0.0'
  metadata:
    nagare: {startDate: '2026-10-01', endDate: '2026-10-02', catchup: false}
schedule:
  cron: '0 0 * * *'
do:
  - chatty:
      run:
        shell:
          command: 'i=0; while true; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.2; done'
        return: code
"#;
    let (s, v) = http.post_yaml(&server.api("/workflows"), yaml);
    assert_eq!(s, 201, "{v}");
    let (s, v) = http.post_json(
        &server.api("/workflows/ui/chatty/runs"),
        &json!({"logicalDate": "2026-09-01"}),
    );
    assert!(s == 201 || s == 202, "{s} {v}");
    sign_in(&browser, &server);
    browser.open(&format!("{}/#/run/ui/chatty/2026-09-01", server.url));
    browser.wait_for("#run-state.s-running", 30);
    browser.wait_for(
        "tr[data-reference='/do/0/chatty'][data-state='running']",
        20,
    );
    browser.script(
        "document.querySelectorAll('details').forEach((d) => { d.open = true; })",
        json!([]),
    );
    // The log grows in the page while the task runs (the page polls with a cursor).
    browser.wait_for("pre.log.stored span.stdout", 20);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !browser.text("pre.log.stored").contains("out 5") {
        assert!(std::time::Instant::now() < deadline, "out 5 never shown");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(browser.text("pre.log.stored span.stderr").contains("err 1"));
    assert!(browser.text("div.log h3").contains("log (live)"));
    browser.screenshot(&shots, "run-live-log");

    let (_, run) = http.get(&server.api("/workflows/ui/chatty/runs/2026-09-01"));
    let id = run["instance"].as_str().unwrap().to_string();
    let status =
        |http: &Http| http.get(&server.api(&format!("/instances/{id}"))).1["status"].clone();
    for (control, state) in [
        ("suspend", "suspended"),
        ("resume", "running"),
        ("cancel", "cancelled"),
    ] {
        browser.click(&format!("button[data-control={control}]"));
        let asked = last_question(&browser);
        let capital = format!("{}{}", control[..1].to_uppercase(), &control[1..]);
        assert_eq!(asked, format!("{capital} the instance of 2026-09-01?"));
        until(&server, state, || status(&http), |s| s == state);
        browser.wait_for(&format!("#run-state.s-{state}"), 20);
        // The run's lifecycle events (rebuilt from its history) show the control too.
        let kind = format!("workflow.{state}").replace("workflow.running", "workflow.resumed");
        browser.wait_for(&format!("table.lifecycle tr[data-lifecycle='{kind}']"), 20);
    }
    assert!(
        browser
            .find("table.lifecycle tr[data-lifecycle='task.cancelled']")
            .is_some()
    );
    // Ended: the controls are off, a retry from the failure is on.
    for control in ["cancel", "suspend", "resume"] {
        browser.wait_for(&format!("button[data-control={control}]:disabled"), 5);
    }
    browser.wait_for("button[data-act=retry]:enabled", 5);
    // Cancelled: the task's process is gone, and its log up to then is all there.
    let page = http.logs(&server, &id, "");
    let printed: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["stream"] == "stdout")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    let lines: Vec<String> = printed.concat().lines().map(String::from).collect();
    assert!(lines.len() >= 5, "{lines:?}");
    assert_eq!(
        lines,
        (1..=lines.len())
            .map(|i| format!("out {i}"))
            .collect::<Vec<_>>()
    );
    std::thread::sleep(std::time::Duration::from_millis(600));
    let again = http.logs(&server, &id, &format!("?after={}", page["next"]));
    assert_eq!(
        again["entries"],
        json!([]),
        "nothing printed after the cancel: {again}"
    );
    browser.screenshot(&shots, "run-cancelled");
}
