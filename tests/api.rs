//! The REST API of `nagare serve` on the real binary, each check against SQLite and PostgreSQL.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/private_postgres.rs"]
mod private_postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

#[path = "api/outage.rs"]
mod outage;
#[path = "api/statuses.rs"]
mod statuses;

use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

on_both_stores!(
    workflows_upload_list_get,
    invalid_workflows,
    body_limit,
    request_errors,
    completed_instance,
    faulted_instance,
    list_filters_and_pages,
    cancel_while_waiting,
    suspend_holds_past_the_deadline,
    metrics,
    bearer_tokens,
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
        error:
          type: https://example.com/errors/nope
          status: 418
          title: Nope
          detail: '${ "no " + .who }'
"#;

/// A workflow that waits `ms` milliseconds in its second task.
fn waiter(name: &str, ms: u64) -> String {
    format!(
        r#"document: {{dsl: '1.0.3', namespace: test, name: {name}, version: '1.0.0'}}
do:
  - first: {{set: {{a: 1}}}}
  - pause: {{wait: {{milliseconds: {ms}}}}}
  - last: {{set: {{done: true}}}}
"#
    )
}

fn workflows_upload_list_get(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    let url = server.api("/workflows");
    let (s, v) = http.post_yaml(&url, HELLO);
    assert_eq!(s, 201, "{v}");
    let digest = hex(&Sha256::digest(HELLO.as_bytes()));
    assert_eq!(
        v,
        json!({"namespace": "test", "name": "hello", "version": "1.0.0", "digest": digest})
    );
    // The same content again is accepted as it is (idempotent uploads).
    let (s, again) = http.post_yaml(&url, HELLO);
    assert_eq!((s, &again), (200, &v));
    // A version is immutable: other content under the same version is a conflict.
    let changed = HELLO.replace("hello ", "goodbye ");
    let (s, v) = http.post_yaml(&url, &changed);
    assert_eq!(s, 409, "{v}");
    assert_problem(&v, 409);
    assert!(
        v["detail"].as_str().unwrap().contains("test/hello:1.0.0"),
        "{v}"
    );

    // A JSON document, as JSON.
    let doc = json!({
        "document": {"dsl": "1.0.3", "namespace": "other", "name": "json", "version": "0.1.0"},
        "do": [{"one": {"set": {"a": 1}}}]
    })
    .to_string();
    let (s, v) = http.post_json(&url, &serde_json::from_str(&doc).unwrap());
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["namespace"], "other");
    assert_eq!(v["version"], "0.1.0");
    let (s, _) = http.post_json(&url, &serde_json::from_str(&doc).unwrap());
    assert_eq!(s, 200);

    let (s, list) = http.get(&url);
    assert_eq!(s, 200);
    let keys: Vec<(String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            assert!(w["digest"].as_str().is_some_and(|d| d.len() == 64), "{w}");
            assert!(w["createdAt"].as_str().is_some(), "{w}");
            let s = |k: &str| w[k].as_str().unwrap().to_string();
            (s("namespace"), s("name"), s("version"))
        })
        .collect();
    let mut expected = vec![
        ("other".into(), "json".into(), "0.1.0".into()),
        ("test".into(), "hello".into(), "1.0.0".into()),
    ];
    expected.sort();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "exactly the two uploaded versions");

    let (s, w) = http.get(&server.api("/workflows/test/hello/1.0.0"));
    assert_eq!(s, 200, "{w}");
    assert_eq!(
        w["source"], HELLO,
        "the document as uploaded, not the conflicting one"
    );
    assert_eq!(w["digest"], digest);
    let (s, v) = http.get(&server.api("/workflows/test/hello/9.9.9"));
    assert_eq!(s, 404, "{v}");
    assert_problem(&v, 404);
}

