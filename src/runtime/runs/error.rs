//! Why run control cannot do what was asked (plan a workflow, backfill, queue an ad-hoc
//! run), by kind: the API answers each kind with its own status (`api/problem.rs`).

use crate::store;
use std::fmt;

#[derive(Debug, Clone)]
pub enum Error {
    /// No version of `namespace/name` is stored.
    NoWorkflow { namespace: String, name: String },
    /// The latest version's document does not load any more (stored before a stricter
    /// check): its run control cannot be read.
    Definition(String),
    /// A date as the caller wrote it is not a date (`field`: which one, e.g. `from`).
    BadDate { field: String, message: String },
    /// Run control refuses: invalid settings or schedule, a date off the schedule's grid, a
    /// backfill without a grid or of too many dates.
    Schedule(crate::schedule::Error),
    /// A run for that logical date exists already (and no rerun was asked for).
    RunExists { date: String },
    /// The store failed.
    Store(store::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoWorkflow { namespace, name } => write!(f, "no workflow {namespace}/{name}"),
            Error::Definition(message) => f.write_str(message),
            Error::BadDate { field, message } if field.is_empty() => f.write_str(message),
            Error::BadDate { field, message } => write!(f, "{field}: {message}"),
            Error::Schedule(e) => write!(f, "{e}"),
            Error::RunExists { date } => {
                write!(
                    f,
                    "a run for {date} exists already (rerun it to run it again)"
                )
            }
            Error::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Error {
        Error::Store(e)
    }
}

impl From<crate::schedule::Error> for Error {
    fn from(e: crate::schedule::Error) -> Error {
        Error::Schedule(e)
    }
}
