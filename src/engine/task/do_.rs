//! `do`: runs its task list; `then: exit` inside ends the list, not the workflow.

use super::{At, Env};
use crate::dsl::model::task::DoTask;
use crate::engine::flow;
use crate::error::Error;
use crate::expr::Val;

pub(super) async fn run(env: &Env, task: &DoTask, at: &At<'_>, input: Val) -> Result<Val, Error> {
    let (output, _) = flow::run(
        env,
        &task.do_,
        &format!("{}/do", at.pointer),
        input,
        at.locals,
    )
    .await?;
    Ok(output)
}
