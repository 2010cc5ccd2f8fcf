//! `nagare serve --sink URL`: lifecycle CloudEvents reach an HTTP sink (a recorder in the test) complete, in order, despite failures.

#[path = "support/postgres.rs"]
mod postgres;
#[macro_use]
#[path = "support/server.rs"]
mod server;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use server::{Backing, Http, Server, TempDir};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

on_both_stores!(
    events_of_a_run,
    refused_events_are_retried_in_order,
    a_refused_instance_holds_back_only_itself,
);

/// A few tasks, one retried three times (then caught), and a wait to suspend in.
fn workflow(pause_ms: u64) -> String {
    format!(
        r#"document: {{dsl: '1.0.3', namespace: test, name: events, version: '1.0.0'}}
do:
  - first: {{set: {{n: 1}}}}
  - flaky:
      try:
        - attempt:
            raise:
              error: {{type: https://example.com/errors/flaky, status: 503}}
      catch:
        errors:
          with: {{status: 503}}
        retry:
          delay: {{milliseconds: 5}}
          limit:
            attempt: {{count: 3}}
        do:
          - recover: {{set: {{recovered: true}}}}
  - pause: {{wait: {{milliseconds: {pause_ms}}}}}
  - last: {{set: {{done: true}}}}
"#
    )
}

/// (short type, task reference) of an event, e.g. ("task.started", "/do/0/first").
type Step = (String, Option<String>);

fn step(event: &Value) -> Step {
    let kind = event["type"].as_str().unwrap_or_default();
    let short = kind
        .strip_prefix("io.serverlessworkflow.")
        .and_then(|k| k.strip_suffix(".v1"))
        .unwrap_or(kind);
    (
        short.to_string(),
        event["data"]["task"].as_str().map(String::from),
    )
}

/// The steps the in-process runtime announces for the workflow (`nagare run --events`): what
/// the service must publish for an instance that is not suspended.
fn expected_steps() -> Vec<Step> {
    let dir = TempDir::new("sink-expected");
    let file = dir.path().join("events.yaml");
    std::fs::write(&file, workflow(1)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nagare"))
        .arg("run")
        .arg(&file)
        .arg("--events")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<Step> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| step(&serde_json::from_str(l).unwrap()))
        .collect();
    // The run itself must be the one described: retried, caught, completed.
    assert_eq!(
        steps.iter().filter(|s| s.0 == "task.retried").count(),
        3,
        "{steps:?}"
    );
    assert_eq!(steps.first().unwrap().0, "workflow.started");
    assert_eq!(steps.last().unwrap().0, "workflow.completed");
    steps
}

/// What the recorder received.
#[derive(Default)]
struct Recorder {
    /// Accepted events with their Content-Type, in arrival order.
    accepted: Mutex<Vec<(String, Value)>>,
    /// Refuse every request while set.
    refusing: AtomicBool,
    /// Refuse this many requests more.
    fail_next: AtomicUsize,
    /// Refuse the requests with these numbers (counted from 1, among requests not refused
    /// otherwise).
    fail_at: Mutex<HashSet<usize>>,
    taken: AtomicUsize,
    /// Refuse the events of this source (one instance).
    refuse_source: Mutex<Option<String>>,
    refused: AtomicUsize,
}

impl Recorder {
    fn accepted(&self) -> Vec<(String, Value)> {
        self.accepted.lock().unwrap().clone()
    }

    /// The accepted events of one instance.
    fn of(&self, id: &str) -> Vec<Value> {
        let source = format!("/api/v1/instances/{id}");
        self.accepted()
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| e["source"] == source)
            .collect()
    }

    /// Waits until `n` events of the instance arrived.
    fn until(&self, id: &str, n: usize, server: &Server) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.of(id);
            if events.len() >= n {
                return events;
            }
            if Instant::now() > deadline {
                let steps: Vec<Step> = events.iter().map(step).collect();
                panic!(
                    "{} of {n} events arrived: {steps:?}\n--- server log ---\n{}",
                    events.len(),
                    server.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn receive(State(r): State<Arc<Recorder>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let failing = r
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let event: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    let refused_source = r.refuse_source.lock().unwrap().as_ref()
        == event["source"].as_str().map(String::from).as_ref();
    let mut refuse = failing || refused_source || r.refusing.load(Ordering::SeqCst);
    if !refuse {
        let n = r.taken.fetch_add(1, Ordering::SeqCst) + 1;
        refuse = r.fail_at.lock().unwrap().remove(&n);
    }
    if refuse {
        r.refused.fetch_add(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.accepted.lock().unwrap().push((content_type, event));
    StatusCode::ACCEPTED
}

/// A recorder listening on a free port, served by its own runtime (dropped with it).
fn recorder() -> (tokio::runtime::Runtime, Arc<Recorder>, String) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let app = Router::new()
        .route("/events", post(receive))
        .with_state(recorder.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (rt, recorder, url)
}

/// Checks the CloudEvents attributes of every event, and that ids are unique.
fn assert_cloud_events(events: &[Value], id: &str) {
    let mut ids = HashSet::new();
    let mut last_time = i64::MIN;
    for e in events {
        assert_eq!(e["specversion"], "1.0", "{e}");
        let event_id = e["id"].as_str().unwrap_or_default();
        assert!(!event_id.is_empty(), "{e}");
        assert!(
            ids.insert(event_id.to_string()),
            "event id {event_id} twice"
        );
        assert_eq!(e["source"], format!("/api/v1/instances/{id}"), "{e}");
        assert!(
            e["type"]
                .as_str()
                .unwrap_or_default()
                .starts_with("io.serverlessworkflow."),
            "{e}"
        );
        let time = e["time"].as_str().unwrap_or_else(|| panic!("no time: {e}"));
        let time = time
            .parse::<jiff::Timestamp>()
            .unwrap_or_else(|err| panic!("time `{time}` is not RFC 3339: {err}"))
            .as_millisecond();
        assert!(time >= last_time, "time goes back: {e}");
        last_time = time;
        assert!(e["data"].is_object(), "{e}");
        assert_eq!(e["datacontenttype"], "application/json", "{e}");
        match e["data"]["task"].as_str() {
            Some(task) => assert_eq!(e["subject"], task, "{e}"),
            None => assert!(e["data"]["name"].is_string(), "{e}"),
        }
    }
}

fn events_of_a_run(backing: &Backing) {
    let expected = expected_steps();
    let (_rt, recorder, sink) = recorder();
    let server = Server::start(backing, &["--sink", &sink]);
    let http = Http::default();
    http.push(&server, &workflow(1000));
    let id = http.start(&server, "test/events/1.0.0", &json!({}));
    http.until(&server, &id, Duration::from_secs(20), "pause to run", |v| {
        v["tasks"].as_array().is_some_and(|ts| {
            ts.iter()
                .any(|t| t["name"] == "pause" && t["status"] == "running")
        })
    });
    let control = |action: &str| {
        let (s, v) = http.post_json(
            &server.api(&format!("/instances/{id}/{action}")),
            &json!(null),
        );
        assert_eq!(s, 202, "{action}: {v}");
    };
    control("suspend");
    http.until(&server, &id, Duration::from_secs(10), "suspended", |v| {
        v["status"] == "suspended"
    });
    control("resume");
    let done = http.wait(&server, &id, 30);
    assert_eq!(done["status"], "completed", "{done}");

    // The suspension shows where it happened: after `pause` started, for the workflow and the
    // task that was running.
    let pause = Some("/do/2/pause".to_string());
    let at = expected
        .iter()
        .position(|s| s.0 == "task.started" && s.1 == pause)
        .unwrap()
        + 1;
    let mut steps = expected.clone();
    steps.splice(
        at..at,
        [
            ("workflow.suspended".to_string(), None),
            ("task.suspended".to_string(), pause.clone()),
            ("workflow.resumed".to_string(), None),
            ("task.resumed".to_string(), pause.clone()),
        ],
    );
    let events = recorder.until(&id, steps.len(), &server);
    assert_eq!(events.iter().map(step).collect::<Vec<_>>(), steps);
    assert_cloud_events(&events, &id);
    // Structured content mode.
    for (content_type, _) in recorder.accepted() {
        assert_eq!(content_type, "application/cloudevents+json");
    }
    let started = &events[0]["data"];
    assert_eq!(
        started["definition"],
        json!({"namespace": "test", "name": "events", "version": "1.0.0"}),
        "{started}"
    );
    let retried: Vec<&Value> = events
        .iter()
        .filter(|e| step(e).0 == "task.retried")
        .map(|e| &e["data"]["attempt"])
        .collect();
    assert_eq!(retried, [&json!(1), &json!(2), &json!(3)]);
    assert_eq!(
        events.last().unwrap()["data"]["output"],
        json!({"done": true})
    );
    assert_eq!(recorder.refused.load(Ordering::SeqCst), 0);
    // Nothing more arrives (no event twice).
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(recorder.of(&id).len(), steps.len());
}

fn refused_events_are_retried_in_order(backing: &Backing) {
    const INSTANCES: usize = 3;
    let expected = expected_steps();
    let (_rt, recorder, sink) = recorder();
    recorder.refusing.store(true, Ordering::SeqCst);
    let server = Server::start(backing, &["--sink", &sink]);
    let http = Http::default();
    http.push(&server, &workflow(20));
    let ids: Vec<String> = (0..INSTANCES)
        .map(|_| http.start(&server, "test/events/1.0.0", &json!({})))
        .collect();
    // The instances end while the sink refuses everything: they never wait for it.
    for id in &ids {
        let v = http.wait(&server, id, 30);
        assert_eq!(v["status"], "completed", "{v}");
    }
    assert!(recorder.accepted().is_empty());
    let refused = recorder.refused.load(Ordering::SeqCst);
    assert!(refused >= 1, "the sink was not even tried");
    // Every event is queued, none lost.
    assert_eq!(
        outbox_depth(&http, &server),
        (INSTANCES * expected.len()) as f64
    );

    // Two more failures, then the sink takes events again, but for a few refusals in the middle
    // of the instances' sequences.
    recorder.fail_next.store(2, Ordering::SeqCst);
    *recorder.fail_at.lock().unwrap() = [7, 30, 61].into();
    recorder.refusing.store(false, Ordering::SeqCst);
    for id in &ids {
        let events = recorder.until(id, expected.len(), &server);
        assert_eq!(
            events.iter().map(step).collect::<Vec<_>>(),
            expected,
            "instance {id}"
        );
        assert_cloud_events(&events, id);
    }
    assert_eq!(recorder.fail_next.load(Ordering::SeqCst), 0);
    assert!(
        recorder.fail_at.lock().unwrap().is_empty(),
        "the refusals mid-way did not happen"
    );
    assert!(recorder.refused.load(Ordering::SeqCst) >= refused + 2 + 3);
    let all: Vec<String> = recorder
        .accepted()
        .iter()
        .map(|(_, e)| e["id"].as_str().unwrap().to_string())
        .collect();
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(
        all.len(),
        INSTANCES * expected.len(),
        "no event twice, no stranger"
    );
    assert_eq!(distinct.len(), all.len());
    // The outbox drains.
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox_depth(&http, &server) != 0.0 {
        assert!(Instant::now() < deadline, "the outbox does not drain");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn a_refused_instance_holds_back_only_itself(backing: &Backing) {
    let expected = expected_steps();
    let (_rt, recorder, sink) = recorder();
    recorder.refusing.store(true, Ordering::SeqCst);
    let server = Server::start(backing, &["--sink", &sink]);
    let http = Http::default();
    http.push(&server, &workflow(1));
    let a = http.start(&server, "test/events/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &a, 30)["status"], "completed");
    *recorder.refuse_source.lock().unwrap() = Some(format!("/api/v1/instances/{a}"));
    recorder.refusing.store(false, Ordering::SeqCst);
    // Six refusals in a row: A's next try is 3.2 s away (backoff 0.1, 0.2, … 3.2 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    while recorder.refused.load(Ordering::SeqCst) < 6 {
        assert!(Instant::now() < deadline, "the sink is not retried");
        std::thread::sleep(Duration::from_millis(10));
    }
    // B's events do not wait for A's next try.
    let b = http.start(&server, "test/events/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &b, 30)["status"], "completed");
    let ended = Instant::now();
    let events = recorder.until(&b, expected.len(), &server);
    let late = ended.elapsed();
    assert!(
        late < Duration::from_millis(1500),
        "B's events came {late:?} after its end"
    );
    assert_eq!(events.iter().map(step).collect::<Vec<_>>(), expected);
    assert!(recorder.of(&a).is_empty());
    // A's events all arrive, in order, once the sink takes them.
    *recorder.refuse_source.lock().unwrap() = None;
    let events = recorder.until(&a, expected.len(), &server);
    assert_eq!(events.iter().map(step).collect::<Vec<_>>(), expected);
    assert_cloud_events(&events, &a);
}

/// `nagare_outbox_depth` from /metrics.
fn outbox_depth(http: &Http, server: &Server) -> f64 {
    let (s, text) = http.get(&format!("{}/metrics", server.url));
    assert_eq!(s, 200);
    text.as_str()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("nagare_outbox_depth ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no nagare_outbox_depth in {text}"))
}

/// Events of `emit` tasks go to the sink too, as the emitter wrote them.
#[test]
fn emitted_events_reach_the_sink() {
    let dir = TempDir::new("sink-emit");
    let (_rt, recorder, sink) = recorder();
    let server = Server::start(
        &Backing::Sqlite(dir.path().join("data")),
        &["--sink", &sink],
    );
    let http = Http::default();
    http.push(
        &server,
        r#"
document: {dsl: '1.0.3', namespace: test, name: emitter, version: '1.0.0'}
do:
  - announce:
      emit:
        event:
          with:
            source: https://shop.example.com/orders
            type: com.example.order.shipped
            data: {order: 7}
"#,
    );
    let id = http.start(&server, "test/emitter/1.0.0", &json!({}));
    assert_eq!(http.wait(&server, &id, 20)["status"], "completed");
    let deadline = Instant::now() + Duration::from_secs(20);
    let shipped = loop {
        let all = recorder.accepted();
        if let Some((_, e)) = all
            .iter()
            .find(|(_, e)| e["type"] == "com.example.order.shipped")
        {
            break e.clone();
        }
        assert!(Instant::now() < deadline, "no emitted event: {all:#?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(shipped["source"], "https://shop.example.com/orders");
    assert_eq!(shipped["data"], json!({"order": 7}));
    assert!(
        shipped["id"].as_str().is_some_and(|i| !i.is_empty()),
        "{shipped}"
    );
}
