//! A FAKE Kubernetes API server for the pod API, for the Kubernetes backend's tests: no real
//! cluster can run on this machine (see README, "Containers", for the manual check against
//! kind or minikube). The kube client talks to it over real HTTP with a kubeconfig and a bearer
//! token, as to a real API server.
//!
//! It serves what nagare uses: create, get, list (by label), watch (JSON lines, resumed by
//! resource version; the fake closes every watch after `WATCH_SECONDS` to make clients resume),
//! log (with follow) and delete of pods, with 401 without the token and 404 / 409 statuses.
//! Its kubelet is a fake too: images are not pulled, the container's command runs as a process
//! on this machine (with its environment; volumes must map a path to itself), and the pod goes
//! Pending → ContainerCreating → Running → Succeeded / Failed with the exit code and, on failure,
//! the log's tail as termination message (`FallbackToLogsOnError`). Images whose name holds a
//! failure mode behave as that failure does on a real cluster:
//!
//! - `missing`: ErrImagePull, then ImagePullBackOff, forever;
//! - `unschedulable`: Pending with `PodScheduled: False, Unschedulable`, forever;
//! - `oom`: runs, then the container is terminated `OOMKilled` (137), the pod Failed;
//! - `evicted`: runs, then the pod is Failed with reason `Evicted`.

#![allow(dead_code)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

pub const TOKEN: &str = "fake-kube-token";
/// Every watch ends after this long (a real API server ends them too, less often).
const WATCH_SECONDS: u64 = 1;

type Key = (String, String);

#[derive(Clone, Debug)]
struct Event {
    version: u64,
    key: Key,
    kind: &'static str,
    pod: Value,
}

#[derive(Default)]
struct Inner {
    version: u64,
    pods: BTreeMap<Key, Value>,
    history: Vec<Event>,
    /// Every pod as nagare posted it.
    created: Vec<Value>,
    deleted: Vec<Key>,
    /// (log so far, the container ended).
    logs: HashMap<Key, (String, bool)>,
    kubelets: HashMap<Key, tokio::task::AbortHandle>,
    /// Requests seen, as `METHOD path?query` (to check that nagare watches, not polls).
    requests: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<Event>,
}

pub struct FakeKube {
    pub url: String,
    fake: Fake,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeKube {
    pub fn start() -> FakeKube {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (events, _) = broadcast::channel(4096);
        let fake = Fake {
            inner: Arc::default(),
            events,
        };
        let app = Router::new()
            .route("/api/v1/namespaces/{ns}/pods", get(list).post(create))
            .route(
                "/api/v1/namespaces/{ns}/pods/{name}",
                get(read).delete(delete),
            )
            .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(log))
            .layer(axum::middleware::from_fn_with_state(
                fake.clone(),
                authorize,
            ))
            .with_state(fake.clone());
        let listener =
            runtime.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeKube {
            url,
            fake,
            runtime: Some(runtime),
        }
    }

    /// A kubeconfig with the context `fake` (this server, the token, `namespace`) and the
    /// context `elsewhere` (a server that is not there), `current` being the current one.
    pub fn kubeconfig(&self, dir: &std::path::Path, namespace: &str, current: &str) -> String {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n\
                 - name: fake\n  cluster: {{server: '{}'}}\n\
                 - name: elsewhere\n  cluster: {{server: 'http://127.0.0.1:9'}}\n\
                 users:\n- name: tester\n  user: {{token: {TOKEN}}}\n\
                 contexts:\n\
                 - name: fake\n  context: {{cluster: fake, user: tester, namespace: {namespace}}}\n\
                 - name: elsewhere\n  context: {{cluster: elsewhere, user: tester}}\n\
                 current-context: {current}\n",
                self.url
            ),
        )
        .unwrap();
        path.display().to_string()
    }

    /// Every pod nagare created, as it posted it.
    pub fn created(&self) -> Vec<Value> {
        self.fake.inner.lock().unwrap().created.clone()
    }

    pub fn exists(&self, namespace: &str, name: &str) -> bool {
        let key = (namespace.to_string(), name.to_string());
        self.fake.inner.lock().unwrap().pods.contains_key(&key)
    }

    pub fn deleted(&self) -> Vec<(String, String)> {
        self.fake.inner.lock().unwrap().deleted.clone()
    }

    pub fn requests(&self) -> Vec<String> {
        self.fake.inner.lock().unwrap().requests.clone()
    }

    /// The pod as the server holds it now.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Value> {
        let key = (namespace.to_string(), name.to_string());
        self.fake.inner.lock().unwrap().pods.get(&key).cloned()
    }

    /// Puts a pod in place as an earlier process would have left it (no kubelet runs it).
    pub fn leave(&self, namespace: &str, pod: Value) {
        let name = pod["metadata"]["name"].as_str().unwrap().to_string();
        let mut inner = self.fake.inner.lock().unwrap();
        let mut pod = pod;
        pod["metadata"]["namespace"] = json!(namespace);
        pod["status"] = json!({"phase": "Succeeded"});
        inner.pods.insert((namespace.to_string(), name), pod);
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(r) = self.runtime.take() {
            r.shutdown_background();
        }
    }
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

