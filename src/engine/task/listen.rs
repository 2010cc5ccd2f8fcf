//! `listen`: not available yet: consuming events needs the event bus, which comes with the
//! events work. Until then it faults with a clear configuration error instead of pretending.

use super::{At, Env};
use crate::dsl::model::event::ListenTask;
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) async fn run(
    _env: &Env,
    _task: &ListenTask,
    at: &At<'_>,
    _input: Val,
    _args: &Args,
) -> Result<Val, Error> {
    Err(Error::configuration(format!(
        "{}: `listen` is not supported by this version of nagare yet",
        at.pointer
    )))
}
