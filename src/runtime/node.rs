//! A node's engine thread: drives every instance this node holds a lease on.
//!
//! One loop, in batches: take every message waiting (effect results, starts, control
//! requests), step the engines, then write all their new history records, summaries and
//! lifecycle CloudEvents in ONE store transaction (the group commit), and only then act on
//! what the engines asked for (start effects, cancel them, wake waiters). So nothing outside
//! the process ever sees a step that is not durable, and durability costs one commit per
//! batch, not one per task. While a commit is in flight, new messages queue up for the next
//! batch. An instance whose commit failed or whose lease is gone is dropped from memory (its
//! effects aborted); whoever holds it next rebuilds it from its history.
//!
//! Instances are not `Send` (the engine is single-threaded), so they live on this thread, in a
//! current-thread runtime; effects run here too as local tasks (they are IO-bound).
//! Rebuilding an instance from the store (adopt, retry's rewind) is in `node/rebuild.rs`.

mod lifecycle;
mod rebuild;
mod refused;

pub use rebuild::declared_secrets;
pub use refused::Refused;

use super::effect::{Context, now_ms, perform};
use super::gates::Gates;
use super::history::{TaskRecord, apply, rfc3339};
use super::journal::Record;
use super::metrics::Metrics;
use super::subscriptions::Subscriptions;
use crate::engine::{Command, Definition, Effect, Event, Instance, Lifecycle, Notice, Status};
use crate::error::Error;
use crate::events::route::Routes;
use crate::store::{Append, Control, NewInstance, Queued, Store, Summary, WorkflowKey};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::AbortHandle;

pub struct Config {
    /// This node's name: the owner written on its leases.
    pub node: String,
    pub lease: Duration,
    /// Where lifecycle and emitted CloudEvents go (after a workflow's own routes); an event
    /// no route takes is not queued.
    pub routes: Routes,
    /// The HTTP client and the known subflows.
    pub context: Context,
    /// Every secret the node knows; an instance gets those its workflow declares.
    pub secrets: Value,
    /// Run control for the tasks of gated instances (none: every gate opens at once).
    pub gates: Option<Arc<Gates>>,
    /// A listen also gets the stored CloudEvents received up to this long before its
    /// instance started (and all since).
    pub lookback: Duration,
    /// Nudged when emitted CloudEvents were stored (the inbound loop delivers them).
    pub events: Arc<Notify>,
    /// Where run and container tasks' output goes as it is printed.
    pub logs: super::logs::Logs,
}

pub enum Message {
    /// Drive this instance (held by this node): rebuild it from its history.
    Adopt {
        id: String,
    },
    /// Drive an instance this node just stored (row and first record committed, the lease
    /// its own), without reading them back.
    Stored {
        new: NewInstance,
    },
    /// Create an instance and drive it: its row and first records are written by the next
    /// group commit, then `reply` is answered (an error: nothing was written, e.g. because
    /// its `starts` had already started an instance).
    Create {
        new: NewInstance,
        reply: oneshot::Sender<Result<(), Refused>>,
    },
    /// An effect's result.
    Done {
        id: String,
        effect: u64,
        result: Result<Value, Error>,
    },
    /// A CloudEvent for a listening instance.
    Receive {
        id: String,
        event: Value,
    },
    /// A stored CloudEvent for every instance on this node that listens for its type.
    Deliver {
        event: Value,
    },
    Control {
        id: String,
        control: Control,
    },
    /// Run an ended (faulted) instance again from the step that failed it: its history is cut
    /// before the record that faulted the workflow, so the tasks before keep their outputs
    /// and the failed task's effect is performed again.
    /// With `from`, run it again from that task instead (the tasks before keep their
    /// outputs); then it may also have completed or been cancelled.
    Retry {
        id: String,
        from: Option<String>,
        reply: oneshot::Sender<Result<(), Refused>>,
    },
    /// The instance's lifecycle CloudEvents, rebuilt from its history (for readers).
    Lifecycle {
        id: String,
        reply: oneshot::Sender<Result<Vec<Value>, Refused>>,
    },
    /// The instances this node held at `as_of`: drop every other adopted before then (one
    /// adopted later was created or claimed after that reading).
    Held {
        ids: Vec<String>,
        as_of: std::time::Instant,
    },
}

/// Who waits for an instance to end (`GET /instances/{id}?wait=…`).
#[derive(Default)]
pub struct Waiters(Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>);