async fn authorize(State(fake): State<Fake>, request: Request, next: Next) -> Response {
    let line = format!(
        "{} {}",
        request.method(),
        request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("")
    );
    fake.inner.lock().unwrap().requests.push(line);
    let bearer = format!("Bearer {TOKEN}");
    let authorized = request
        .headers()
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == bearer.as_bytes());
    if !authorized {
        return status(401, "Unauthorized", "Unauthorized".into());
    }
    next.run(request).await
}

impl Fake {
    /// Changes a pod's status (or drops it: `None`), with a new resource version and an event.
    fn change(&self, key: &Key, kind: &'static str, edit: impl FnOnce(&mut Value)) -> bool {
        let mut inner = self.inner.lock().unwrap();
        let Some(mut pod) = inner.pods.get(key).cloned() else {
            return false;
        };
        edit(&mut pod);
        inner.version += 1;
        let version = inner.version;
        pod["metadata"]["resourceVersion"] = json!(version.to_string());
        if kind == "DELETED" {
            inner.pods.remove(key);
        } else {
            inner.pods.insert(key.clone(), pod.clone());
        }
        let event = Event {
            version,
            key: key.clone(),
            kind,
            pod,
        };
        inner.history.push(event.clone());
        let _ = self.events.send(event);
        true
    }

    fn append_log(&self, key: &Key, line: &str) {
        let mut inner = self.inner.lock().unwrap();
        let entry = inner.logs.entry(key.clone()).or_default();
        entry.0.push_str(line);
        entry.0.push('\n');
    }
}

async fn create(
    State(fake): State<Fake>,
    Path(ns): Path<String>,
    axum::Json(posted): axum::Json<Value>,
) -> Response {
    let Some(name) = posted["metadata"]["name"].as_str().map(String::from) else {
        return status(422, "Invalid", "metadata.name: Required value".into());
    };
    let key = (ns.clone(), name.clone());
    let pod = {
        let mut inner = fake.inner.lock().unwrap();
        if inner.pods.contains_key(&key) {
            return status(
                409,
                "AlreadyExists",
                format!("pods \"{name}\" already exists"),
            );
        }
        inner.created.push(posted.clone());
        inner.version += 1;
        let mut pod = posted;
        pod["metadata"]["namespace"] = json!(ns);
        pod["metadata"]["uid"] = json!(format!("uid-{}", inner.version));
        pod["metadata"]["resourceVersion"] = json!(inner.version.to_string());
        pod["metadata"]["creationTimestamp"] = json!("2026-12-07T00:00:00Z");
        pod["status"] = json!({"phase": "Pending"});
        inner.pods.insert(key.clone(), pod.clone());
        inner.logs.insert(key.clone(), (String::new(), false));
        let event = Event {
            version: inner.version,
            key: key.clone(),
            kind: "ADDED",
            pod: pod.clone(),
        };
        inner.history.push(event.clone());
        let _ = fake.events.send(event);
        pod
    };
    let kubelet = tokio::spawn(kubelet(fake.clone(), key.clone(), pod.clone()));
    fake.inner
        .lock()
        .unwrap()
        .kubelets
        .insert(key, kubelet.abort_handle());
    (StatusCode::CREATED, axum::Json(pod)).into_response()
}

