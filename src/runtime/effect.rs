//! Performs one effect of the engine: maps a call's resolved arguments onto the functions.

use crate::engine::Effect;
use crate::error::Error;
use crate::functions::{http, openapi};
use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Performs a call or timer effect (emitted events are answered by the caller).
pub async fn perform(client: &http::Client, effect: Effect) -> Result<Value, Error> {
    match effect {
        Effect::Timer { at, .. } => {
            let wait = at.saturating_sub(now_ms()).max(0) as u64;
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            Ok(Value::Null)
        }
        Effect::Emit { event, .. } => Ok(event),
        Effect::Call {
            function,
            arguments,
            ..
        } => call(client, &function, arguments).await,
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
