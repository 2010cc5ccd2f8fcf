//! Running a task list: tasks in order, then the flow directives (`continue`, `exit`, `end`,
//! and jumps to a task of the same list, forwards or backwards).

use super::env::{Env, Locals};
use super::task;
use crate::dsl::model::{TaskList, Then};
use crate::error::Error;
use crate::expr::Val;

/// How a list ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Ran off the end of the list (or `continue` on the last task).
    Done,
    /// A task said `then: exit`: leave this list, the enclosing task completes.
    Exit,
    /// A task said `then: end`: the workflow ends; every enclosing list stops.
    End,
}

/// Runs `list` (whose items live under `pointer`) on `input`; returns the last output.
pub(crate) async fn run(
    env: &Env,
    list: &TaskList,
    pointer: &str,
    mut input: Val,
    locals: &Locals,
) -> Result<(Val, Ending), Error> {
    let mut i = 0;
    while let Some((name, t)) = list.0.get(i) {
        let at = format!("{pointer}/{i}/{}", escape(name));
        let outcome = task::run(env, name, t, at.clone(), input, locals).await?;
        input = outcome.output;
        if outcome.ended {
            return Ok((input, Ending::End));
        }
        match outcome.then {
            Then::Continue => i += 1,
            Then::Exit => return Ok((input, Ending::Exit)),
            Then::End => {
                env.shared.borrow_mut().ended = true;
                return Ok((input, Ending::End));
            }
            Then::Goto(target) => match list.0.iter().position(|(n, _)| *n == target) {
                Some(j) => i = j,
                None => {
                    return Err(Error::configuration(format!(
                        "`then: {target}` names no task of this list"
                    ))
                    .at(&at));
                }
            },
        }
    }
    Ok((input, Ending::Done))
}

fn escape(token: &str) -> String {
    crate::dsl::model::from_value::escape(token)
}
