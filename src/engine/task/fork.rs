//! `fork`: runs its branches concurrently on the same input. Without `compete` the output is
//! the array of branch outputs in declaration order and the first fault cancels the others;
//! with `compete` the first branch to complete wins and the others are cancelled (when every
//! branch faults, the fork faults with the first fault).

use super::{At, Env};
use crate::dsl::model::task::ForkTask;
use crate::engine::executor::{Boxed, first_ok, join_all};
use crate::error::Error;
use crate::expr::Val;

pub(super) async fn run(env: &Env, task: &ForkTask, at: &At<'_>, input: Val) -> Result<Val, Error> {
    let branches: Vec<Boxed<'_, Result<Val, Error>>> = task
        .fork
        .branches
        .0
        .iter()
        .enumerate()
        .map(|(i, (name, t))| {
            let pointer = format!(
                "{}/fork/branches/{i}/{}",
                at.pointer,
                crate::dsl::model::from_value::escape(name)
            );
            let run = super::run(env, name, t, pointer, input.clone(), at.locals);
            Box::pin(async move { run.await.map(|o| o.output) }) as Boxed<'_, _>
        })
        .collect();
    if task.fork.compete {
        first_ok(branches).await.map(|(_, v)| v)
    } else {
        join_all(branches)
            .await
            .map(|outputs| outputs.into_iter().collect())
    }
}
