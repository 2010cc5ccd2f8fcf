//! Delivers stored CloudEvents (received over HTTP or Kafka, or emitted by instances) on this
//! node: to the instances listening for them (through the engine thread's subscription
//! index), and to the workflows that `schedule.on` them, which start one instance per
//! triggering event or event set (`trigger.rs` decides which).
//!
//! The store's event log is the source of truth; this loop tails it by sequence number. It
//! wakes at once for events stored by this node and every 200 ms for those of other nodes.
//! On start it reads again the events of the retention window, so events that arrived while
//! the node was down still start their instances (`NewInstance::starts` makes that happen
//! once per workflow and event, across nodes and restarts: a set of events starts all or
//! nothing, and events another start consumed are skipped, or dropped from the sets being
//! gathered). Listens catch up on their own when they begin (see `node.rs`), and the engine
//! ignores an event it has already received.
//!
//! The loop runs on a thread of its own: the triggers hold compiled expressions, whose values
//! are reference-counted and stay on one thread.

use super::effect::now_ms;
use super::journal::new_instance;
use super::node::{Message, Node};
use super::plan::Plans;
use super::trigger::{Start, Trigger};
use crate::dsl::model::event::ConsumptionStrategy;
use crate::store::{Store, StoredEvent, StoredWorkflow, WorkflowKey};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// Events read from the log at a time.
const PAGE: u32 = 1000;

#[derive(Clone)]
pub struct Inbound {
    pub store: Arc<dyn Store>,
    pub node: Node,
    pub plans: Plans,
    /// This node's name (a started instance is this node's).
    pub name: String,
    /// Nudged when this node stored events.
    pub wake: Arc<Notify>,
    /// How long stored events are kept (and read again on start).
    pub retention: Duration,
}

/// The latest versions that have a `schedule.on`, as of `count` stored versions.
#[derive(Default)]
struct Scheduled {
    count: Option<i64>,
    on: Vec<(StoredWorkflow, ConsumptionStrategy)>,
}

/// A workflow started by events: its latest version and that version's trigger.
struct Triggered {
    key: WorkflowKey,
    digest: String,
    trigger: Trigger,
    /// `all` or `until`: starts take sets of events, gathered across events.
    sets: bool,
}

