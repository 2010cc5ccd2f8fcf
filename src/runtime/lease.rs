//! The lease loop of a node: renews its node lease (one row, however many instances it
//! holds), claims instances that need an owner
//! (its own after a restart, those of a node that died once their lease ran out), and delivers
//! control requests (cancel, suspend, resume) to the engine.
//!
//! Safety against running a task twice at once: a node drops every instance (aborting its
//! effects, killing its processes) as soon as it cannot prove it still holds the lease — when a
//! renewal fails and the last good one is older than two thirds of the lease. Another node can
//! only claim after the whole lease has run out on the database clock.

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
        loop {
            let due = Instant::now() >= next;
            if due {
                next = Instant::now() + self.tick();
                // Ended instances with nothing left to publish need no owner any more.
                if let Err(e) = self.store.release_ended(&self.name).await {
                    eprintln!("nagare: cannot release ended instances: {e}");
                }
                let as_of = Instant::now();
                match self.store.renew(&self.name, self.lease).await {
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
