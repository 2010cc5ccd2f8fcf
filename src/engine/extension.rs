//! Extensions (`use.extensions`): task lists run before and after every task they extend.
//!
//! An extension applies to a task when `extend` names its type (`composite` names `do` and
//! `fork`; `all` every task) and its `when` holds. `when` is evaluated on the task's raw input
//! with `$task` holding the task's descriptor (`name`, `reference`, ...) and its definition's
//! properties (`call`, `with`, ...), so both `$task.reference` and `$task.with.endpoint` work.
//!
//! `before` runs on the task's raw input; if it ends with `then: exit`, the extended task is
//! skipped and the output of `before` becomes the task's output (how the spec's mock-service
//! extension injects a response). `after` runs on the task's output for its side effects; the
//! task's output stays what the task produced. Tasks inside extensions are not extended, and
//! in them `$task` is the extended task (so a logging extension can say which task ran).

use super::env::{Env, Locals};
use super::flow::{self, Ending};
use super::task::{self, Outcome};
use crate::dsl::model::from_value::escape;
use crate::dsl::model::{Extension, Task, Then};
use crate::error::Error;
use crate::expr::{Val, from_json, value};

/// The local that carries the extended task's descriptor into extension lists.
pub(crate) const EXTENDED: &str = "__extended";

/// Runs `task` with the extensions that apply to it.
pub(crate) async fn around(
    env: &Env,
    name: &str,
    task: &Task,
    pointer: String,
    raw: Val,
    descriptor: Val,
    outer: &Locals,
) -> Result<Outcome, Error> {
    let applying = applying(env, name, task, &pointer, &raw, outer)?;
    // Inside `before` and `after`, `$task` is the extended task.
    let mut inner = outer.clone();
    inner.push((
        EXTENDED.into(),
        task::describe(name, task, &pointer, &raw, env.now()),
    ));
    let locals = &inner;
    for (at, ext) in &applying {
        if let Some(before) = &ext.before {
            let (output, ending) =
                flow::run(env, before, &format!("{at}/before"), raw.clone(), locals)
                    .await
                    .map_err(|e| e.at(&pointer))?;
            if ending == Ending::Exit {
                return Ok(Outcome {
                    output,
                    then: task.base.then.clone().unwrap_or(Then::Continue),
                    ended: false,
                });
            }
        }
    }
    let outcome = task::execute(env, task, pointer.clone(), raw, descriptor, outer).await?;
    for (at, ext) in &applying {
        if let Some(after) = &ext.after {
            flow::run(
                env,
                after,
                &format!("{at}/after"),
                outcome.output.clone(),
                locals,
            )
            .await
            .map_err(|e| e.at(&pointer))?;
        }
    }
    Ok(outcome)
}

/// The extensions that apply, with their pointers, in declaration order.
fn applying<'a>(
    env: &'a Env,
    name: &str,
    task: &Task,
    pointer: &str,
    raw: &Val,
    locals: &Locals,
) -> Result<Vec<(String, &'a Extension)>, Error> {
    let keyword = task.kind.keyword();
    let mut out = Vec::new();
    for (i, (ext_name, ext)) in env.def.extensions.iter().enumerate() {
        let matches = match ext.extend.as_str() {
            "all" => true,
            "composite" => matches!(keyword, "do" | "fork"),
            other => other == keyword,
        };
        if !matches {
            continue;
        }
        let at = format!("/use/extensions/{i}/{}", escape(ext_name));
        if let Some(when) = &ext.when {
            let args = env.args(
                &Val::Null,
                subject(name, task, pointer, raw, env.now()),
                locals,
            );
            if !env
                .condition(when, raw, &args)
                .map_err(|e| e.at(&format!("{at}/when")))?
            {
                continue;
            }
        }
        out.push((at, ext));
    }
    Ok(out)
}

/// `$task` for `when`: the descriptor with the definition's properties merged in.
fn subject(name: &str, task: &Task, pointer: &str, raw: &Val, now: i64) -> Val {
    let mut d = task::describe(name, task, pointer, raw, now);
    if let (Val::Obj(map), Ok(serde_json::Value::Object(def))) =
        (&mut d, serde_json::to_value(task))
    {
        let map = std::rc::Rc::make_mut(map);
        for (k, v) in def {
            map.entry(value::string(&k))
                .or_insert_with(|| from_json(&v));
        }
    }
    d
}
