//! `GET /api/v1/workflows/{namespace}/{name}/grid`: what the UI's grid view draws in one
//! request — the workflow's top-level tasks (rows) and its latest runs by logical date
//! (columns), each cell the state of that task in that run. One query for the runs and one
//! for their instances, however many runs are shown.

use super::{App, Problem};
use crate::runtime::history::rfc3339;
use crate::runtime::runs::day;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Columns shown when the request does not say (Airflow's grid shows 25 too).
const DEFAULT_RUNS: usize = 25;
const MAX_RUNS: usize = 1000;

pub async fn grid(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let limit = limit(&query)?;
    build(&app, &namespace, &name, limit).await.map(Json)
}

/// How often a stream looks for changes. The store has no change feed across nodes, so the
/// server reads (two queries) and sends only what differs; a client costs no more than this.
const STREAM_EVERY: Duration = Duration::from_millis(250);

/// `GET …/grid/stream`: server-sent events, an `event: grid` with the whole grid whenever it
/// changed (the first at once), a comment every 15 s to keep proxies from closing it.
pub async fn stream(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let limit = limit(&query)?;
    // An unknown workflow is answered at once, as a problem, not as a stream.
    let first = build(&app, &namespace, &name, limit).await?;
    let watch = Watch {
        app,
        namespace,
        name,
        limit,
        next: Some(first),
        last: String::new(),
        ended: false,
    };
    let events = futures::stream::unfold(watch, |mut w| async move {
        let event = w.next_event().await?;
        Some((Ok(event), w))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One client's stream: what it was sent last, so only changes go out.
struct Watch {
    app: Arc<App>,
    namespace: String,
    name: String,
    limit: usize,
    next: Option<Value>,
    last: String,
    ended: bool,
}

impl Watch {
    async fn next_event(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            let grid = match self.next.take() {
                Some(g) => g,
                None => {
                    tokio::time::sleep(STREAM_EVERY).await;
                    match build(&self.app, &self.namespace, &self.name, self.limit).await {
                        Ok(g) => g,
                        Err(p) => {
                            // The workflow went away or the store failed: say so, then end.
                            self.ended = true;
                            return Some(Event::default().event("problem").data(p.detail));
                        }
                    }
                }
            };
            let text = grid.to_string();
            if text != self.last {
                self.last = text.clone();
                return Some(Event::default().event("grid").data(text));
            }
        }
    }
}

fn limit(query: &HashMap<String, String>) -> Result<usize, Problem> {
    Ok(match query.get("limit") {
        None => DEFAULT_RUNS,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_RUNS).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!("`limit` is a number from 1 to {MAX_RUNS}, not {l}"))
            })?,
    })
}

/// The grid of a workflow's latest `limit` runs.
async fn build(app: &App, namespace: &str, name: &str, limit: usize) -> Result<Value, Problem> {
    let plan = app.runs.plans.plan(namespace, name).await?;
    let tasks: Vec<Value> = super::graph::tree(app, &plan)
        .await?
        .iter()
        .map(|t| json!({"reference": t["reference"], "name": t["name"]}))
        .collect();
    let mut rows = app.store.runs(namespace, name, None, None, 0).await?;
    rows.sort_by_key(|r| r.logical_date);
    let rows = &rows[rows.len().saturating_sub(limit)..];
    let filter = crate::store::Filter {
        namespace: Some(namespace.to_string()),
        name: Some(name.to_string()),
        limit: MAX_RUNS as u32,
        ..Default::default()
    };
    let instances: HashMap<String, Value> = app
        .store
        .instances(&filter)
        .await?
        .into_iter()
        .map(|i| (i.id, i.tasks))
        .collect();
    let mut runs = Vec::with_capacity(rows.len());
    for r in rows {
        // An instance older than the newest thousand is read on its own.
        let history = match &r.instance {
            Some(id) => match instances.get(id) {
                Some(t) => t.clone(),
                None => app
                    .store
                    .instance(id)
                    .await?
                    .map(|i| i.tasks)
                    .unwrap_or(Value::Null),
            },
            None => Value::Null,
        };
        runs.push(json!({
            "logicalDate": day(&plan.settings, r.logical_date),
            "kind": r.kind,
            "status": r.status,
            "marked": r.marked,
            "instance": r.instance,
            "startedAt": r.started_at.map(rfc3339),
            "endedAt": r.ended_at.map(rfc3339),
            "cells": cells(&history, &r.task_marks),
        }));
    }
    Ok(json!({
        "namespace": namespace,
        "name": name,
        "version": plan.key.version,
        "paused": plan.stored.paused,
        "schedule": plan.timetable.kind().name(),
        "nextRun": plan.timetable.next_due(jiff::Timestamp::now()).map(|i| json!({
            "logicalDate": day(&plan.settings, i.logical_date.as_millisecond()),
            "due": rfc3339(i.due.as_millisecond()),
        })),
        "tasks": tasks,
        "runs": runs,
    }))
}

/// One cell per top-level task that ran: its last record's state, times and attempts
/// (a retried task shows `retried` while it runs again); a person's mark wins.
fn cells(history: &Value, marks: &std::collections::BTreeMap<String, String>) -> Value {
    let mut out = Map::new();
    for t in history.as_array().into_iter().flatten() {
        let Some(reference) = t["reference"].as_str() else {
            continue;
        };
        if !crate::engine::top_level(reference) {
            continue;
        }
        let attempts = t["attempts"].as_u64().unwrap_or(1);
        let status = t["status"].as_str().unwrap_or("running");
        let state = if status == "running" && attempts > 1 {
            "retried"
        } else {
            status
        };
        out.insert(
            reference.to_string(),
            json!({"state": state, "startedAt": t["startedAt"], "endedAt": t["endedAt"],
                "attempts": attempts}),
        );
    }
    for (reference, mark) in marks {
        let cell = out
            .entry(reference.clone())
            .or_insert_with(|| json!({"attempts": 0}));
        cell["marked"] = json!(mark);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_the_last_record_of_top_level_tasks_and_marks() {
        let history = json!([
            {"reference": "/do/0/a", "status": "completed", "attempts": 1, "startedAt": "s", "endedAt": "e"},
            {"reference": "/do/1/b/for/do/0/x", "status": "faulted", "attempts": 1},
            {"reference": "/do/1/b", "status": "running", "attempts": 2, "startedAt": "s2"},
        ]);
        let marks = [("/do/0/a".to_string(), "failed".to_string())].into();
        let c = cells(&history, &marks);
        assert_eq!(c["/do/0/a"]["state"], "completed");
        assert_eq!(c["/do/0/a"]["marked"], "failed");
        assert_eq!(c["/do/1/b"]["state"], "retried");
        assert!(c.get("/do/1/b/for/do/0/x").is_none());
    }
}
