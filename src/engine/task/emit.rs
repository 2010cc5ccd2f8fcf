//! `emit`: builds a CloudEvent from the template (adding `id`, `specversion`, `time` when
//! absent), hands it to the runtime, and outputs the event.

use super::{At, Env};
use crate::dsl::model::event::EmitTask;
use crate::engine::command::Effect;
use crate::engine::executor::perform;
use crate::error::Error;
use crate::expr::{Args, Val, to_json};
use serde_json::Value;

pub(super) async fn run(
    env: &Env,
    task: &EmitTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let with = Value::Object(task.emit.event.with.clone());
    let mut event = match to_json(&env.template(&with, &input, args)?) {
        Value::Object(m) => m,
        _ => return Err(Error::validation("an event must be an object")),
    };
    for required in ["source", "type"] {
        if !event.get(required).is_some_and(|v| v.is_string()) {
            return Err(Error::validation(format!(
                "the event has no `{required}` string"
            )));
        }
    }
    let id = {
        let mut s = env.shared.borrow_mut();
        format!("{:016x}{:016x}", s.rng.u64(..), s.rng.u64(..))
    };
    event.entry("id").or_insert(Value::String(id));
    event
        .entry("specversion")
        .or_insert(Value::String("1.0".into()));
    event
        .entry("time")
        .or_insert(Value::String(super::super::env::iso8601(env.now())));
    if event.contains_key("data") {
        event
            .entry("datacontenttype")
            .or_insert(Value::String("application/json".into()));
    }
    let event = Value::Object(event);
    perform(
        &env.shared,
        Effect::Emit {
            event: event.clone(),
            task: at.pointer.to_string(),
        },
    )
    .await?;
    Ok(crate::expr::from_json(&event))
}
