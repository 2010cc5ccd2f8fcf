//! `GET /api/v1/instances/{id}/logs`: what the instance's run and container tasks printed, in
//! the order it was printed, paged by `after` (the last `seq` seen), optionally of one `task`.
//! A reader following a running task asks again with `next` until `ended` is true and a page
//! comes back empty: a task's log is stored before its end is (`runtime::logs`).

use super::{App, Problem};
use crate::runtime::history::rfc3339;
use crate::store::{ENDED, LOG_PAGE_MAX};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub async fn logs(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let after = match query.get("after") {
        None => 0,
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            Problem::bad_request(format!(
                "`after` is the last seq read (a whole number, 0 or more), not `{s}`"
            ))
        })?,
    };
    let limit = match query.get("limit") {
        None => LOG_PAGE_MAX,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=LOG_PAGE_MAX).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "`limit` is a number from 1 to {LOG_PAGE_MAX}, not `{s}`"
                ))
            })?,
    };
    let task = query.get("task").map(String::as_str);
    // The status first: a page read after it is at least as new, so `ended` with an empty page
    // means the log is complete.
    let row = super::instances::row(&app, &id).await?;
    let pieces = app.store.logs(&id, task, after, limit).await?;
    let next = pieces.last().map_or(after, |p| p.seq);
    let entries: Vec<Value> = pieces
        .into_iter()
        .map(|p| {
            json!({
                "seq": p.seq,
                "task": p.chunk.task,
                "attempt": p.chunk.effect,
                "stream": p.chunk.stream.as_str(),
                "time": rfc3339(p.chunk.at),
                "text": p.chunk.text,
            })
        })
        .collect();
    Ok(Json(json!({
        "instance": id,
        "status": row.status,
        "ended": ENDED.contains(&row.status.as_str()),
        "entries": entries,
        "next": next,
    })))
}
