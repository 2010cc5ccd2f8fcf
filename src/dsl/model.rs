//! The DSL 1.0 document model: plain serde data mirroring the spec's schema.
//!
//! Objects the schema closes reject unknown fields. Runtime expressions are kept as source text
//! (`String`); templates that may hold `${ }` leaves are kept as `serde_json::Value`. The compiled
//! form lives in [`crate::expr::Program`], keyed by source text, so the model stays plain data.

// Model enums hold their variants inline: a definition is built once, and boxing the large
// variants would only add indirection to every read.
#![allow(clippy::large_enum_variant)]

pub mod auth;
pub mod call;
pub mod duration;
pub mod error;
pub mod event;
pub mod from_value;
pub mod run;
pub mod task;

pub use auth::{AuthenticationPolicy, Endpoint, ReferenceableAuthentication};
pub use duration::Duration;
pub use error::{ErrorDefinition, ErrorFilter, RetryPolicy};
pub use task::{Task, TaskKind, TaskList, Then};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A workflow definition (the root of a document).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub document: Document,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<Use>,
    #[serde(rename = "do")]
    pub do_: TaskList,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TimeoutRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate: Option<Evaluate>,
    /// The schema leaves the root open: other properties are kept, not dropped.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document {
    pub dsl: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Use {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authentications: BTreeMap<String, AuthenticationPolicy>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, ErrorDefinition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<BTreeMap<String, Extension>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Task>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retries: BTreeMap<String, RetryPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub timeouts: BTreeMap<String, Timeout>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub catalogs: BTreeMap<String, Catalog>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Extension {
    pub extend: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<TaskList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<TaskList>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<event::ConsumptionStrategy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evaluate {
    #[serde(default = "jq")]
    pub language: String,
    #[serde(default)]
    pub mode: EvaluationMode,
}

fn jq() -> String {
    "jq".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvaluationMode {
    #[default]
    Strict,
    Loose,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// An expression (string) or an object template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Schema>,
    /// An expression (string) or an object template.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub as_: Option<Value>,
}

/// `export` has the same shape as `output`: `as` sets `$context`.
pub type Export = Output;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schema {
    #[serde(default = "json")]
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ExternalResource>,
}

fn json() -> String {
    "json".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub endpoint: Endpoint,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeout {
    pub after: Duration,
}

/// A timeout given inline or by the name of an entry of `use.timeouts`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeoutRef {
    Inline(Timeout),
    Named(String),
}
