//! Publishes the CloudEvents queued in the store's outbox (lifecycle events and emitted
//! events) where their route sends them: an HTTP sink, in the structured content mode
//! (`application/cloudevents+json`), or a Kafka topic, in the binary mode of the Kafka binding
//! (`kafka/message.rs`), keyed by the event's `partitionkey`, else an emitted event's
//! `subject`, else the instance id (so one instance's lifecycle events stay in order on one
//! partition). Events go out in order per instance. A failed delivery is retried with backoff
//! (per instance, so it holds back only the later events of that instance), and never the
//! engine (which only appends to the outbox in its group commit). Delivery is at least once:
//! an event the destination took but whose answer was lost is sent again.

use crate::events::kafka::message;
use crate::events::kafka::producer::Producer;
use crate::events::route::Destination;
use crate::store::Store;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub struct Sink {
    pub store: Arc<dyn Store>,
    /// This node: it publishes the events of the instances it holds.
    pub node: String,
    /// Where events queued without a destination go (`--sink`).
    pub default: Option<String>,
    pub http: reqwest::Client,
    /// For routes to Kafka topics.
    pub kafka: Option<Arc<Producer>>,
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
            let mut by_instance: BTreeMap<String, Vec<(i64, Option<String>, Value)>> =
                BTreeMap::new();
            for row in rows {
                if held.get(&row.instance).is_some_and(|(due, _)| *due > now) {
                    continue;
                }
                by_instance.entry(row.instance).or_default().push((
                    row.seq,
                    row.destination,
                    row.event,
                ));
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
                let out = Out {
                    http: self.http.clone(),
                    kafka: self.kafka.clone(),
                    default: self.default.clone(),
                };
                jobs.spawn(async move {
                    let mut sent = Vec::new();
                    for (seq, destination, event) in events {
                        if let Err(why) = out.publish(destination, &instance, &event).await {
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
                            "nagare: {why}; retrying the events of instance {instance} in {backoff:?}"
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

/// What one instance's publishing job needs.
struct Out {
    http: reqwest::Client,
    kafka: Option<Arc<Producer>>,
    default: Option<String>,
}

impl Out {
    /// Sends one event where it goes; the error says where and why.
    async fn publish(
        &self,
        destination: Option<String>,
        instance: &str,
        event: &Value,
    ) -> Result<(), String> {
        let destination = match destination.or_else(|| self.default.clone()) {
            // Queued before its route was removed: nowhere to go any more.
            None => return Ok(()),
            Some(text) => Destination::parse(&text)
                .map_err(|e| format!("the queued event has no valid destination: {e}"))?,
        };
        match destination {
            Destination::Http(url) => match self
                .http
                .post(&url)
                .header("content-type", "application/cloudevents+json")
                .json(event)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("the event sink {url} answered {}", r.status())),
                Err(e) => Err(format!("the event sink {url} cannot be reached: {e}")),
            },
            Destination::Kafka(topic) => {
                let Some(kafka) = &self.kafka else {
                    return Err(format!(
                        "an event is routed to kafka:{topic}, but the server has no --kafka brokers"
                    ));
                };
                let record = message::write(event, &key(event, instance));
                kafka.send(&topic, &record).await
            }
        }
    }
}

/// The record key: `partitionkey` (the binding's key mapping), else an emitted event's
/// `subject`, else the instance (a lifecycle event's subject is a task, which would scatter
/// one instance's events over partitions).
fn key(event: &Value, instance: &str) -> String {
    let text = |name| event.get(name).and_then(Value::as_str);
    let lifecycle = text("type").is_some_and(|t| t.starts_with("io.serverlessworkflow."));
    text("partitionkey")
        .or(if lifecycle { None } else { text("subject") })
        .unwrap_or(instance)
        .to_string()
}
