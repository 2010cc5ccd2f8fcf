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
        .await?;
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
    let done = app.runs.trigger(&namespace, &name, &date, rerun).await?;
    Ok((StatusCode::CREATED, Json(done)))
}

pub async fn list(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let plan = app.runs.plans.plan(&namespace, &name).await?;
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
    let rows = app.store.runs(&namespace, &name, from, to, 0).await?;
    let items: Vec<Value> = rows.iter().map(|r| run_view(&plan.settings, r)).collect();
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
    app.runs.plans.plan(namespace, name).await?;
    let mut stored = app.store.settings(namespace, name).await?;
    stored.paused = paused;
    app.store.put_settings(namespace, name, &stored).await?;
    app.runs.wake.notify_one();
    Ok(Json(
        json!({"namespace": namespace, "name": name, "paused": paused}),
    ))
}

pub async fn settings(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let plan = app.runs.plans.plan(&namespace, &name).await?;
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
    let plan = app.runs.plans.plan(&namespace, &name).await?;
    let mut overrides = Overrides::from_json(&plan.stored.overrides)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    overrides
        .patch(&patch)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    // The whole must still be valid (an end date before the start date…) before it is kept.
    let plan = app
        .runs
        .plans
        .plan_with(&namespace, &name, Some(overrides.to_json()))
        .await
        .map_err(|e| match e {
            // What the patch made of the settings: the request's fault.
            crate::runtime::runs::Error::Schedule(e) => {
                Problem::bad_request(format!("the settings would be invalid: {e}"))
            }
            other => other.into(),
        })?;
    app.store
        .put_settings(&namespace, &name, &plan.stored)
        .await?;
    app.runs.wake.notify_one();
    // `dependsOnPast` or a task limit may have been lifted.
    app.runs.gates.changed();
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

/// One run: its row, the states of its top-level tasks, the marks, and why tasks wait.
pub async fn get(
    State(app): State<Arc<App>>,
    Path((namespace, name, date)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let (plan, row) = find_run(&app, &namespace, &name, &date).await?;
    let tasks = match &row.instance {
        Some(id) => app
            .store
            .instance(id)
            .await?
            .map(|i| i.tasks)
            .unwrap_or_else(|| json!([])),
        None => json!([]),
    };
    let mut v = run_view(&plan.settings, &row);
    v["tasks"] = tasks;
    v["waiting"] = json!(app.runs.gates.waiting(&namespace, &name, row.logical_date));
    Ok(Json(v))
}

/// `mark-failed`, `mark-succeeded`, `clear` and `retry` on one run, or (body `{"task":
/// "/do/1/inference"}`) on one of its tasks:
///
/// - **mark-failed / mark-succeeded** of a run: its instance is cancelled if unfinished, and
///   run control takes the run as failed / succeeded (with `dependsOnPast`, a later date
///   waits while this one is marked failed). Of a task: run control takes that task so.
/// - **clear**: the whole run runs again from the start (a new instance; marks removed), or
///   from the task: the run's instance runs again from that task, every task before it
///   keeping its output. The run must have ended.
/// - **retry**: its faulted instance runs again from the step that failed (from the task,
///   with one).
pub async fn act(
    State(app): State<Arc<App>>,
    Path((namespace, name, date, action)): Path<(String, String, String, String)>,
    Extension(limit): Extension<BodyLimit>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let body = object(body, limit)?;
    let task = match body.get("task") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if crate::engine::top_level(t) => Some(t.clone()),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`task` is the reference of a top-level task such as \"/do/0/preprocess\", \
                 not {other}"
            )));
        }
    };
    let (plan, row) = find_run(&app, &namespace, &name, &date).await?;
    let ended = row
        .instance
        .as_ref()
        .is_none_or(|_| crate::store::ENDED.contains(&row.status.as_str()));
    let done = |what: &str| {
        app.runs.gates.changed();
        app.runs.wake.notify_one();
        let mut v = run_view(&plan.settings, &row);
        v["requested"] = json!(what);
        if let Some(t) = &task {
            v["task"] = json!(t);
        }
        Ok((StatusCode::ACCEPTED, Json(v)))
    };
    match action.as_str() {
        "mark-failed" | "mark-succeeded" => {
            let state = action.trim_start_matches("mark-");
            app.store
                .mark_run(
                    &namespace,
                    &name,
                    row.logical_date,
                    task.as_deref(),
                    Some(state),
                )
                .await?;
            if task.is_none()
                && !ended
                && let Some(id) = &row.instance
            {
                app.store.request(id, crate::store::Control::Cancel).await?;
                app.requests.notify_one();
            }
            done(&action)
        }
        "clear" if task.is_none() => {
            if !ended {
                return Err(still_running(&row));
            }
            let new = crate::store::NewRun {
                namespace: namespace.clone(),
                name: name.clone(),
                version: plan.key.version.clone(),
                logical_date: row.logical_date,
                interval_start: row.interval_start,
                interval_end: row.interval_end,
                kind: row.kind.clone(),
                created_at: row.created_at,
            };
            app.store.add_runs(&[new], true).await?;
            done("clear")
        }
        "clear" | "retry" => {
            let Some(id) = row.instance.clone() else {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "Run not started",
                    format!("the run for {date} has not started"),
                ));
            };
            if !ended {
                return Err(still_running(&row));
            }
            unmark(&app, &row).await?;
            let _accepted = super::instances::retry(&app, id, task.clone()).await?;
            done(&action)
        }
        _ => Err(Problem::not_found(format!(
            "no action `{action}` on a run (mark-failed, mark-succeeded, clear, retry)"
        ))),
    }
}

/// The marks of a run that runs again go: its new result decides.
async fn unmark(app: &App, row: &crate::store::RunRow) -> Result<(), Problem> {
    let (ns, name, date) = (&row.namespace, &row.name, row.logical_date);
    if row.marked.is_some() {
        app.store.mark_run(ns, name, date, None, None).await?;
    }
    for task in row.task_marks.keys() {
        app.store.mark_run(ns, name, date, Some(task), None).await?;
    }
    Ok(())
}

fn still_running(row: &crate::store::RunRow) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "Run not ended",
        format!(
            "the run is {}: mark it failed (or cancel its instance) first",
            row.status
        ),
    )
}

async fn find_run(
    app: &App,
    namespace: &str,
    name: &str,
    date: &str,
) -> Result<(crate::runtime::plan::Plan, crate::store::RunRow), Problem> {
    let plan = app.runs.plans.plan(namespace, name).await?;
    let at = plan
        .settings
        .parse_date(date)
        .map_err(|e| Problem::bad_request(format!("`{date}`: {e}")))?
        .as_millisecond();
    let row = app
        .store
        .runs(namespace, name, Some(at), Some(at), 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Problem::not_found(format!("no run of {namespace}/{name} for {date}")))?;
    Ok((plan, row))
}

fn run_view(settings: &Settings, r: &crate::store::RunRow) -> Value {
    json!({
        "logicalDate": day(settings, r.logical_date),
        "logicalTime": rfc3339(r.logical_date),
        "dataInterval": {"start": rfc3339(r.interval_start), "end": rfc3339(r.interval_end)},
        "kind": r.kind,
        "version": r.version,
        "status": r.status,
        "marked": r.marked,
        "taskMarks": r.task_marks,
        "instance": r.instance,
        "previous": r.previous,
        "startedAt": r.started_at.map(rfc3339),
        "endedAt": r.ended_at.map(rfc3339),
    })
}
