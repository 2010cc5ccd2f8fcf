//! Data flow around a task or the workflow: schemas, `input.from`, `output.as`, `export.as`.

use super::env::Env;
use crate::dsl::model::{Input, Output, Schema};
use crate::error::Error;
use crate::expr::{Args, Val, to_json};
use serde_json::Value;

/// Validates `value` against a schema: an inline document, or an external resource that the
/// runtime loaded before the run (one it could not load is a configuration error).
pub(crate) fn check_schema(
    env: &Env,
    schema: &Schema,
    pointer: &str,
    value: &Val,
    what: &str,
) -> Result<(), Error> {
    let loaded;
    let document = match (&schema.document, &schema.resource) {
        (Some(d), _) => d,
        (None, Some(r)) => {
            loaded = env
                .def
                .resource(r.endpoint.uri())
                .map_err(|e| Error::configuration(format!("{what} schema at {pointer}: {e}")))?;
            &loaded
        }
        (None, None) => {
            return Err(Error::configuration(format!(
                "{what} schema at {pointer} has neither document nor resource"
            )));
        }
    };
    let validator = env
        .def
        .schema(pointer, document)
        .map_err(Error::configuration)?;
    let json = to_json(value);
    if let Some(e) = validator.iter_errors(&json).next() {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/".to_string() } else { at };
        return Err(Error::validation(format!(
            "{what} does not match its schema at {at}: {e}"
        )));
    }
    Ok(())
}

/// `input.schema` on the raw input, then `input.from`.
pub(crate) fn input(
    env: &Env,
    input: Option<&Input>,
    pointer: &str,
    raw: Val,
    args: &Args,
) -> Result<Val, Error> {
    let Some(input) = input else { return Ok(raw) };
    if let Some(schema) = &input.schema {
        check_schema(
            env,
            schema,
            &format!("{pointer}/input/schema"),
            &raw,
            "the input",
        )?;
    }
    match &input.from {
        Some(Value::String(e)) => env.bare(e, &raw, args),
        Some(t) => env.template(t, &raw, args),
        None => Ok(raw),
    }
}

/// `output.as` on the raw output, then `output.schema`.
pub(crate) fn output(
    env: &Env,
    output: Option<&Output>,
    pointer: &str,
    raw: Val,
    args: &Args,
) -> Result<Val, Error> {
    let Some(output) = output else { return Ok(raw) };
    let out = match &output.as_ {
        Some(Value::String(e)) => env.bare(e, &raw, args)?,
        Some(t) => env.template(t, &raw, args)?,
        None => raw,
    };
    if let Some(schema) = &output.schema {
        check_schema(
            env,
            schema,
            &format!("{pointer}/output/schema"),
            &out,
            "the output",
        )?;
    }
    Ok(out)
}

/// `export.as` on the transformed output sets `$context`, then `export.schema` checks it.
pub(crate) fn export(
    env: &Env,
    export: Option<&Output>,
    pointer: &str,
    out: &Val,
    args: &Args,
) -> Result<(), Error> {
    let Some(export) = export else { return Ok(()) };
    let mut args = args.clone();
    args.output = out.clone();
    let context = match &export.as_ {
        Some(Value::String(e)) => env.bare(e, out, &args)?,
        Some(t) => env.template(t, out, &args)?,
        None => return Ok(()),
    };
    if let Some(schema) = &export.schema {
        check_schema(
            env,
            schema,
            &format!("{pointer}/export/schema"),
            &context,
            "the exported context",
        )?;
    }
    env.shared.borrow_mut().context = context;
    Ok(())
}
