//! `/api/v1/instances` and starting an instance of a workflow: start, get (optionally waiting
//! for the end), list (filtered, paginated), cancel / suspend / resume.

use super::workflows::{media_type, not_found};
use super::{App, BodyLimit, Problem};
use crate::runtime::history::rfc3339;
use crate::runtime::node::{Message, Refused};
use crate::store::{Control, ENDED, Filter, InstanceRow, WorkflowKey};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The spec's status phases of an instance.
pub(super) const STATUSES: [&str; 7] = [
    "pending",
    "running",
    "waiting",
    "suspended",
    "cancelled",
    "faulted",
    "completed",
];

pub async fn start(
    State(app): State<Arc<App>>,
    Path((namespace, name, version)): Path<(String, String, String)>,
    Extension(limit): Extension<BodyLimit>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Value>), Problem> {
    let body = body.map_err(|e| Problem::body(e, limit))?;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        let media = media_type(&headers);
        if media != "application/json" && !media.is_empty() {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                format!(
                    "the input of an instance is JSON (Content-Type: application/json), not `{media}`"
                ),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            // serde_json's message ends with its own " at line L column C": say it once.
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            Problem::bad_request(format!(
                "the input is not JSON: line {}, column {}: {message}",
                e.line(),
                e.column()
            ))
        })?
    };
    let key = WorkflowKey {
        namespace,
        name,
        version,
    };
    let known = app.known.lock().map(|k| k.contains(&key)).unwrap_or(false);
    if !known {
        app.store
            .workflow(&key)
            .await?
            .ok_or_else(|| not_found(&key))?;
        if let Ok(mut k) = app.known.lock() {
            k.insert(key.clone());
        }
    }
    let new = crate::runtime::journal::new_instance(key, input, &app.name, false);
    let id = new.id.clone();
    // The instance is written by this node's next group commit, with its first steps.
    let (reply, committed) = tokio::sync::oneshot::channel();
    app.node.send(Message::Create { new, reply });
    match committed.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(Refused::Stopped.into()),
    }
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/instances/{id}"))],
        Json(json!({ "id": id })),
    ))
}

pub async fn get(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let wait = match query.get("wait") {
        None => None,
        Some(s) => match s.parse::<f64>() {
            Ok(secs) if (0.0..=300.0).contains(&secs) => Some(Duration::from_secs_f64(secs)),
            _ => {
                return Err(Problem::bad_request(format!(
                    "`wait` is a number of seconds from 0 to 300, not `{s}`"
                )));
            }
        },
    };
    let deadline = wait.map(|w| tokio::time::Instant::now() + w);
    let read = || row(&app, &id);
    let mut row = read().await?;
    let Some(deadline) = deadline else {
        return Ok(Json(view(&row, true)));
    };
    // One registration per request (not per look), and only for an instance that exists: the
    // engine forgets waiters only when it ends the instance.
    let mut woken = None;
    loop {
        if ENDED.contains(&row.status.as_str()) || tokio::time::Instant::now() >= deadline {
            return Ok(Json(view(&row, true)));
        }
        match &mut woken {
            None => {
                // Register, then read again, so an end between the two is not missed.
                woken = Some(app.node.waiters.wait(&id));
            }
            Some(rx) => {
                // Another node may drive the instance: look again at least every second.
                let until = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
                if let Ok(result) = tokio::time::timeout_at(until, rx).await {
                    // Woken (or the engine dropped the waiter): register again if need be.
                    let _ = result;
                    woken = None;
                }
            }
        }
        row = read().await?;
    }
}

pub async fn list(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    for k in query.keys() {
        if !["namespace", "name", "version", "status", "limit", "before"].contains(&k.as_str()) {
            return Err(Problem::bad_request(format!(
                "unknown query parameter `{k}` (namespace, name, version, status, limit, before)"
            )));
        }
    }
    let status = query.get("status").cloned();
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(Problem::bad_request(format!(
            "`status` is one of {}, not `{s}`",
            STATUSES.join(", ")
        )));
    }
    let limit = match query.get("limit") {
        None => 50,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(Problem::bad_request(format!(
                    "`limit` is a number from 1 to 1000, not `{s}`"
                )));
            }
        },
    };
    let filter = Filter {
        namespace: query.get("namespace").cloned(),
        name: query.get("name").cloned(),
        version: query.get("version").cloned(),
        status,
        before: query.get("before").cloned(),
        // One more than asked tells whether another page follows (no `next` to an empty page).
        limit: limit + 1,
    };
    let mut rows = app.store.instances(&filter).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id.clone())
    } else {
        None
    };
    Ok(Json(json!({
        "items": rows.iter().map(|r| view(r, false)).collect::<Vec<_>>(),
        "next": next,
    })))
}

pub async fn control(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    if action == "retry" {
        return retry(&app, id, None).await;
    }
    let control = Control::parse(&action).ok_or_else(|| {
        Problem::not_found(format!(
            "no action `{action}` on an instance (cancel, suspend, resume, retry)"
        ))
    })?;
    let row = row(&app, &id).await?;
    if ENDED.contains(&row.status.as_str()) {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "Instance ended",
            format!("the instance `{id}` has already ended ({})", row.status),
        ));
    }
    if !app.store.request(&id, control).await? {
        return Err(Problem::not_found(format!("no instance `{id}`")));
    }
    app.requests.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "requested": control.as_str()})),
    ))
}

/// The instance's row, or the 404 that names it.
pub(super) async fn row(app: &App, id: &str) -> Result<InstanceRow, Problem> {
    app.store
        .instance(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no instance `{id}`")))
}

/// Runs a faulted instance again from the step that failed it, or an ended one from the
/// task `from` (see `Message::Retry`).
pub(super) async fn retry(
    app: &App,
    id: String,
    from: Option<String>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    row(app, &id).await?;
    let (reply, done) = tokio::sync::oneshot::channel();
    app.node.send(Message::Retry {
        id: id.clone(),
        from,
        reply,
    });
    match done.await {
        Ok(Ok(())) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "requested": "retry"})),
        )),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(Refused::Stopped.into()),
    }
}

/// The API's view of an instance; lists leave out the input and the task history.
fn view(row: &InstanceRow, full: bool) -> Value {
    let mut v = json!({
        "id": row.id,
        "status": row.status,
        "workflow": {
            "namespace": row.workflow.namespace,
            "name": row.workflow.name,
            "version": row.workflow.version,
        },
        "startedAt": rfc3339(row.created_at),
    });
    if let Some(ended) = row.ended_at {
        v["endedAt"] = json!(rfc3339(ended));
    }
    if let Some(output) = &row.output {
        v["output"] = output.clone();
    }
    if let Some(error) = &row.error {
        v["error"] = error.clone();
    }
    if full {
        v["input"] = row.input.clone();
        v["tasks"] = row.tasks.clone();
    }
    v
}
