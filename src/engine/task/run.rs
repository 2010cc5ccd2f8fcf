//! `run`: not available yet: processes, containers and subflows come with the run work.
//! Until then it faults with a clear configuration error instead of pretending.

use super::{At, Env};
use crate::dsl::model::run::RunTask;
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) async fn run(
    _env: &Env,
    _task: &RunTask,
    at: &At<'_>,
    _input: Val,
    _args: &Args,
) -> Result<Val, Error> {
    Err(Error::configuration(format!(
        "{}: `run` is not supported by this version of nagare yet",
        at.pointer
    )))
}
