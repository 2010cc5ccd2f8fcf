//! Task logs through a real server (issue 8): what a `run` task prints is readable while it
//! runs, whole once it ended (stdout and stderr, whatever `return` keeps), per attempt, and
//! paged; and the instance's lifecycle CloudEvents rebuilt from its history. On both stores.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/server.rs"]
#[macro_use]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir, until};

/// `chatty` prints on both streams, slowly, until its flag file exists, and keeps only the
/// exit code; `flaky` fails its first attempt (the retry's log is a second attempt).
const WORKFLOW: &str = r#"
document: {dsl: '1.0.3', namespace: test, name: chatty, version: '1.0.0'}
do:
  - chatty:
      run:
        shell:
          command: 'i=0; while [ ! -f "$FLAG" ]; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; sleep 0.1; done; echo "tschüss"'
          environment: {FLAG: '${ .flag }'}
        return: code
  - flaky:
      try:
        - attempt:
            run:
              shell:
                command: 'if [ -f "$MARK" ]; then echo second; else touch "$MARK"; echo first; exit 3; fi'
                environment: {MARK: '${ $workflow.input.mark }'}
      catch:
        retry:
          delay: {milliseconds: 10}
          limit: {attempt: {count: 2}}
"#;

fn text(entries: &[Value], stream: &str) -> String {
    entries
        .iter()
        .filter(|e| e["stream"] == stream)
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

fn logs_of_run_tasks(backing: &Backing) {
    let dir = TempDir::new("logs");
    let flag = dir.path().join("flag");
    let mark = dir.path().join("mark");
    let http = Http::default();
    let server = Server::start(backing, &[]);
    http.push(&server, WORKFLOW);
    let id = http.start(
        &server,
        "test/chatty/1.0.0",
        &json!({"flag": flag, "mark": mark}),
    );

    // Live: lines arrive while the task still runs, and paging by `next` gets only new ones.
    let early = until(
        &server,
        "a few lines while the task runs",
        || http.logs(&server, &id, "?task=/do/0/chatty"),
        |v| v["entries"].as_array().unwrap().len() >= 4,
    );
    assert_eq!(early["ended"], false, "{early}");
    assert_eq!(http.instance(&server, &id)["status"], "running");
    let first = early["entries"].as_array().unwrap();
    assert!(text(first, "stdout").starts_with("out 1\n"), "{early}");
    assert!(text(first, "stderr").starts_with("err 1\n"), "{early}");
    let next = early["next"].as_i64().unwrap();
    let later = until(
        &server,
        "more lines after `next`",
        || http.logs(&server, &id, &format!("?task=/do/0/chatty&after={next}")),
        |v| !v["entries"].as_array().unwrap().is_empty(),
    );
    let seqs: Vec<i64> = later["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.iter().all(|s| *s > next), "{later}");

    std::fs::write(&flag, "").unwrap();
    let done = http.wait(&server, &id, 30);
    assert_eq!(done["status"], "completed", "{done:#}");
    // The record keeps only the code; the log has everything.
    let chatty = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["reference"] == "/do/0/chatty")
        .unwrap();
    assert_eq!(chatty["output"], 0, "{chatty}");

    // Ended: the whole log is there at once (it is stored before the task's end is).
    let all = http.logs(&server, &id, "");
    assert_eq!(all["ended"], true);
    let entries = all["entries"].as_array().unwrap();
    let chatty: Vec<Value> = entries
        .iter()
        .filter(|e| e["task"] == "/do/0/chatty")
        .cloned()
        .collect();
    let out = text(&chatty, "stdout");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.last(), Some(&"tschüss"), "{out}");
    let n = lines.len() - 1;
    assert!(n >= 2, "{out}");
    assert_eq!(
        lines[..n],
        (1..=n).map(|i| format!("out {i}")).collect::<Vec<_>>()[..]
    );
    let err = text(&chatty, "stderr");
    assert_eq!(err.lines().count(), n, "every stderr line too: {err}");
    for e in entries {
        assert!(server::millis(&e["time"]) > 0);
    }

    // Each attempt of the retried task is its own `attempt`, in order.
    let flaky: Vec<&Value> = entries
        .iter()
        .filter(|e| e["task"] == "/do/1/flaky/try/0/attempt")
        .collect();
    assert_eq!(
        flaky
            .iter()
            .map(|e| e["text"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["first\n", "second\n"],
        "{all:#}"
    );
    assert!(flaky[0]["attempt"].as_u64() < flaky[1]["attempt"].as_u64());

    // Paging a page at a time reads the same pieces.
    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let page = http.logs(&server, &id, &format!("?limit=3&after={after}"));
        let got = page["entries"].as_array().unwrap();
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 3);
        after = page["next"].as_i64().unwrap();
        paged.extend(got.iter().cloned());
    }
    assert_eq!(&paged, entries);

    // The client command prints the same: stdout on stdout, stderr on stderr.
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args([
            "instances",
            "logs",
            &id,
            "--task",
            "/do/0/chatty",
            "--follow",
        ])
        .args(["--server", &server.url])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(String::from_utf8(cli.stdout).unwrap(), out);
    assert_eq!(String::from_utf8(cli.stderr).unwrap(), err);

    // The lifecycle events the history implies, in order, as the sink publishes them.
    let (s, life) = http.get(&server.api(&format!("/instances/{id}/lifecycle")));
    assert_eq!(s, 200, "{life}");
    let events = life["events"].as_array().unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap();
            let t = t
                .trim_start_matches("io.serverlessworkflow.")
                .trim_end_matches(".v1");
            format!("{t} {}", e["subject"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some(format!("workflow.started {id}").as_str()),
        "{kinds:#?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some(format!("workflow.completed {id}").as_str()),
        "{kinds:#?}"
    );
    for want in [
        "task.started /do/0/chatty",
        "task.completed /do/0/chatty",
        "task.retried /do/1/flaky",
        "task.completed /do/1/flaky",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} in {kinds:#?}");
    }
    let times: Vec<i64> = events.iter().map(|e| server::millis(&e["time"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(
        events
            .iter()
            .all(|e| e.get("id").is_none() && e["source"] == format!("/api/v1/instances/{id}"))
    );
    assert_eq!(
        events[0]["data"]["definition"]["name"], "chatty",
        "{:#}",
        events[0]
    );
    let (s, _) = http.get(&server.api("/instances/nope/lifecycle"));
    assert_eq!(s, 404);

    // Bad reads say what is wrong.
    for (query, says) in [
        ("?after=-1", "`after`"),
        ("?limit=0", "`limit`"),
        ("?limit=x", "`limit`"),
    ] {
        let (s, v) = http.get(&server.api(&format!("/instances/{id}/logs{query}")));
        assert_eq!(s, 400, "{query}: {v}");
        assert!(v["detail"].as_str().unwrap().contains(says), "{v}");
    }
    let (s, v) = http.get(&server.api("/instances/nope/logs"));
    assert_eq!(s, 404, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("nope"), "{v}");
}

on_both_stores!(logs_of_run_tasks);
