//! The client commands (`nagare workflows|start|instances`) on the real binary, against a real `nagare serve` on SQLite and PostgreSQL.

#[path = "support/postgres.rs"]
mod postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

on_both_stores!(
    push,
    start_and_wait,
    start_picks_the_highest_version,
    list_follows_pages,
    control,
    token,
);

const HELLO: &str = r#"document: {dsl: '1.0.3', namespace: test, name: hello, version: '1.0.0'}
do:
  - greet:
      set:
        message: '${ "hello " + .name }'
"#;

const FAIL: &str = r#"document: {dsl: '1.0.3', namespace: test, name: fail, version: '1.0.0'}
do:
  - fail:
      raise:
        error: {type: https://example.com/errors/nope, status: 418, title: Nope}
"#;

const BAD: &str = "document: {dsl: '1.0.3', namespace: test, name: bad, version: '1.0.0'}\n\
                   do:\n  - greet:\n      sett:\n        message: x\n";

/// What a client command did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout as one JSON document.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// stdout as JSON lines.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))
            })
            .collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// `nagare ARGS --server URL` (no token, server or data from the environment).
fn nagare(server: &str, args: &[&str]) -> Run {
    nagare_with(server, args, &[])
}

fn nagare_with(server: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(args)
        .args(["--server", server])
        .env_remove("NAGARE_SERVER")
        .env_remove("NAGARE_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("run nagare");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn push(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let dir = TempDir::new("client-files");
    let hello = write(dir.path(), "hello.yaml", HELLO);
    let doc = json!({
        "document": {"dsl": "1.0.3", "namespace": "test", "name": "json", "version": "0.1.0"},
        "do": [{"one": {"set": {"a": 1}}}]
    });
    let json_file = write(
        dir.path(),
        "doc.json",
        &serde_json::to_string_pretty(&doc).unwrap(),
    );
    let run = nagare(&server.url, &["workflows", "push", &hello, &json_file]);
    assert_eq!(run.code, 0, "{run:?}");
    let pushed = run.lines();
    assert_eq!(pushed.len(), 2, "{run:?}");
    assert_eq!(pushed[0]["name"], "hello");
    assert_eq!(pushed[0]["version"], "1.0.0");
    assert_eq!(pushed[0]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(pushed[1]["name"], "json");
    // Pushing the same files again is fine.
    let again = nagare(&server.url, &["workflows", "push", &hello]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.lines()[0], pushed[0]);

    // An invalid file: its diagnostics name the local file, as `nagare validate` does.
    let bad = write(dir.path(), "bad.yaml", BAD);
    let run = nagare(&server.url, &["workflows", "push", &bad]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(!lines.is_empty(), "{run:?}");
    for l in &lines {
        assert!(l.starts_with(&format!("{bad}:")), "not naming {bad}: {l}");
        assert!(!l.contains("request body"), "{l}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{bad}:4:7: ")) && l.ends_with("(at /do/0/greet/sett)")),
        "{run:?}"
    );
    // The same diagnostics as `nagare validate` prints for that file.
    let validate = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(["validate", &bad])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&validate.stderr), run.stderr);

    // A valid file and an invalid one: the valid one is stored, the exit code says 2.
    let other = write(dir.path(), "other.yaml", &HELLO.replace("1.0.0", "1.1.0"));
    let run = nagare(&server.url, &["workflows", "push", &bad, &other]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.lines()[0]["version"], "1.1.0", "{run:?}");

    let missing = dir.path().join("missing.yaml");
    let run = nagare(
        &server.url,
        &["workflows", "push", missing.to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("{}:1:1: ", missing.display())),
        "{run:?}"
    );

    // Other content under a stored version: the server's refusal, exit 1.
    let changed = write(dir.path(), "changed.yaml", &HELLO.replace("hello ", "bye "));
    let run = nagare(&server.url, &["workflows", "push", &changed]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("409") && run.stderr.contains("test/hello:1.0.0"),
        "{run:?}"
    );

    let run = nagare(&server.url, &["workflows", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    let mut listed: Vec<String> = run
        .lines()
        .iter()
        .map(|w| {
            format!(
                "{}/{}:{}",
                w["namespace"].as_str().unwrap(),
                w["name"].as_str().unwrap(),
                w["version"].as_str().unwrap()
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        ["test/hello:1.0.0", "test/hello:1.1.0", "test/json:0.1.0"]
    );
}

fn start_and_wait(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, HELLO);
    http.push(&server, FAIL);
    let url = server.url.as_str();

    let run = nagare(
        url,
        &[
            "start",
            "test/hello:1.0.0",
            "--input",
            r#"{"name": "cli"}"#,
            "--wait",
            "30",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.json();
    assert_eq!(v["status"], "completed", "{run:?}");
    assert_eq!(v["output"], json!({"message": "hello cli"}));
    assert_eq!(v["tasks"][0]["name"], "greet");

    // A faulted instance is printed, and the exit code says so.
    let run = nagare(url, &["start", "test/fail:1.0.0", "--wait", "30"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v = run.json();
    assert_eq!(v["status"], "faulted");
    assert_eq!(v["error"]["status"], 418);
    assert_eq!(v["error"]["instance"], "/do/0/fail");

    // Without --wait: the id; the input from a YAML file.
    let dir = TempDir::new("client-input");
    let input = write(dir.path(), "input.yaml", "name: from a file\n");
    let run = nagare(
        url,
        &["start", "test/hello:1.0.0", "--input", &format!("@{input}")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let id = run.json()["id"].as_str().unwrap().to_string();
    let run = nagare(url, &["instances", "get", &id, "--wait", "30"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json()["output"],
        json!({"message": "hello from a file"})
    );

    // Longer than the server's longest long-poll (300 s) still works.
    let run = nagare(
        url,
        &[
            "start",
            "test/hello:1.0.0",
            "--input",
            r#"{"name": "x"}"#,
            "--wait",
            "1000",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "completed");

    let run = nagare(url, &["start", "test/nope:1.0.0"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("404") && run.stderr.contains("test/nope:1.0.0"),
        "{run:?}"
    );
    let run = nagare(url, &["start", "test/nope"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no workflow test/nope"), "{run:?}");
    let run = nagare(url, &["start", "hello"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = nagare(url, &["start", "test/hello:1.0.0", "--input", "{not json"]);
    assert_eq!(run.code, 2, "{run:?}");
}

fn start_picks_the_highest_version(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    // Uploaded so that neither upload order nor text order gives the answer.
    for version in ["1.2.0", "1.10.0", "1.10.0-rc.1", "1.9.0", "0.20.0"] {
        http.push(
            &server,
            &format!(
                "document: {{dsl: '1.0.3', namespace: test, name: multi, version: '{version}'}}\n\
                 do:\n  - which: {{set: {{v: '{version}'}}}}\n"
            ),
        );
    }
    let run = nagare(&server.url, &["start", "test/multi", "--wait", "30"]);
    assert_eq!(run.code, 0, "{run:?}");
    let v = run.json();
    assert_eq!(v["workflow"]["version"], "1.10.0", "{run:?}");
    assert_eq!(v["output"], json!({"v": "1.10.0"}));
    // An explicit version is taken as given.
    let run = nagare(
        &server.url,
        &["start", "test/multi:1.10.0-rc.1", "--wait", "30"],
    );
    assert_eq!(run.json()["output"], json!({"v": "1.10.0-rc.1"}), "{run:?}");
}

fn list_follows_pages(backing: &Backing) {
    // More than one page of the client's (100 instances per request).
    const COMPLETED: usize = 105;
    assert!(
        COMPLETED > nagare::client::PAGE as usize,
        "one page would hold them all"
    );
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, HELLO);
    http.push(&server, &HELLO.replace("1.0.0", "2.0.0"));
    http.push(&server, FAIL);
    let mut ids = Vec::new();
    let mut others = Vec::new();
    for n in 0..COMPLETED {
        ids.push(http.start(&server, "test/hello/1.0.0", &json!({"name": n.to_string()})));
        if n % 50 == 0 {
            // Not completed, or another version: the filters leave these out.
            others.push(http.start(&server, "test/hello/1.0.0", &json!({"name": 1})));
            others.push(http.start(&server, "test/hello/2.0.0", &json!({"name": "two"})));
        }
    }
    for id in ids.iter().chain(&others) {
        http.wait(&server, id, 30);
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    let list = |args: &[&str]| {
        let mut all = vec!["instances", "list"];
        all.extend_from_slice(args);
        let run = nagare(&server.url, &all);
        assert_eq!(run.code, 0, "{run:?}");
        run.lines()
            .iter()
            .map(|i| {
                assert!(i.get("tasks").is_none(), "{i}");
                i["id"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
    };
    let filter = ["--workflow", "test/hello:1.0.0", "--status", "completed"];
    let got = list(&[&filter[..], &["--limit", "103"]].concat());
    assert_eq!(got, newest_first[..103], "two pages, cut at the limit");
    let got = list(&[&filter[..], &["--limit", "1000"]].concat());
    assert_eq!(got, newest_first, "every page until the last");
    let got = list(&[&filter[..], &["--limit", "7"]].concat());
    assert_eq!(got, newest_first[..7]);
    // NAMESPACE/NAME covers every version; the status filter alone too.
    let faulted = list(&["--workflow", "test/hello", "--status", "faulted"]);
    assert_eq!(faulted.len(), 3, "{faulted:?}");
    assert_eq!(
        list(&["--workflow", "test/hello", "--limit", "1000"]).len(),
        COMPLETED + 6
    );
    assert!(list(&["--workflow", "test/fail"]).is_empty());

    let run = nagare(&server.url, &["instances", "list", "--status", "finished"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("400") && run.stderr.contains("status"),
        "{run:?}"
    );
}

fn control(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(
        &server,
        "document: {dsl: '1.0.3', namespace: test, name: held, version: '1.0.0'}\n\
         do:\n  - pause: {wait: {milliseconds: 1500}}\n  - last: {set: {done: true}}\n",
    );
    let url = server.url.as_str();
    let control = |action: &str, id: &str| nagare(url, &["instances", action, id]);
    let pausing = |id: &str| {
        http.until(&server, id, Duration::from_secs(20), "pause to run", |v| {
            v["tasks"][0]["status"] == "running"
        });
    };

    let run = nagare(url, &["start", "test/held:1.0.0"]);
    assert_eq!(run.code, 0, "{run:?}");
    let id = run.json()["id"].as_str().unwrap().to_string();
    pausing(&id);
    let run = control("suspend", &id);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json(), json!({"id": id, "requested": "suspend"}));
    http.until(&server, &id, Duration::from_secs(10), "suspended", |v| {
        v["status"] == "suspended"
    });
    let run = nagare(url, &["instances", "get", &id]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "suspended");
    // Waiting on a suspended instance returns at the deadline, not at the end.
    let run = nagare(url, &["instances", "get", &id, "--wait", "0.2"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "suspended");
    let run = control("resume", &id);
    assert_eq!(run.code, 0, "{run:?}");
    let run = nagare(url, &["instances", "get", &id, "--wait", "30"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "completed");
    let run = control("cancel", &id);
    assert_eq!(run.code, 1, "control after the end: {run:?}");
    assert!(run.stderr.contains("409"), "{run:?}");

    let id = http.start(&server, "test/held/1.0.0", &json!({}));
    pausing(&id);
    let run = control("cancel", &id);
    assert_eq!(run.code, 0, "{run:?}");
    let run = nagare(url, &["instances", "get", &id, "--wait", "30"]);
    assert_eq!(run.code, 1, "a cancelled instance: {run:?}");
    assert_eq!(run.json()["status"], "cancelled");

    let run = nagare(
        url,
        &["instances", "get", "01a21280-0000-7000-8000-000000000000"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("404"), "{run:?}");
}

fn token(backing: &Backing) {
    let dir = TempDir::new("client-token");
    let tokens = write(dir.path(), "tokens", "s3cret-token\n");
    let server = Server::start(backing, &["--token-file", &tokens]);
    let hello = write(dir.path(), "hello.yaml", HELLO);
    let url = server.url.as_str();
    for args in [vec!["workflows", "list"], vec!["workflows", "push", &hello]] {
        let run = nagare(url, &args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("401"), "{run:?}");
        let wrong = [&args[..], &["--token", "nope"]].concat();
        assert_eq!(nagare(url, &wrong).code, 1);
    }
    let run = nagare(
        url,
        &["workflows", "push", &hello, "--token", "s3cret-token"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let run = nagare(
        url,
        &[
            "start",
            "test/hello",
            "--input",
            r#"{"name": "t"}"#,
            "--wait",
            "30",
            "--token",
            "s3cret-token",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "completed");
    // The token from the environment.
    let run = nagare_with(
        url,
        &["instances", "list"],
        &[("NAGARE_TOKEN", "s3cret-token")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.lines().len(), 1);
}

#[test]
fn unreachable_server() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["workflows", "list"],
        vec!["start", "test/hello:1.0.0"],
        vec!["instances", "get", "x"],
    ] {
        let run = nagare(&url, &args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        assert!(
            run.stderr.contains(&format!("cannot reach {url}")) && run.stderr.contains("refused"),
            "not a clear message: {run:?}"
        );
    }
}
