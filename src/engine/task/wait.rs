//! `wait`: pauses for a duration (a timer effect); the output is the input.

use super::{At, Env};
use crate::dsl::model::task::WaitTask;
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) async fn run(
    env: &Env,
    task: &WaitTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let after = env.duration(&task.wait, &input, args)?;
    let _pausing = crate::engine::executor::Pausing::new(&env.shared);
    env.timer(after, at.pointer).await?;
    Ok(input)
}
