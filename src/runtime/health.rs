//! What a node knows of its own health, written by its parts and read by the lease loop and
//! `/healthz` + `/readyz`: whether the engine thread is stepping (and since when it has been
//! busy with one batch), and whether the store answers.
//!
//! The engine thread steps every instance of the node; one that is stuck (a native of jq that
//! runs for minutes, a bug) must not keep its leases, or no other node would take its
//! instances over. So the lease loop reads this instead of asking the engine thread: it stops
//! renewing once the engine has been busy with one batch for a third of the lease.

use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Health {
    start: Instant,
    /// Milliseconds since `start` (plus one) when the engine began its current batch; 0: idle.
    busy_since: AtomicU64,
    /// Likewise, when the store began failing; 0: it answers.
    store_failing_since: AtomicU64,
    /// The lease loop stopped renewing because the engine was stuck.
    gave_up: AtomicBool,
}

impl Default for Health {
    fn default() -> Health {
        Health {
            start: Instant::now(),
            busy_since: AtomicU64::new(0),
            store_failing_since: AtomicU64::new(0),
            gave_up: AtomicBool::new(false),
        }
    }
}

impl Health {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64 + 1
    }

    fn since(&self, at: &AtomicU64) -> Option<Duration> {
        match at.load(Ordering::Relaxed) {
            0 => None,
            t => Some(Duration::from_millis(self.now().saturating_sub(t))),
        }
    }

    /// The engine took a batch.
    pub fn busy(&self) {
        self.busy_since.store(self.now(), Ordering::Relaxed);
    }

    /// The engine finished its batch and waits for the next.
    pub fn idle(&self) {
        self.busy_since.store(0, Ordering::Relaxed);
    }

    /// How long the engine has been busy with its current batch.
    pub fn engine_busy(&self) -> Option<Duration> {
        self.since(&self.busy_since)
    }

    pub fn store_answered(&self) {
        self.store_failing_since.store(0, Ordering::Relaxed);
    }

    pub fn store_failed(&self) {
        let _ = self.store_failing_since.compare_exchange(
            0,
            self.now(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    pub fn set_gave_up(&self, gave_up: bool) {
        self.gave_up.store(gave_up, Ordering::Relaxed);
    }

    /// Ready to take work (`/readyz`), and each part's state. The engine counts as stuck when
    /// it has been busy with one batch for longer than `stuck`.
    pub fn report(&self, stuck: Duration) -> (bool, Value) {
        let engine = match self.engine_busy() {
            Some(d) if d > stuck => json!({
                "status": "stuck",
                "detail": format!("busy with one batch for {} ms", d.as_millis()),
            }),
            _ => json!({"status": "ok"}),
        };
        let store = match self.since(&self.store_failing_since) {
            Some(d) => json!({
                "status": "unreachable",
                "detail": format!("failing for {} ms", d.as_millis()),
            }),
            None => json!({"status": "ok"}),
        };
        let leases = if self.gave_up.load(Ordering::Relaxed) {
            json!({"status": "given up", "detail": "the engine was stuck: other nodes may take this node's instances"})
        } else {
            json!({"status": "ok"})
        };
        let ready = engine["status"] == "ok" && store["status"] == "ok" && leases["status"] == "ok";
        (
            ready,
            json!({"status": if ready {"ok"} else {"unwell"}, "engine": engine, "store": store, "leases": leases}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_engine_is_stuck_only_past_the_bound() {
        let h = Health::default();
        assert!(h.report(Duration::from_secs(1)).0);
        h.busy();
        assert!(h.report(Duration::from_secs(3600)).0);
        std::thread::sleep(Duration::from_millis(5));
        let (ready, body) = h.report(Duration::from_millis(1));
        assert!(!ready);
        assert_eq!(body["engine"]["status"], "stuck");
        h.idle();
        h.store_failed();
        let (ready, body) = h.report(Duration::from_millis(1));
        assert!(!ready);
        assert_eq!(body["store"]["status"], "unreachable");
        h.store_answered();
        assert!(h.report(Duration::from_millis(1)).0);
    }
}