impl Waiters {
    pub fn wait(&self, id: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.0.lock() {
            // Waits on instances another node drives are never woken here: forget those whose
            // request has gone, so the map stays as small as the waits in progress.
            if m.len() > 256 {
                m.retain(|_, list| {
                    list.retain(|tx| !tx.is_closed());
                    !list.is_empty()
                });
            }
            m.entry(id.to_string()).or_default().push(tx);
        }
        rx
    }

    fn wake(&self, id: &str) {
        if let Some(list) = self.0.lock().ok().and_then(|mut m| m.remove(id)) {
            for tx in list {
                let _ = tx.send(());
            }
        }
    }
}

/// The handle the API and the lease loop use.
#[derive(Clone)]
pub struct Node {
    tx: mpsc::UnboundedSender<Message>,
    pub waiters: Arc<Waiters>,
    /// Nudged after a commit that queued lifecycle CloudEvents.
    pub outbox: Arc<Notify>,
    /// Nudged when an instance ended here (its run frees a slot).
    pub ended: Arc<Notify>,
    /// Whether the engine thread is stepping (read by the lease loop and `/healthz`).
    pub health: Arc<super::health::Health>,
}

impl Node {
    /// Starts the engine thread.
    pub fn spawn(store: Arc<dyn Store>, config: Config, metrics: Arc<Metrics>) -> Node {
        let (tx, rx) = mpsc::unbounded_channel();
        let node = Node {
            tx: tx.clone(),
            waiters: Arc::default(),
            outbox: Arc::default(),
            ended: Arc::default(),
            health: Arc::default(),
        };
        let (waiters, outbox, ended, health) = (
            node.waiters.clone(),
            node.outbox.clone(),
            node.ended.clone(),
            node.health.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("nagare-engine".into())
            .stack_size(crate::expr::budget::THREAD_STACK)
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("nagare: cannot start the engine thread: {e}");
                        std::process::exit(1);
                    }
                };
                let engine = Engine {
                    store,
                    config,
                    metrics,
                    waiters,
                    outbox,
                    ended,
                    health,
                    tx,
                    live: HashMap::new(),
                    definitions: HashMap::new(),
                    subscriptions: Subscriptions::default(),
                };
                tokio::task::LocalSet::new().block_on(&rt, engine.run(rx));
            });
        if let Err(e) = spawned {
            eprintln!("nagare: cannot start the engine thread: {e}");
            std::process::exit(1);
        }
        node
    }

    pub fn send(&self, message: Message) {
        // The engine thread lives as long as the process.
        let _ = self.tx.send(message);
    }
}

struct Live {
    instance: Instance,
    /// When this node adopted the instance.
    since: std::time::Instant,
    running: HashMap<u64, AbortHandle>,
    listens: HashSet<u64>,
    /// When the instance started (ms): the listens' catch-up reaches back from there.
    started: i64,
    tasks: Vec<TaskRecord>,
    suspended: bool,
    /// Results that arrived while suspended, given to the engine on resume.
    held: Vec<Event>,
    output: Option<Value>,
    error: Option<Value>,
    /// The workflow's own routes for its events (`metadata.nagare.routes`).
    routes: Rc<Routes>,
}

impl Live {
    fn status(&self) -> Status {
        match self.instance.status() {
            Status::Running | Status::Waiting if self.suspended => Status::Suspended,
            s => s,
        }
    }

    fn ended(&self) -> bool {
        matches!(
            self.instance.status(),
            Status::Completed | Status::Faulted | Status::Cancelled
        )
    }

    fn abort(&mut self, metrics: &Metrics) {
        for (_, h) in self.running.drain() {
            h.abort();
            metrics.effects.dec();
        }
    }
}

/// What one batch did to one instance.
#[derive(Default)]
struct Work {
    records: Vec<Value>,
    /// Effects to start or cancel once the batch is durable.
    commands: Vec<Command>,
    outbox: Vec<Queued>,
    /// A summary written without a live instance (it could not be rebuilt).
    broken: Option<Summary>,
    /// The instance is new: the commit creates it.
    created: Option<NewInstance>,
    /// Who waits for that commit.
    replies: Vec<oneshot::Sender<Result<(), Refused>>>,
    /// Top-level tasks that ended in this batch (run control counts them until committed).
    ended_tasks: Vec<String>,
}

