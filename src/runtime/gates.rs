//! Run control for tasks: answers the [`Effect::Gate`](crate::engine::Effect::Gate) that a
//! run's instance performs before each top-level task when its workflow has `dependsOnPast`
//! or a task limit (`maxActiveTasks`, or the server's `--max-active-tasks`).
//!
//! The decision is `schedule::admission`'s (pure). This file gathers its input — the runs of
//! interest (the active ones and the run before each) with their tasks' states from the
//! instances' summaries, the marks people set, and the tasks waiting at a gate on this node —
//! and re-decides whenever something that could change the answer happens here (a gated task
//! ended, a run ended, a mark, a settings change), or every second for what other nodes did.
//!
//! One loop per node decides for every task waiting there at once, a workflow at a time (one
//! read of its runs per round, whatever the number of waiting tasks), oldest dates first.
//! The tasks a node admitted count as running from
//! the moment they are admitted until the node sees them end, so this node never exceeds a
//! limit. Across nodes, `maxActiveTasks` is checked against the stored summaries, which lag a
//! start by one group commit: two nodes admitting at the same instant may overshoot by one
//! each. The server limit (`--max-active-tasks`) is per node, like Airflow's `parallelism`
//! is per scheduler.

use super::plan::Plans;
use crate::error::Error;
use crate::schedule::admission::{self, Run, RunState, Server, TaskState};
use crate::store::{RunRow, Store};
use jiff::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

pub struct Gates {
    pub store: Arc<dyn Store>,
    pub plans: Plans,
    /// The node's own limit on gated tasks running at once (all workflows).
    pub max_active_tasks: Option<usize>,
    /// Tasks this node admitted and has not seen end: instance → task references.
    admitted: Mutex<HashMap<String, HashSet<String>>>,
    /// Tasks waiting at a gate on this node, by (instance, task).
    waiting: Mutex<HashMap<(String, String), Waiting>>,
    changed: Notify,
}

struct Waiting {
    namespace: String,
    name: String,
    logical_date: i64,
    /// Why it waits (empty until the first decision).
    why: String,
    /// Answered when it may start.
    open: Option<oneshot::Sender<()>>,
}

impl Gates {
    pub fn new(store: Arc<dyn Store>, plans: Plans, max_active_tasks: Option<usize>) -> Gates {
        Gates {
            store,
            plans,
            max_active_tasks,
            admitted: Mutex::default(),
            waiting: Mutex::default(),
            changed: Notify::new(),
        }
    }

    /// Whether a run's instance should ask before its tasks start.
    pub fn gated(&self, settings: &crate::schedule::Settings) -> bool {
        settings.depends_on_past
            || settings.max_active_tasks.is_some()
            || self.max_active_tasks.is_some()
    }

