//! One execution of a definition: started with an input, stepped with events, ending in
//! `Complete` or `Fault`. The workflow-level data flow (input schema and `from`, the `do`
//! list, `output.as` and schema, the workflow timeout) is the root future.

use super::command::{Command, Event};
use super::data_flow;
use super::definition::Definition;
use super::env::{Env, Locals, timestamp};
use super::executor::{Boxed, Shared, before, poll_once};
use super::flow;
use super::notice::{Lifecycle, Notice};
use crate::dsl::model::TimeoutRef;
use crate::error::Error;
use crate::expr::{Val, from_json, to_json, value};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::rc::Rc;
use std::task::Poll;

/// The spec's status phases of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Pending,
    Running,
    Waiting,
    Suspended,
    Cancelled,
    Faulted,
    Completed,
}

pub struct Instance {
    env: Rc<Env>,
    root: Option<Boxed<'static, Result<Val, Error>>>,
    status: Status,
    /// The last step was poisoned (see [`Instance::take_poison`]): whatever it did, even
    /// ending the instance, is void, and the next event is the fault that replaces it.
    voided: bool,
}

/// What the runtime supplies when starting an instance.
#[derive(Clone)]
pub struct Start {
    pub id: String,
    pub input: Value,
    /// `$secrets`: an object of the secrets the runtime exposes.
    pub secrets: Value,
    /// Milliseconds since the Unix epoch.
    pub now: i64,
    /// Ask run control before each top-level task starts ([`super::Effect::Gate`]): set for the
    /// runs of a workflow with `dependsOnPast` or a task limit.
    pub gate: bool,
    /// The start itself must not stand (see [`Event::Fault`]): the instance begins faulted
    /// with this error, without running anything.
    pub fault: Option<Error>,
}

impl Instance {
    /// Starts an instance; the returned commands are its first effects and notifications.
    pub fn start(def: Rc<Definition>, start: Start) -> (Instance, Vec<Command>) {
        let seed = start.id.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        let shared = Shared::new(start.now, seed);
        let workflow = if def.uses_workflow {
            value::object([
                ("id", value::string(&start.id)),
                ("definition", from_json(&def.document)),
                ("input", from_json(&start.input)),
                ("startedAt", from_json(&timestamp(start.now))),
            ])
        } else {
            value::object([("id", value::string(&start.id))])
        };
        let d = &def.workflow.document;
        let env = Rc::new(Env {
            name: format!("{}-{}.{}", d.name, start.id, d.namespace),
            id: start.id.clone(),
            gate: start.gate,
            def: def.clone(),
            shared,
            workflow,
            secrets: from_json(&start.secrets),
            runtime: from_json(
                &json!({"name": "nagare", "version": env!("CARGO_PKG_VERSION"), "metadata": {}}),
            ),
        });
        env.notify(Lifecycle::WorkflowStarted, None, None, None);
        if let Some(error) = start.fault {
            let mut instance = Instance {
                env,
                root: None,
                status: Status::Running,
                voided: false,
            };
            let commands = instance.fault(error);
            return (instance, commands);
        }
        let root_env = env.clone();
        let input = from_json(&start.input);
        let root: Boxed<'static, Result<Val, Error>> =
            Box::pin(async move { workflow_root(&root_env, input).await });
        let mut instance = Instance {
            env,
            root: Some(root),
            status: Status::Running,
            voided: false,
        };
        let commands = instance.poll();
        (instance, commands)
    }

    pub fn status(&self) -> Status {
        if self.status == Status::Running && self.env.shared.borrow().waiting > 0 {
            return Status::Waiting;
        }
        self.status
    }

    /// The spec's CloudEvent data of one of this instance's notices.
    pub fn notice_data(&self, notice: &Notice) -> Value {
        let d = &self.env.def.workflow.document;
        let definition = json!({"namespace": d.namespace, "name": d.name, "version": d.version});
        notice.data(&self.env.name, &definition)
    }