struct Engine {
    store: Arc<dyn Store>,
    config: Config,
    metrics: Arc<Metrics>,
    waiters: Arc<Waiters>,
    outbox: Arc<Notify>,
    ended: Arc<Notify>,
    health: Arc<super::health::Health>,
    tx: mpsc::UnboundedSender<Message>,
    live: HashMap<String, Live>,
    definitions: HashMap<WorkflowKey, Rc<Definition>>,
    subscriptions: Subscriptions,
}

impl Engine {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Message>) {
        while let Some(first) = rx.recv().await {
            self.health.busy();
            let mut batch = vec![first];
            while batch.len() < 20_000 {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            self.metrics.engine_queue.set(rx.len() as i64);
            // A stored event goes to the instances listening for it (subscriptions change
            // only in a commit, so they are the same for the whole batch).
            let batch: Vec<Message> = batch
                .into_iter()
                .flat_map(|m| match m {
                    Message::Deliver { event } => self
                        .subscriptions
                        .targets(&event)
                        .into_iter()
                        .map(|id| Message::Receive {
                            id,
                            event: event.clone(),
                        })
                        .collect(),
                    m => vec![m],
                })
                .collect();
            let mut work: Vec<(String, Work)> = Vec::new();
            let mut index: HashMap<String, usize> = HashMap::new();
            for message in batch {
                // A read: answered at once, no work of an instance.
                let mut message = match message {
                    Message::Lifecycle { id, reply } => {
                        let _ = reply.send(self.lifecycle(&id).await);
                        continue;
                    }
                    m => m,
                };
                let id = match &mut message {
                    Message::Adopt { id }
                    | Message::Stored {
                        new: NewInstance { id, .. },
                    }
                    | Message::Create {
                        new: NewInstance { id, .. },
                        ..
                    }
                    | Message::Done { id, .. }
                    | Message::Receive { id, .. }
                    | Message::Control { id, .. }
                    | Message::Retry { id, .. } => id.clone(),
                    Message::Held { ids, as_of } => {
                        self.keep(std::mem::take(ids), *as_of);
                        continue;
                    }
                    // Expanded into receives above; answered above.
                    Message::Deliver { .. } | Message::Lifecycle { .. } => continue,
                };
                let at = *index.entry(id.clone()).or_insert_with(|| {
                    work.push((id.clone(), Work::default()));
                    work.len() - 1
                });
                self.handle(message, &mut work[at].1).await;
            }
            work.retain(|(id, w)| {
                w.broken.is_some() || w.created.is_some() || self.live.contains_key(id)
            });
            if !work.is_empty() {
                self.commit(work).await;
            }
            self.metrics.live.set(self.live.len() as i64);
            self.health.idle();
        }
    }