fn invalid_workflows(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    let url = server.api("/workflows");
    let yaml = "document: {dsl: '1.0.3', namespace: test, name: bad, version: '1.0.0'}\n\
                do:\n  - greet:\n      sett:\n        message: x\n";
    let (s, v, ct) = http.send("POST", &url, Some("application/yaml"), Some(yaml.into()));
    assert_eq!(s, 400, "{v}");
    assert_eq!(ct, "application/problem+json");
    assert_problem(&v, 400);
    let diagnostics = diagnostic_lines(&v);
    // `sett` is on line 4, column 7 of the body.
    assert!(
        diagnostics
            .iter()
            .any(|d| d.starts_with("request body:4:7: ") && d.ends_with("(at /do/0/greet/sett)")),
        "{diagnostics:#?}"
    );

    // In a JSON body the positions are those of the JSON text.
    let json = "{\n  \"document\": {\"dsl\": \"1.0.3\", \"namespace\": \"test\", \"name\": \"bad\", \"version\": \"1.0.0\"},\n  \"do\": [\n    {\"one\": {\"set\": {\"a\": 1}, \"bogus\": true}}\n  ]\n}\n";
    let (s, v, _) = http.send("POST", &url, Some("application/json"), Some(json.into()));
    assert_eq!(s, 400, "{v}");
    let diagnostics = diagnostic_lines(&v);
    let (line, column) = position(json, "\"bogus\"");
    assert!(
        diagnostics.iter().any(
            |d| d.starts_with(&format!("request body:{line}:{column}: "))
                && d.ends_with("(at /do/0/one/bogus)")
        ),
        "expected a diagnostic at {line}:{column}: {diagnostics:#?}"
    );

    // Text that is not even YAML.
    let (s, v) = http.post_yaml(&url, "do: [\n  - a\n");
    assert_eq!(s, 400, "{v}");
    assert!(!diagnostic_lines(&v).is_empty());

    // Only YAML and JSON are documents.
    for ct in [Some("text/plain"), Some("application/xml"), None] {
        let (s, v, _) = http.send("POST", &url, ct, Some(HELLO.into()));
        assert_eq!(s, 415, "{ct:?}: {v}");
        assert_problem(&v, 415);
    }
    // Media type parameters and case do not matter.
    let (s, v, _) = http.send(
        "POST",
        &url,
        Some("Application/YAML; charset=utf-8"),
        Some(HELLO.into()),
    );
    assert_eq!(s, 201, "{v}");
    // Nothing invalid was stored.
    let (_, list) = http.get(&url);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

fn body_limit(backing: &Backing) {
    let server = Server::start(backing, &["--max-body", "4096"]);
    let http = Http::default();
    let url = server.api("/workflows");
    // A valid document padded with a comment past the limit.
    let big = format!("{HELLO}# {}\n", "x".repeat(10_000));
    let (s, v, ct) = http.send("POST", &url, Some("application/yaml"), Some(big.into()));
    assert_eq!(s, 413, "{v}");
    assert_eq!(ct, "application/problem+json");
    assert_problem(&v, 413);
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("4096") && detail.contains("--max-body"),
        "not a clear message: {detail}"
    );

    // The server keeps serving, on this client's connections too.
    let (s, _) = http.get(&format!("{}/healthz", server.url));
    assert_eq!(s, 200);
    http.push(&server, HELLO);
    let big_input = json!({"name": "y".repeat(10_000)});
    let (s, v) = http.post_json(
        &server.api("/workflows/test/hello/1.0.0/instances"),
        &big_input,
    );
    assert_eq!(s, 413, "{v}");
    assert_problem(&v, 413);
    let id = http.start(&server, "test/hello/1.0.0", &json!({"name": "small"}));
    let done = http.wait(&server, &id, 30);
    assert_eq!(done["output"], json!({"message": "hello small"}), "{done}");
}

