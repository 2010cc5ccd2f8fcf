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
//! Decisions are serialized on the node, and the tasks a node admitted count as running from
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
use tokio::sync::Notify;

pub struct Gates {
    pub store: Arc<dyn Store>,
    pub plans: Plans,
    /// The node's own limit on gated tasks running at once (all workflows).
    pub max_active_tasks: Option<usize>,
    /// Tasks this node admitted and has not seen end: instance → task references.
    admitted: Mutex<HashMap<String, HashSet<String>>>,
    /// Tasks waiting at a gate on this node: (instance, task) → (workflow, logical date,
    /// why it waits).
    waiting: Mutex<HashMap<(String, String), Waiting>>,
    changed: Notify,
    /// One decision at a time on this node.
    deciding: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Waiting {
    namespace: String,
    name: String,
    logical_date: i64,
    why: String,
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
            deciding: tokio::sync::Mutex::new(()),
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
        let key = (instance.to_string(), task.to_string());
        let _leave = Leave(self, key.clone());
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let _one = self.deciding.lock().await;
                match self.decide(instance, task).await {
                    Ok(None) => {
                        self.lock_admitted()
                            .entry(key.0.clone())
                            .or_default()
                            .insert(key.1.clone());
                        return Ok(Value::Null);
                    }
                    Ok(Some(waiting)) => {
                        self.lock_waiting().insert(key.clone(), waiting);
                    }
                    // The store is unreachable: ask again on the next change or tick.
                    Err(e) => eprintln!("nagare: run control for {instance} {task}: {e}"),
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
        }
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
        self.changed.notify_waiters();
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
            .map(|((_, task), w)| (task.clone(), w.why.clone()))
            .collect()
    }

    /// `None`: admitted. `Some`: why it waits.
    async fn decide(&self, instance: &str, task: &str) -> Result<Option<Waiting>, String> {
        let err = |e: crate::store::Error| e.to_string();
        let Some(run) = self.store.run_of(instance).await.map_err(err)? else {
            return Ok(None);
        };
        let (namespace, name) = (run.namespace.clone(), run.name.clone());
        let plan = self.plans.plan(&namespace, &name).await?;
        let settings = plan.settings;
        // The runs of interest: the active ones, this one, and the run before each.
        let mut rows: BTreeMap<i64, RunRow> = BTreeMap::new();
        for r in self.store.open_runs(&namespace, &name).await.map_err(err)? {
            if r.instance.is_some() {
                rows.insert(r.logical_date, r);
            }
        }
        rows.insert(run.logical_date, run.clone());
        let dates: Vec<i64> = rows.keys().copied().collect();
        for date in dates {
            if let Some(p) = self
                .store
                .previous_run(&namespace, &name, date)
                .await
                .map_err(err)?
            {
                rows.entry(p.logical_date).or_insert(p);
            }
        }
        // The tasks waiting at a gate of this workflow on this node are the pending ones.
        let mut pending: HashMap<i64, Vec<String>> = HashMap::new();
        pending
            .entry(run.logical_date)
            .or_default()
            .push(task.to_string());
        for ((_, t), w) in self.lock_waiting().iter() {
            if w.namespace == namespace && w.name == name && rows.contains_key(&w.logical_date) {
                pending.entry(w.logical_date).or_default().push(t.clone());
            }
        }
        let admitted = self.lock_admitted().clone();
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows.values() {
            let mut tasks = match &row.instance {
                Some(id) => match self.store.instance(id).await.map_err(err)? {
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
                tasks.entry(t.clone()).or_insert(TaskState::Pending);
                if let Some(s) = tasks.get_mut(t)
                    && *s != TaskState::Running
                {
                    // Run again (a retry or a clear): waiting now, whatever it was before.
                    *s = TaskState::Pending;
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
                tasks.insert(
                    t.clone(),
                    if mark == "succeeded" {
                        TaskState::Succeeded
                    } else {
                        TaskState::Failed
                    },
                );
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
        let date = Timestamp::from_millisecond(run.logical_date).map_err(|e| e.to_string())?;
        if admission::startable_tasks(&runs, &settings, &server)
            .iter()
            .any(|(d, t)| *d == date && t == task)
        {
            return Ok(None);
        }
        let why = match admission::may_start_task(&runs, date, task, &settings, &server) {
            Err(wait) => wait.to_string(),
            Ok(()) => "tasks of older runs start first".to_string(),
        };
        Ok(Some(Waiting {
            namespace,
            name,
            logical_date: run.logical_date,
            why,
        }))
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
