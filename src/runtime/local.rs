//! Runs one instance in-process to its end: what `nagare run` and the conformance runner use.
//! Effects run concurrently on the current tokio runtime; their results come back through a
//! channel and are fed to the engine one at a time.

use super::effect::{Context, now_ms, perform};
use crate::engine::instance::Start;
use crate::engine::{Command, Definition, Effect, Event, Instance, Lifecycle, Notice, Status};
use crate::error::Error;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// Receives each lifecycle notification: its CloudEvent type and data.
pub type NotifyFn = Box<dyn Fn(&str, &Value)>;

pub struct Options {
    /// The HTTP client, the known workflows and `$secrets`.
    pub context: Context,
    /// CloudEvents on the in-process bus from the start (`nagare run --event`).
    pub events: Vec<Value>,
    /// Called with every lifecycle notification (type, data) as it happens.
    pub on_notify: Option<NotifyFn>,
}

/// What happened to one task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    /// The task's JSON pointer.
    pub reference: String,
    pub name: String,
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<Error>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<Error>,
    /// Tasks in the order they started.
    pub tasks: Vec<TaskRecord>,
    /// CloudEvents emitted by `emit` tasks.
    pub emitted: Vec<Value>,
}

/// Runs `definition` on `input` to its end.
pub async fn run(definition: Rc<Definition>, id: &str, input: Value, options: &Options) -> Outcome {
    let start = Start {
        id: id.to_string(),
        input,
        secrets: options.context.secrets.clone(),
        now: now_ms(),
    };
    for uri in definition.schema_resources() {
        definition.provide_schema(
            &uri,
            super::resource::fetch(&options.context.http, &uri).await,
        );
    }
    let (mut instance, commands) = Instance::start(definition, start);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut running: HashMap<u64, tokio::task::AbortHandle> = HashMap::new();
    let mut outcome = Outcome {
        status: Status::Running,
        output: None,
        error: None,
        tasks: Vec::new(),
        emitted: Vec::new(),
    };
    // The in-process event bus: given events, then every emitted event, delivered in order.
    let mut bus: std::collections::VecDeque<Value> = options.events.iter().cloned().collect();
    let mut listens: std::collections::HashSet<u64> = Default::default();
    let mut queue = commands;
    loop {
        for command in queue.drain(..) {
            match command {
                Command::Perform { id, effect } => {
                    match &effect {
                        Effect::Emit { event, .. } => {
                            outcome.emitted.push(event.clone());
                            bus.push_back(event.clone());
                        }
                        Effect::Listen { .. } => {
                            listens.insert(id);
                            continue;
                        }
                        _ => {}
                    }
                    let cx = options.context.clone();
                    let tx = tx.clone();
                    let handle = tokio::task::spawn(async move {
                        let result = perform(&cx, effect).await;
                        let _ = tx.send((id, result));
                    });
                    running.insert(id, handle.abort_handle());
                }
                Command::Cancel { id } => {
                    listens.remove(&id);
                    if let Some(h) = running.remove(&id) {
                        h.abort();
                    }
                }
                Command::Notify(notice) => {
                    record(&mut outcome.tasks, &notice);
                    if let Some(f) = &options.on_notify {
                        f(notice.kind.event_type(), &instance.notice_data(&notice));
                    }
                }
                Command::Complete { output } => outcome.output = Some(output),
                Command::Fault { error } => outcome.error = Some(error),
            }
        }
        if matches!(
            instance.status(),
            Status::Completed | Status::Faulted | Status::Cancelled
        ) {
            outcome.status = instance.status();
            for (_, h) in running.drain() {
                h.abort();
            }
            return outcome;
        }
        if let Some(event) = bus.pop_front() {
            queue = instance.step(Event::Receive { event }, now_ms());
            continue;
        }
        if running.is_empty() {
            outcome.status = Status::Faulted;
            outcome.error = Some(if listens.is_empty() {
                Error::runtime("the instance waits for nothing (internal error)")
            } else {
                Error::runtime(
                    "the workflow waits for events that nothing in this process will send: `nagare run` delivers the events given with --event and those the workflow emits",
                )
            });
            return outcome;
        }
        let Some((id, result)) = rx.recv().await else {
            outcome.status = Status::Faulted;
            outcome.error = Some(Error::runtime("the effect channel closed (internal error)"));
            return outcome;
        };
        running.remove(&id);
        queue = instance.step(Event::Done { id, result }, now_ms());
    }
}

/// Keeps the task history from the task lifecycle notices.
fn record(tasks: &mut Vec<TaskRecord>, notice: &Notice) {
    let Some(reference) = notice.task.as_deref() else {
        return;
    };
    let status = match notice.kind {
        Lifecycle::TaskStarted => Status::Running,
        Lifecycle::TaskCompleted => Status::Completed,
        Lifecycle::TaskFaulted => Status::Faulted,
        Lifecycle::TaskCancelled => Status::Cancelled,
        _ => return,
    };
    if status == Status::Running {
        let name = reference
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace("~1", "/")
            .replace("~0", "~");
        tasks.push(TaskRecord {
            reference: reference.to_string(),
            name,
            status,
            output: None,
            error: None,
        });
        return;
    }
    if let Some(t) = tasks
        .iter_mut()
        .rev()
        .find(|t| t.reference == reference && t.status == Status::Running)
    {
        t.status = status;
        t.output = notice.output.as_ref().map(crate::expr::to_json);
        t.error = notice.error.clone();
    }
}
