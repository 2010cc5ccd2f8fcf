//! CloudEvents in from Kafka: a consumer group over the configured topics. Each poll takes
//! what the client has fetched (up to `BATCH` records), turns the records into events
//! (`message.rs`), stores the events in one transaction (`events/ingest.rs`, shared with HTTP),
//! and only then commits the offsets. Two batches are in flight at most: the next is read and
//! queued while one is written, and offsets are committed in batch order. So a crash anywhere
//! before the commit delivers the records again, and the store's deduplication by `source` +
//! `id` absorbs the repeats; no record is lost and none acts twice.
//!
//! A record that is not a valid CloudEvent (a poison record) never blocks its partition: it is
//! copied to the dead-letter topic, with headers saying why and where it came from
//! (`nagare_error`, `nagare_topic`, `nagare_partition`, `nagare_offset`), before its offset is
//! committed. Without a dead-letter topic it is logged and skipped. If the store or the
//! dead-letter topic is unreachable, the batch is retried with backoff (nothing is committed
//! meanwhile).
//!
//! The consumer runs on a thread of its own (librdkafka's poll is blocking and cheap) and
//! leaves the group cleanly on shutdown, so its partitions move to the other nodes at once.
//! Nodes in one group split the topics' partitions. Membership is dynamic by default: a node
//! that leaves cleanly hands its partitions over at once, a crashed one's move when the broker
//! ends its session. `--kafka-option group.instance.id=NAME` (distinct per node) makes a node a
//! static member instead: restarted, it gets its partitions back at once without a
//! rebalance, but a node shut down for good keeps them until its session times out.

use super::Config;
use super::message::{self, Record};
use super::producer::Producer;
use crate::events::ingest::{Ingest, Stored};
use crate::runtime::metrics::Metrics;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::message::Headers;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The most records stored in one transaction.
const BATCH: usize = 10_000;

/// Batches queued for the store at once: while one is written, the next is read off the
/// client and parsed.
const IN_FLIGHT: usize = 2;

pub struct Consumer {
    pub config: Config,
    pub topics: Vec<String>,
    pub group: String,
    pub dead_letter: Option<String>,
    pub ingest: Ingest,
    pub metrics: Arc<Metrics>,
    /// The largest record read as an event (`--max-event-bytes`): a larger one is a poison
    /// record. (librdkafka has already fetched it; the limit keeps it from becoming an event
    /// in every batch, store and instance after that. The broker's own `message.max.bytes`
    /// bounds what can be fetched at all.)
    pub max_record: usize,
    /// Tests: abort the process after the first batch is stored, before its commit.
    #[cfg(feature = "test-hooks")]
    pub crash_after_store: bool,
}

/// The running consumer; `stop` leaves the group and waits for the thread.
pub struct Running {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A polled record, detached from the client.
struct Polled {
    topic: String,
    partition: i32,
    offset: i64,
    record: Record,
}

impl Consumer {
    /// Subscribes, then consumes on a thread of its own until stopped.
    pub fn start(self, runtime: tokio::runtime::Handle) -> Result<Running, String> {
        let consumer: BaseConsumer = self
            .config
            .client(&[
                ("group.id", &self.group),
                ("enable.auto.commit", "false"),
                // A new group starts at the beginning: events produced before nagare first
                // ran are not skipped.
                ("auto.offset.reset", "earliest"),
                ("enable.partition.eof", "false"),
            ])
            .create()
            .map_err(|e| {
                format!(
                    "cannot create the Kafka consumer for {}: {e}",
                    self.config.brokers
                )
            })?;
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| format!("cannot subscribe to the Kafka topics {topics:?}: {e}"))?;
        let dead_letter = match &self.dead_letter {
            Some(topic) => Some((topic.clone(), Producer::new(&self.config)?)),
            None => None,
        };
        eprintln!(
            "nagare: consuming CloudEvents from the Kafka topics {} (group {})",
            self.topics.join(", "),
            self.group
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("nagare-kafka".into())
            .spawn(move || self.run(consumer, dead_letter, runtime, &stopping))
            .map_err(|e| format!("cannot start the Kafka consumer thread: {e}"))?;
        Ok(Running {
            stop,
            thread: Some(thread),
        })
    }

