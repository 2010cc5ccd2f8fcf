//! `/api/v1/workflows`: upload (validated like `nagare validate`), list, get. Versions are
//! immutable: the same namespace/name/version with other content is a 409.

use super::{App, BodyLimit, Problem};
use crate::store::{Put, StoredWorkflow, WorkflowKey};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Extension, Json};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The media types a workflow document may come as.
const DOCUMENT_TYPES: [&str; 5] = [
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
    "application/json",
];

pub async fn push(
    State(app): State<Arc<App>>,
    Extension(limit): Extension<BodyLimit>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let media = media_type(&headers);
    if !DOCUMENT_TYPES.contains(&media.as_str()) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!(
                "a workflow is uploaded as YAML or JSON (Content-Type: {}), not `{media}`",
                DOCUMENT_TYPES.join(", ")
            ),
        ));
    }
    let body = body.map_err(|e| Problem::body(e, limit))?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| Problem::bad_request(format!("the workflow is not UTF-8 text: {e}")))?;
    // The definition is not `Send`: keep only its key across the awaits below.
    let key = crate::workflow::load("request body", text).map(|definition| {
        let d = &definition.workflow.document;
        WorkflowKey {
            namespace: d.namespace.clone(),
            name: d.name.clone(),
            version: d.version.clone(),
        }
    });
    let key = key.map_err(|ds| {
        let list: Vec<String> = ds.iter().map(ToString::to_string).collect();
        let mut p = Problem::bad_request(format!(
            "the workflow is not valid ({} problem{})",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        ));
        p.extra = Some(Box::new(("diagnostics", json!(list))));
        p
    })?;
    let digest = hex(&Sha256::digest(text.as_bytes()));
    let put = app.store.put_workflow(&key, text, &digest).await?;
    let body = json!({"namespace": key.namespace, "name": key.name, "version": key.version, "digest": digest});
    if put != Put::Conflict {
        let file = format!("{}/{}:{}", key.namespace, key.name, key.version);
        let _ = app.registry.add(&file, text.to_string());
    }
    match put {
        Put::Created => {
            remember(&app, key);
            Ok((StatusCode::CREATED, Json(body)))
        }
        Put::Unchanged => {
            remember(&app, key);
            Ok((StatusCode::OK, Json(body)))
        }
        Put::Conflict => Err(Problem::new(
            StatusCode::CONFLICT,
            "Version exists",
            format!(
                "{}/{}:{} already exists with different content; versions are immutable: upload a new version",
                key.namespace, key.name, key.version
            ),
        )),
    }
}

pub async fn list(State(app): State<Arc<App>>) -> Result<Json<Value>, Problem> {
    let all = app.store.workflows().await?;
    Ok(Json(json!(all.iter().map(summary).collect::<Vec<_>>())))
}

pub async fn get(
    State(app): State<Arc<App>>,
    Path((namespace, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let key = WorkflowKey {
        namespace,
        name,
        version,
    };
    let w = app
        .store
        .workflow(&key)
        .await?
        .ok_or_else(|| not_found(&key))?;
    let mut body = summary(&w);
    body["source"] = json!(w.source);
    Ok(Json(body))
}

pub fn not_found(key: &WorkflowKey) -> Problem {
    Problem::not_found(format!(
        "no workflow {}/{}:{} (upload it with POST /api/v1/workflows)",
        key.namespace, key.name, key.version
    ))
}

fn summary(w: &StoredWorkflow) -> Value {
    json!({
        "namespace": w.key.namespace,
        "name": w.key.name,
        "version": w.key.version,
        "digest": w.digest,
        "createdAt": crate::runtime::history::rfc3339(w.created_at),
    })
}

fn remember(app: &App, key: WorkflowKey) {
    if let Ok(mut known) = app.known.lock() {
        known.insert(key);
    }
}

/// The request's media type, lowercase, without parameters ("" when absent).
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
