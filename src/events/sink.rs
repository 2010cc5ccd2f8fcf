//! Publishes the lifecycle CloudEvents queued in the store's outbox to an HTTP sink, in the
//! structured content mode (`application/cloudevents+json`), in order per instance. A failed
//! delivery is retried with backoff (per instance, so it holds back only the later events of
//! that instance), and never the engine (which only appends to the outbox in its group commit).
//! Delivery is at least once: an event the sink took but whose answer was lost is sent again.

use crate::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub struct Sink {
    pub store: Arc<dyn Store>,
    /// This node: it publishes the events of the instances it holds.
    pub node: String,
    pub url: String,
    pub http: reqwest::Client,
    /// Nudged by the engine after a commit that queued events.
    pub wake: Arc<Notify>,
}

/// The first delay after a refused delivery; it doubles with each failure, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Sink {
    pub async fn run(self) {
        // Per instance whose delivery failed: when to try again, and the delay just used. Only
        // that instance waits; the others keep flowing.
        let mut held: HashMap<String, (Instant, Duration)> = HashMap::new();
        loop {
            let rows = match self.store.outbox(&self.node, 500).await {
                Ok(rows) => rows,
                Err(e) => {
                    eprintln!("nagare: cannot read the outbox: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if rows.is_empty() {
                let _ = self.store.release_ended(&self.node).await;
            }
            // Forget the instances with nothing queued any more (sent, or no longer ours).
            held.retain(|id, _| rows.iter().any(|r| &r.instance == id));
            // Instances are independent: publish each one's events in order, all at once.
            let now = Instant::now();
            let mut by_instance: BTreeMap<String, Vec<(i64, serde_json::Value)>> = BTreeMap::new();
            for row in rows {
                if held.get(&row.instance).is_some_and(|(due, _)| *due > now) {
                    continue;
                }
                by_instance
                    .entry(row.instance)
                    .or_default()
                    .push((row.seq, row.event));
            }
            if by_instance.is_empty() {
                // Sleep until new events are queued, a held instance is due, or a second passed.
                let until = held
                    .values()
                    .map(|(due, _)| *due)
                    .min()
                    .unwrap_or(now + Duration::from_secs(1))
                    .min(now + Duration::from_secs(1));
                let _ = tokio::time::timeout_at(until.into(), self.wake.notified()).await;
                continue;
            }
            let mut jobs = tokio::task::JoinSet::new();
            for (instance, events) in by_instance {
                let (http, url) = (self.http.clone(), self.url.clone());
                jobs.spawn(async move {
                    let mut sent = Vec::new();
                    for (seq, event) in events {
                        let refused = match http
                            .post(&url)
                            .header("content-type", "application/cloudevents+json")
                            .json(&event)
                            .send()
                            .await
                        {
                            Ok(r) if r.status().is_success() => None,
                            Ok(r) => Some(format!("answered {}", r.status())),
                            Err(e) => Some(format!("cannot be reached: {e}")),
                        };
                        if let Some(why) = refused {
                            return (instance, sent, Some(why));
                        }
                        sent.push(seq);
                    }
                    (instance, sent, None)
                });
            }
            let mut sent = Vec::new();
            while let Some(joined) = jobs.join_next().await {
                let Ok((instance, seqs, refused)) = joined else {
                    continue;
                };
                sent.extend(seqs);
                match refused {
                    None => {
                        held.remove(&instance);
                    }
                    Some(why) => {
                        let backoff = held
                            .get(&instance)
                            .map_or(FIRST_BACKOFF, |(_, b)| (*b * 2).min(MAX_BACKOFF));
                        eprintln!(
                            "nagare: the event sink {} {why}; retrying the events of instance {instance} in {backoff:?}",
                            self.url
                        );
                        held.insert(instance, (Instant::now() + backoff, backoff));
                    }
                }
            }
            if let Err(e) = self.store.sent(&sent).await {
                eprintln!("nagare: cannot mark lifecycle events as sent: {e}");
            }
        }
    }
}