fn request_errors(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, HELLO);
    let start = server.api("/workflows/test/hello/1.0.0/instances");

    // Malformed input: the position of the problem.
    let (s, v, _) = http.send(
        "POST",
        &start,
        Some("application/json"),
        Some(b"{\n  \"name\": \"a\",\n  oops\n}".to_vec()),
    );
    assert_eq!(s, 400, "{v}");
    assert_problem(&v, 400);
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("line 3") && detail.contains("column 3"),
        "{detail}"
    );
    let (s, v, _) = http.send("POST", &start, Some("text/plain"), Some(b"{}".to_vec()));
    assert_eq!(s, 415, "{v}");

    // Unknown things are 404 problems.
    let (s, v) = http.post_json(
        &server.api("/workflows/test/nope/1.0.0/instances"),
        &json!({}),
    );
    assert_eq!(s, 404, "{v}");
    assert_problem(&v, 404);
    let (s, v) = http.post_json(
        &server.api("/workflows/test/hello/2.0.0/instances"),
        &json!({}),
    );
    assert_eq!(s, 404, "a version that does not exist: {v}");
    let unknown = "01a21280-0000-7000-8000-000000000000";
    let (s, v) = http.get(&server.api(&format!("/instances/{unknown}")));
    assert_eq!(s, 404, "{v}");
    assert_problem(&v, 404);
    let (s, v) = http.get(&server.api(&format!("/instances/{unknown}?wait=5")));
    assert_eq!(s, 404, "waiting for an unknown instance: {v}");
    let (s, v) = http.post_json(
        &server.api(&format!("/instances/{unknown}/cancel")),
        &json!(null),
    );
    assert_eq!(s, 404, "{v}");
    for path in ["/api/v2/workflows", "/nothing", "/api/v1/workflows/test"] {
        let (s, v, ct) = http.send("GET", &format!("{}{path}", server.url), None, None);
        assert_eq!(s, 404, "{path}: {v}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert_problem(&v, 404);
    }
    // A method a route does not take: 405, a problem too, with the methods it takes.
    for (method, path, allowed) in [
        ("DELETE", "/api/v1/workflows", "GET,POST"),
        ("GET", "/api/v1/instances/x/cancel", "POST"),
        ("POST", "/metrics", "GET"),
        ("POST", "/healthz", "GET"),
    ] {
        let (s, v, headers) = raw(method, &format!("{}{path}", server.url), None);
        assert_eq!(s, 405, "{method} {path}: {v}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{method} {path}"
        );
        assert_problem(&v, 405);
        let allow = headers
            .get("allow")
            .map(|v| v.to_str().unwrap().replace(' ', ""));
        let mut allow: Vec<String> = allow
            .unwrap_or_default()
            .split(',')
            .map(String::from)
            .collect();
        allow.retain(|m| m != "HEAD");
        allow.sort();
        assert_eq!(allow.join(","), allowed, "{method} {path}");
    }
    let id = http.start(&server, "test/hello/1.0.0", &json!({"name": "a"}));
    let (s, v) = http.post_json(
        &server.api(&format!("/instances/{id}/explode")),
        &json!(null),
    );
    assert_eq!(s, 404, "an unknown action: {v}");
    let (s, v) = http.get(&server.api(&format!("/instances/{id}?wait=forever")));
    assert_eq!(s, 400, "{v}");
    assert_problem(&v, 400);
    // An empty body is the empty object.
    let (s, v, _) = http.send("POST", &start, None, None);
    assert_eq!(s, 201, "{v}");
    let done = http.wait(&server, v["id"].as_str().unwrap(), 30);
    assert_eq!(done["input"], json!({}));
}

fn completed_instance(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, &waiter("steps", 50));
    let input = json!({"x": [1, 2]});
    let (s, v, location) =
        send_with_location(&server.api("/workflows/test/steps/1.0.0/instances"), &input);
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/instances/{id}"));
    let (s, done) = http.get(&format!("{}{location}?wait=30", server.url));
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["id"], id);
    assert_eq!(done["input"], input);
    assert_eq!(done["output"], json!({"done": true}));
    assert_eq!(
        done["workflow"],
        json!({"namespace": "test", "name": "steps", "version": "1.0.0"})
    );
    assert!(done.get("error").is_none(), "{done}");
    let started = timestamp(&done["startedAt"]);
    let ended = timestamp(&done["endedAt"]);
    assert!(started <= ended);
    let tasks = done["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["first", "pause", "last"], "{done:#}");
    let document = yaml_doc(&waiter("steps", 50));
    let mut previous_output = input.clone();
    for t in tasks {
        let reference = t["reference"].as_str().unwrap();
        // The reference is a JSON pointer to the task in the document.
        let pointed = document
            .pointer(reference)
            .unwrap_or_else(|| panic!("{reference}"));
        assert!(pointed.is_object(), "{reference}");
        assert!(reference.ends_with(t["name"].as_str().unwrap()));
        assert_eq!(t["status"], "completed", "{t}");
        assert_eq!(t["attempts"], 1, "{t}");
        assert_eq!(
            t["input"], previous_output,
            "each task gets the previous output: {t}"
        );
        previous_output = t["output"].clone();
        let (s, e) = (timestamp(&t["startedAt"]), timestamp(&t["endedAt"]));
        assert!(started <= s && s <= e && e <= ended, "{t}");
    }
    let pause = &tasks[1];
    let waited = timestamp(&pause["endedAt"]) - timestamp(&pause["startedAt"]);
    assert!(waited >= 50, "the wait lasted {waited} ms");
    assert_eq!(tasks[2]["output"], json!({"done": true}));
}

fn faulted_instance(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, FAIL);
    let id = http.start(&server, "test/fail/1.0.0", &json!({"who": "way"}));
    let v = http.wait(&server, &id, 30);
    assert_eq!(v["status"], "faulted", "{v}");
    assert!(v.get("output").is_none(), "{v}");
    assert_eq!(
        v["error"],
        json!({
            "type": "https://example.com/errors/nope",
            "status": 418,
            "title": "Nope",
            "detail": "no way",
            "instance": "/do/0/fail",
        })
    );
    assert!(v["endedAt"].is_string());
    let task = &v["tasks"][0];
    assert_eq!(task["status"], "faulted", "{v}");
    assert_eq!(task["error"]["status"], 418, "{v}");
    // Control of an ended instance is a conflict.
    let (s, c) = http.post_json(
        &server.api(&format!("/instances/{id}/cancel")),
        &json!(null),
    );
    assert_eq!(s, 409, "{c}");
    assert_problem(&c, 409);
}