    /// Drops every live instance adopted before `as_of` that is not in `ids`.
    fn keep(&mut self, ids: Vec<String>, as_of: std::time::Instant) {
        let held: HashSet<String> = ids.into_iter().collect();
        let lost: Vec<String> = self
            .live
            .iter()
            .filter(|(id, live)| live.since < as_of && !held.contains(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in lost {
            self.drop_instance(&id);
        }
    }

    fn drop_instance(&mut self, id: &str) {
        if let Some(mut live) = self.live.remove(id) {
            live.abort(&self.metrics);
        }
        if let Some(gates) = &self.config.gates {
            gates.forget(id);
        }
        self.subscriptions.forget(id);
    }

    async fn handle(&mut self, message: Message, work: &mut Work) {
        match message {
            Message::Adopt { id } => self.adopt(id, None, work).await,
            Message::Stored { new } => {
                self.adopt(new.id, Some((new.workflow, new.started)), work)
                    .await;
            }
            Message::Create { new, reply } => {
                let created = Some((new.workflow.clone(), new.started.clone()));
                let id = new.id.clone();
                work.created = Some(new);
                work.replies.push(reply);
                self.adopt(id, created, work).await;
            }
            Message::Done { id, effect, result } => {
                let Some(live) = self.live.get_mut(&id) else {
                    return;
                };
                if live.running.remove(&effect).is_some() {
                    self.metrics.effects.dec();
                }
                let event = Event::Done { id: effect, result };
                if live.suspended {
                    live.held.push(event);
                } else {
                    self.step(&id, event, work);
                }
            }
            Message::Receive { id, event } => {
                let Some(live) = self.live.get_mut(&id) else {
                    return;
                };
                let event = Event::Receive { event };
                if live.suspended {
                    live.held.push(event);
                } else {
                    self.step(&id, event, work);
                }
            }
            Message::Control { id, control } => self.control(&id, control, work),
            Message::Retry { id, from, reply } => {
                let result = self.rewind(&id, from.as_deref()).await;
                let ok = result.is_ok();
                let _ = reply.send(result);
                if ok {
                    self.adopt(id, None, work).await;
                }
            }
            Message::Held { .. } | Message::Deliver { .. } | Message::Lifecycle { .. } => {}
        }
    }

    fn control(&mut self, id: &str, control: Control, work: &mut Work) {
        let Some(live) = self.live.get_mut(id) else {
            return;
        };
        if live.ended() {
            return;
        }
        let now = now_ms();
        match control {
            Control::Cancel => self.step(id, Event::Cancel, work),
            Control::Suspend if !live.suspended => {
                live.suspended = true;
                push(work, &Record::Suspended { now });
                let notices = pause_notices(&live.tasks, Lifecycle::WorkflowSuspended, now);
                self.absorb(id, notices, work);
            }
            Control::Resume if live.suspended => {
                live.suspended = false;
                push(work, &Record::Resumed { now });
                let notices = pause_notices(&live.tasks, Lifecycle::WorkflowResumed, now);
                let held = std::mem::take(&mut live.held);
                self.absorb(id, notices, work);
                for event in held {
                    self.step(id, event, work);
                }
            }
            Control::Suspend | Control::Resume => {}
        }
    }

    /// Gives one event to the engine and records it.
    fn step(&mut self, id: &str, event: Event, work: &mut Work) {
        let Some(live) = self.live.get_mut(id) else {
            return;
        };
        if live.ended() {
            return;
        }
        let now = now_ms();
        let record = Record::Event {
            event: event.clone(),
            now,
        };
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let commands = crate::expr::budget::step(|| live.instance.step(event, now));
            match live.instance.take_poison() {
                None => (record, commands),
                // An evaluation ran out of time: the step does not stand. What it asked for is
                // dropped and a fault of the instance is recorded in its place, so a replay never
                // takes it again (see `Event::Fault`).
                Some(error) => {
                    let fault = Event::Fault { error };
                    let commands = live.instance.step(fault.clone(), now);
                    (Record::Event { event: fault, now }, commands)
                }
            }
        }));
        match stepped {
            Ok((record, commands)) => {
                push(work, &record);
                self.absorb(id, commands, work);
            }
            Err(panic) => self.crashed(id, &panic, now, work),
        }
    }

    /// A step panicked (a bug): the instance's state cannot be trusted, so it is faulted in the
    /// store without being stepped again, and its fault is recorded in place of the step, so
    /// that neither this node nor another replays it into the same crash.
    fn crashed(
        &mut self,
        id: &str,
        panic: &Box<dyn std::any::Any + Send>,
        now: i64,
        work: &mut Work,
    ) {
        let error = super::crash_error(&**panic);
        eprintln!(
            "nagare: instance {id}: {}",
            error.detail.as_deref().unwrap_or_default()
        );
        let Some(live) = self.live.remove(id) else {
            return;
        };
        let Live {
            instance,
            mut running,
            tasks,
            ..
        } = live;
        // Dropping its tasks could panic again in their guards, while the state is broken.
        std::mem::forget(instance);
        for (_, h) in running.drain() {
            h.abort();
            self.metrics.effects.dec();
        }
        self.drop_instance(id);
        push(
            work,
            &Record::Event {
                event: Event::Fault {
                    error: error.clone(),
                },
                now,
            },
        );
        work.broken = Some(Summary {
            status: "faulted".into(),
            output: None,
            error: serde_json::to_value(&error).ok(),
            tasks: serde_json::to_value(&tasks).unwrap_or_default(),
            ended_at: Some(now),
        });
    }

    /// Takes the engine's commands: notices and the end now, effects after the commit.
    fn absorb(&mut self, id: &str, commands: Vec<Command>, work: &mut Work) {
        let Some(live) = self.live.get_mut(id) else {
            return;
        };
        for command in commands {
            match command {
                Command::Notify(notice) => {
                    if let Some(ms) = apply(&mut live.tasks, &notice) {
                        self.metrics.task_seconds.observe(ms as f64 / 1000.0);
                        if let Some(task) = notice.task.as_deref()
                            && crate::engine::top_level(task)
                        {
                            work.ended_tasks.push(task.to_string());
                        }
                    }
                    let kind = notice.kind.event_type();
                    if let Some(to) = self.config.routes.destination(&live.routes, kind) {
                        let data = live.instance.notice_data(&notice);
                        work.outbox.push(Queued {
                            destination: Some(to.text()),
                            event: cloud_event(id, &notice, data),
                        });
                    }
                }
                Command::Complete { output } => live.output = Some(output),
                Command::Fault { error } => live.error = serde_json::to_value(&error).ok(),
                c @ (Command::Perform { .. } | Command::Cancel { .. }) => {
                    // Emitted events are also published where they are routed, in the same
                    // commit and order as the instance's lifecycle events (at least once,
                    // from the outbox).
                    if let Command::Perform {
                        effect: Effect::Emit { event, .. },
                        ..
                    } = &c
                    {
                        let kind = event["type"].as_str().unwrap_or_default();
                        if let Some(to) = self.config.routes.destination(&live.routes, kind) {
                            work.outbox.push(Queued {
                                destination: Some(to.text()),
                                event: event.clone(),
                            });
                        }
                    }
                    work.commands.push(c)
                }
            }
        }
    }

    /// The group commit, then the effects.
    async fn commit(&mut self, work: Vec<(String, Work)>) {
        let now = now_ms();
        let mut queued = false;
        let appends: Vec<Append> = work
            .iter()
            .map(|(id, w)| {
                queued |= !w.outbox.is_empty();
                Append {
                    instance: id.clone(),
                    created: w.created.clone(),
                    records: w.records.clone(),
                    summary: w
                        .broken
                        .clone()
                        .or_else(|| self.live.get(id).map(|live| summary(live, now))),
                    outbox: w.outbox.clone(),
                }
            })
            .collect();
        self.metrics.commits.inc();
        self.metrics.commit_size.observe(appends.len() as f64);
        let lost = match self
            .store
            .append(&self.config.node, self.config.lease, &appends)
            .await
        {
            Ok(lost) => lost,
            Err(e) => {
                eprintln!(
                    "nagare: a group commit of {} instances failed: {e}",
                    appends.len()
                );
                for (id, w) in work {
                    for reply in w.replies {
                        let _ = reply.send(Err(Refused::Store(e.clone())));
                    }
                    self.drop_instance(&id);
                    self.readopt(id);
                }
                return;
            }
        };
        for id in &lost {
            self.drop_instance(id);
        }
        if queued {
            self.outbox.notify_one();
        }
        let lost: HashSet<String> = lost.into_iter().collect();
        for (id, w) in work {
            // A creation is lost when its events had already started an instance.
            let written = if lost.contains(&id) {
                Err(Refused::Lost(id.clone()))
            } else {
                Ok(())
            };
            for reply in w.replies {
                let _ = reply.send(written.clone());
            }
            if w.broken.is_some() {
                self.waiters.wake(&id);
                continue;
            }
            if let Some(gates) = &self.config.gates {
                for task in &w.ended_tasks {
                    gates.task_ended(&id, task);
                }
            }
            let Some(live) = self.live.get_mut(&id) else {
                continue;
            };
            for command in w.commands {
                match command {
                    Command::Perform {
                        id: effect,
                        effect: what,
                    } => {
                        if let Effect::Listen { to, keys, .. } = &what {
                            live.listens.insert(effect);
                            let types = self.subscriptions.add(&id, effect, to, keys);
                            let since = live.started - self.config.lookback.as_millis() as i64;
                            tokio::task::spawn_local(catch_up(
                                self.store.clone(),
                                self.tx.clone(),
                                id.clone(),
                                types.unwrap_or_default(),
                                since,
                            ));
                            continue;
                        }
                        let cx = self.config.context.clone();
                        let tx = self.tx.clone();
                        let instance = id.clone();
                        let store = self.store.clone();
                        let gates = self.config.gates.clone();
                        let events = self.config.events.clone();
                        let log = match &what {
                            Effect::Run { task, .. } => {
                                Some(self.config.logs.open(&id, task, effect))
                            }
                            _ => None,
                        };
                        let handle = tokio::task::spawn_local(async move {
                            let result = match (&what, gates) {
                                (Effect::Gate { task }, Some(gates)) => {
                                    gates.admit(&instance, task).await
                                }
                                // Emitted events are stored like incoming ones (the emit is
                                // done once durable); the inbound loop delivers them to the
                                // instances listening for them, on every node.
                                (Effect::Emit { event, .. }, _) => {
                                    match store
                                        .put_events(std::slice::from_ref(event), now_ms())
                                        .await
                                    {
                                        Ok(_) => {
                                            events.notify_one();
                                            Ok(event.clone())
                                        }
                                        Err(e) => Err(Error::runtime(format!(
                                            "cannot store the emitted event: {e}"
                                        ))),
                                    }
                                }
                                _ => {
                                    know_subflow(&*store, &cx, &what).await;
                                    let to = log.as_ref().map(|l| l.log()).unwrap_or_default();
                                    let result = perform(&cx, what, &to).await;
                                    // Whoever sees the task ended finds its whole log.
                                    if let Some(log) = log {
                                        log.stored().await;
                                    }
                                    result
                                }
                            };
                            let _ = tx.send(Message::Done {
                                id: instance,
                                effect,
                                result,
                            });
                        });
                        self.metrics.effects.inc();
                        live.running.insert(effect, handle.abort_handle());
                    }
                    Command::Cancel { id: effect } => {
                        if live.listens.remove(&effect) {
                            self.subscriptions.remove(&id, effect);
                        }
                        if let Some(h) = live.running.remove(&effect) {
                            h.abort();
                            self.metrics.effects.dec();
                        }
                    }
                    _ => {}
                }
            }
            if live.ended() {
                self.drop_instance(&id);
                self.waiters.wake(&id);
                self.ended.notify_one();
            }
        }
    }
}

