//! Delivers stored CloudEvents (received over HTTP, or emitted by instances) on this node: to
//! the instances listening for them (through the engine thread's subscription index), and to
//! the workflows that `schedule.on` them, which start one instance per triggering event.
//!
//! The store's event log is the source of truth; this loop tails it by sequence number. It
//! wakes at once for events stored by this node and every 200 ms for those of other nodes.
//! On start it reads again the events of the retention window, so events that arrived while
//! the node was down still start their instances (`Store::start_for_event` makes that happen
//! once per workflow and event, across nodes and restarts). Listens catch up on their own when
//! they begin (see `node.rs`), and the engine ignores an event it has already received.
//!
//! `schedule.on` supports `one` and `any` (without `until`): each matching event starts an
//! instance whose input is `[event]`, as the spec says. Filters match like `listen`'s for
//! literal and regular-expression attributes; `all`, `until` and expression filters are not
//! supported yet (the workflow is reported once and skipped).

use super::effect::now_ms;
use super::journal::new_instance;
use super::node::{Message, Node};
use super::plan::Plans;
use crate::dsl::model::event::{ConsumptionStrategy, EventFilter};
use crate::store::{Store, WorkflowKey};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Inbound {
    pub store: Arc<dyn Store>,
    pub node: Node,
    pub plans: Plans,
    /// This node's name and lease (a started instance is this node's).
    pub name: String,
    pub lease: Duration,
    /// Nudged when this node stored events.
    pub wake: Arc<Notify>,
    /// How long stored events are kept (and read again on start).
    pub retention: Duration,
}

/// A workflow started by events.
struct Trigger {
    key: WorkflowKey,
    on: ConsumptionStrategy,
}

impl Inbound {
    pub async fn run(self) {
        let since = now_ms() - self.retention.as_millis() as i64;
        let mut cursor = match self.store.events_since(&[], since, 1).await {
            Ok(first) => first.first().map_or(i64::MAX, |e| e.seq - 1),
            Err(_) => i64::MAX,
        };
        if cursor == i64::MAX {
            cursor = self.store.last_event_seq().await.unwrap_or(0);
        }
        let mut reported = HashSet::new();
        let mut pruned = 0;
        loop {
            let _ = tokio::time::timeout(Duration::from_millis(200), self.wake.notified()).await;
            let events = match self.store.events_after(cursor, 1000).await {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("nagare: cannot read incoming events: {e}");
                    continue;
                }
            };
            if events.is_empty() {
                continue;
            }
            let triggers = self.triggers(&mut reported).await;
            for e in events {
                cursor = e.seq;
                for t in &triggers {
                    if triggered(&t.on, &e.event) {
                        self.start(t, e.seq, &e.event).await;
                    }
                }
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

    /// The unpaused workflows (latest versions) with a supported `schedule.on`.
    async fn triggers(&self, reported: &mut HashSet<String>) -> Vec<Trigger> {
        let Ok(latest) = self.plans.latest().await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for w in latest {
            let Ok((schedule, _)) = self.plans.parts_of(&w) else {
                continue;
            };
            let Some(on) = schedule.and_then(|s| s.on) else {
                continue;
            };
            let (namespace, name) = (&w.key.namespace, &w.key.name);
            if self
                .store
                .settings(namespace, name)
                .await
                .is_ok_and(|s| s.paused)
            {
                continue;
            }
            if let Err(why) = supported(&on) {
                if reported.insert(format!("{namespace}/{name}")) {
                    eprintln!("nagare: {namespace}/{name}: schedule.on is not started: {why}");
                }
                continue;
            }
            out.push(Trigger { key: w.key, on });
        }
        out
    }

    async fn start(&self, t: &Trigger, seq: i64, event: &Value) {
        let input = Value::Array(vec![event.clone()]);
        let new = new_instance(t.key.clone(), input, &self.name, false);
        let id = new.id.clone();
        match self
            .store
            .start_for_event(&t.key.namespace, &t.key.name, seq, &new, self.lease)
            .await
        {
            Ok(true) => self.node.send(Message::Adopt { id }),
            Ok(false) => {}
            Err(e) => eprintln!(
                "nagare: cannot start {}/{} for event {seq}: {e}",
                t.key.namespace, t.key.name
            ),
        }
    }
}

fn supported(on: &ConsumptionStrategy) -> Result<(), String> {
    if on.all.is_some() {
        return Err("`all` is not supported yet".into());
    }
    if on.until.is_some() {
        return Err("`until` is not supported yet".into());
    }
    let filters: Vec<&EventFilter> = on.one.iter().chain(on.any.iter().flatten()).collect();
    for f in filters {
        if f.with
            .values()
            .any(|v| v.as_str().is_some_and(|s| s.contains("${")))
        {
            return Err("expression filters are not supported yet".into());
        }
    }
    Ok(())
}

/// Does the event start an instance?
fn triggered(on: &ConsumptionStrategy, event: &Value) -> bool {
    if let Some(one) = &on.one {
        return matches(one, event);
    }
    match on.any.as_deref() {
        Some([]) => true,
        Some(filters) => filters.iter().any(|f| matches(f, event)),
        None => false,
    }
}

/// Every attribute of the filter matches, by `listen`'s own rule (expressions are refused
/// before: [`supported`]).
fn matches(filter: &EventFilter, event: &Value) -> bool {
    let event = crate::expr::from_json(event);
    filter.with.iter().all(|(name, wanted)| {
        let actual = crate::expr::value::get(&event, name)
            .cloned()
            .unwrap_or(crate::expr::Val::Null);
        crate::engine::attribute_matches(wanted, &actual, &|_, _| None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategy(v: Value) -> ConsumptionStrategy {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn one_and_any_match_literals_and_patterns() {
        let one = strategy(json!({"one": {"with": {"type": "order.paid", "source": "/shop/.*"}}}));
        assert!(triggered(
            &one,
            &json!({"type": "order.paid", "source": "/shop/eu"})
        ));
        assert!(!triggered(
            &one,
            &json!({"type": "order.paid", "source": "/other"})
        ));
        assert!(!triggered(
            &one,
            &json!({"type": "order.paidx", "source": "/shop/eu"})
        ));
        let any = strategy(
            json!({"any": [{"with": {"type": "a"}}, {"with": {"type": "b", "data": {"k": 1}}}]}),
        );
        assert!(triggered(&any, &json!({"type": "a"})));
        assert!(triggered(
            &any,
            &json!({"type": "b", "data": {"k": 1, "more": 2}})
        ));
        assert!(!triggered(&any, &json!({"type": "b", "data": {"k": 2}})));
        assert!(triggered(
            &strategy(json!({"any": []})),
            &json!({"type": "z"})
        ));
    }

    #[test]
    fn unsupported_strategies_are_named() {
        let all = strategy(json!({"all": [{"with": {"type": "a"}}]}));
        assert!(supported(&all).unwrap_err().contains("`all`"));
        let expr = strategy(json!({"one": {"with": {"type": "${ . == \"a\" }"}}}));
        assert!(supported(&expr).unwrap_err().contains("expression"));
    }
}
