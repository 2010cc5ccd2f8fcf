//! `POST /api/v1/events`: CloudEvents in, over the HTTP protocol binding (binary, structured
//! and batch modes; `events/binding.rs`). The answer is 202 only once every event of the
//! request is durably stored (one transaction, shared with the requests that arrived
//! meanwhile: `events/ingest.rs`); a duplicate (same `source` and `id` as a
//! stored event) is accepted and not stored again. Anything invalid is a 400 naming the
//! event and attribute, and nothing of that request is stored.

use super::{App, BodyLimit, Problem};
use crate::events::binding;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn receive(
    State(app): State<Arc<App>>,
    Extension(limit): Extension<BodyLimit>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let body = body.map_err(|e| Problem::body(e, limit))?;
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("ce-"))
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let events = binding::read(content_type.as_deref(), &pairs, &body)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Invalid CloudEvent", e.0))?;
    let stored = app.ingest.put(events).await?;
    let accepted = stored.iter().filter(|s| s.is_some()).count();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"accepted": accepted, "duplicates": stored.len() - accepted})),
    ))
}
