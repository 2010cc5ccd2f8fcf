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

/// The error that faults an instance whose step panicked (a bug): the step is recorded as this
/// fault, so that no node replays the instance into the same crash.
pub(crate) fn crash_error(panic: &(dyn std::any::Any + Send)) -> crate::error::Error {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    crate::error::Error::runtime(format!(
        "the instance's step crashed ({message}); it was faulted so that it cannot crash the node again"
    ))
}
