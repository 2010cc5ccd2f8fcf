//! Drives instances: executes the engine's commands (calls, timers, emitted events) and feeds
//! the results back. `local` runs one instance in-process to its end (`nagare run`).

pub mod effect;
pub mod journal;
pub mod local;
pub mod registry;
pub mod resource;
