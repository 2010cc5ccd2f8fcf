//! `switch`: the first case (in order) whose `when` holds decides the flow directive; a case
//! without `when` is the default, taken only when no other case matches, wherever it is
//! declared. The output is the input. When nothing matches and there is no default, the switch
//! task's own `then` applies.

use super::Env;
use crate::dsl::model::Then;
use crate::dsl::model::task::SwitchTask;
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) fn run(
    env: &Env,
    task: &SwitchTask,
    input: Val,
    args: &Args,
) -> Result<(Val, Option<Then>), Error> {
    let mut default = None;
    for case in &task.switch {
        match &case.when {
            None => default = default.or(Some(&case.then)),
            Some(when) => {
                if env.condition(when, &input, args)? {
                    return Ok((input, Some(case.then.clone())));
                }
            }
        }
    }
    Ok((input, default.cloned()))
}
