//! Performs one effect of the engine: calls through `functions`, timers, processes, subflows.

use super::registry::Registry;
use crate::engine::Effect;
use crate::error::Error;
use crate::functions::container::Containers;
use crate::functions::log::Log;
use crate::functions::{http, openapi, process};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// What effects run with; cheap to clone and sendable to other threads.
#[derive(Clone)]
pub struct Context {
    pub http: http::Client,
    /// The container backends (`run: container`).
    pub containers: Arc<Containers>,
    pub workflows: Arc<Registry>,
    /// `$secrets` for subflows.
    pub secrets: Value,
    /// The most of each of stdout and stderr a `run: shell|script` result keeps
    /// (`--max-output-bytes`; containers have theirs in `containers`).
    pub max_output: usize,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Performs a call, timer or process effect (emitted events are answered by the caller);
/// what a process or container prints also goes to `log` as it is printed.
pub async fn perform(cx: &Context, effect: Effect, log: &Log) -> Result<Value, Error> {
    match effect {
        Effect::Timer { at, .. } => {
            let wait = at.saturating_sub(now_ms()).max(0) as u64;
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            Ok(Value::Null)
        }
        Effect::Emit { event, .. } => Ok(event),
        // Without run control (a local run), every task may start at once.
        Effect::Gate { .. } => Ok(Value::Null),
        // A subscription never answers; it ends when the engine cancels it.
        Effect::Listen { .. } => std::future::pending().await,
        Effect::Call {
            function,
            arguments,
            ..
        } => call(&cx.http, &function, arguments).await,
        Effect::Run { process, .. } => match process.get("kind").and_then(Value::as_str) {
            Some("workflow") => subflow(cx, process).await,
            Some("container") => cx.containers.run(&process, log).await,
            _ => process::run(&process, log, cx.max_output).await,
        },
    }
}

/// Runs a subflow to its end on a thread of its own (an instance is single-threaded).
async fn subflow(cx: &Context, process: Value) -> Result<Value, Error> {
    let text = |k: &str| {
        process
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (namespace, name, version) = (text("namespace"), text("name"), text("version"));
    let entry = cx.workflows.find(&namespace, &name, &version).ok_or_else(|| {
        Error::configuration(format!("no workflow {namespace}/{name}:{version} is known (give its folder with --workflows)"))
    })?;
    let input = process.get("input").cloned().unwrap_or(Value::Null);
    let cx = cx.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<super::local::Outcome, Error> {
        let definition = crate::workflow::load(&entry.file, &entry.text).map_err(|ds| {
            Error::configuration(
                ds.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::runtime(e.to_string()))?;
        let options = super::local::Options {
            context: cx,
            events: Vec::new(),
            journal: None,
            on_notify: None,
        };
        let id = uuid::Uuid::new_v4().to_string();
        Ok(runtime.block_on(super::local::run(
            std::rc::Rc::new(definition),
            &id,
            input,
            &options,
        )))
    })
    .await
    .map_err(|e| Error::runtime(format!("the subflow stopped: {e}")))??;
    match (outcome.output, outcome.error) {
        (Some(output), _) => Ok(output),
        (None, Some(error)) => Err(error),
        (None, None) => Err(Error::runtime(format!(
            "the subflow ended {:?}",
            outcome.status
        ))),
    }
}

async fn call(client: &http::Client, function: &str, a: Value) -> Result<Value, Error> {
    let text = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let pairs = |k: &str| -> Vec<(String, String)> {
        a.get(k)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let output: http::OutputMode = a
        .get("output")
        .and_then(Value::as_str)
        .unwrap_or("content")
        .parse()?;
    let redirect = a.get("redirect").and_then(Value::as_bool).unwrap_or(false);
    let authentication = a.get("authentication").filter(|v| !v.is_null()).cloned();
    match function {
        "http" => {
            let request = http::Request {
                method: text("method"),
                uri: text("uri"),
                headers: pairs("headers"),
                query: pairs("query"),
                body: a.get("body").filter(|v| !v.is_null()).cloned(),
                output,
                redirect,
                authentication,
            };
            client.call(request).await
        }
        "openapi" => {
            let request = openapi::Request {
                document: text("document"),
                document_authentication: None,
                operation_id: text("operationId"),
                parameters: a
                    .get("parameters")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_else(Map::new),
                authentication,
                output,
                redirect,
            };
            client.openapi(request).await
        }
        other => Err(Error::configuration(format!(
            "`call: {other}` is not supported by this version of nagare yet"
        ))),
    }
}
