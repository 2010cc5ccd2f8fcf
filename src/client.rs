//! The client commands (`nagare workflows push`, `nagare start`, `nagare instances …`): thin
//! calls of the REST API of a running `nagare serve`.
//!
//! Exit codes: 0 on success; 1 when the server refused (its problem detail on stderr) or could
//! not be reached; 2 when an uploaded workflow is invalid (one diagnostic per line, naming the
//! local file, as `nagare validate` prints them).

use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What the server calls an uploaded document in its diagnostics.
const SERVER_FILE: &str = "request body";
/// Instances asked for per page when listing (the server allows up to 1000).
pub const PAGE: u32 = 100;
/// The longest long-poll the server accepts (`?wait=`), in seconds.
const LONGEST_WAIT: f64 = 300.0;

pub struct Client {
    pub server: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

/// What a call ended with: the answer's JSON, or the exit code to end with.
type Answer = Result<Value, ExitCode>;

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Client {
        Client {
            server: server.trim_end_matches('/').to_string(),
            token,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<(&str, String)>) -> Answer {
        self.call_for(method, path, body, None).await
    }

    /// `call`; `file` is the local file the body came from: the server's diagnostics name the
    /// body "request body", and are printed naming the file instead.
    async fn call_for(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
        file: Option<&str>,
    ) -> Answer {
        let url = format!("{}{path}", self.server);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some((media, text)) = body {
            request = request.header("content-type", media).body(text);
        }
        let response = request.send().await.map_err(|e| {
            eprintln!("nagare: cannot reach {}: {}", self.server, causes(&e));
            ExitCode::from(1)
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        if status == StatusCode::BAD_REQUEST
            && let Some(list) = value.get("diagnostics").and_then(Value::as_array)
        {
            for d in list {
                let d = d.as_str().unwrap_or_default();
                match (file, d.strip_prefix(SERVER_FILE)) {
                    (Some(file), Some(rest)) if rest.starts_with(':') => eprintln!("{file}{rest}"),
                    _ => eprintln!("{d}"),
                }
            }
            return Err(ExitCode::from(2));
        }
        let detail = value
            .get("detail")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| value.to_string());
        eprintln!(
            "nagare: {} {}: {detail}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        Err(ExitCode::from(1))
    }

    /// Uploads workflow files; prints `{namespace, name, version, digest}` per file.
    pub async fn push(&self, files: &[String]) -> ExitCode {
        let mut code = ExitCode::SUCCESS;
        for file in files {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{file}:1:1: cannot read the file: {e} (at /)");
                    code = ExitCode::from(2);
                    continue;
                }
            };
            let media = if file.ends_with(".json") {
                "application/json"
            } else {
                "application/yaml"
            };
            let body = Some((media, text));
            match self
                .call_for(Method::POST, "/api/v1/workflows", body, Some(file))
                .await
            {
                Ok(v) => println!("{v}"),
                Err(c) => {
                    code = c;
                }
            }
        }
        code
    }

    /// Prints every workflow version, one JSON line each.
    pub async fn list_workflows(&self) -> ExitCode {
        match self.call(Method::GET, "/api/v1/workflows", None).await {
            Ok(v) => {
                for w in v.as_array().into_iter().flatten() {
                    println!("{w}");
                }
                ExitCode::SUCCESS
            }
            Err(c) => c,
        }
    }

    /// Starts an instance of `reference` (`NS/NAME[:VERSION]`; the highest version when left
    /// out). With `wait`, waits for its end and prints the instance; else prints `{id}`.
    pub async fn start(&self, reference: &str, input: &Value, wait: Option<f64>) -> ExitCode {
        let (path, version) = match reference.split_once(':') {
            Some((p, v)) => (p, Some(v.to_string())),
            None => (reference, None),
        };
        let Some((namespace, name)) = path.split_once('/') else {
            eprintln!("nagare: a workflow is named NAMESPACE/NAME[:VERSION], not `{reference}`");
            return ExitCode::from(2);
        };
        let version = match version {
            Some(v) => v,
            None => match self.latest(namespace, name).await {
                Ok(v) => v,
                Err(c) => return c,
            },
        };
        let path = format!("/api/v1/workflows/{namespace}/{name}/{version}/instances");
        let body = Some(("application/json", input.to_string()));
        let started = match self.call(Method::POST, &path, body).await {
            Ok(v) => v,
            Err(c) => return c,
        };
        let Some(seconds) = wait else {
            println!("{started}");
            return ExitCode::SUCCESS;
        };
        let id = started
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.get(id, Some(seconds)).await
    }

    async fn latest(&self, namespace: &str, name: &str) -> Result<String, ExitCode> {
        let all = self.call(Method::GET, "/api/v1/workflows", None).await?;
        let versions = all.as_array().cloned().unwrap_or_default();
        versions
            .iter()
            .filter(|w| w["namespace"] == namespace && w["name"] == name)
            .filter_map(|w| w["version"].as_str())
            .max_by(|a, b| crate::runtime::registry::precedence(a, b))
            .map(String::from)
            .ok_or_else(|| {
                eprintln!("nagare: no workflow {namespace}/{name} on {}", self.server);
                ExitCode::from(1)
            })
    }

    /// Prints an instance; with `wait`, after waiting (up to that many seconds) for its end.
    /// A faulted or cancelled instance exits with 1.
    pub async fn get(&self, id: &str, wait: Option<f64>) -> ExitCode {
        let id = encode(id);
        let answer = match wait {
            None => {
                self.call(Method::GET, &format!("/api/v1/instances/{id}"), None)
                    .await
            }
            Some(seconds) => self.wait(&id, seconds).await,
        };
        match answer {
            Ok(v) => {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                match v["status"].as_str() {
                    Some("faulted" | "cancelled") if wait.is_some() => ExitCode::from(1),
                    _ => ExitCode::SUCCESS,
                }
            }
            Err(c) => c,
        }
    }

    /// Prints the instance's task logs (stdout pieces on stdout, stderr on stderr), page by
    /// page; with `follow`, asks again every quarter second until the instance ended and its
    /// log is read to the end.
    pub async fn logs(&self, id: &str, task: Option<&str>, follow: bool) -> ExitCode {
        use std::io::Write;
        let id = encode(id);
        let task = task
            .map(|t| format!("&task={}", encode(t)))
            .unwrap_or_default();
        let mut after = 0;
        loop {
            let path = format!("/api/v1/instances/{id}/logs?after={after}{task}");
            let page = match self.call(Method::GET, &path, None).await {
                Ok(v) => v,
                Err(c) => return c,
            };
            let entries = page["entries"].as_array().cloned().unwrap_or_default();
            for e in &entries {
                let text = e["text"].as_str().unwrap_or_default();
                let _ = match e["stream"].as_str() {
                    Some("stderr") => std::io::stderr().write_all(text.as_bytes()),
                    _ => std::io::stdout().write_all(text.as_bytes()),
                };
            }
            let _ = std::io::stdout().flush();
            after = page["next"].as_i64().unwrap_or(after);
            if entries.is_empty() {
                if !follow || page["ended"] == true {
                    return ExitCode::SUCCESS;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }

    /// Long-polls the instance until it ends or `seconds` have passed, in as many requests as
    /// the server's longest wait needs.
    async fn wait(&self, id: &str, seconds: f64) -> Answer {
        if !seconds.is_finite() || seconds < 0.0 {
            eprintln!("nagare: --wait is a number of seconds, not {seconds}");
            return Err(ExitCode::from(2));
        }
        let deadline = Instant::now() + Duration::from_secs_f64(seconds.min(1e9));
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .as_secs_f64();
            let now = left.min(LONGEST_WAIT);
            let path = format!("/api/v1/instances/{id}?wait={now:.3}");
            let v = self.call(Method::GET, &path, None).await?;
            let ended = matches!(
                v["status"].as_str(),
                Some("completed" | "faulted" | "cancelled")
            );
            if ended || left <= LONGEST_WAIT {
                return Ok(v);
            }
        }
    }

    /// Lists instances (one JSON line each), following pages up to `limit` in all.
    pub async fn list(&self, query: &[(&str, Option<String>)], limit: u32) -> ExitCode {
        let mut before: Option<String> = None;
        let mut printed = 0u32;
        loop {
            let mut q: Vec<String> = query
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
                .collect();
            q.push(format!("limit={}", (limit - printed).min(PAGE)));
            if let Some(b) = &before {
                q.push(format!("before={}", encode(b)));
            }
            let page = match self
                .call(
                    Method::GET,
                    &format!("/api/v1/instances?{}", q.join("&")),
                    None,
                )
                .await
            {
                Ok(v) => v,
                Err(c) => return c,
            };
            for item in page["items"].as_array().into_iter().flatten() {
                println!("{item}");
                printed += 1;
            }
            match page["next"].as_str() {
                Some(next) if printed < limit => before = Some(next.to_string()),
                _ => return ExitCode::SUCCESS,
            }
        }
    }

    /// Queues the runs of every logical date in `[from, to]`; with `wait`, shows progress
    /// (runs done / total) on stderr until they all ended, and exits 1 if one failed.
    pub async fn backfill(
        &self,
        workflow: &str,
        from: &str,
        to: &str,
        rerun: bool,
        wait: bool,
    ) -> ExitCode {
        let Some((namespace, name)) = workflow.split_once('/') else {
            eprintln!("nagare: a workflow is named NAMESPACE/NAME, not `{workflow}`");
            return ExitCode::from(2);
        };
        let body = serde_json::json!({"from": from, "to": to, "rerun": rerun}).to_string();
        let path = format!("/api/v1/workflows/{namespace}/{name}/backfill");
        let queued = match self
            .call(Method::POST, &path, Some(("application/json", body)))
            .await
        {
            Ok(v) => v,
            Err(c) => return c,
        };
        println!("{queued}");
        if !wait {
            return ExitCode::SUCCESS;
        }
        let list = format!(
            "/api/v1/workflows/{namespace}/{name}/runs?from={}&to={}",
            encode(from),
            encode(to)
        );
        loop {
            let page = match self.call(Method::GET, &list, None).await {
                Ok(v) => v,
                Err(c) => return c,
            };
            let items = page["items"].as_array().cloned().unwrap_or_default();
            let ended = |s: &str| matches!(s, "completed" | "faulted" | "cancelled");
            let done = items
                .iter()
                .filter(|r| ended(r["status"].as_str().unwrap_or("")))
                .count();
            let failed = items
                .iter()
                .filter(|r| matches!(r["status"].as_str(), Some("faulted" | "cancelled")))
                .count();
            let total = items.len();
            let width = 30;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            eprint!(
                "\r{workflow} [{}{}] {done}/{total} runs done{}",
                "#".repeat(filled),
                ".".repeat(width - filled),
                if failed > 0 {
                    format!(", {failed} failed")
                } else {
                    String::new()
                }
            );
            if done == total {
                eprintln!();
                return if failed > 0 {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                };
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    /// Prints the runs of a workflow (one JSON line each), oldest first.
    pub async fn runs(&self, workflow: &str, from: Option<&str>, to: Option<&str>) -> ExitCode {
        let Some((namespace, name)) = workflow.split_once('/') else {
            eprintln!("nagare: a workflow is named NAMESPACE/NAME, not `{workflow}`");
            return ExitCode::from(2);
        };
        let mut query = Vec::new();
        if let Some(f) = from {
            query.push(format!("from={}", encode(f)));
        }
        if let Some(t) = to {
            query.push(format!("to={}", encode(t)));
        }
        let path = format!(
            "/api/v1/workflows/{namespace}/{name}/runs?{}",
            query.join("&")
        );
        match self.call(Method::GET, &path, None).await {
            Ok(v) => {
                for r in v["items"].as_array().into_iter().flatten() {
                    println!("{r}");
                }
                ExitCode::SUCCESS
            }
            Err(c) => c,
        }
    }

    /// POSTs to a workflow's run-control route (`runs`, `pause`, `unpause`) and prints the answer.
    pub async fn workflow_action(
        &self,
        workflow: &str,
        action: &str,
        body: Option<serde_json::Value>,
    ) -> ExitCode {
        let Some((namespace, name)) = workflow.split_once('/') else {
            eprintln!("nagare: a workflow is named NAMESPACE/NAME, not `{workflow}`");
            return ExitCode::from(2);
        };
        let path = format!("/api/v1/workflows/{namespace}/{name}/{action}");
        let body = body.map(|b| ("application/json", b.to_string()));
        match self.call(Method::POST, &path, body).await {
            Ok(v) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            Err(c) => c,
        }
    }

    /// POSTs an action on one run (`mark-failed`, `clear`, …), on one task with `task`.
    pub async fn run_action(
        &self,
        workflow: &str,
        date: &str,
        action: &str,
        task: Option<String>,
    ) -> ExitCode {
        let path = format!("runs/{}/{action}", encode(date));
        self.workflow_action(workflow, &path, Some(serde_json::json!({"task": task})))
            .await
    }

    pub async fn control(&self, id: &str, action: &str) -> ExitCode {
        let id = encode(id);
        match self
            .call(
                Method::POST,
                &format!("/api/v1/instances/{id}/{action}"),
                None,
            )
            .await
        {
            Ok(v) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            Err(c) => c,
        }
    }
}

/// An error with its causes ("error sending request" alone does not say what went wrong).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