/// Events stored before a listen began (while its instance was on another node or down, or
/// just before it started) are delivered too; the engine ignores those it has seen.
async fn catch_up(
    store: Arc<dyn Store>,
    tx: mpsc::UnboundedSender<Message>,
    instance: String,
    types: Vec<String>,
    since: i64,
) {
    match store.events_since(&types, since, 10_000).await {
        Ok(events) => {
            for e in events {
                let _ = tx.send(Message::Receive {
                    id: instance.clone(),
                    event: e.event,
                });
            }
        }
        Err(e) => eprintln!("nagare: cannot read past events for {instance}: {e}"),
    }
}

/// A subflow uploaded to another node since this one started is not in its registry yet:
/// reload the registry from the store before the effect looks it up.
async fn know_subflow(store: &dyn Store, cx: &Context, effect: &Effect) {
    let Effect::Run { process, .. } = effect else {
        return;
    };
    if process.get("kind").and_then(Value::as_str) != Some("workflow") {
        return;
    }
    let text = |k: &str| process.get(k).and_then(Value::as_str).unwrap_or_default();
    if cx
        .workflows
        .find(text("namespace"), text("name"), text("version"))
        .is_some()
    {
        return;
    }
    if let Ok(all) = store.workflows().await {
        for w in all {
            let file = format!("{}/{}:{}", w.key.namespace, w.key.name, w.key.version);
            let _ = cx.workflows.add(&file, w.source);
        }
    }
}

