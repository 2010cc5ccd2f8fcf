//! Why the engine thread did not do what a caller asked (create, retry, rebuild the
//! lifecycle), by kind: the API answers each with its own status (`api/problem.rs`), and a
//! store failure keeps its own kind.

use crate::store;
use std::fmt;

#[derive(Debug, Clone)]
pub enum Refused {
    /// The store failed; nothing was done.
    Store(store::Error),
    /// No instance has this id.
    NoInstance(String),
    /// The instance is not in a state that allows it (a retry of a running or completed
    /// instance, of a task that never began, or of one another node took meanwhile).
    State(String),
    /// The stored workflow or history cannot be read back (the document no longer loads, a
    /// record does not decode).
    Unreadable(String),
    /// A creation that was not written: its events had already started an instance.
    Lost(String),
    /// The engine thread stopped before it answered.
    Stopped,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Store(e) => write!(f, "{e}"),
            Refused::NoInstance(id) => write!(f, "no instance `{id}`"),
            Refused::State(message) | Refused::Unreadable(message) => f.write_str(message),
            Refused::Lost(id) => write!(
                f,
                "instance {id} was not written: its events had already started an instance"
            ),
            Refused::Stopped => f.write_str("the engine stopped before it answered"),
        }
    }
}

impl std::error::Error for Refused {}

impl From<store::Error> for Refused {
    fn from(e: store::Error) -> Refused {
        Refused::Store(e)
    }
}
