//! Spawns the real `nagare serve` binary for integration tests, and talks to it.
//! `Server::start` waits for the "serving on" line; `kill` is a real SIGKILL (`kill -9`).
#![allow(dead_code)]

use serde_json::Value;

/// Makes a `sqlite` and a `postgres` test of each `check(&Backing)` named, on a fresh data
/// directory and a fresh database. The including file declares `mod postgres;` (from
/// `support/postgres.rs`) and imports `Backing` and `TempDir`.
#[allow(unused_macros)]
macro_rules! on_both_stores {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[test]
            fn sqlite() {
                let dir = super::TempDir::new(stringify!($check));
                super::$check(&super::Backing::Sqlite(dir.path().to_path_buf()));
            }
            #[test]
            fn postgres() {
                let db = super::postgres::database();
                super::$check(&super::Backing::Postgres(db.url().to_string()));
            }
        }
    )*};
}
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where a server keeps its state: a SQLite data directory, or a PostgreSQL URL.
#[derive(Clone, Debug)]
pub enum Backing {
    Sqlite(PathBuf),
    Postgres(String),
}

pub struct Server {
    child: Child,
    pub url: String,
    /// Everything the server printed on stderr (collected by a thread).
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts `nagare serve` on a free port with `args` added.
    pub fn start(backing: &Backing, args: &[&str]) -> Server {
        Server::start_with(backing, args, &[])
    }

    /// [`Server::start`] with `env` added to the server's environment.
    pub fn start_with(backing: &Backing, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nagare"));
        cmd.envs(env.iter().copied());
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0");
        match backing {
            Backing::Sqlite(dir) => cmd.arg("--data").arg(dir),
            Backing::Postgres(url) => cmd.arg("--database").arg(url),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn nagare serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("serving on ").nth(1) {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(url);
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("nagare serve did not start: {}", log.lock().unwrap());
            }
        };
        Server { child, url, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the process is still alive (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("nagare serve did not stop on SIGTERM");
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh temporary directory (removed when dropped).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "nagare-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small blocking HTTP client for tests (reqwest in a private runtime).
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    pub token: Option<String>,
}

impl Default for Http {
    fn default() -> Self {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
            token: None,
        }
    }
}

impl Http {
    /// (status, JSON body or the text as a JSON string, content type).
    pub fn send(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value, String) {
        self.send_with(method, url, content_type, &[], body)
    }

    /// [`Http::send`] with more request headers.
    pub fn send_with(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (u16, Value, String) {
        self.rt.block_on(async {
            let mut r = self
                .client
                .request(method.parse().unwrap(), url)
                .timeout(Duration::from_secs(60));
            if let Some(t) = &self.token {
                r = r.bearer_auth(t);
            }
            if let Some(ct) = content_type {
                r = r.header("content-type", ct);
            }
            for (name, value) in headers {
                r = r.header(*name, *value);
            }
            if let Some(b) = body {
                r = r.body(b);
            }
            let response = r.send().await.expect("request");
            let status = response.status().as_u16();
            let ct = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let text = response.text().await.unwrap_or_default();
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, value, ct)
        })
    }

    pub fn get(&self, url: &str) -> (u16, Value) {
        let (s, v, _) = self.send("GET", url, None, None);
        (s, v)
    }

    pub fn post_json(&self, url: &str, body: &Value) -> (u16, Value) {
        let (s, v, _) = self.send(
            "POST",
            url,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        );
        (s, v)
    }

    pub fn post_yaml(&self, url: &str, text: &str) -> (u16, Value) {
        let (s, v, _) = self.send(
            "POST",
            url,
            Some("application/yaml"),
            Some(text.as_bytes().to_vec()),
        );
        (s, v)
    }

    /// Uploads a workflow (YAML) and expects 201 or 200.
    pub fn push(&self, server: &Server, yaml: &str) {
        let (s, v) = self.post_yaml(&server.api("/workflows"), yaml);
        assert!(s == 201 || s == 200, "upload: {s} {v}");
    }

    /// Starts an instance; returns its id.
    pub fn start(&self, server: &Server, workflow: &str, input: &Value) -> String {
        let (s, v) = self.post_json(
            &server.api(&format!("/workflows/{workflow}/instances")),
            input,
        );
        assert_eq!(s, 201, "start: {v}");
        v["id"].as_str().unwrap().to_string()
    }

    pub fn instance(&self, server: &Server, id: &str) -> Value {
        let (s, v) = self.get(&server.api(&format!("/instances/{id}")));
        assert_eq!(s, 200, "get instance: {v}");
        v
    }

    /// Polls until `check` holds for the instance, or panics after `timeout`.
    pub fn until(
        &self,
        server: &Server,
        id: &str,
        timeout: Duration,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.instance(server, id);
            if check(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}: {v:#}\n--- server log ---\n{}",
                    server.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A page of the instance's task logs (`query`: `?task=…&after=…`), expecting 200.
    pub fn logs(&self, server: &Server, id: &str, query: &str) -> Value {
        let (s, v) = self.get(&server.api(&format!("/instances/{id}/logs{query}")));
        assert_eq!(s, 200, "logs: {v}");
        v
    }

    /// Waits for the instance to end (long-poll) and returns it.
    pub fn wait(&self, server: &Server, id: &str, seconds: u32) -> Value {
        let (s, v) = self.get(&server.api(&format!("/instances/{id}?wait={seconds}")));
        assert_eq!(s, 200, "wait: {v}");
        v
    }
}

/// Polls `probe` until `check` holds, or panics after 30 s with what was last seen and the
/// server's log.
pub fn until<T: std::fmt::Debug>(
    server: &Server,
    what: &str,
    mut probe: impl FnMut() -> T,
    check: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = probe();
        if check(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last seen: {seen:#?}\n--- server log ---\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An RFC 3339 time of an API answer, in milliseconds since the epoch.
pub fn millis(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

/// The most of `items` (runs or tasks, with `startedAt` and `endedAt`) running at one moment.
/// An end and a start at the same millisecond do not overlap: a slot freed and taken at once.
pub fn most_at_once<'a>(items: impl IntoIterator<Item = &'a Value>) -> usize {
    let mut edges: Vec<(i64, i32)> = Vec::new();
    for r in items {
        let (start, end) = (millis(&r["startedAt"]), millis(&r["endedAt"]));
        assert!(start <= end, "ends before it starts: {r}");
        edges.push((start, 1));
        edges.push((end, -1));
    }
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}
