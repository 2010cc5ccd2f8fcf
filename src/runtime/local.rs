//! Runs one instance in-process to its end: what `nagare run` and the conformance runner use.
//! Effects run concurrently on the current tokio runtime; their results come back through a
//! channel and are fed to the engine one at a time.

use super::effect::{Context, now_ms, perform};
use super::journal::{Journal, Record};
use crate::engine::instance::Start;
use crate::engine::{Command, Definition, Effect, Event, Instance, Status};
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
    /// Where the instance's history is kept; an existing history is resumed.
    pub journal: Option<std::path::PathBuf>,
    /// Called with every lifecycle notification (type, data) as it happens.
    pub on_notify: Option<NotifyFn>,
}

pub use super::history::TaskRecord;

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

/// Runs `definition` on `input` to its end. With a journal that already holds a history, the
/// instance of that history is resumed instead (`id` and `input` are then ignored).
pub async fn run(definition: Rc<Definition>, id: &str, input: Value, options: &Options) -> Outcome {
    let fail = |error: Error| Outcome {
        status: Status::Faulted,
        output: None,
        error: Some(error),
        tasks: Vec::new(),
        emitted: Vec::new(),
    };
    let (mut journal, history) = match &options.journal {
        None => (None, Vec::new()),
        Some(path) => match Journal::open(path) {
            Ok((j, records)) => (Some(j), records),
            Err(e) => {
                return fail(Error::runtime(format!(
                    "cannot open the journal {}: {e}",
                    path.display()
                )));
            }
        },
    };
    let mut history = history.into_iter();
    let start = match history.next() {
        Some(Record::Started {
            id,
            input,
            now,
            gate,
        }) => Start {
            id,
            input,
            secrets: options.context.secrets.clone(),
            now,
            gate,
            fault: None,
        },
        Some(other) => {
            return fail(Error::runtime(format!(
                "the journal does not begin with a start: {other:?}"
            )));
        }
        None => {
            let start = Start {
                id: id.to_string(),
                input,
                secrets: options.context.secrets.clone(),
                now: now_ms(),
                gate: false,
                fault: None,
            };
            if let Some(j) = &mut journal {
                let record = Record::Started {
                    id: start.id.clone(),
                    input: start.input.clone(),
                    now: start.now,
                    gate: false,
                };
                if let Err(e) = j.append(&record) {
                    return fail(j.error(e));
                }
            }
            start
        }
    };
    let resuming = history.len() > 0;
    for uri in definition.schema_resources() {
        definition.provide_schema(
            &uri,
            super::resource::fetch(&options.context.http, &uri).await,
        );
    }
    let replayed = super::replay::replay(definition, start, history.collect());
    if let (Some(error), Some(j)) = (&replayed.poisoned, &mut journal) {
        let fault = Record::Event {
            event: Event::Fault {
                error: error.clone(),
            },
            now: now_ms(),
        };
        if let Err(e) = j.append(&fault) {
            return fail(j.error(e));
        }
    }
    let mut instance = replayed.instance;
    let commands = if resuming {
        replayed.commands
    } else {
        // A fresh start: its notices are announced like any other.
        replayed
            .notices
            .iter()
            .cloned()
            .map(Command::Notify)
            .chain(replayed.commands)
            .collect()
    };
    let replayed_notices = if resuming {
        replayed.notices
    } else {
        Vec::new()
    };
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
    let mut bus: std::collections::VecDeque<Value> = if resuming {
        Default::default()
    } else {
        options.events.iter().cloned().collect()
    };
    let mut listens: std::collections::HashSet<u64> = Default::default();
    for notice in &replayed_notices {
        super::history::apply(&mut outcome.tasks, notice);
    }
    let mut queue = commands;
    // Journals the event, then gives it to the engine: what the engine saw is always on disk.
    let mut feed = |instance: &mut Instance, event: Event| -> Result<Vec<Command>, Error> {
        let now = now_ms();
        if let Some(j) = &mut journal {
            j.append(&Record::Event {
                event: event.clone(),
                now,
            })
            .map_err(|e| j.error(e))?;
        }
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::expr::budget::step(|| instance.step(event, now))
        }));
        // A step that crashed (a bug) or ran out of time does not stand: a fault takes its
        // place in the journal, so that a resumed run does not take it again.
        let (fault, crashed) = match stepped {
            Err(panic) => (super::crash_error(&*panic), true),
            Ok(commands) => match instance.take_poison() {
                None => return Ok(commands),
                Some(error) => (error, false),
            },
        };
        let fault = Event::Fault { error: fault };
        if let Some(j) = &mut journal {
            j.replace_last(&Record::Event {
                event: fault.clone(),
                now,
            })
            .map_err(|e| j.error(e))?;
        }
        match fault {
            // The instance's state cannot be trusted after a panic: it is not stepped again.
            Event::Fault { error } if crashed => Err(error),
            fault => Ok(instance.step(fault, now)),
        }
    };
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
                        let result =
                            perform(&cx, effect, &crate::functions::log::Log::none()).await;
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
                    super::history::apply(&mut outcome.tasks, &notice);
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
            match feed(&mut instance, Event::Receive { event }) {
                Ok(q) => queue = q,
                Err(e) => return fail(e),
            }
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
        match feed(&mut instance, Event::Done { id, result }) {
            Ok(q) => queue = q,
            Err(e) => return fail(e),
        }
    }
}