fn list_filters_and_pages(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, HELLO);
    http.push(&server, &HELLO.replace("1.0.0", "2.0.0"));
    http.push(&server, FAIL);
    http.push(
        &server,
        &HELLO.replace("namespace: test", "namespace: elsewhere"),
    );
    let mut v1 = Vec::new();
    let mut all = Vec::new();
    for n in 0..7 {
        let id = http.start(&server, "test/hello/1.0.0", &json!({"name": n.to_string()}));
        v1.push(id.clone());
        all.push(id);
        if n % 3 == 0 {
            all.push(http.start(&server, "test/hello/2.0.0", &json!({"name": "two"})));
            all.push(http.start(&server, "test/fail/1.0.0", &json!({"who": n})));
        }
    }
    let elsewhere = http.start(&server, "elsewhere/hello/1.0.0", &json!({"name": "e"}));
    all.push(elsewhere.clone());
    for id in &all {
        let v = http.wait(&server, id, 30);
        let expected = if v["workflow"]["name"] == "fail" {
            "faulted"
        } else {
            "completed"
        };
        assert_eq!(v["status"], expected, "{v}");
    }
    let newest_first = |ids: &[String]| ids.iter().rev().cloned().collect::<Vec<_>>();
    let list = |query: &str, limit: u32| pages(&http, &server, query, limit);

    // Every instance, in pages of 3, newest first, none twice.
    assert_eq!(list("", 3), newest_first(&all));
    assert_eq!(list("", 1000), newest_first(&all));
    // By workflow.
    assert_eq!(
        list("namespace=test&name=hello&version=1.0.0", 2),
        newest_first(&v1)
    );
    let hello_test: Vec<String> = list("namespace=test&name=hello", 4);
    assert_eq!(hello_test.len(), 7 + 3, "{hello_test:?}");
    assert_eq!(list("namespace=elsewhere", 5), vec![elsewhere.clone()]);
    assert_eq!(list("name=hello", 50).len(), 7 + 3 + 1);
    assert_eq!(list("version=2.0.0", 50).len(), 3);
    // By status.
    let faulted = list("status=faulted", 2);
    assert_eq!(faulted.len(), 3);
    for id in &faulted {
        assert_eq!(http.instance(&server, id)["workflow"]["name"], "fail");
    }
    assert_eq!(list("status=completed&version=1.0.0", 3).len(), 7 + 1);
    assert!(list("status=running", 10).is_empty());

    // A page lists without the history; `next` is the cursor.
    let (s, page) = http.get(&server.api("/instances?limit=2"));
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0].get("tasks").is_none() && items[0]["status"].is_string(),
        "{page}"
    );
    assert_eq!(page["next"], items[1]["id"]);

    for bad in [
        "status=done",
        "status=",
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=ten",
        "colour=blue",
    ] {
        let (s, v) = http.get(&server.api(&format!("/instances?{bad}")));
        assert_eq!(s, 400, "{bad}: {v}");
        assert_problem(&v, 400);
    }
}

