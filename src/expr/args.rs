//! The arguments of an evaluation: `$context`, `$input`, ... and named locals (`$item`, `$error`).

use super::Val;
use std::rc::Rc;

/// Arguments visible to an expression; unset ones are null.
#[derive(Clone, Default)]
pub struct Args {
    pub context: Val,
    pub input: Val,
    pub output: Val,
    pub secrets: Val,
    pub task: Val,
    pub workflow: Val,
    pub runtime: Val,
    pub authorization: Val,
    /// The instance's clock in seconds since the Unix epoch (what jq's `now` returns).
    pub now: f64,
    /// Variables bound by `for`, `catch`, `foreach` and friends, innermost last.
    pub locals: Vec<(Rc<str>, Val)>,
}

/// The built-in argument names, in the order [`Args::builtin`] returns them.
pub const BUILTINS: [&str; 8] = [
    "context",
    "input",
    "output",
    "secrets",
    "task",
    "workflow",
    "runtime",
    "authorization",
];

impl Args {
    pub fn builtin(&self, i: usize) -> &Val {
        match i {
            0 => &self.context,
            1 => &self.input,
            2 => &self.output,
            3 => &self.secrets,
            4 => &self.task,
            5 => &self.workflow,
            6 => &self.runtime,
            _ => &self.authorization,
        }
    }

    /// The innermost binding of a local variable.
    pub fn local(&self, name: &str) -> Option<&Val> {
        self.locals
            .iter()
            .rev()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }

    /// A copy with one more local variable bound.
    pub fn with(&self, name: &str, value: Val) -> Args {
        let mut args = self.clone();
        args.locals.push((name.into(), value));
        args
    }
}
