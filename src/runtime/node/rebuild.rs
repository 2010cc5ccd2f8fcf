//! Rebuilding instances on the engine thread: adopting one from its stored history (or from
//! what this node just created), cutting a faulted one's history for a retry, and the
//! compiled definitions both need.

use super::{Engine, Live, Message, Refused, Work};
use crate::engine::instance::Start;
use crate::engine::{Command, Definition, Effect, Instance, Lifecycle};
use crate::error::Error;
use crate::events::route::Routes;
use crate::runtime::effect::now_ms;
use crate::runtime::history::apply;
use crate::runtime::journal::Record;
use crate::runtime::replay::replay;
use crate::store::{Summary, WorkflowKey};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

impl Engine {
    /// Rebuilds an instance from its history: read from the store, or (`created`) the
    /// workflow and first record of an instance this node just created or stored.
    pub(super) async fn adopt(
        &mut self,
        id: String,
        created: Option<(WorkflowKey, Value)>,
        work: &mut Work,
    ) {
        if self.live.contains_key(&id) {
            return;
        }
        let broken = |message: String| Summary {
            status: "faulted".into(),
            output: None,
            error: Some(json!(Error::runtime(message))),
            tasks: json!([]),
            ended_at: Some(now_ms()),
        };
        let (status, workflow, history) = match created {
            Some((workflow, started)) => ("pending".to_string(), workflow, vec![started]),
            None => match (
                self.store.instance(&id).await,
                self.store.history(&id).await,
            ) {
                (Ok(Some(row)), Ok(history)) => (row.status, row.workflow, history),
                (Ok(None), _) => return,
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("nagare: cannot load instance {id}: {e}");
                    self.readopt(id);
                    return;
                }
            },
        };
        if crate::store::ENDED.contains(&status.as_str()) {
            return;
        }
        let def = match self.definition(&workflow).await {
            Ok(d) => d,
            // The store failed, not the instance: rebuild it once the store answers again.
            Err(Refused::Store(e)) => {
                eprintln!("nagare: cannot load the workflow of instance {id}: {e}");
                if work.created.take().is_some() {
                    // Not written yet: nothing is, and the caller hears why.
                    for reply in work.replies.drain(..) {
                        let _ = reply.send(Err(Refused::Store(e.clone())));
                    }
                } else {
                    self.readopt(id);
                }
                return;
            }
            Err(other) => {
                work.broken = Some(broken(other.to_string()));
                return;
            }
        };
        let (start, records) = match read_history(history, &def, &self.config.secrets) {
            Ok(read) => read,
            Err(message) => {
                work.broken = Some(broken(message));
                return;
            }
        };
        let started = start.now;
        let routes = Rc::new(Routes::of_document(&def.document).unwrap_or_default());
        let replayed = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            replay(def, start, records)
        })) {
            Ok(replayed) => replayed,
            Err(_) => {
                // A bug, but one instance's: it is faulted rather than replayed into the same
                // crash by every node that adopts it.
                work.broken = Some(broken(
                    "rebuilding the instance from its history crashed; it was faulted so that it cannot crash the node again".into(),
                ));
                return;
            }
        };
        // A pending instance never had a summary written: its first notices are new.
        let fresh = status == "pending";
        let mut live = Live {
            instance: replayed.instance,
            since: std::time::Instant::now(),
            running: HashMap::new(),
            listens: HashSet::new(),
            started,
            tasks: Vec::new(),
            suspended: replayed.suspended,
            held: Vec::new(),
            output: None,
            error: None,
            routes,
        };
        if let Some(error) = replayed.poisoned {
            // The start ran out of time: its fault takes the place of what it did.
            super::push(
                work,
                &Record::Event {
                    event: crate::engine::Event::Fault { error },
                    now: now_ms(),
                },
            );
        }
        if fresh {
            self.metrics.started.inc();
            self.live.insert(id.clone(), live);
            let notices = replayed.notices.into_iter().map(Command::Notify).collect();
            self.absorb(&id, notices, work);
        } else {
            for notice in &replayed.notices {
                apply(&mut live.tasks, notice);
            }
            self.live.insert(id.clone(), live);
        }
        self.absorb(&id, replayed.commands, work);
    }

    /// Cuts an ended instance's history so that it runs again.
    ///
    /// `from: None` (a faulted instance): before the record whose step faulted the workflow,
    /// so the failed task's effect is performed again. `from: Some(reference)`: right after
    /// the record whose step began that task (its gate or its start), so every task before it
    /// keeps its output and it and everything after it run again — Airflow's "clear" of a
    /// task and its downstream.
    pub(super) async fn rewind(&mut self, id: &str, from: Option<&str>) -> Result<(), Refused> {
        if self.live.contains_key(id) {
            return Err(Refused::State("the instance is running".into()));
        }
        let row = self
            .store
            .instance(id)
            .await?
            .ok_or_else(|| Refused::NoInstance(id.into()))?;
        if from.is_none() && row.status != "faulted" {
            return Err(Refused::State(format!(
                "only a faulted instance can be retried; this one is {}",
                row.status
            )));
        }
        if !crate::store::ENDED.contains(&row.status.as_str()) {
            return Err(Refused::State(format!(
                "the instance is {}: cancel it first, or wait until it ends",
                row.status
            )));
        }
        let def = self.definition(&row.workflow).await?;
        let history = self.store.history(id).await?;
        let (start, records) =
            read_history(history, &def, &self.config.secrets).map_err(Refused::Unreadable)?;
        // The step to cut at: the one that faulted the workflow (not kept), or the one that
        // began task `from` (kept).
        let cut = |commands: &[Command]| match from {
            None => commands
                .iter()
                .any(|c| matches!(c, Command::Notify(n) if n.kind == Lifecycle::WorkflowFaulted)),
            Some(task) => commands.iter().any(|c| match c {
                Command::Perform {
                    effect: Effect::Gate { task: t },
                    ..
                } => t == task,
                Command::Notify(n) => {
                    matches!(n.kind, Lifecycle::TaskCreated | Lifecycle::TaskStarted)
                        && n.task.as_deref() == Some(task)
                }
                _ => false,
            }),
        };
        let (mut instance, commands) = Instance::start(def, start);
        let mut keep = None;
        if cut(&commands) {
            match from {
                None => {
                    return Err(Refused::State(
                        "the instance faulted before its first task ran (e.g. its input); \
                         start a new one"
                            .into(),
                    ));
                }
                Some(_) => keep = Some(1),
            }
        }
        if keep.is_none() {
            // `seq` counts the start too: record 0 is the start.
            for (seq, record) in (1..).zip(records) {
                if let Record::Event { event, now } = record
                    && cut(&instance.step(event, now))
                {
                    keep = Some(if from.is_some() { seq + 1 } else { seq });
                    break;
                }
            }
        }
        let keep = keep.ok_or_else(|| {
            Refused::State(match from {
                None => "no step of the history faulted the instance".to_string(),
                Some(task) => format!("the task `{task}` never began in this instance"),
            })
        })?;
        let node = &self.config.node;
        match self.store.rewind(id, keep, node, self.config.lease).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refused::State(
                "the instance changed or another node holds it; try again".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The compiled definition of a stored workflow (compiled once per node).
    pub(super) async fn definition(
        &mut self,
        key: &WorkflowKey,
    ) -> Result<Rc<Definition>, Refused> {
        if let Some(d) = self.definitions.get(key) {
            return Ok(d.clone());
        }
        let name = format!("{}/{}:{}", key.namespace, key.name, key.version);
        let stored = match self.store.workflow(key).await {
            Ok(Some(w)) => w,
            Ok(None) => {
                return Err(Refused::Unreadable(format!(
                    "the workflow {name} is not in the store"
                )));
            }
            Err(e) => {
                return Err(Refused::Store(
                    e.context(format!("reading the workflow {name}")),
                ));
            }
        };
        let def = crate::workflow::load(&name, &stored.source).map_err(|ds| {
            let list: Vec<String> = ds.iter().map(ToString::to_string).collect();
            Refused::Unreadable(format!(
                "the stored workflow {name} no longer loads: {}",
                list.join("; ")
            ))
        })?;
        for uri in def.schema_resources() {
            let fetched = crate::runtime::resource::fetch(&self.config.context.http, &uri).await;
            def.provide_schema(&uri, fetched);
        }
        let def = Rc::new(def);
        self.definitions.insert(key.clone(), def.clone());
        Ok(def)
    }

    /// Tries to rebuild the instance again a little later (after a store error).
    pub(super) fn readopt(&self, id: String) {
        let tx = self.tx.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = tx.send(Message::Adopt { id });
        });
    }
}