impl Inbound {
    /// Runs the loop on a thread of its own.
    pub fn spawn(self) {
        let spawned = std::thread::Builder::new()
            .name("nagare-inbound".into())
            .stack_size(crate::expr::budget::THREAD_STACK)
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(self.run()),
                    Err(e) => eprintln!("nagare: cannot start the inbound events thread: {e}"),
                }
            });
        if let Err(e) = spawned {
            eprintln!("nagare: cannot start the inbound events thread: {e}");
        }
    }

    async fn run(self) {
        let since = now_ms() - self.retention.as_millis() as i64;
        let mut cursor = match self.store.events_since(&[], since, 1).await {
            Ok(first) => first.first().map_or(i64::MAX, |e| e.seq - 1),
            Err(_) => i64::MAX,
        };
        if cursor == i64::MAX {
            cursor = self.store.last_event_seq().await.unwrap_or(0);
        }
        let mut triggers: HashMap<(String, String), Triggered> = HashMap::new();
        let mut reported = HashSet::new();
        let mut scheduled = Scheduled::default();
        let mut pruned = 0;
        let mut behind = false;
        loop {
            // A full page means more is stored: read on at once, without waiting for a nudge.
            if !behind {
                let _ =
                    tokio::time::timeout(Duration::from_millis(200), self.wake.notified()).await;
            }
            let events = match self.store.events_after(cursor, PAGE).await {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("nagare: cannot read incoming events: {e}");
                    behind = false;
                    continue;
                }
            };
            behind = events.len() == PAGE as usize;
            if events.is_empty() {
                continue;
            }
            self.refresh(&mut triggers, &mut reported, &mut scheduled)
                .await;
            for t in triggers.values_mut() {
                self.offer(t, &events).await;
            }
            for e in events {
                cursor = e.seq;
                self.node.send(Message::Deliver { event: e.event });
            }
            if now_ms() - pruned > 60_000 {
                pruned = now_ms();
                let _ = self
                    .store
                    .prune_events(now_ms() - self.retention.as_millis() as i64)
                    .await;
            }
        }
    }

    /// The triggers of the unpaused workflows (latest versions) with a `schedule.on`; a
    /// trigger keeps its open sets while its version stays the latest.
    async fn refresh(
        &self,
        triggers: &mut HashMap<(String, String), Triggered>,
        reported: &mut HashSet<String>,
        scheduled: &mut Scheduled,
    ) {
        // Reading every stored version (with its source) for each page would cost more the
        // more workflows there are; versions are only ever added, so their count says when
        // the list of `schedule.on` workflows must be read again.
        let count = self.store.workflow_count().await.ok();
        if count.is_none() || count != scheduled.count {
            let Ok(latest) = self.plans.latest().await else {
                return;
            };
            scheduled.on = latest
                .into_iter()
                .filter_map(|w| {
                    let (schedule, _) = self.plans.parts_of(&w).ok()?;
                    Some((w, schedule?.on?))
                })
                .collect();
            scheduled.count = count;
        }
        let mut wanted = HashSet::new();
        for (w, on) in &scheduled.on {
            let k = (w.key.namespace.clone(), w.key.name.clone());
            if self
                .store
                .settings(&k.0, &k.1)
                .await
                .is_ok_and(|s| s.paused)
            {
                continue;
            }
            wanted.insert(k.clone());
            if triggers.get(&k).is_some_and(|t| t.digest == w.digest) {
                continue;
            }
            let sets = on.all.is_some() || on.until.is_some();
            match Trigger::new(on.clone()) {
                Ok(trigger) => {
                    triggers.insert(
                        k,
                        Triggered {
                            key: w.key.clone(),
                            digest: w.digest.clone(),
                            trigger,
                            sets,
                        },
                    );
                }
                Err(why) => {
                    if reported.insert(format!("{}/{}:{}", k.0, k.1, w.digest)) {
                        eprintln!("nagare: {}/{}: schedule.on is not started: {why}", k.0, k.1);
                    }
                }
            }
        }
        triggers.retain(|k, _| wanted.contains(k));
    }

    /// Offers a page of the log to one trigger and starts what it completes.
    async fn offer(&self, t: &mut Triggered, events: &[StoredEvent]) {
        // Sets are gathered from events no start took yet (by another node, or before a
        // restart); a single event's start is refused by the store anyway.
        let taken: HashSet<i64> = if t.sets {
            let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
            self.store
                .started_events(&t.key.namespace, &t.key.name, &seqs)
                .await
                .map(|s| s.into_iter().collect())
                .unwrap_or_default()
        } else {
            HashSet::new()
        };
        for e in events {
            if taken.contains(&e.seq) {
                continue;
            }
            let mut due: Vec<Start> = t.trigger.offer(e.seq, &e.event).into_iter().collect();
            while let Some(start) = due.pop() {
                if self.start(&t.key, &start).await || start.seqs.len() == 1 {
                    continue;
                }
                // Another start took some of these events: gather again without them.
                let gone: HashSet<i64> = self
                    .store
                    .started_events(&t.key.namespace, &t.key.name, &start.seqs)
                    .await
                    .map(|s| s.into_iter().collect())
                    .unwrap_or_default();
                if !gone.is_empty() {
                    due.extend(t.trigger.refused(start, &gone));
                }
            }
        }
    }

    /// Starts an instance for a set of events: the engine creates it in its next group commit
    /// (see [`crate::store::NewInstance::starts`]), so a start costs no write of its own. A set
    /// waits for that commit: false when one of its events had already started an instance,
    /// and the set is gathered again without them. A single event's start is not waited for:
    /// refused, it leaves nothing to gather (a failed commit is reported by the engine).
    async fn start(&self, key: &WorkflowKey, start: &Start) -> bool {
        let input = Value::Array(start.events.clone());
        let mut new = new_instance(key.clone(), input, &self.name, false);
        new.starts = start.seqs.clone();
        let (reply, committed) = oneshot::channel();
        self.node.send(Message::Create { new, reply });
        start.seqs.len() == 1 || matches!(committed.await, Ok(Ok(())))
    }
}
