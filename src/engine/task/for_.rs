//! `for`: runs its list once per item of `in` (an array; an object iterates its values), with
//! the item and its index bound (`$item`/`$index` or the names of `each`/`at`). Each iteration
//! takes the previous one's output; `while` is checked before each iteration; `then: exit`
//! inside the body ends the loop.

use super::{At, Env};
use crate::dsl::model::task::ForTask;
use crate::engine::flow::{self, Ending};
use crate::error::Error;
use crate::expr::{Args, Val};

pub(super) async fn run(
    env: &Env,
    task: &ForTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let items: Vec<Val> = match env.bare(&task.for_.in_, &input, args)? {
        Val::Arr(items) => items.iter().cloned().collect(),
        Val::Obj(map) => map.values().cloned().collect(),
        Val::Null => Vec::new(),
        other => {
            return Err(Error::expression(format!(
                "`for.in` must produce an array, not {other}"
            )));
        }
    };
    let each: std::rc::Rc<str> = task.for_.each.trim_start_matches('$').into();
    let index: std::rc::Rc<str> = task.for_.at.trim_start_matches('$').into();
    let body = format!("{}/do", at.pointer);
    let mut output = input;
    for (i, item) in items.into_iter().enumerate() {
        let mut locals = at.locals.clone();
        locals.push((each.clone(), item));
        locals.push((index.clone(), Val::from(i as isize)));
        if let Some(cond) = &task.while_ {
            let mut args = args.clone();
            args.locals = locals.clone();
            if !env.condition(cond, &output, &args)? {
                break;
            }
        }
        let (out, ending) = flow::run(env, &task.do_, &body, output, &locals).await?;
        output = out;
        if ending != Ending::Done {
            break;
        }
    }
    Ok(output)
}