    /// Applies one event at time `now` and returns the resulting commands.
    pub fn step(&mut self, event: Event, now: i64) -> Vec<Command> {
        self.env.shared.borrow_mut().now = now;
        match event {
            Event::Done { id, result } => {
                if !self.env.shared.borrow_mut().resolve(id, result) {
                    return Vec::new();
                }
                self.poll()
            }
            Event::Receive { event } => {
                let text = |k: &str| event.get(k).and_then(Value::as_str).map(String::from);
                let mut shared = self.env.shared.borrow_mut();
                if let (Some(source), Some(id)) = (text("source"), text("id"))
                    && !shared.received.insert((source, id))
                {
                    return Vec::new();
                }
                shared.inbox.push(from_json(&event));
                drop(shared);
                self.poll()
            }
            Event::Cancel => {
                if self.root.take().is_some() {
                    self.status = Status::Cancelled;
                    self.env
                        .notify(Lifecycle::WorkflowCancelled, None, None, None);
                }
                std::mem::take(&mut self.env.shared.borrow_mut().outbox)
            }
            Event::Fault { error } => {
                if self.root.is_none() && !std::mem::take(&mut self.voided) {
                    return Vec::new();
                }
                self.fault(error)
            }
        }
    }

    /// Ends the instance faulted with `error`; its unfinished tasks are cancelled.
    fn fault(&mut self, error: Error) -> Vec<Command> {
        // Dropping the root drops every unfinished task (each notifies its cancellation and
        // cancels its effects) before the workflow's own end.
        self.root = None;
        self.status = Status::Faulted;
        self.voided = false;
        self.env.shared.borrow_mut().poison = None;
        self.env
            .notify(Lifecycle::WorkflowFaulted, None, None, Some(error.clone()));
        let mut shared = self.env.shared.borrow_mut();
        shared.outbox.push(Command::Fault { error });
        std::mem::take(&mut shared.outbox)
    }

    /// The error that makes the last step (or the start) void, when one of its evaluations ran
    /// out of time. The runtime must then drop this instance's state and commands from that
    /// step, and record [`Event::Fault`] with this error in the step's place (or start the
    /// instance again with [`Start::fault`]), because replaying the step could go otherwise.
    pub fn take_poison(&mut self) -> Option<Error> {
        let poison = self.env.shared.borrow_mut().poison.take();
        self.voided = poison.is_some();
        poison
    }

    fn poll(&mut self) -> Vec<Command> {
        if let Some(root) = &mut self.root
            && let Poll::Ready(result) = poll_once(root)
        {
            self.root = None;
            let end = match result {
                Ok(output) => {
                    self.status = Status::Completed;
                    self.env.notify(
                        Lifecycle::WorkflowCompleted,
                        None,
                        Some(output.clone()),
                        None,
                    );
                    Command::Complete {
                        output: to_json(&output),
                    }
                }
                Err(error) => {
                    self.status = Status::Faulted;
                    self.env
                        .notify(Lifecycle::WorkflowFaulted, None, None, Some(error.clone()));
                    Command::Fault { error }
                }
            };
            self.env.shared.borrow_mut().outbox.push(end);
        }
        std::mem::take(&mut self.env.shared.borrow_mut().outbox)
    }
}

async fn workflow_root(env: &Env, raw: Val) -> Result<Val, Error> {
    let def = &env.def;
    let body: Boxed<'_, Result<Val, Error>> = Box::pin(async move {
        let locals = Locals::new();
        let args = env.args(&Val::Null, Val::Null, &locals);
        let input = data_flow::input(env, def.workflow.input.as_ref(), "", raw, &args)
            .map_err(|e| e.at("/input"))?;
        let (output, _) = flow::run(env, &def.workflow.do_, "/do", input, &locals).await?;
        let args = env.args(&Val::Null, Val::Null, &locals);
        data_flow::output(env, def.workflow.output.as_ref(), "", output, &args)
            .map_err(|e| e.at("/output"))
    });
    let after = match &def.workflow.timeout {
        None => return body.await,
        Some(TimeoutRef::Inline(t)) => Some(&t.after),
        Some(TimeoutRef::Named(n)) => def
            .workflow
            .use_
            .as_ref()
            .and_then(|u| u.timeouts.get(n))
            .map(|t| &t.after),
    };
    let Some(after) = after else {
        return Err(
            Error::configuration("the workflow's timeout names no entry of use.timeouts")
                .at("/timeout"),
        );
    };
    let limit = env.duration(
        after,
        &Val::Null,
        &env.args(&Val::Null, Val::Null, &Locals::new()),
    )?;
    let timer = env.timer(limit, "");
    before(
        body,
        timer,
        Error::timeout(format!("the workflow did not end within {limit:?}")).at(""),
    )
    .await
}
