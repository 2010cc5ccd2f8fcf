//! Tasks: the common base, the twelve task kinds, task lists and flow directives.
//!
//! A task object is dispatched on its type key (`call`, `do`, `emit`, ...): the base properties
//! are split off and the rest is read as that kind, closed to unknown properties.

use super::call::Call;
use super::event::{EmitTask, ListenTask};
use super::from_value::{from_value, nest};
use super::run::RunTask;
use super::{
    Duration, ErrorDefinition, ErrorFilter, Export, Input, Output, RetryPolicy, TimeoutRef,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An ordered list of named tasks (`- name: task`).
#[derive(Debug, Clone, Default)]
pub struct TaskList(pub Vec<(String, Task)>);

#[derive(Debug, Clone)]
pub struct Task {
    pub base: TaskBase,
    pub kind: TaskKind,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskBase {
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub if_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TimeoutRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Then>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

const BASE_KEYS: [&str; 7] = [
    "if", "input", "output", "export", "timeout", "then", "metadata",
];

#[derive(Debug, Clone)]
pub enum TaskKind {
    Call(Call),
    Do(DoTask),
    Emit(EmitTask),
    For(ForTask),
    Fork(ForkTask),
    Listen(ListenTask),
    Raise(RaiseTask),
    Run(RunTask),
    Set(SetTask),
    Switch(SwitchTask),
    Try(TryTask),
    Wait(WaitTask),
}

impl TaskKind {
    /// The spec keyword of this kind (as used by `extend` and lifecycle events).
    pub fn keyword(&self) -> &'static str {
        match self {
            TaskKind::Call(_) => "call",
            TaskKind::Do(_) => "do",
            TaskKind::Emit(_) => "emit",
            TaskKind::For(_) => "for",
            TaskKind::Fork(_) => "fork",
            TaskKind::Listen(_) => "listen",
            TaskKind::Raise(_) => "raise",
            TaskKind::Run(_) => "run",
            TaskKind::Set(_) => "set",
            TaskKind::Switch(_) => "switch",
            TaskKind::Try(_) => "try",
            TaskKind::Wait(_) => "wait",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoTask {
    #[serde(rename = "do")]
    pub do_: TaskList,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForTask {
    #[serde(rename = "for")]
    pub for_: ForLoop,
    #[serde(default, rename = "while", skip_serializing_if = "Option::is_none")]
    pub while_: Option<String>,
    #[serde(rename = "do")]
    pub do_: TaskList,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForLoop {
    #[serde(default = "item")]
    pub each: String,
    #[serde(rename = "in")]
    pub in_: String,
    #[serde(default = "index")]
    pub at: String,
}

pub(crate) fn item() -> String {
    "item".into()
}
pub(crate) fn index() -> String {
    "index".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkTask {
    pub fork: Fork,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fork {
    pub branches: TaskList,
    #[serde(default)]
    pub compete: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaiseTask {
    pub raise: Raise,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raise {
    pub error: ErrorRef,
}

/// An error given inline or by the name of an entry of `use.errors`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorRef {
    Inline(ErrorDefinition),
    Named(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetTask {
    /// An object template, or an expression producing the whole output.
    pub set: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchTask {
    pub switch: Vec<SwitchCase>,
}

/// One named case of a switch: `- name: {when, then}`.
#[derive(Debug, Clone)]
pub struct SwitchCase {
    pub name: String,
    pub when: Option<String>,
    pub then: Then,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    when: Option<String>,
    then: Then,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TryTask {
    #[serde(rename = "try")]
    pub try_: TaskList,
    pub catch: Catch,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<CatchErrors>,
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub as_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except_when: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryRef>,
    #[serde(default, rename = "do", skip_serializing_if = "Option::is_none")]
    pub do_: Option<TaskList>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatchErrors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<ErrorFilter>,
}

/// A retry policy given inline or by the name of an entry of `use.retries`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RetryRef {
    Inline(RetryPolicy),
    Named(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitTask {
    pub wait: Duration,
}

/// What happens after a task: the next one, the end of the list, the end of the workflow, or a jump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Continue,
    Exit,
    End,
    Goto(String),
}

impl<'de> Deserialize<'de> for Then {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match String::deserialize(d)?.as_str() {
            "continue" => Then::Continue,
            "exit" => Then::Exit,
            "end" => Then::End,
            name => Then::Goto(name.to_string()),
        })
    }
}

impl Serialize for Then {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Then::Continue => "continue",
            Then::Exit => "exit",
            Then::End => "end",
            Then::Goto(name) => name,
        })
    }
}

impl<'de> Deserialize<'de> for TaskList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<Map<String, Value>>::deserialize(d)?;
        let mut list = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let mut entries = item.into_iter();
            let (Some((name, task)), None) = (entries.next(), entries.next()) else {
                return Err(nest(
                    &format!("/{i}"),
                    (
                        String::new(),
                        "a task list item must hold exactly one named task".into(),
                    ),
                ));
            };
            let prefix = format!("/{i}/{}", super::from_value::escape(&name));
            let task: Task = from_value(&task).map_err(|e| nest::<D::Error>(&prefix, e))?;
            list.push((name, task));
        }
        Ok(TaskList(list))
    }
}

impl Serialize for TaskList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (name, task) in &self.0 {
            let mut one = Map::new();
            one.insert(
                name.clone(),
                serde_json::to_value(task).map_err(serde::ser::Error::custom)?,
            );
            seq.serialize_element(&one)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Task {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let object = Map::<String, Value>::deserialize(d)?;
        let (base, rest): (Map<_, _>, Map<_, _>) = object
            .into_iter()
            .partition(|(k, _)| BASE_KEYS.contains(&k.as_str()));
        let base: TaskBase =
            from_value(&Value::Object(base)).map_err(|e| nest::<D::Error>("", e))?;
        let rest = Value::Object(rest);
        let has = |k: &str| rest.get(k).is_some();
        fn read<T: serde::de::DeserializeOwned, E: Error>(v: &Value) -> Result<T, E> {
            from_value(v).map_err(|e| nest::<E>("", e))
        }
        let kind = if has("call") {
            TaskKind::Call(read(&rest)?)
        } else if has("emit") {
            TaskKind::Emit(read(&rest)?)
        } else if has("for") {
            TaskKind::For(read(&rest)?)
        } else if has("fork") {
            TaskKind::Fork(read(&rest)?)
        } else if has("listen") {
            TaskKind::Listen(read(&rest)?)
        } else if has("raise") {
            TaskKind::Raise(read(&rest)?)
        } else if has("run") {
            TaskKind::Run(read(&rest)?)
        } else if has("set") {
            TaskKind::Set(read(&rest)?)
        } else if has("switch") {
            TaskKind::Switch(read(&rest)?)
        } else if has("try") {
            TaskKind::Try(read(&rest)?)
        } else if has("wait") {
            TaskKind::Wait(read(&rest)?)
        } else if has("do") {
            TaskKind::Do(read(&rest)?)
        } else {
            return Err(D::Error::custom(
                "not a task: expected one of call, do, emit, for, fork, listen, raise, run, set, switch, try, wait",
            ));
        };
        Ok(Task { base, kind })
    }
}

impl Serialize for Task {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let kind = match &self.kind {
            TaskKind::Call(t) => serde_json::to_value(t),
            TaskKind::Do(t) => serde_json::to_value(t),
            TaskKind::Emit(t) => serde_json::to_value(t),
            TaskKind::For(t) => serde_json::to_value(t),
            TaskKind::Fork(t) => serde_json::to_value(t),
            TaskKind::Listen(t) => serde_json::to_value(t),
            TaskKind::Raise(t) => serde_json::to_value(t),
            TaskKind::Run(t) => serde_json::to_value(t),
            TaskKind::Set(t) => serde_json::to_value(t),
            TaskKind::Switch(t) => serde_json::to_value(t),
            TaskKind::Try(t) => serde_json::to_value(t),
            TaskKind::Wait(t) => serde_json::to_value(t),
        }
        .map_err(S::Error::custom)?;
        let mut out = match serde_json::to_value(&self.base).map_err(S::Error::custom)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if let Value::Object(m) = kind {
            out.extend(m);
        }
        out.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SwitchCase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let item = Map::<String, Value>::deserialize(d)?;
        let mut entries = item.into_iter();
        let (Some((name, body)), None) = (entries.next(), entries.next()) else {
            return Err(D::Error::custom(
                "a switch item must hold exactly one named case",
            ));
        };
        let prefix = format!("/{}", super::from_value::escape(&name));
        let body: CaseBody = from_value(&body).map_err(|e| nest::<D::Error>(&prefix, e))?;
        Ok(SwitchCase {
            name,
            when: body.when,
            then: body.then,
        })
    }
}

impl Serialize for SwitchCase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut one = Map::new();
        let body = CaseBody {
            when: self.when.clone(),
            then: self.then.clone(),
        };
        one.insert(
            self.name.clone(),
            serde_json::to_value(body).map_err(serde::ser::Error::custom)?,
        );
        one.serialize(s)
    }
}
