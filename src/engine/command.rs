//! What the engine asks of the runtime (commands) and what the runtime tells it (events).

use super::notice::Notice;
use crate::error::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Identifies one effect of one instance; allocated in order, so replay reproduces them.
pub type EffectId = u64;

/// A side effect the engine needs performed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "camelCase")]
pub enum Effect {
    /// Call a function: `http`, `openapi`, `grpc`, ...; the arguments are fully resolved.
    Call {
        function: String,
        arguments: Value,
        task: String,
    },
    /// Fire when the clock reaches `at` (milliseconds since the Unix epoch).
    Timer { at: i64, task: String },
    /// Run a process (`shell`, `script`, `workflow`, `container`) described by resolved data;
    /// answer `{code, stdout, stderr}` for processes and the output for workflows.
    Run { process: Value, task: String },
    /// Subscribe the instance to CloudEvents for a `listen` task: the runtime delivers events
    /// with [`Event::Receive`] until it sees [`Command::Cancel`] for this id (never `Done`).
    Listen {
        to: Value,
        task: String,
        /// For a `one` strategy whose filter correlates with `expect`: each key's `from`
        /// expression and the value it must give, resolved when the listen began — what lets
        /// the runtime index the instance by correlation value.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        keys: Vec<(String, Value)>,
    },
    /// Publish a CloudEvent; answer once it is accepted.
    Emit { event: Value, task: String },
    /// Run control: answer when the top-level task `task` may start (`dependsOnPast`, task
    /// limits). Only gated instances ask ([`super::instance::Start::gate`]).
    Gate { task: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Perform an effect and answer with [`Event::Done`] carrying the same id.
    Perform { id: EffectId, effect: Effect },
    /// The effect is no longer wanted (its task was cancelled, lost a race or timed out).
    Cancel { id: EffectId },
    /// A lifecycle notification (the runtime turns it into the spec's CloudEvent).
    Notify(Notice),
    /// The instance completed with this output.
    Complete { output: Value },
    /// The instance faulted.
    Fault { error: Error },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Event {
    /// An effect finished.
    Done {
        id: EffectId,
        result: Result<Value, Error>,
    },
    /// A CloudEvent delivered to the instance (kept until a `listen` consumes it).
    Receive { event: Value },
    /// Cancel the instance.
    Cancel,
    /// Fault the instance with this error, whatever it is doing: recorded by the runtime in
    /// place of a step that must not stand (an evaluation ran out of time, or the step
    /// crashed), so that a replay never takes that step again.
    Fault { error: Error },
}
