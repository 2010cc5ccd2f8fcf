//! The per-task history of an instance, kept from its lifecycle notices: what the API shows
//! under `tasks` (and `nagare run` keeps in its outcome).

use crate::engine::{Lifecycle, Notice, Status};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened to one execution of a task (a task inside a loop has one per iteration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// The task's JSON pointer.
    pub reference: String,
    pub name: String,
    pub status: Status,
    /// The task's raw input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// RFC 3339.
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// 1, plus one per retry (`try` with `retry`).
    pub attempts: u32,
    #[serde(skip)]
    pub started_ms: i64,
}

/// Applies one notice; returns the finished record's duration in milliseconds when a task
/// ended (for the latency histogram).
pub fn apply(tasks: &mut Vec<TaskRecord>, notice: &Notice) -> Option<i64> {
    let reference = notice.task.as_deref()?;
    let status = match notice.kind {
        Lifecycle::TaskStarted => {
            let name = reference
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .replace("~1", "/")
                .replace("~0", "~");
            tasks.push(TaskRecord {
                reference: reference.to_string(),
                name,
                status: Status::Running,
                input: notice.input.as_ref().map(crate::expr::to_json),
                output: None,
                error: None,
                started_at: rfc3339(notice.at),
                ended_at: None,
                attempts: 1,
                started_ms: notice.at,
            });
            return None;
        }
        Lifecycle::TaskRetried => {
            if let Some(t) = tasks.iter_mut().rev().find(|t| t.reference == reference) {
                t.attempts += 1;
            }
            return None;
        }
        Lifecycle::TaskCompleted => Status::Completed,
        Lifecycle::TaskFaulted => Status::Faulted,
        Lifecycle::TaskCancelled => Status::Cancelled,
        _ => return None,
    };
    let t = tasks
        .iter_mut()
        .rev()
        .find(|t| t.reference == reference && t.status == Status::Running)?;
    t.status = status;
    t.output = notice.output.as_ref().map(crate::expr::to_json);
    t.error = notice.error.clone();
    t.ended_at = Some(rfc3339(notice.at));
    Some(notice.at - t.started_ms)
}

/// Milliseconds since the epoch as RFC 3339 (UTC).
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
