//! Runtime expressions: jq (on jaq) compiled once per definition, templates and URI templates.
//!
//! A string is an expression when it is enclosed in `${ }`; fields that the spec evaluates as
//! expressions (`if`, `when`, `input.from`, ...) may also be written bare.

pub mod args;
pub mod budget;
pub mod collect;
pub mod program;
pub mod template;
pub mod uri_template;
pub mod value;

pub use args::Args;
pub use program::{EvalError, Program};
pub use value::{from_json, to_json};

/// The value type expressions work on: jaq's, cheap to clone (reference counted).
pub type Val = jaq_json::Val;

/// True when `text` is a `${ }` runtime expression.
pub fn is_expression(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("${") && t.ends_with('}')
}

/// The jq source of an expression: the inside of `${ }`, or the text itself when written bare.
pub fn source(text: &str) -> &str {
    let t = text.trim();
    match t.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
        Some(inner) => inner.trim(),
        None => t,
    }
}
