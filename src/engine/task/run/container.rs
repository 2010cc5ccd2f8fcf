//! `run: container`: the container a task asks for, resolved into data a backend can run.
//!
//! Every string property is evaluated here when it is a runtime expression (`image`, `name`,
//! `command`, `arguments`, `stdin`, the values of `environment`, and both sides of the
//! `HOST: CONTAINER` entries of `ports` and `volumes`), so backends see plain values. The container's name defaults to the spec's recommended convention,
//! `{workflow.name}-{uuid}.{workflow.namespace}-{task.name}`, where the uuid comes from the
//! instance's seeded random source: unique per execution (a `for` body or a retry gets a new
//! one), and the same when a replay performs the effect again, so a backend can replace what a
//! crashed node left behind. The task's `metadata.nagare.container` (backend, resources, array
//! size, queue, ...) goes along as a template, so it may hold expressions too.

use super::super::{At, Env};
use crate::dsl::model::run::{Cleanup, Container, PullPolicy};
use crate::error::Error;
use crate::expr::{Args, Val, to_json};
use serde_json::{Map, Value, json};

pub(super) fn process(
    env: &Env,
    container: &Container,
    at: &At<'_>,
    input: &Val,
    args: &Args,
) -> Result<Value, Error> {
    let string = |s: &str| env.string(s, input, args);
    let map = |m: &Option<Map<String, Value>>, what: &str| -> Result<Value, Error> {
        match m {
            None => Ok(json!({})),
            Some(m) => env.string_map(env.template(&Value::Object(m.clone()), input, args)?, what),
        }
    };
    // `HOST: CONTAINER` entries; a key may be an expression too (`'${ .dataDir }': /data`).
    let mapping = |m: &Option<Map<String, Value>>, what: &str| -> Result<Value, Error> {
        let Value::Object(values) = map(m, what)? else {
            return Ok(json!({}));
        };
        let mut out = Map::new();
        for (k, v) in values {
            let k = if k.contains("${") { string(&k)? } else { k };
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    };
    let document = &env.def.workflow.document;
    let task = at
        .pointer
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let uuid = {
        let mut s = env.shared.borrow_mut();
        let bytes = (u128::from(s.rng.u64(..)) << 64 | u128::from(s.rng.u64(..))).to_be_bytes();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    };
    let name = match &container.name {
        Some(n) => string(n)?,
        None => format!("{}-{uuid}.{}-{task}", document.name, document.namespace),
    };
    let arguments = container
        .arguments
        .iter()
        .flatten()
        .map(|a| string(a))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = at
        .metadata
        .and_then(|m| m.get("nagare"))
        .and_then(|n| n.get("container"))
        .map(|c| env.template(c, input, args).map(|v| to_json(&v)))
        .transpose()?
        .unwrap_or_else(|| json!({}));
    if !settings.is_object() {
        return Err(Error::configuration(format!(
            "`metadata.nagare.container` of task `{task}` must be an object"
        )));
    }
    let lifetime = match &container.lifetime {
        None => json!({"cleanup": "never"}),
        Some(l) => {
            let after = match (&l.cleanup, &l.after) {
                (Cleanup::Eventually, Some(d)) => Some(env.duration(d, input, args)?.as_millis()),
                (Cleanup::Eventually, None) => {
                    return Err(Error::configuration(
                        "`lifetime.cleanup: eventually` needs `lifetime.after`",
                    ));
                }
                _ => None,
            };
            json!({"cleanup": l.cleanup, "afterMs": after})
        }
    };
    Ok(json!({
        "kind": "container",
        "image": string(&container.image)?,
        "name": name,
        "command": container.command.as_deref().map(string).transpose()?,
        "arguments": arguments,
        "stdin": container.stdin.as_deref().map(string).transpose()?,
        "environment": map(&container.environment, "environment")?,
        "ports": mapping(&container.ports, "ports")?,
        "volumes": mapping(&container.volumes, "volumes")?,
        "pullPolicy": container.pull_policy.unwrap_or(PullPolicy::IfNotPresent),
        "lifetime": lifetime,
        "workflow": {"namespace": document.namespace, "name": document.name, "version": document.version},
        "instance": env.id,
        "task": task,
        "settings": settings,
    }))
}
