//! `switch`: the first case whose `when` holds (or that has none) decides the flow directive.
//! The output is the input. When no case matches, the switch task's own `then` applies.

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
    for case in &task.switch {
        let matched = match &case.when {
            None => true,
            Some(when) => env.condition(when, &input, args)?,
        };
        if matched {
            return Ok((input, Some(case.then.clone())));
        }
    }
    Ok((input, None))
}
