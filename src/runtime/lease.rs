//! The lease loop of a node: renews its node lease (one row, however many instances it
//! holds), claims instances that need an owner
//! (its own after a restart, those of a node that died once their lease ran out), and delivers
//! control requests (cancel, suspend, resume) to the engine.
//!
//! Safety against running a task twice at once: a node drops every instance (aborting its
//! effects, killing its processes) as soon as it cannot prove it still holds the lease — when a
//! renewal fails and the last good one is older than two thirds of the lease. Another node can
//! only claim after the whole lease has run out on the database clock.
//!
//! The same holds when the engine thread is stuck (busy with one batch for a third of the
//! lease): the loop reads that from the node's health, never by asking the engine, and stops
//! renewing, so the lease runs out and other nodes take the instances over. When the engine
//! comes back it is told to drop everything, and the node claims afresh.

use super::node::{Message, Node};
use crate::store::Store;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Instances claimed at a time.
const CLAIM: u32 = 500;

pub struct Lease {
    pub store: Arc<dyn Store>,
    pub node: Node,
    pub name: String,
    pub lease: Duration,
    /// Nudged when a control request was queued on this node (so it is delivered at once).
    pub requests: Arc<Notify>,
}

impl Lease {
    /// The tick: a quarter of the lease, at most one second.
    fn tick(&self) -> Duration {
        (self.lease / 4).min(Duration::from_secs(1))
    }

    pub async fn run(self) {
        let mut adopted: HashSet<String> = HashSet::new();
        // Whether the node may still hold instances it does not drive: at its start (a
        // restart), and after it dropped everything. Until a claim has gone through all of
        // them, claims include the node's own; then only the unowned and the abandoned.
        let mut own = true;
        let mut last_renewal = Instant::now();
        let mut next = Instant::now();
        let health = self.node.health.clone();
        let mut gave_up = false;
        loop {
            let due = Instant::now() >= next;
            let stuck = health.engine_busy().is_some_and(|d| d > self.lease / 3);
            if due && stuck {
                next = Instant::now() + self.tick();
                if !std::mem::replace(&mut gave_up, true) {
                    eprintln!(
                        "nagare: the engine thread of {} has been busy with one batch for more than a third of the lease; giving its leases up",
                        self.name
                    );
                    health.set_gave_up(true);
                }
            } else if due {
                next = Instant::now() + self.tick();
                if std::mem::replace(&mut gave_up, false) {
                    // The leases may have run out meanwhile: whatever this node still drives
                    // is dropped (appends are fenced anyway), then claimed afresh.
                    adopted.clear();
                    own = true;
                    self.node.send(Message::Held {
                        ids: Vec::new(),
                        as_of: Instant::now(),
                    });
                    health.set_gave_up(false);
                }
                // Ended instances with nothing left to publish need no owner any more.
                if let Err(e) = self.store.release_ended(&self.name).await {
                    eprintln!("nagare: cannot release ended instances: {e}");
                }
                let as_of = Instant::now();
                let renewed = self.store.renew(&self.name, self.lease).await;
                if renewed.is_ok() {
                    health.store_answered();
                } else {
                    health.store_failed();
                }
                match renewed {
                    Ok(None) => last_renewal = as_of,
                    // The lease had run out: drop what another node took meanwhile.
                    Ok(Some(held)) => {
                        last_renewal = as_of;
                        let still: HashSet<&String> = held.iter().collect();
                        adopted.retain(|id| still.contains(id));
                        self.node.send(Message::Held { ids: held, as_of });
                    }
                    Err(e) => {
                        eprintln!("nagare: cannot renew the leases of {}: {e}", self.name);
                        if last_renewal.elapsed() > self.lease * 2 / 3 {
                            adopted.clear();
                            own = true;
                            self.node.send(Message::Held {
                                ids: Vec::new(),
                                as_of: Instant::now(),
                            });
                        }
                    }
                }
                match self.store.claim(&self.name, self.lease, CLAIM, own).await {
                    Ok(claimed) => {
                        // Fewer than asked: every candidate, the node's own included, came.
                        own &= claimed.len() == CLAIM as usize;
                        for id in claimed {
                            if adopted.insert(id.clone()) {
                                self.node.send(Message::Adopt { id });
                            }
                        }
                    }
                    Err(e) => eprintln!("nagare: cannot claim instances: {e}"),
                }
            }
            match self.store.take_requests(&self.name).await {
                Ok(requests) => {
                    for (id, control) in requests {
                        self.node.send(Message::Control { id, control });
                    }
                }
                Err(e) => eprintln!("nagare: cannot read control requests: {e}"),
            }
            let wait = next.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(wait, self.requests.notified()).await;
        }
    }
}