fn cancel_while_waiting(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, &waiter("long", 20_000));
    let id = http.start(&server, "test/long/1.0.0", &json!({}));
    task_running(&http, &server, &id, "pause");
    let asked = Instant::now();
    let (s, v) = http.post_json(
        &server.api(&format!("/instances/{id}/cancel")),
        &json!(null),
    );
    assert_eq!(s, 202, "{v}");
    assert_eq!(v, json!({"id": id, "requested": "cancel"}));
    let v = http.wait(&server, &id, 30);
    assert_eq!(v["status"], "cancelled", "{v}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(v["tasks"][1]["status"], "cancelled", "{v}");
    assert!(v.get("output").is_none());
    for action in ["cancel", "suspend", "resume"] {
        let (s, c) = http.post_json(
            &server.api(&format!("/instances/{id}/{action}")),
            &json!(null),
        );
        assert_eq!(s, 409, "{action}: {c}");
    }

    // A suspended instance can be cancelled too.
    let id = http.start(&server, "test/long/1.0.0", &json!({}));
    task_running(&http, &server, &id, "pause");
    let control = |action: &str| {
        let url = server.api(&format!("/instances/{id}/{action}"));
        http.post_json(&url, &json!(null)).0
    };
    assert_eq!(control("suspend"), 202);
    http.until(&server, &id, Duration::from_secs(10), "suspended", |v| {
        v["status"] == "suspended"
    });
    assert_eq!(control("cancel"), 202);
    let v = http.wait(&server, &id, 10);
    assert_eq!(v["status"], "cancelled", "{v}");
}

fn suspend_holds_past_the_deadline(backing: &Backing) {
    const WAIT_MS: u64 = 1200;
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, &waiter("held", WAIT_MS));
    let id = http.start(&server, "test/held/1.0.0", &json!({}));
    task_running(&http, &server, &id, "pause");
    // The wait began before it was seen running: its deadline is before this.
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
    let control = |action: &str| {
        http.post_json(
            &server.api(&format!("/instances/{id}/{action}")),
            &json!(null),
        )
    };
    let (s, v) = control("suspend");
    assert_eq!(s, 202, "{v}");
    http.until(&server, &id, Duration::from_secs(10), "suspended", |v| {
        v["status"] == "suspended"
    });
    // Suspending twice is harmless.
    assert_eq!(control("suspend").0, 202);
    // Long-poll well past the wait's deadline: the instance must not end while suspended.
    let past = deadline + Duration::from_millis(700);
    let seconds = past.saturating_duration_since(Instant::now()).as_secs_f64();
    let (s, v) = http.get(&server.api(&format!("/instances/{id}?wait={seconds:.3}")));
    assert_eq!(s, 200);
    assert!(Instant::now() >= past, "the long-poll returned early: {v}");
    assert_eq!(v["status"], "suspended", "{v:#}");
    assert!(v.get("endedAt").is_none(), "{v}");
    assert_eq!(v["tasks"][1]["status"], "running", "{v:#}");
    assert_eq!(
        v["tasks"].as_array().unwrap().len(),
        2,
        "`last` must not start: {v:#}"
    );

    let (s, v) = control("resume");
    assert_eq!(s, 202, "{v}");
    let v = http.wait(&server, &id, 30);
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(v["output"], json!({"done": true}));
    for action in ["suspend", "resume", "cancel"] {
        assert_eq!(control(action).0, 409, "{action} after the end");
    }
}