    /// Answers when the task may start. Dropped (the instance was cancelled or lost): the
    /// task stops waiting.
    pub async fn admit(&self, instance: &str, task: &str) -> Result<Value, Error> {
        let run = loop {
            match self.store.run_of(instance).await {
                Ok(run) => break run,
                Err(e) => {
                    eprintln!("nagare: run control for {instance} {task}: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        // Not a run's instance (any more): nothing to control.
        let Some(run) = run else {
            return Ok(Value::Null);
        };
        let key = (instance.to_string(), task.to_string());
        let (open, opened) = oneshot::channel();
        self.lock_waiting().insert(
            key.clone(),
            Waiting {
                namespace: run.namespace,
                name: run.name,
                logical_date: run.logical_date,
                why: String::new(),
                open: Some(open),
            },
        );
        let _leave = Leave(self, key);
        self.changed();
        // The loop answers (it never drops a sender without answering but on shutdown).
        let _ = opened.await;
        Ok(Value::Null)
    }

    /// A gated task of `instance` ended (its end is committed).
    pub fn task_ended(&self, instance: &str, task: &str) {
        let mut admitted = self.lock_admitted();
        if let Some(tasks) = admitted.get_mut(instance) {
            tasks.remove(task);
            if tasks.is_empty() {
                admitted.remove(instance);
            }
        }
        drop(admitted);
        self.changed();
    }

    /// The instance ended or left this node (an ended run may unblock `dependsOnPast`).
    pub fn forget(&self, instance: &str) {
        self.lock_admitted().remove(instance);
        self.changed();
    }

    /// Something that may let a waiting task start happened: decide again.
    pub fn changed(&self) {
        self.changed.notify_one();
    }

    /// Why tasks of a run wait on this node, by task reference.
    pub fn waiting(
        &self,
        namespace: &str,
        name: &str,
        logical_date: i64,
    ) -> BTreeMap<String, String> {
        self.lock_waiting()
            .iter()
            .filter(|(_, w)| {
                w.namespace == namespace && w.name == name && w.logical_date == logical_date
            })
            .map(|((_, task), w)| {
                let why = match w.why.as_str() {
                    "" => "run control has not decided yet".to_string(),
                    why => why.to_string(),
                };
                (task.clone(), why)
            })
            .collect()
    }

    /// The loop of this node: decides for the waiting tasks on every change, and every second
    /// for what other nodes did.
    pub async fn run(self: Arc<Self>) {
        loop {
            let _ = tokio::time::timeout(Duration::from_secs(1), self.changed.notified()).await;
            let workflows: HashSet<(String, String)> = self
                .lock_waiting()
                .values()
                .map(|w| (w.namespace.clone(), w.name.clone()))
                .collect();
            for (namespace, name) in workflows {
                if let Err(e) = self.decide(&namespace, &name).await {
                    eprintln!("nagare: run control of {namespace}/{name}: {e}");
                }
            }
        }
    }

    /// Decides for the tasks of one workflow waiting on this node: opens the gates of those
    /// that may start, and says why the others wait.
    async fn decide(&self, namespace: &str, name: &str) -> Result<(), super::runs::Error> {
        let settings = self.plans.plan(namespace, name).await?.settings;
        // The runs of interest: the started open ones and the run before each.
        let mut rows: BTreeMap<i64, RunRow> = BTreeMap::new();
        for r in self.store.open_runs(namespace, name).await? {
            if r.instance.is_some() {
                rows.insert(r.logical_date, r);
            }
        }
        let dates: Vec<i64> = rows.keys().copied().collect();
        for date in dates {
            if let Some(p) = self.store.previous_run(namespace, name, date).await? {
                rows.entry(p.logical_date).or_insert(p);
            }
        }
        let mut pending: HashMap<i64, Vec<String>> = HashMap::new();
        for ((_, t), w) in self.lock_waiting().iter() {
            if w.namespace == namespace && w.name == name {
                pending.entry(w.logical_date).or_default().push(t.clone());
            }
        }
        let admitted = self.lock_admitted().clone();
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows.values() {
            let mut tasks = match &row.instance {
                Some(id) => match self.store.instance(id).await? {
                    Some(i) => task_states(&i.tasks),
                    None => BTreeMap::new(),
                },
                None => BTreeMap::new(),
            };
            if let Some(id) = &row.instance
                && let Some(own) = admitted.get(id)
            {
                for t in own {
                    tasks.insert(t.clone(), TaskState::Running);
                }
            }
            for t in pending.get(&row.logical_date).into_iter().flatten() {
                // Run again (a retry or a clear): waiting now, whatever it was before.
                if tasks.get(t) != Some(&TaskState::Running) {
                    tasks.insert(t.clone(), TaskState::Pending);
                }
            }
            // A run marked succeeded succeeded in every task; one marked failed failed in
            // every task it did not finish (as Airflow's "mark run" sets its task instances).
            match row.marked.as_deref() {
                Some("succeeded") => tasks.values_mut().for_each(|s| *s = TaskState::Succeeded),
                Some(_) => tasks
                    .values_mut()
                    .filter(|s| matches!(s, TaskState::Running | TaskState::Pending))
                    .for_each(|s| *s = TaskState::Failed),
                None => {}
            }
            for (t, mark) in &row.task_marks {
                let state = if mark == "succeeded" {
                    TaskState::Succeeded
                } else {
                    TaskState::Failed
                };
                tasks.insert(t.clone(), state);
            }
            let Ok(logical_date) = Timestamp::from_millisecond(row.logical_date) else {
                continue;
            };
            runs.push(Run {
                logical_date,
                state: run_state(row),
                tasks,
            });
        }
        let server = Server {
            active_tasks: admitted.values().map(HashSet::len).sum(),
            max_active_tasks: self.max_active_tasks,
            ..Server::default()
        };
        let startable: HashSet<(i64, String)> =
            admission::startable_tasks(&runs, &settings, &server)
                .into_iter()
                .map(|(d, t)| (d.as_millisecond(), t))
                .collect();
        let mut waiting = self.lock_waiting();
        let mut opened = Vec::new();
        for ((instance, task), w) in waiting.iter_mut() {
            if w.namespace != namespace || w.name != name {
                continue;
            }
            if startable.contains(&(w.logical_date, task.clone())) {
                if let Some(open) = w.open.take() {
                    let _ = open.send(());
                }
                opened.push((instance.clone(), task.clone()));
                continue;
            }
            let Ok(date) = Timestamp::from_millisecond(w.logical_date) else {
                continue;
            };
            w.why = match admission::may_start_task(&runs, date, task, &settings, &server) {
                Err(wait) => wait.to_string(),
                Ok(()) => "tasks of older runs start first".to_string(),
            };
        }
        drop(waiting);
        let mut admitted = self.lock_admitted();
        for (instance, task) in opened {
            admitted.entry(instance).or_default().insert(task);
        }
        Ok(())
    }

    fn lock_admitted(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.admitted.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes a task from the waiting ones when its gate is answered or dropped.
struct Leave<'a>(&'a Gates, (String, String));

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.lock_waiting().remove(&self.1);
    }
}

/// A run's state for admission: a person's mark first, then its instance.
pub fn run_state(row: &RunRow) -> RunState {
    match row.marked.as_deref() {
        Some("succeeded") => return RunState::Succeeded,
        Some(_) => return RunState::Failed,
        None => {}
    }
    match row.status.as_str() {
        "queued" => RunState::Queued,
        "completed" => RunState::Succeeded,
        "faulted" | "cancelled" => RunState::Failed,
        _ => RunState::Running,
    }
}

/// The state of each top-level task from an instance's task history (the latest execution
/// of each wins: a retried or cleared task's new attempt replaces the old one).
fn task_states(tasks: &Value) -> BTreeMap<String, TaskState> {
    let mut out = BTreeMap::new();
    for t in tasks.as_array().into_iter().flatten() {
        let Some(reference) = t.get("reference").and_then(Value::as_str) else {
            continue;
        };
        if !crate::engine::top_level(reference) {
            continue;
        }
        let state = match t.get("status").and_then(Value::as_str) {
            Some("completed") => TaskState::Succeeded,
            Some("faulted" | "cancelled") => TaskState::Failed,
            _ => TaskState::Running,
        };
        out.insert(reference.to_string(), state);
    }
    out
}
