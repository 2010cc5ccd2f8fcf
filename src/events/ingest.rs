//! The group commit of incoming CloudEvents: requests that arrive while a store transaction
//! is in flight are written together by the next one, so single-event requests from many
//! clients cost one commit per batch, not one each (as the engine's group commit does for
//! steps). Each request is answered with its own events' results once the batch is durable.

use crate::store::{Result, Store};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The answer to a request: `Some(seq)` per new event, `None` per duplicate.
pub type Stored = Result<Vec<Option<i64>>>;

type Request = (Vec<Value>, oneshot::Sender<Stored>);

#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::UnboundedSender<Request>,
}

impl Ingest {
    /// Starts the writer; `stored` is nudged after each commit.
    pub fn spawn(store: Arc<dyn Store>, stored: Arc<tokio::sync::Notify>) -> Ingest {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                let mut size = batch[0].0.len();
                while size < 10_000 {
                    match rx.try_recv() {
                        Ok(r) => {
                            size += r.0.len();
                            batch.push(r);
                        }
                        Err(_) => break,
                    }
                }
                let all: Vec<Value> = batch.iter().flat_map(|(e, _)| e.iter().cloned()).collect();
                let now = crate::runtime::effect::now_ms();
                match store.put_events(&all, now).await {
                    Ok(results) => {
                        stored.notify_one();
                        let mut results = results.into_iter();
                        for (events, reply) in batch {
                            let mine: Vec<Option<i64>> =
                                results.by_ref().take(events.len()).collect();
                            let _ = reply.send(Ok(mine));
                        }
                    }
                    // One bad batch must not fail the others: write each request alone.
                    Err(_) => {
                        for (events, reply) in batch {
                            let _ = reply.send(store.put_events(&events, now).await);
                        }
                        stored.notify_one();
                    }
                }
            }
        });
        Ingest { tx }
    }

    /// Stores the events: queued at once, behind every request queued before (so callers
    /// that put in order are stored in order, and may go on before awaiting, as the Kafka
    /// consumer does), answered when they are durable.
    pub fn put(&self, events: Vec<Value>) -> impl Future<Output = Stored> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.tx.send((events, reply)).is_ok();
        async move {
            let stopped = || crate::store::Error::bug("the event writer stopped");
            if !queued {
                return Err(stopped());
            }
            answer.await.unwrap_or_else(|_| Err(stopped()))
        }
    }
}
