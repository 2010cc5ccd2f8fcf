//! CloudEvents in and out of nagare. In: the HTTP binding ([`binding`], served by
//! `api/events.rs`) and Kafka ([`kafka`]), both stored through [`ingest`]'s group commit. Out:
//! [`sink`] publishes what the nodes queue in the store's outbox where [`route`] sends it.

pub mod binding;
pub mod ingest;
pub mod kafka;
pub mod route;
pub mod sink;
