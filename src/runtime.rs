//! Drives instances: executes the engine's commands (calls, timers, emitted events) and feeds
//! the results back. `local` runs one instance in-process to its end (`nagare run`).

pub mod clock;
pub mod effect;
pub mod gates;
pub mod health;
pub mod history;
pub mod inbound;
pub mod journal;
pub mod lease;
pub mod local;
pub mod logs;
pub mod metrics;
pub mod node;
pub mod plan;
pub mod registry;
pub mod replay;
pub mod resource;
pub mod runs;
pub mod subscriptions;
pub mod trigger;