async fn read(State(fake): State<Fake>, Path((ns, name)): Path<(String, String)>) -> Response {
    match fake.inner.lock().unwrap().pods.get(&(ns, name.clone())) {
        Some(pod) => axum::Json(pod.clone()).into_response(),
        None => status(404, "NotFound", format!("pods \"{name}\" not found")),
    }
}

async fn delete(State(fake): State<Fake>, Path((ns, name)): Path<(String, String)>) -> Response {
    let key = (ns, name.clone());
    if let Some(kubelet) = fake.inner.lock().unwrap().kubelets.remove(&key) {
        kubelet.abort();
    }
    let mut gone = Value::Null;
    if !fake.change(&key, "DELETED", |p| gone = p.clone()) {
        return status(404, "NotFound", format!("pods \"{name}\" not found"));
    }
    let mut inner = fake.inner.lock().unwrap();
    inner.deleted.push(key.clone());
    if let Some(log) = inner.logs.get_mut(&key) {
        log.1 = true;
    }
    axum::Json(gone).into_response()
}

async fn list(
    State(fake): State<Fake>,
    Path(ns): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return watch(fake, ns, query);
    }
    let label = query.get("labelSelector").cloned().unwrap_or_default();
    let inner = fake.inner.lock().unwrap();
    let items: Vec<Value> = inner
        .pods
        .iter()
        .filter(|((n, _), _)| *n == ns)
        .filter(|(_, pod)| label.is_empty() || pod["metadata"]["labels"].get(&label).is_some())
        .map(|(_, pod)| pod.clone())
        .collect();
    axum::Json(json!({"kind": "PodList", "apiVersion": "v1",
        "metadata": {"resourceVersion": inner.version.to_string()}, "items": items}))
    .into_response()
}

