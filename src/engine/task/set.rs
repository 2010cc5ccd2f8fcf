//! `set`: the output is the evaluated template (or expression).

use super::Env;
use crate::dsl::model::task::SetTask;
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) fn run(env: &Env, task: &SetTask, input: Val, args: &Args) -> Result<Val, Error> {
    match &task.set {
        serde_json::Value::String(e) => env.bare(e, &input, args),
        t => env.template(t, &input, args),
    }
}
