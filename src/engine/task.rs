//! One task from start to end: `if`, input, the task itself (under its timeout), output,
//! export, and the lifecycle notifications. Each task kind lives in its own file below.

mod call;
mod do_;
mod emit;
mod for_;
mod fork;
pub(crate) mod listen;
mod raise;
mod run;
mod set;
mod switch;
mod try_;
mod wait;

use super::data_flow;
use super::env::{Env, Locals};
use super::executor::Boxed;
use super::notice::Lifecycle;
use crate::dsl::model::{Task, TaskKind, Then, TimeoutRef};
use crate::error::Error;
use crate::expr::{Val, from_json, value};
use std::rc::Rc;

pub(crate) struct Outcome {
    pub output: Val,
    pub then: Then,
    /// A nested task ended the workflow (`then: end`).
    pub ended: bool,
}

/// Where a task runs: its JSON pointer and the variables in scope.
pub(crate) struct At<'a> {
    pub pointer: &'a str,
    pub locals: &'a Locals,
    /// The task's `metadata` (where nagare reads per-task settings, e.g. a container's backend).
    pub metadata: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

pub(crate) fn run<'a>(
    env: &'a Env,
    name: &'a str,
    task: &'a Task,
    pointer: String,
    raw: Val,
    locals: &'a Locals,
) -> Boxed<'a, Result<Outcome, Error>> {
    Box::pin(async move {
        let base = &task.base;
        let started = env.now();
        let extended = pointer
            .starts_with("/use/extensions")
            .then(|| {
                locals
                    .iter()
                    .rev()
                    .find(|(n, _)| &**n == super::extension::EXTENDED)
            })
            .flatten();
        let descriptor = if let Some((_, d)) = extended {
            d.clone()
        } else if env.def.uses_task {
            describe(name, task, &pointer, &raw, started)
        } else {
            Val::Null
        };
        let args = env.args(&Val::Null, descriptor.clone(), locals);
        if let Some(cond) = &base.if_
            && !env
                .condition(cond, &raw, &args)
                .map_err(|e| e.at(&pointer))?
        {
            return Ok(Outcome {
                output: raw,
                then: Then::Continue,
                ended: false,
            });
        }
        env.admitted(&pointer).await?;
        if !env.def.extensions.is_empty() && !pointer.starts_with("/use/extensions") {
            return super::extension::around(env, name, task, pointer, raw, descriptor, locals)
                .await;
        }
        execute(env, task, pointer, raw, descriptor, locals).await
    })
}

/// The task itself, after `if` and extensions: lifecycle, timeout, data flow.
pub(crate) fn execute<'a>(
    env: &'a Env,
    task: &'a Task,
    pointer: String,
    raw: Val,
    descriptor: Val,
    locals: &'a Locals,
) -> Boxed<'a, Result<Outcome, Error>> {
    Box::pin(async move {
        let base = &task.base;
        let args = env.args(&Val::Null, descriptor.clone(), locals);
        let mut guard = Guard::start(env, &pointer, &raw);
        let body = body(env, task, &pointer, raw, descriptor, locals);
        let result = match &base.timeout {
            None => body.await,
            Some(t) => {
                let after = match t {
                    TimeoutRef::Inline(t) => Some(&t.after),
                    TimeoutRef::Named(n) => env
                        .def
                        .workflow
                        .use_
                        .as_ref()
                        .and_then(|u| u.timeouts.get(n))
                        .map(|t| &t.after),
                };
                match after {
                    None => Err(Error::configuration(
                        "the task's timeout names no entry of use.timeouts",
                    )),
                    Some(after) => {
                        let limit = env.duration(after, &Val::Null, &args)?;
                        let timer = env.timer(limit, &pointer);
                        let error =
                            Error::timeout(format!("the task did not end within {limit:?}"));
                        super::executor::before(body, timer, error).await
                    }
                }
            }
        };
        match result {
            Ok((output, ended, directive)) => {
                guard.completed(&output);
                let then = directive
                    .or_else(|| base.then.clone())
                    .unwrap_or(Then::Continue);
                Ok(Outcome {
                    output,
                    then,
                    ended,
                })
            }
            Err(e) => {
                let e = e.at(&pointer);
                guard.faulted(&e);
                Err(e)
            }
        }
    })
}

/// A task's transformed output, whether the workflow is ending, and its own flow directive.
type Finished = (Val, bool, Option<Then>);