fn push(work: &mut Work, record: &Record) {
    // A record is plain data; serializing it cannot fail.
    if let Ok(v) = serde_json::to_value(record) {
        work.records.push(v);
    }
}

fn summary(live: &Live, now: i64) -> Summary {
    let status = live.status();
    Summary {
        status: status_name(status).into(),
        output: live.output.clone(),
        error: live.error.clone(),
        tasks: serde_json::to_value(&live.tasks).unwrap_or_else(|_| json!([])),
        ended_at: live.ended().then_some(now),
    }
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Running => "running",
        Status::Waiting => "waiting",
        Status::Suspended => "suspended",
        Status::Cancelled => "cancelled",
        Status::Faulted => "faulted",
        Status::Completed => "completed",
    }
}

/// workflow.suspended / resumed, and the same for every task still running.
fn pause_notices(tasks: &[TaskRecord], kind: Lifecycle, now: i64) -> Vec<Command> {
    let task_kind = match kind {
        Lifecycle::WorkflowSuspended => Lifecycle::TaskSuspended,
        _ => Lifecycle::TaskResumed,
    };
    let mut notices = vec![Command::Notify(Notice::new(kind, now))];
    for t in tasks.iter().filter(|t| t.status == Status::Running) {
        let mut n = Notice::new(task_kind, now);
        n.task = Some(t.reference.as_str().into());
        notices.push(Command::Notify(n));
    }
    notices
}

/// A lifecycle notice as a CloudEvent (structured mode).
fn cloud_event(id: &str, notice: &Notice, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": uuid::Uuid::new_v4().to_string(),
        "source": format!("/api/v1/instances/{id}"),
        "type": notice.kind.event_type(),
        "subject": notice.task.as_deref().unwrap_or(id),
        "time": rfc3339(notice.at),
        "datacontenttype": "application/json",
        "data": data,
    })
}