    fn run(
        &self,
        consumer: BaseConsumer,
        dead_letter: Option<(String, Producer)>,
        runtime: tokio::runtime::Handle,
        stop: &AtomicBool,
    ) {
        #[cfg(feature = "test-hooks")]
        let mut crash = self.crash_after_store;
        #[cfg(not(feature = "test-hooks"))]
        let mut crash = false;
        // Batches queued for the store, oldest first; their offsets are committed in this
        // order, each once its own events are durable.
        let mut flight: VecDeque<InFlight> = VecDeque::new();
        while !stop.load(Ordering::Relaxed) {
            // With a batch being written, only what is already fetched is taken, so the
            // oldest batch is settled at once when nothing else has come.
            let wait = if flight.is_empty() {
                Duration::from_millis(100)
            } else {
                Duration::ZERO
            };
            let batch = poll(&consumer, wait);
            let got = !batch.is_empty();
            if got {
                flight.push_back(self.submit(batch, dead_letter.as_ref(), &runtime, stop));
            }
            if got && flight.len() < IN_FLIGHT {
                continue;
            }
            let Some(oldest) = flight.pop_front() else {
                continue;
            };
            if !self.settle(oldest, &consumer, &runtime, stop, &mut crash) {
                return;
            }
        }
        // Leaves the group: the partitions move to the other nodes at once. Batches still in
        // flight are not committed; they come again to whoever takes the partitions.
        consumer.unsubscribe();
    }

    /// Reads the batch's records as events, dead-letters the poison ones and queues the rest
    /// for the store behind the batches before it.
    fn submit(
        &self,
        batch: Vec<Polled>,
        dead_letter: Option<&(String, Producer)>,
        runtime: &tokio::runtime::Handle,
        stop: &AtomicBool,
    ) -> InFlight {
        let mut events = Vec::with_capacity(batch.len());
        let mut dead = 0;
        for p in &batch {
            let why = match message::read_within(&p.record, self.max_record) {
                Ok(e) => {
                    events.push(e);
                    continue;
                }
                Err(why) => why.0,
            };
            dead += 1;
            let place = format!("{} partition {} offset {}", p.topic, p.partition, p.offset);
            let Some((topic, producer)) = dead_letter else {
                eprintln!("nagare: skipped Kafka record {place}, not a CloudEvent: {why}");
                continue;
            };
            let copy = dead_copy(p, &why, self.max_record);
            retry(
                stop,
                &format!("dead-letter the record {place} to {topic}"),
                || runtime.block_on(producer.send(topic, &copy)),
            );
        }
        InFlight {
            stored: Box::pin(self.ingest.put(events)),
            batch,
            dead,
        }
    }

    /// Waits until the batch is stored (storing it again, with backoff, if that failed), then
    /// commits its offsets. `false` when the consumer stopped first.
    fn settle(
        &self,
        flight: InFlight,
        consumer: &BaseConsumer,
        runtime: &tokio::runtime::Handle,
        stop: &AtomicBool,
        crash: &mut bool,
    ) -> bool {
        let mut first = Some(flight.stored);
        let stored = retry(stop, "store the events consumed from Kafka", || {
            let attempt = match first.take() {
                Some(queued) => runtime.block_on(queued),
                // The events again from the records (kept for their offsets anyway).
                None => runtime.block_on(
                    self.ingest.put(
                        flight
                            .batch
                            .iter()
                            .filter_map(|p| message::read_within(&p.record, self.max_record).ok())
                            .collect(),
                    ),
                ),
            };
            attempt.map_err(|e| e.to_string())
        });
        let Some(stored) = stored else { return false };
        let new = stored.iter().filter(|s| s.is_some()).count() as u64;
        let count = |outcome: &str, n: u64| {
            self.metrics
                .kafka_records
                .get_or_create(&vec![("outcome".into(), outcome.into())])
                .inc_by(n);
        };
        count("stored", new);
        count("duplicate", stored.len() as u64 - new);
        count("dead_letter", flight.dead);
        #[cfg(feature = "test-hooks")]
        if *crash {
            eprintln!("nagare: crashing after storing a Kafka batch, before its commit (test)");
            std::process::abort();
        }
        *crash = false;
        if let Err(e) = consumer.commit(&offsets(&flight.batch), CommitMode::Async) {
            // The records come again (after a rebalance, or a restart); deduplication
            // absorbs them.
            eprintln!(
                "nagare: cannot commit Kafka offsets (the records will be consumed again): {e}"
            );
        }
        true
    }
}

/// A batch queued for the store, not yet committed.
struct InFlight {
    batch: Vec<Polled>,
    dead: u64,
    stored: Pin<Box<dyn Future<Output = Stored> + Send>>,
}

/// Waits up to `wait` for a record, then takes what else is already fetched.
fn poll(consumer: &BaseConsumer, mut wait: Duration) -> Vec<Polled> {
    let mut batch = Vec::new();
    while batch.len() < BATCH {
        match consumer.poll(wait) {
            None => break,
            Some(Err(e)) => {
                eprintln!("nagare: Kafka consumer: {e}");
                break;
            }
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default();
                batch.push(Polled {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    offset: m.offset(),
                    record: Record {
                        key: m.key().map(<[u8]>::to_vec),
                        headers,
                        value: m.payload().map(<[u8]>::to_vec),
                    },
                });
                wait = Duration::ZERO;
            }
        }
    }
    batch
}

