//! The interpreter. SANS-IO: given an instance and an input event it returns commands.
//!
//! Tasks are written as ordinary `async` code over *effects* (a call, a timer, an emitted event).
//! The engine polls that code with its own tiny executor ([`executor`]): an effect becomes a
//! [`Command::Perform`] and the code waits until the runtime answers with [`Event::Done`].
//! No tokio, no sockets, no clock: the runtime passes the time in with every event, so a run
//! can be replayed from its recorded events and gives the same commands.

pub mod command;
pub mod definition;
pub mod instance;
pub mod notice;

mod data_flow;
mod env;
mod executor;
mod extension;
mod flow;
mod retry;
mod task;

pub use command::{Command, Effect, EffectId, Event};
pub use task::listen::attribute_matches;

/// Whether a task pointer names a top-level task (`/do/3/name`): the tasks run control
/// gates and the runs grid shows.
pub fn top_level(pointer: &str) -> bool {
    pointer
        .strip_prefix("/do/")
        .is_some_and(|rest| rest.matches('/').count() == 1)
}
pub use definition::Definition;
pub use instance::{Instance, Status};
pub use notice::{Lifecycle, Notice};
