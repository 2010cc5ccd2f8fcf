//! `set`: the output is the evaluated template. A string is an expression when it is one
//! (`${ }`, or any string that compiled in loose mode) and otherwise the literal string.

use super::Env;
use crate::dsl::model::task::SetTask;
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) fn run(env: &Env, task: &SetTask, input: Val, args: &Args) -> Result<Val, Error> {
    env.template(&task.set, &input, args)
}