/// The offsets to commit: one past the last record of each partition in the batch.
fn offsets(batch: &[Polled]) -> TopicPartitionList {
    let mut last: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for p in batch {
        let o = last.entry((&p.topic, p.partition)).or_insert(p.offset);
        *o = (*o).max(p.offset);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in last {
        // The partition exists (a record came from it), so this cannot fail.
        let _ = tpl.add_partition_offset(topic, partition, Offset::Offset(offset + 1));
    }
    tpl
}

/// The dead-letter copy: the record as it came, plus why and from where. A record larger
/// than `limit` is copied without its value (`nagare_value_bytes` says how large it was): it
/// may not fit the dead-letter topic or the producer's own limit, and a copy that can never be
/// sent would block its partition for good; the original stays on its topic (the headers say
/// where) for as long as that topic keeps it.
fn dead_copy(p: &Polled, why: &str, limit: usize) -> Record {
    let mut copy = p.record.clone();
    if copy.size() > limit
        && let Some(value) = copy.value.take()
    {
        copy.headers.push((
            "nagare_value_bytes".into(),
            value.len().to_string().into_bytes(),
        ));
    }
    for (k, v) in [
        ("nagare_error", why.to_string()),
        ("nagare_topic", p.topic.clone()),
        ("nagare_partition", p.partition.to_string()),
        ("nagare_offset", p.offset.to_string()),
    ] {
        copy.headers.push((k.to_string(), v.into_bytes()));
    }
    copy
}

/// Tries until it works (backing off up to 5 s) or the consumer stops (`None`).
fn retry<T>(
    stop: &AtomicBool,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> Option<T> {
    let mut backoff = Duration::from_millis(100);
    loop {
        match attempt() {
            Ok(v) => return Some(v),
            Err(e) => {
                eprintln!("nagare: cannot {what} (retrying in {backoff:?}): {e}");
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polled(value: &[u8]) -> Polled {
        Polled {
            topic: "orders".into(),
            partition: 3,
            offset: 42,
            record: Record {
                key: Some(b"k".to_vec()),
                headers: vec![("ce_id".into(), b"1".to_vec())],
                value: Some(value.to_vec()),
            },
        }
    }

    fn header<'a>(record: &'a Record, name: &str) -> Option<&'a [u8]> {
        record
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// A poison record is copied whole; an oversized one without its value, which may not fit
    /// the dead-letter topic (a copy that cannot be sent would hold its partition forever).
    #[test]
    fn an_oversized_record_is_dead_lettered_without_its_value() {
        let small = polled(b"not an event");
        let copy = dead_copy(&small, "why", 1000);
        assert_eq!(copy.value, small.record.value);
        assert_eq!(header(&copy, "nagare_value_bytes"), None);
        assert_eq!(header(&copy, "nagare_offset"), Some(b"42".as_slice()));

        let big = polled(&[b'x'; 2000]);
        let copy = dead_copy(&big, "too large", 1000);
        assert_eq!(copy.value, None);
        assert_eq!(
            header(&copy, "nagare_value_bytes"),
            Some(b"2000".as_slice())
        );
        assert_eq!(header(&copy, "nagare_error"), Some(b"too large".as_slice()));
        assert_eq!(copy.key, big.record.key);
    }
}
