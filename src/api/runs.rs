//! `/api/v1/workflows/{namespace}/{name}/…`: the runs of a workflow by logical date —
//! backfill, ad-hoc runs, listing — and its run control (pause, settings).

use super::{App, BodyLimit, Problem};
use crate::runtime::history::rfc3339;
use crate::runtime::runs::day;
use crate::schedule::{Overrides, Settings};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A JSON object body (empty: `{}`).
fn object(
    body: Result<Bytes, BytesRejection>,
    limit: BodyLimit,
) -> Result<serde_json::Map<String, Value>, Problem> {
    let body = body.map_err(|e| Problem::body(e, limit))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Problem::bad_request("the body must be a JSON object")),
        Err(e) => Err(Problem::bad_request(format!("the body is not JSON: {e}"))),
    }
}

fn text(body: &serde_json::Map<String, Value>, key: &str) -> Result<String, Problem> {
    body.get(key)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| {
            Problem::bad_request(format!("`{key}` (a date such as 2026-11-01) is required"))
        })
}

fn flag(body: &serde_json::Map<String, Value>, key: &str) -> Result<bool, Problem> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(Problem::bad_request(format!(
            "`{key}` is a boolean, not {other}"
        ))),
    }
}

/// Errors of run control are the caller's (a bad date, no schedule, an unknown workflow).
fn refused(e: String) -> Problem {
    if e.starts_with("no workflow") {
        Problem::not_found(e)
    } else {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Cannot plan runs", e)
    }
}

pub async fn backfill(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Extension(limit): Extension<BodyLimit>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let body = object(body, limit)?;
    let (from, to, rerun) = (
        text(&body, "from")?,
        text(&body, "to")?,
        flag(&body, "rerun")?,
    );
    let done = app
        .runs
        .backfill(&namespace, &name, &from, &to, rerun)
        .await
        .map_err(refused)?;
    Ok((StatusCode::ACCEPTED, Json(done)))
}

pub async fn trigger(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Extension(limit): Extension<BodyLimit>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let body = object(body, limit)?;
    let (date, rerun) = (text(&body, "logicalDate")?, flag(&body, "rerun")?);
    let done = app
        .runs
        .trigger(&namespace, &name, &date, rerun)
        .await
        .map_err(|e| {
            if e.contains("exists already") {
                Problem::new(StatusCode::CONFLICT, "Run exists", e)
            } else {
                refused(e)
            }
        })?;
    Ok((StatusCode::CREATED, Json(done)))
}

pub async fn list(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let plan = app.runs.plan(&namespace, &name).await.map_err(refused)?;
    let bound = |k: &str| -> Result<Option<i64>, Problem> {
        query
            .get(k)
            .map(|d| {
                plan.settings
                    .parse_date(d)
                    .map(|t| t.as_millisecond())
                    .map_err(|e| Problem::bad_request(format!("`{k}`: {e}")))
            })
            .transpose()
    };
    let (from, to) = (bound("from")?, bound("to")?);
    let rows = app
        .store
        .runs(&namespace, &name, from, to, 0)
        .await
        .map_err(Problem::store)?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "logicalDate": day(&plan.settings, r.logical_date),
                "logicalTime": rfc3339(r.logical_date),
                "dataInterval": {"start": rfc3339(r.interval_start), "end": rfc3339(r.interval_end)},
                "kind": r.kind,
                "version": r.version,
                "status": r.status,
                "instance": r.instance,
                "startedAt": r.started_at.map(rfc3339),
                "endedAt": r.ended_at.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn pause(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    set_paused(&app, &namespace, &name, true).await
}

pub async fn unpause(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    set_paused(&app, &namespace, &name, false).await
}

async fn set_paused(
    app: &App,
    namespace: &str,
    name: &str,
    paused: bool,
) -> Result<Json<Value>, Problem> {
    app.runs.plan(namespace, name).await.map_err(refused)?;
    let mut stored = app
        .store
        .settings(namespace, name)
        .await
        .map_err(Problem::store)?;
    stored.paused = paused;
    app.store
        .put_settings(namespace, name, &stored)
        .await
        .map_err(Problem::store)?;
    app.runs.wake.notify_one();
    Ok(Json(
        json!({"namespace": namespace, "name": name, "paused": paused}),
    ))
}

pub async fn settings(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let plan = app.runs.plan(&namespace, &name).await.map_err(refused)?;
    Ok(Json(view(
        &plan.settings,
        &plan.stored.overrides,
        plan.stored.paused,
    )))
}

/// PATCH: merges the body into the overrides (null clears one); the result must be valid.
pub async fn patch_settings(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Extension(limit): Extension<BodyLimit>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, Problem> {
    let patch = Value::Object(object(body, limit)?);
    let plan = app.runs.plan(&namespace, &name).await.map_err(refused)?;
    let mut overrides = Overrides::from_json(&plan.stored.overrides)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    overrides
        .patch(&patch)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    // The whole must still be valid (an end date before the start date…) before it is kept.
    let plan = app
        .runs
        .plan_with(&namespace, &name, Some(overrides.to_json()))
        .await
        .map_err(|e| Problem::bad_request(format!("the settings would be invalid: {e}")))?;
    app.store
        .put_settings(&namespace, &name, &plan.stored)
        .await
        .map_err(Problem::store)?;
    app.runs.wake.notify_one();
    Ok(Json(view(
        &plan.settings,
        &plan.stored.overrides,
        plan.stored.paused,
    )))
}

fn view(settings: &Settings, overrides: &Value, paused: bool) -> Value {
    json!({
        "startDate": settings.start_date.map(|t| t.to_string()),
        "endDate": settings.end_date.map(|t| t.to_string()),
        "timezone": settings.timezone.iana_name(),
        "catchup": settings.catchup,
        "dependsOnPast": settings.depends_on_past,
        "maxActiveRuns": settings.max_active_runs,
        "maxActiveTasks": settings.max_active_tasks,
        "paused": paused,
        "overrides": overrides,
    })
}
