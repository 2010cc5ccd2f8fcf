//! Publishing records to Kafka topics: the outbox's events routed to `kafka:TOPIC`, and the
//! dead-letter copies of poison records. A send returns once the broker acknowledged the
//! record (`acks=all`), so the outbox deletes only what Kafka holds.

use super::Config;
use super::message::Record;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

pub struct Producer {
    inner: FutureProducer,
}

impl Producer {
    pub fn new(config: &Config) -> Result<Producer, String> {
        let inner = config
            .client(&[
                ("acks", "all"),
                // A record not acknowledged within this fails its send (and is sent again).
                ("message.timeout.ms", "30000"),
                ("linger.ms", "2"),
            ])
            .create()
            .map_err(|e| {
                format!(
                    "cannot create the Kafka producer for {}: {e}",
                    config.brokers
                )
            })?;
        Ok(Producer { inner })
    }

    /// Sends one record and waits for the broker's acknowledgement.
    pub async fn send(&self, topic: &str, record: &Record) -> Result<(), String> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let mut out: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(key) = &record.key {
            out = out.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            out = out.payload(value.as_slice());
        }
        self.inner
            .send(out, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(e, _)| format!("the Kafka topic {topic} did not take an event: {e}"))
    }
}