/// Events after the given resource version for the selected pod, as JSON lines.
fn watch(fake: Fake, ns: String, query: HashMap<String, String>) -> Response {
    let name = query
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name="))
        .map(String::from);
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut live = fake.events.subscribe();
    let wanted = move |e: &Event| e.key.0 == ns && name.as_ref().is_none_or(|n| *n == e.key.1);
    let past: Vec<Event> = fake
        .inner
        .lock()
        .unwrap()
        .history
        .iter()
        .filter(|e| e.version > from && wanted(e))
        .cloned()
        .collect();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let line = |e: &Event| {
            let mut s = json!({"type": e.kind, "object": e.pod}).to_string();
            s.push('\n');
            Ok(Bytes::from(s))
        };
        let mut last = from;
        for e in &past {
            last = e.version;
            if tx.send(line(e)).await.is_err() {
                return;
            }
        }
        let end = tokio::time::Instant::now() + Duration::from_secs(WATCH_SECONDS);
        while let Ok(Ok(e)) = tokio::time::timeout_at(end, live.recv()).await {
            if e.version > last && wanted(&e) {
                last = e.version;
                if tx.send(line(&e)).await.is_err() {
                    return;
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn log(
    State(fake): State<Fake>,
    Path((ns, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let key = (ns, name.clone());
    let follow = query.get("follow").is_some_and(|f| f == "true");
    let (running, now) = {
        let inner = fake.inner.lock().unwrap();
        let phase = inner
            .pods
            .get(&key)
            .map(|p| p["status"]["phase"].as_str().unwrap_or("").to_string());
        match (phase, inner.logs.get(&key)) {
            (None, _) => return status(404, "NotFound", format!("pods \"{name}\" not found")),
            (Some(p), _) if p == "Pending" => {
                return status(
                    400,
                    "BadRequest",
                    format!("container \"task\" in pod \"{name}\" is waiting to start"),
                );
            }
            (_, log) => (
                log.is_some_and(|l| !l.1),
                log.map(|l| l.0.clone()).unwrap_or_default(),
            ),
        }
    };
    if !follow || !running {
        return now.into_response();
    }
    // Streams what the container writes, until it ends.
    let stream = futures::stream::unfold(
        (fake, key, 0usize, false),
        |(fake, key, at, done)| async move {
            if done {
                return None;
            }
            loop {
                let (text, ended) = fake
                    .inner
                    .lock()
                    .unwrap()
                    .logs
                    .get(&key)
                    .cloned()
                    .unwrap_or((String::new(), true));
                if text.len() > at || ended {
                    let chunk = Bytes::from(text[at..].to_string());
                    return Some((
                        Ok::<_, std::io::Error>(chunk),
                        (fake, key, text.len(), ended),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    );
    Response::builder()
        .header("content-type", "text/plain")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn container_status(image: &str, state: Value) -> Value {
    json!([{"name": "task", "image": image, "imageID": "", "ready": state.get("running").is_some(),
        "restartCount": 0, "state": state}])
}

/// The fake kubelet: moves the pod through its phases and runs its command on this machine.
async fn kubelet(fake: Fake, key: Key, pod: Value) {
    let pause = || tokio::time::sleep(Duration::from_millis(60));
    let container = pod["spec"]["containers"][0].clone();
    let image = container["image"].as_str().unwrap_or("").to_string();
    pause().await;
    if image.contains("unschedulable") {
        fake.change(&key, "MODIFIED", |p| {
            p["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]);
        });
        return;
    }
    fake.change(&key, "MODIFIED", |p| {
        p["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "True"}]);
        p["status"]["containerStatuses"] =
            container_status(&image, json!({"waiting": {"reason": "ContainerCreating"}}));
    });
    pause().await;
    if image.contains("missing") {
        let message = format!("failed to pull image \"{image}\": manifest unknown");
        fake.change(&key, "MODIFIED", |p| {
            p["status"]["containerStatuses"] = container_status(
                &image,
                json!({"waiting": {"reason": "ErrImagePull", "message": message}}),
            );
        });
        pause().await;
        let message = format!("Back-off pulling image \"{image}\"");
        fake.change(&key, "MODIFIED", |p| {
            p["status"]["containerStatuses"] = container_status(
                &image,
                json!({"waiting": {"reason": "ImagePullBackOff", "message": message}}),
            );
        });
        return;
    }
    fake.change(&key, "MODIFIED", |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["containerStatuses"] = container_status(
            &image,
            json!({"running": {"startedAt": "2026-12-07T00:00:01Z"}}),
        );
    });
    let end = |fake: &Fake, code: i32, reason: &str, message: Option<String>| {
        let phase = if code == 0 { "Succeeded" } else { "Failed" };
        fake.change(&key, "MODIFIED", |p| {
            p["status"]["phase"] = json!(phase);
            let mut terminated = json!({"exitCode": code, "reason": reason});
            if let Some(m) = message {
                terminated["message"] = json!(m);
            }
            p["status"]["containerStatuses"] =
                container_status(&image, json!({"terminated": terminated}));
        });
        if let Some(log) = fake.inner.lock().unwrap().logs.get_mut(&key) {
            log.1 = true;
        }
    };
    if image.contains("oom") {
        pause().await;
        end(&fake, 137, "OOMKilled", None);
        return;
    }
    if image.contains("evicted") {
        pause().await;
        fake.change(&key, "MODIFIED", |p| {
            p["status"]["phase"] = json!("Failed");
            p["status"]["reason"] = json!("Evicted");
            p["status"]["message"] = json!("The node was low on resource: ephemeral-storage.");
        });
        if let Some(log) = fake.inner.lock().unwrap().logs.get_mut(&key) {
            log.1 = true;
        }
        return;
    }
    let mut argv: Vec<String> = container["command"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(container["args"].as_array().into_iter().flatten())
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    if argv.is_empty() {
        argv.push("true".into());
    }
    let env: BTreeMap<String, String> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?.into(), e["value"].as_str()?.into())))
        .collect();
    // One pipe for stdout and stderr, as the container runtime's log has them, in order.
    let (reader, writer) = std::io::pipe().unwrap();
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&env)
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .kill_on_drop(true);
    let child = command.spawn();
    drop(command);
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            fake.append_log(&key, &format!("exec {}: {e}", argv[0]));
            end(&fake, 127, "StartError", None);
            return;
        }
    };
    let (logging, logged) = (fake.clone(), key.clone());
    let reading = tokio::task::spawn_blocking(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(reader)).map_while(Result::ok) {
            logging.append_log(&logged, &line);
        }
    });
    let _ = reading.await;
    let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
    let message = (code != 0).then(|| {
        let log = fake
            .inner
            .lock()
            .unwrap()
            .logs
            .get(&key)
            .map(|l| l.0.clone())
            .unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    });
    end(
        &fake,
        code,
        if code == 0 { "Completed" } else { "Error" },
        message,
    );
}
