//! CloudEvents out of (and, later, into) nagare. [`sink`] publishes the lifecycle CloudEvents
//! that the nodes queue in the store's outbox.

pub mod binding;
pub mod ingest;
pub mod sink;
