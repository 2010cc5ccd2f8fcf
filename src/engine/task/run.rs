//! `run`: a shell command, a script, a workflow (or a container) as an effect the runtime runs.
//!
//! The process is described by resolved data (`{kind, command, arguments, stdin, environment,
//! await, ...}`); the runtime answers `{code, stdout, stderr}`. With `await: false` the task
//! outputs its transformed input as soon as the process started. With `await: true` the
//! output follows `return`: `stdout` (default) and `stderr` are the text as written, `code` the
//! exit code, `all` `{code, stdout, stderr}`, `none` null.
//!
//! A non-zero exit code faults the task (a runtime error naming the code and the end of
//! stderr) when the output is `stdout`, `stderr` or `none`; with `code` and `all` the code is
//! the output, so the workflow decides. A subflow's output is the task's output and its fault
//! is the task's fault.

mod container;

use super::{At, Env};
use crate::dsl::model::run::{ReturnMode, RunTask};
use crate::engine::command::Effect;
use crate::engine::executor::perform;
use crate::error::Error;
use crate::expr::{Args, Val, from_json, to_json};
use serde_json::{Map, Value, json};

pub(super) async fn run(
    env: &Env,
    task: &RunTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let run = &task.run;
    let strings = |list: &Option<Vec<String>>| -> Result<Vec<String>, Error> {
        list.iter()
            .flatten()
            .map(|a| env.string(a, &input, args))
            .collect()
    };
    let environment = |e: &Option<Map<String, Value>>| -> Result<Value, Error> {
        let Some(e) = e else { return Ok(json!({})) };
        env.string_map(
            env.template(&Value::Object(e.clone()), &input, args)?,
            "environment",
        )
    };
    let stdin = |s: &Option<String>| s.as_ref().map(|s| env.string(s, &input, args)).transpose();
    let process = if let Some(shell) = &run.shell {
        json!({
            "kind": "shell",
            "command": env.string(&shell.command, &input, args)?,
            "arguments": strings(&shell.arguments)?,
            "stdin": stdin(&shell.stdin)?,
            "environment": environment(&shell.environment)?,
        })
    } else if let Some(script) = &run.script {
        json!({
            "kind": "script",
            "language": script.language,
            "code": script.code,
            "source": script.source.as_ref().map(|s| s.endpoint.uri().to_string()),
            "arguments": strings(&script.arguments)?,
            "stdin": stdin(&script.stdin)?,
            "environment": environment(&script.environment)?,
        })
    } else if let Some(flow) = &run.workflow {
        let sub_input = match &flow.input {
            Some(Value::String(e)) => env.bare(e, &input, args)?,
            Some(t) => env.template(t, &input, args)?,
            None => input.clone(),
        };
        json!({
            "kind": "workflow",
            "namespace": flow.namespace,
            "name": flow.name,
            "version": flow.version,
            "input": to_json(&sub_input),
        })
    } else if let Some(container) = &run.container {
        container::process(env, container, at, &input, args)?
    } else {
        return Err(Error::configuration("`run` names no process"));
    };
    let is_workflow = run.workflow.is_some();
    let mut process = process;
    process["await"] = json!(run.await_);
    let result = perform(
        &env.shared,
        Effect::Run {
            process,
            task: at.pointer.to_string(),
        },
    )
    .await?;
    if !run.await_ {
        return Ok(input);
    }
    if is_workflow {
        return Ok(from_json(&result));
    }
    let code = result.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let text = |k: &str| {
        result
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if code != 0
        && matches!(
            run.return_,
            ReturnMode::Stdout | ReturnMode::Stderr | ReturnMode::None
        )
    {
        let stderr = text("stderr");
        let tail: String = stderr
            .chars()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // A container backend says where to look (container name, job id, log stream).
        let place = result
            .get("where")
            .and_then(Value::as_str)
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(Error::runtime(format!(
            "the process exited with code {code}: {}{place}",
            tail.trim()
        )));
    }
    Ok(match run.return_ {
        ReturnMode::Stdout => from_json(&json!(text("stdout"))),
        ReturnMode::Stderr => from_json(&json!(text("stderr"))),
        ReturnMode::Code => from_json(&json!(code)),
        ReturnMode::All => {
            from_json(&json!({"code": code, "stdout": text("stdout"), "stderr": text("stderr")}))
        }
        ReturnMode::None => Val::Null,
    })
}
