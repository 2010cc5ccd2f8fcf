//! Why a setting, a schedule or a requested date cannot be used; never a panic.

use jiff::Timestamp;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A field of the document (`/document/metadata/nagare/...`, `/schedule/...`) or of an
    /// overrides patch (`/maxActiveRuns`) is wrong. The pointer names the field.
    Invalid { pointer: String, message: String },
    /// An ad-hoc logical date that is not on the schedule's grid; the neighbours are what the
    /// UI can offer instead.
    OffGrid {
        date: Timestamp,
        previous: Option<Timestamp>,
        next: Option<Timestamp>,
    },
    /// Catchup and backfill need a grid of logical dates; `after`, `on` and unscheduled
    /// workflows have none. `kind` is [`super::Kind::name`].
    NoGrid { kind: &'static str },
    /// A backfill range that is empty the wrong way round or too large to plan at once.
    Range(String),
}

impl Error {
    pub(crate) fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The root of a patch body has the empty pointer: nothing to add.
            Error::Invalid { pointer, message } if pointer.is_empty() => f.write_str(message),
            Error::Invalid { pointer, message } => write!(f, "{message} (at {pointer})"),
            Error::OffGrid {
                date,
                previous,
                next,
            } => {
                write!(f, "{date} is not a logical date of this schedule")?;
                match (previous, next) {
                    (Some(p), Some(n)) => write!(f, "; the nearest are {p} and {n}"),
                    (Some(p), None) => write!(f, "; the nearest is {p}"),
                    (None, Some(n)) => write!(f, "; the nearest is {n}"),
                    (None, None) => Ok(()),
                }
            }
            Error::NoGrid { kind } => {
                match *kind {
                    "manual" => f.write_str("a workflow without a schedule")?,
                    kind => write!(f, "a workflow scheduled by `schedule.{kind}`")?,
                }
                f.write_str(
                    " has no grid of logical dates: catchup and backfill need \
                     `schedule.cron` or `schedule.every`",
                )
            }
            Error::Range(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}
