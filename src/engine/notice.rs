//! Lifecycle notifications: what the engine tells the runtime about workflow and task phases.
//! They stay typed (no JSON built per task); the runtime asks for the spec's CloudEvent data
//! only when something consumes it.

use crate::error::Error;
use crate::expr::{Val, to_json};
use serde_json::{Map, Value, json};
use std::rc::Rc;

/// The spec's lifecycle event kinds that nagare emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    WorkflowStarted,
    WorkflowCompleted,
    WorkflowFaulted,
    WorkflowCancelled,
    TaskCreated,
    TaskStarted,
    TaskCompleted,
    TaskFaulted,
    TaskCancelled,
    TaskRetried,
    /// Announced by the runtime (the engine has no notion of suspension).
    WorkflowSuspended,
    WorkflowResumed,
    TaskSuspended,
    TaskResumed,
}

impl Lifecycle {
    /// The CloudEvent type, e.g. `io.serverlessworkflow.task.started.v1`.
    pub fn event_type(self) -> &'static str {
        self.names().0
    }

    /// (CloudEvent type, the data's time field).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Lifecycle::WorkflowStarted => {
                ("io.serverlessworkflow.workflow.started.v1", "startedAt")
            }
            Lifecycle::WorkflowCompleted => {
                ("io.serverlessworkflow.workflow.completed.v1", "completedAt")
            }
            Lifecycle::WorkflowFaulted => {
                ("io.serverlessworkflow.workflow.faulted.v1", "faultedAt")
            }
            Lifecycle::WorkflowCancelled => {
                ("io.serverlessworkflow.workflow.cancelled.v1", "cancelledAt")
            }
            Lifecycle::TaskCreated => ("io.serverlessworkflow.task.created.v1", "createdAt"),
            Lifecycle::TaskStarted => ("io.serverlessworkflow.task.started.v1", "startedAt"),
            Lifecycle::TaskCompleted => ("io.serverlessworkflow.task.completed.v1", "completedAt"),
            Lifecycle::TaskFaulted => ("io.serverlessworkflow.task.faulted.v1", "faultedAt"),
            Lifecycle::TaskCancelled => ("io.serverlessworkflow.task.cancelled.v1", "cancelledAt"),
            Lifecycle::TaskRetried => ("io.serverlessworkflow.task.retried.v1", "retriedAt"),
            Lifecycle::WorkflowSuspended => {
                ("io.serverlessworkflow.workflow.suspended.v1", "suspendedAt")
            }
            Lifecycle::WorkflowResumed => {
                ("io.serverlessworkflow.workflow.resumed.v1", "resumedAt")
            }
            Lifecycle::TaskSuspended => ("io.serverlessworkflow.task.suspended.v1", "suspendedAt"),
            Lifecycle::TaskResumed => ("io.serverlessworkflow.task.resumed.v1", "resumedAt"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: Lifecycle,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The task's JSON pointer (task notices only).
    pub task: Option<Rc<str>>,
    pub output: Option<Val>,
    /// The task's raw input (task.started only; kept for the task history, not in the data).
    pub input: Option<Val>,
    pub error: Option<Error>,
    /// The retry number (task.retried only), from 1.
    pub attempt: Option<u32>,
}

impl Notice {
    pub fn new(kind: Lifecycle, at: i64) -> Notice {
        Notice {
            kind,
            at,
            task: None,
            output: None,
            input: None,
            error: None,
            attempt: None,
        }
    }

    /// The spec's data of this lifecycle event. `instance` is the instance's qualified name;
    /// `definition` is `{namespace, name, version}` of its workflow.
    pub fn data(&self, instance: &str, definition: &Value) -> Value {
        let (_, time) = self.kind.names();
        let mut data = Map::new();
        match &self.task {
            Some(task) => {
                data.insert("workflow".into(), json!(instance));
                data.insert("task".into(), json!(&**task));
            }
            None => {
                data.insert("name".into(), json!(instance));
                if self.kind == Lifecycle::WorkflowStarted {
                    data.insert("definition".into(), definition.clone());
                }
            }
        }
        data.insert(time.into(), json!(super::env::iso8601(self.at)));
        if let Some(output) = &self.output {
            data.insert("output".into(), to_json(output));
        }
        if let Some(error) = &self.error {
            data.insert("error".into(), json!(error));
        }
        if let Some(attempt) = self.attempt {
            data.insert("attempt".into(), json!(attempt));
        }
        Value::Object(data)
    }
}
