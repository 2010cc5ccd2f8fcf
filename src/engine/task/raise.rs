//! `raise`: faults with an inline error or one of `use.errors`; fields may be expressions and
//! the instance defaults to the task's JSON pointer.

use super::{At, Env};
use crate::dsl::model::task::{ErrorRef, RaiseTask};
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) fn run(
    env: &Env,
    task: &RaiseTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let definition = match &task.raise.error {
        ErrorRef::Inline(d) => d,
        ErrorRef::Named(name) => env
            .def
            .workflow
            .use_
            .as_ref()
            .and_then(|u| u.errors.get(name))
            .ok_or_else(|| {
                Error::configuration(format!("no error named `{name}` in use.errors"))
            })?,
    };
    let text = |t: &Option<String>| t.as_ref().map(|t| env.string(t, &input, args)).transpose();
    Err(Error {
        kind: env.string(&definition.kind, &input, args)?,
        status: definition.status,
        title: text(&definition.title)?,
        detail: text(&definition.detail)?,
        instance: Some(text(&definition.instance)?.unwrap_or_else(|| at.pointer.to_string())),
    })
}
