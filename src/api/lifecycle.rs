//! `GET /api/v1/instances/{id}/lifecycle`: the spec's lifecycle CloudEvents of an instance
//! (workflow and task started, completed, faulted, retried, ...), rebuilt from its history.
//!
//! The outbox forgets an event once it is published, and holds none where no route takes
//! lifecycle events; the history is the record. The engine is deterministic, so replaying it
//! gives the notices that were announced, at their times, with the data the sink published.
//! Event ids are assigned when an event is published and are not kept, so none is shown.

use super::{App, Problem};
use crate::engine::instance::Start;
use crate::runtime::journal::Record;
use crate::runtime::node::cloud_event;
use crate::runtime::node::rebuild::declared_secrets;
use crate::runtime::replay::replay;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn lifecycle(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let row = app
        .store
        .instance(&id)
        .await
        .map_err(Problem::store)?
        .ok_or_else(|| Problem::not_found(format!("no instance `{id}`")))?;
    let history = app.store.history(&id).await.map_err(Problem::store)?;
    let key = row.workflow.clone();
    let stored = app
        .store
        .workflow(&key)
        .await
        .map_err(Problem::store)?
        .ok_or_else(|| super::workflows::not_found(&key))?;
    let secrets = app.secrets.clone();
    let name = format!("{}/{}:{}", key.namespace, key.name, key.version);
    let events =
        tokio::task::spawn_blocking(move || events(&id, &name, &stored.source, history, &secrets))
            .await
            .map_err(|e| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Replay failed",
                    e.to_string(),
                )
            })?
            .map_err(|detail| {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Unreadable history",
                    detail,
                )
            })?;
    Ok(Json(json!({"instance": row.id, "events": events})))
}

/// Replays the history; answers its lifecycle events in order, the runtime's
/// `workflow.suspended`/`resumed` (recorded beside the engine's events) in their place.
fn events(
    id: &str,
    file: &str,
    source: &str,
    history: Vec<Value>,
    secrets: &Value,
) -> Result<Vec<Value>, String> {
    let def = crate::workflow::load(file, source).map_err(|ds| {
        ds.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let def = std::rc::Rc::new(def);
    let mut records = Vec::with_capacity(history.len());
    for (seq, value) in history.into_iter().enumerate() {
        records.push(
            serde_json::from_value::<Record>(value)
                .map_err(|e| format!("record {seq} of the history is unreadable: {e}"))?,
        );
    }
    let mut records = records.into_iter();
    let Some(Record::Started {
        id: started_id,
        input,
        now,
        gate,
    }) = records.next()
    else {
        return Err("the history does not begin with a start".into());
    };
    let start = Start {
        id: started_id,
        input,
        secrets: declared_secrets(&def, secrets),
        now,
        gate,
    };
    let records: Vec<Record> = records.collect();
    let pauses: Vec<(i64, &str)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Suspended { now } => Some((*now, "suspended")),
            Record::Resumed { now } => Some((*now, "resumed")),
            _ => None,
        })
        .collect();
    let replayed = replay(def, start, records);
    let mut out: Vec<(i64, Value)> = replayed
        .notices
        .iter()
        .map(|n| (n.at, cloud_event(id, n, replayed.instance.notice_data(n))))
        .collect();
    for (at, what) in pauses {
        let kind = match what {
            "suspended" => crate::engine::Lifecycle::WorkflowSuspended,
            _ => crate::engine::Lifecycle::WorkflowResumed,
        };
        let notice = crate::engine::Notice::new(kind, at);
        let data = replayed.instance.notice_data(&notice);
        out.push((at, cloud_event(id, &notice, data)));
    }
    // Stable: notices of one instant keep the engine's order.
    out.sort_by_key(|(at, _)| *at);
    Ok(out
        .into_iter()
        .map(|(_, mut e)| {
            if let Some(m) = e.as_object_mut() {
                m.remove("id");
            }
            e
        })
        .collect())
}
