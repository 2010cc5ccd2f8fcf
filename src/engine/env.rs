//! What every task of an instance can reach: the definition, the shared state, the fixed
//! arguments, and helpers that turn expression failures into the spec's errors.

use super::command::Effect;
use super::definition::Definition;
use super::executor::{EffectFuture, SharedRef, perform};
use super::notice::{Lifecycle, Notice};
use crate::dsl::model::Duration;
use crate::error::Error;
use crate::expr::budget::Limit;
use crate::expr::{Args, EvalError, Val, template, value};
use serde_json::Value;
use std::rc::Rc;

/// Variables bound by enclosing `for`, `catch` and `foreach`, innermost last.
pub(crate) type Locals = Vec<(Rc<str>, Val)>;

pub(crate) struct Env {
    pub def: Rc<Definition>,
    pub shared: SharedRef,
    pub workflow: Val,
    pub secrets: Val,
    pub runtime: Val,
    /// The instance's qualified name in lifecycle events.
    pub name: String,
    /// The instance's id.
    pub id: String,
    /// Top-level tasks ask run control before they start.
    pub gate: bool,
}

impl Env {
    pub fn now(&self) -> i64 {
        self.shared.borrow().now
    }

    pub fn args(&self, input: &Val, task: Val, locals: &Locals) -> Args {
        Args {
            context: self.shared.borrow().context.clone(),
            input: input.clone(),
            output: Val::Null,
            secrets: self.secrets.clone(),
            task,
            workflow: self.workflow.clone(),
            runtime: self.runtime.clone(),
            authorization: Val::Null,
            now: self.now() as f64 / 1000.0,
            locals: locals.clone(),
        }
    }

    /// The spec's error for an evaluation that produced no value.
    ///
    /// An expression that exceeds its budget of steps, memory, stack or value depth is the
    /// spec's expression error, which `try` catches: these limits are deterministic, so a
    /// replay takes the same path. Time is not: an evaluation that ran out of time poisons
    /// the step (the runtime records a fault of the instance instead of replaying the step),
    /// so it ends the instance whatever the task would do with the error.
    pub fn failed(&self, e: EvalError) -> Error {
        match &e {
            EvalError::Failed(message) => Error::expression(message.clone()),
            EvalError::Exceeded { exceeded, .. } if exceeded.limit == Limit::Time => {
                let error = Error::new("runtime", 500, "Expression Out Of Time", e.to_string());
                self.shared
                    .borrow_mut()
                    .poison
                    .get_or_insert_with(|| error.clone());
                error
            }
            EvalError::Exceeded { .. } => Error::new(
                "expression",
                400,
                "Expression Budget Exceeded",
                e.to_string(),
            ),
        }
    }

    /// Evaluates a field the spec reads as an expression even when bare.
    pub fn bare(&self, text: &str, input: &Val, args: &Args) -> Result<Val, Error> {
        template::eval_bare(&self.def.program, text, input, args).map_err(|e| self.failed(e))
    }

    /// Evaluates a bare condition; it must produce a boolean (null counts as false).
    pub fn condition(&self, text: &str, input: &Val, args: &Args) -> Result<bool, Error> {
        match self.bare(text, input, args)? {
            Val::Bool(b) => Ok(b),
            Val::Null => Ok(false),
            other => Err(Error::expression(format!(
                "`{text}` must produce a boolean, not {other}"
            ))),
        }
    }

    /// Evaluates a template (strings in `${ }` are expressions).
    pub fn template(&self, t: &Value, input: &Val, args: &Args) -> Result<Val, Error> {
        template::eval(&self.def.program, t, input, args, self.def.mode).map_err(|e| self.failed(e))
    }

    /// Evaluates a string that may be an expression and must produce a string.
    pub fn string(&self, text: &str, input: &Val, args: &Args) -> Result<String, Error> {
        let v =
            template::eval_str(&self.def.program, text, input, args).map_err(|e| self.failed(e))?;
        match value::as_str(&v) {
            Some(s) => Ok(s.into_owned()),
            None => Ok(value::to_json(&v).to_string()),
        }
    }

    /// An object whose values become strings (non-strings as their JSON text; nulls dropped),
    /// as headers, query parameters and environments need; null is the empty object.
    pub fn string_map(&self, v: Val, what: &str) -> Result<Value, Error> {
        match value::to_json(&v) {
            Value::Object(m) => Ok(Value::Object(
                m.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| {
                        (
                            k,
                            Value::String(
                                v.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| v.to_string()),
                            ),
                        )
                    })
                    .collect(),
            )),
            Value::Null => Ok(Value::Object(Default::default())),
            other => Err(Error::expression(format!(
                "{what} must be an object, not {other}"
            ))),
        }
    }

    /// Resolves a duration in any of its three forms.
    pub fn duration(
        &self,
        d: &Duration,
        input: &Val,
        args: &Args,
    ) -> Result<std::time::Duration, Error> {
        match d {
            Duration::Inline(units) => Ok(units.to_std()),
            Duration::Iso(_, d) => Ok(*d),
            Duration::Expr(e) => {
                let v = self.bare(e, input, args)?;
                if let Some(text) = value::as_str(&v) {
                    return crate::dsl::model::duration::parse_iso8601(&text)
                        .map_err(Error::expression);
                }
                serde_json::from_value::<crate::dsl::model::duration::Units>(value::to_json(&v))
                    .map(|u| u.to_std())
                    .map_err(|_| {
                        Error::expression(format!("`{e}` must produce an ISO 8601 duration"))
                    })
            }
        }
    }

    /// Waits until run control lets the task at `pointer` start (answered at once when the
    /// instance is not gated or the task is not a top-level one).
    pub async fn admitted(&self, pointer: &str) -> Result<(), Error> {
        if !self.gate || !super::top_level(pointer) {
            return Ok(());
        }
        perform(
            &self.shared,
            Effect::Gate {
                task: pointer.to_string(),
            },
        )
        .await
        .map(|_| ())
    }

    /// A timer that fires `after` from now.
    pub fn timer(&self, after: std::time::Duration, task: &str) -> EffectFuture {
        let at = self
            .now()
            .saturating_add(after.as_millis().min(i64::MAX as u128) as i64);
        perform(
            &self.shared,
            Effect::Timer {
                at,
                task: task.to_string(),
            },
        )
    }

    /// Notifies a lifecycle phase of a task (or of the workflow when `task` is None).
    pub fn notify(
        &self,
        kind: Lifecycle,
        task: Option<&Rc<str>>,
        output: Option<Val>,
        error: Option<Error>,
    ) {
        let mut notice = Notice::new(kind, self.now());
        notice.task = task.cloned();
        notice.output = output;
        notice.error = error;
        self.shared.borrow_mut().notify(notice);
    }

    /// task.started, carrying the task's raw input for the task history.
    pub fn notify_started(&self, task: &Rc<str>, input: Val) {
        let mut notice = Notice::new(Lifecycle::TaskStarted, self.now());
        notice.task = Some(task.clone());
        notice.input = Some(input);
        self.shared.borrow_mut().notify(notice);
    }
}

/// `{iso8601, epoch: {seconds, milliseconds}}` for a time in milliseconds since the epoch.
pub(crate) fn timestamp(ms: i64) -> Value {
    serde_json::json!({
        "iso8601": iso8601(ms),
        "epoch": {"seconds": ms.div_euclid(1000), "milliseconds": ms},
    })
}

pub(crate) fn iso8601(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
