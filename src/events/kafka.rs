//! Kafka: CloudEvents in from topics through a consumer group (`kafka/consumer.rs`) and out to
//! topics (`kafka/producer.rs`), over the CloudEvents Kafka protocol binding
//! (`kafka/message.rs`). The client is librdkafka (through rdkafka); the settings both sides
//! share are librdkafka's own names, so whatever a real cluster needs (TLS, SASL, timeouts)
//! passes through `--kafka-option NAME=VALUE` unchanged.

pub mod consumer;
pub mod message;
pub mod producer;

use rdkafka::ClientConfig;

/// How to reach the brokers.
#[derive(Debug, Clone)]
pub struct Config {
    /// `host:port[,host:port…]` (librdkafka's `bootstrap.servers`).
    pub brokers: String,
    /// More librdkafka settings, applied after nagare's own so that they win.
    pub options: Vec<(String, String)>,
}

impl Config {
    /// A client configuration with `defaults` (nagare's choices for one side), then the
    /// user's options.
    pub fn client(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in defaults {
            c.set(*k, *v);
        }
        for (k, v) in &self.options {
            c.set(k, v);
        }
        c
    }

    /// `NAME=VALUE`, as `--kafka-option` writes it.
    pub fn parse_option(text: &str) -> Result<(String, String), String> {
        match text.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(format!(
                "`{text}`: a Kafka option is NAME=VALUE (a librdkafka setting, e.g. session.timeout.ms=10000)"
            )),
        }
    }
}