fn metrics(backing: &Backing) {
    let server = Server::start(backing, &[]);
    let http = Http::default();
    http.push(&server, HELLO);
    http.push(&server, FAIL);
    let mut ids: Vec<String> = (0..3)
        .map(|n| http.start(&server, "test/hello/1.0.0", &json!({"name": n.to_string()})))
        .collect();
    ids.push(http.start(&server, "test/fail/1.0.0", &json!({"who": "x"})));
    for id in &ids {
        http.wait(&server, id, 30);
    }
    let (s, text, ct) = http.send("GET", &format!("{}/metrics", server.url), None, None);
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = text.as_str().unwrap();
    let sample = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no sample `{name}` in:\n{text}"))
    };
    assert_eq!(sample(r#"nagare_instances{status="completed"}"#), 3.0);
    assert_eq!(sample(r#"nagare_instances{status="faulted"}"#), 1.0);
    assert_eq!(sample(r#"nagare_instances{status="running"}"#), 0.0);
    // Four tasks ran (three `greet`, one `fail`).
    assert_eq!(sample("nagare_task_duration_seconds_count"), 4.0);
    assert_eq!(
        sample(r#"nagare_task_duration_seconds_bucket{le="+Inf"}"#),
        4.0
    );
    assert!(sample("nagare_task_duration_seconds_sum") >= 0.0);
    assert!(
        text.contains("# TYPE nagare_task_duration_seconds histogram"),
        "{text}"
    );
}

fn bearer_tokens(backing: &Backing) {
    let dir = TempDir::new("tokens");
    let file = dir.path().join("tokens");
    std::fs::write(&file, "# who may call\nfirst-token\n\n  second-token  \n").unwrap();
    let server = Server::start(backing, &["--token-file", file.to_str().unwrap()]);
    let protected = [
        ("GET", "/api/v1/workflows"),
        ("POST", "/api/v1/workflows"),
        ("GET", "/api/v1/instances"),
        ("GET", "/api/v1/instances/x"),
        ("POST", "/api/v1/instances/x/cancel"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/metrics"),
        ("GET", "/no/such/route"),
    ];
    for token in [
        None,
        Some("wrong"),
        Some("first-token-but-longer"),
        Some(""),
    ] {
        for (method, path) in protected {
            let (s, v, headers) = raw(method, &format!("{}{path}", server.url), token);
            assert_eq!(s, 401, "{method} {path} with {token:?}: {v}");
            let www = headers.get("www-authenticate").map(|v| v.to_str().unwrap());
            assert_eq!(www, Some("Bearer"), "{method} {path}");
            assert_problem(&v, 401);
        }
    }
    // The scheme is case-insensitive; the token is not.
    let lowercase = |scheme: &str, token: &str| {
        runtime().block_on(async {
            let r = reqwest::Client::new()
                .get(server.api("/workflows"))
                .header("authorization", format!("{scheme} {token}"))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        })
    };
    assert_eq!(lowercase("bearer", "first-token"), 200);
    assert_eq!(lowercase("BEARER", "second-token"), 200);
    assert_eq!(lowercase("Bearer", "FIRST-TOKEN"), 401);
    assert_eq!(lowercase("Basic", "first-token"), 401);
    for token in ["first-token", "second-token"] {
        let (s, v, _) = raw("GET", &server.api("/workflows"), Some(token));
        assert_eq!(s, 200, "{v}");
        let (s, _, _) = raw("GET", &format!("{}/metrics", server.url), Some(token));
        assert_eq!(s, 200);
    }
    let mut http = Http::default();
    http.token = Some("second-token".into());
    http.push(&server, HELLO);
    let id = http.start(&server, "test/hello/1.0.0", &json!({"name": "t"}));
    assert_eq!(http.wait(&server, &id, 30)["status"], "completed");
    // Liveness and readiness stay open.
    let (s, v, _) = raw("GET", &format!("{}/healthz", server.url), None);
    assert_eq!(s, 200, "{v}");
    let (s, v, _) = raw("GET", &format!("{}/readyz", server.url), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["engine"]["status"], "ok", "{v}");
}

#[test]
fn openapi_documents_every_route() {
    let dir = TempDir::new("api");
    let server = Server::start(&Backing::Sqlite(dir.path().to_path_buf()), &[]);
    let (s, doc, ct) = Http::default().send("GET", &server.api("/openapi.json"), None, None);
    assert_eq!(s, 200);
    assert_eq!(ct, "application/json");
    assert!(doc.is_object(), "not JSON: {doc}");
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let routes = router_routes();
    assert!(routes.len() >= 9, "the router was not read: {routes:?}");
    for (path, methods) in &routes {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is routed but not in openapi.json"));
        for m in methods {
            assert!(
                item.get(m).is_some(),
                "{m} {path} is routed but not documented"
            );
        }
    }
    for (path, item) in paths {
        let routed = routes
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("{path} is documented but not routed"));
        for m in item.as_object().unwrap().keys() {
            assert!(
                routed.1.contains(m),
                "{m} {path} is documented but not routed"
            );
        }
    }
    // Every `$ref` points into the document.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

/// The routes of `api::router` as (full path, methods), read from its source.
fn router_routes() -> Vec<(String, Vec<String>)> {
    let source = include_str!("../src/api.rs");
    let body = &source[source.find("pub fn router").expect("fn router")..];
    let body = &body[..body.find("\n}\n").expect("end of fn router")];
    let nested_at = body.find(".nest(\"/api/v1\"").expect("the /api/v1 nest");
    let method = regex::Regex::new(r"\b(get|post|put|patch|delete)\(").unwrap();
    let mut routes = Vec::new();
    for (at, _) in body.match_indices(".route(") {
        let rest = &body[at + ".route(".len()..];
        let open = rest.find('"').unwrap();
        let close = open + 1 + rest[open + 1..].find('"').unwrap();
        let path = &rest[open + 1..close];
        // The call's text: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(i, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                (depth == 0).then_some(i)
            })
            .unwrap();
        let methods = method
            .captures_iter(&rest[close..end])
            .map(|c| c[1].to_string())
            .collect();
        let full = if at < nested_at {
            format!("/api/v1{path}")
        } else {
            path.to_string()
        };
        routes.push((full, methods));
    }
    routes
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

// ---- helpers ----

/// Asserts the RFC 7807 members of a problem document.
fn assert_problem(v: &Value, status: u16) {
    assert_eq!(v["status"], status, "{v}");
    assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
    assert!(v["detail"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
    assert!(v["type"].is_string(), "{v}");
}

/// The `diagnostics` of a 400, each checked to read `request body:LINE:COLUMN: message (at /pointer)`.
fn diagnostic_lines(v: &Value) -> Vec<String> {
    let shape = regex::Regex::new(r"^request body:[1-9]\d*:[1-9]\d*: .+ \(at (/.*)?\)$").unwrap();
    let list: Vec<String> = v["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("no diagnostics: {v}"))
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    assert!(!list.is_empty(), "{v}");
    for d in &list {
        assert!(
            shape.is_match(d),
            "not FILE:LINE:COLUMN: message (at /pointer): {d}"
        );
    }
    list
}

/// 1-based line and column of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap();
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Follows `next` through every page of `/instances?QUERY&limit=LIMIT`; returns the ids.
fn pages(http: &Http, server: &Server, query: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..100 {
        let mut url = server.api(&format!("/instances?{query}&limit={limit}"));
        if let Some(b) = &before {
            url.push_str(&format!("&before={b}"));
        }
        let (s, page) = http.get(&url);
        assert_eq!(s, 200, "{url}: {page}");
        let items = page["items"].as_array().unwrap();
        ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(next) => {
                // Only a full page has a next one, and the cursor is its last item.
                assert_eq!(items.len(), limit as usize, "{url}: {page}");
                assert_eq!(ids.last().map(String::as_str), Some(next));
                before = Some(next.to_string());
            }
            None => {
                // The last page is never an empty one after a full page.
                assert!(items.len() <= limit as usize, "{url}: {page}");
                assert!(
                    before.is_none() || !items.is_empty(),
                    "{url}: an empty last page"
                );
                return ids;
            }
        }
    }
    panic!("more than 100 pages for {query}");
}

/// Polls until the task named `name` has started (and not ended).
fn task_running(http: &Http, server: &Server, id: &str, name: &str) {
    http.until(
        server,
        id,
        Duration::from_secs(20),
        &format!("{name} to run"),
        |v| {
            v["tasks"].as_array().is_some_and(|ts| {
                ts.iter()
                    .any(|t| t["name"] == name && t["status"] == "running")
            })
        },
    );
}

/// Milliseconds since the epoch of an RFC 3339 string.
fn timestamp(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// A YAML document as JSON (to resolve task references in it).
fn yaml_doc(text: &str) -> Value {
    nagare::dsl::load::parse("test", text)
        .expect("valid YAML")
        .value
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// POSTs a JSON input; returns (status, body, Location header).
fn send_with_location(url: &str, input: &Value) -> (u16, Value, String) {
    runtime().block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .json(input)
            .send()
            .await
            .unwrap();
        let location = header(&r, "location").unwrap_or_default();
        (
            r.status().as_u16(),
            r.json().await.unwrap_or(Value::Null),
            location,
        )
    })
}

/// A request with an optional bearer token (a POST carries a workflow): (status, body, headers).
fn raw(method: &str, url: &str, token: Option<&str>) -> (u16, Value, reqwest::header::HeaderMap) {
    runtime().block_on(async {
        let mut r = reqwest::Client::new().request(method.parse().unwrap(), url);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        if method == "POST" {
            r = r.header("content-type", "application/yaml").body(HELLO);
        }
        let r = r.send().await.unwrap();
        let headers = r.headers().clone();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    })
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name)?.to_str().ok().map(String::from)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