/// A stored history read back: the instance's start (with the secrets its workflow declares,
/// so a replay takes the branches the run took) and the records after it.
pub(super) fn read_history(
    history: Vec<Value>,
    def: &Definition,
    secrets: &Value,
) -> Result<(Start, Vec<Record>), String> {
    let mut records = Vec::with_capacity(history.len());
    for (seq, value) in history.into_iter().enumerate() {
        records.push(
            serde_json::from_value::<Record>(value).map_err(|e| {
                format!("record {seq} of the instance's history is unreadable: {e}")
            })?,
        );
    }
    let mut records = records.into_iter();
    let Some(Record::Started {
        id,
        input,
        now,
        gate,
    }) = records.next()
    else {
        return Err("the history does not begin with a start".into());
    };
    let start = Start {
        id,
        input,
        secrets: declared_secrets(def, secrets),
        now,
        gate,
        fault: None,
    };
    Ok((start, records.collect()))
}

/// The secrets a workflow declares in `use.secrets`, from all the node knows.
pub fn declared_secrets(def: &Definition, all: &Value) -> Value {
    let names = def
        .workflow
        .use_
        .as_ref()
        .map(|u| u.secrets.clone())
        .unwrap_or_default();
    let mut out = serde_json::Map::new();
    for name in names {
        if let Some(v) = all.get(&name) {
            out.insert(name, v.clone());
        }
    }
    Value::Object(out)
}