/// Input, the task itself, output and export.
fn body<'a>(
    env: &'a Env,
    task: &'a Task,
    pointer: &'a str,
    raw: Val,
    descriptor: Val,
    locals: &'a Locals,
) -> Boxed<'a, Result<Finished, Error>> {
    Box::pin(async move {
        let base = &task.base;
        let args = env.args(&Val::Null, descriptor, locals);
        let input = data_flow::input(env, base.input.as_ref(), pointer, raw, &args)?;
        let mut args = args;
        args.input = input.clone();
        let at = At {
            pointer,
            locals,
            metadata: base.metadata.as_ref(),
        };
        let (out, directive) = kind(env, &task.kind, &at, input, &mut args).await?;
        let ended = env.shared.borrow().ended;
        // `$task.output` is the raw output, for `output.as` and `export.as`.
        if let Val::Obj(map) = &mut args.task {
            std::rc::Rc::make_mut(map).insert(value::string("output"), out.clone());
        }
        let output = data_flow::output(env, base.output.as_ref(), pointer, out, &args)?;
        data_flow::export(env, base.export.as_ref(), pointer, &output, &args)?;
        Ok((output, ended, directive))
    })
}

/// Runs the task itself; only `switch` decides a flow directive of its own.
async fn kind(
    env: &Env,
    kind: &TaskKind,
    at: &At<'_>,
    input: Val,
    args: &mut crate::expr::Args,
) -> Result<(Val, Option<Then>), Error> {
    let output = match kind {
        TaskKind::Switch(t) => {
            return switch::run(env, t, input, args);
        }
        TaskKind::Call(t) => call::run(env, t, at, input, args).await,
        TaskKind::Do(t) => do_::run(env, t, at, input).await,
        TaskKind::Emit(t) => emit::run(env, t, at, input, args).await,
        TaskKind::For(t) => for_::run(env, t, at, input, args).await,
        TaskKind::Fork(t) => fork::run(env, t, at, input).await,
        TaskKind::Listen(t) => listen::run(env, t, at, input, args).await,
        TaskKind::Raise(t) => raise::run(env, t, at, input, args),
        TaskKind::Run(t) => run::run(env, t, at, input, args).await,
        TaskKind::Set(t) => set::run(env, t, input, args),
        TaskKind::Try(t) => try_::run(env, t, at, input, args).await,
        TaskKind::Wait(t) => wait::run(env, t, at, input, args).await,
    };
    output.map(|v| (v, None))
}

/// `$task`: the task's name, reference, definition, raw input and start time.
pub(crate) fn describe(name: &str, task: &Task, pointer: &str, raw: &Val, started: i64) -> Val {
    let definition = serde_json::to_value(task).unwrap_or_default();
    let mut d = value::object([
        ("name", value::string(name)),
        ("reference", value::string(pointer)),
        ("definition", from_json(&definition)),
        ("input", raw.clone()),
    ]);
    if let Val::Obj(m) = &mut d {
        std::rc::Rc::make_mut(m).insert(
            value::string("startedAt"),
            from_json(&super::env::timestamp(started)),
        );
    }
    d
}

/// Notifies a task's lifecycle; a task dropped before it ends (a lost race, a timeout, a
/// cancelled instance) is notified as cancelled.
struct Guard<'a> {
    env: &'a Env,
    pointer: Rc<str>,
    open: bool,
}

impl<'a> Guard<'a> {
    fn start(env: &'a Env, pointer: &str, input: &Val) -> Self {
        let pointer: Rc<str> = pointer.into();
        env.notify(Lifecycle::TaskCreated, Some(&pointer), None, None);
        env.notify_started(&pointer, input.clone());
        Guard {
            env,
            pointer,
            open: true,
        }
    }
    fn completed(&mut self, output: &Val) {
        self.open = false;
        self.env.notify(
            Lifecycle::TaskCompleted,
            Some(&self.pointer),
            Some(output.clone()),
            None,
        );
    }
    fn faulted(&mut self, error: &Error) {
        self.open = false;
        self.env.notify(
            Lifecycle::TaskFaulted,
            Some(&self.pointer),
            None,
            Some(error.clone()),
        );
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.open {
            self.env
                .notify(Lifecycle::TaskCancelled, Some(&self.pointer), None, None);
        }
    }
}
