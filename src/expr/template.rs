//! Templates: JSON values whose `${ }` string leaves are evaluated (objects and arrays recursively).
//!
//! In loose mode every string leaf that compiled as jq is evaluated, and one whose evaluation
//! fails stays the literal string, as the spec's `evaluate.mode: loose` says.

use super::{Args, EvalError, Program, Val, from_json, is_expression, source};
use serde_json::Value;

/// How strings are treated: strict (only `${ }`) or loose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Strict,
    Loose,
}

/// Evaluates a template against `input`.
pub fn eval(
    program: &Program,
    template: &Value,
    input: &Val,
    args: &Args,
    mode: Mode,
) -> Result<Val, EvalError> {
    Ok(match template {
        Value::String(s) if is_expression(s) => program.eval(source(s), input.clone(), args)?,
        // A loose string whose jq fails is literal text; one that ran out of budget is not.
        Value::String(s) if mode == Mode::Loose && program.contains(s.trim()) => {
            match program.eval(s.trim(), input.clone(), args) {
                Err(EvalError::Failed(_)) => super::value::string(s),
                other => other?,
            }
        }
        Value::Object(map) => {
            let mut out = jaq_json::Map::default();
            for (k, v) in map {
                out.insert(
                    super::value::string(k),
                    eval(program, v, input, args, mode)?,
                );
            }
            Val::obj(out)
        }
        Value::Array(items) => items
            .iter()
            .map(|v| eval(program, v, input, args, mode))
            .collect::<Result<Val, EvalError>>()?,
        other => from_json(other),
    })
}

/// True when the template holds no expression (it can be converted once and reused).
pub fn is_literal(template: &Value) -> bool {
    match template {
        Value::String(s) => !is_expression(s),
        Value::Object(map) => map.values().all(is_literal),
        Value::Array(items) => items.iter().all(is_literal),
        _ => true,
    }
}

/// Evaluates a field that the spec reads as an expression even when written bare.
pub fn eval_bare(
    program: &Program,
    text: &str,
    input: &Val,
    args: &Args,
) -> Result<Val, EvalError> {
    program.eval(source(text), input.clone(), args)
}

/// Evaluates a string that may be an expression; a literal string stays itself.
pub fn eval_str(program: &Program, text: &str, input: &Val, args: &Args) -> Result<Val, EvalError> {
    if is_expression(text) {
        program.eval(source(text), input.clone(), args)
    } else {
        Ok(super::value::string(text))
    }
}
