//! Events: `emit`, `listen`, event filters, consumption strategies, and subscription iterators.

use super::TaskList;
use super::{Export, Output};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitTask {
    pub emit: Emit,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emit {
    pub event: EmitEvent,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmitEvent {
    /// The event's attributes and `data`, as templates (extension attributes are open).
    #[serde(default)]
    pub with: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenTask {
    pub listen: Listen,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<SubscriptionIterator>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    pub to: ConsumptionStrategy,
    #[serde(default)]
    pub read: ReadMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReadMode {
    #[default]
    Data,
    Envelope,
    Raw,
}

/// `all`, `any` (with an optional `until`) or `one`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumptionStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<EventFilter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<EventFilter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one: Option<EventFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Box<Until>>,
}

/// The end of an `any` consumption: a condition, or another strategy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Until {
    Condition(String),
    Events(ConsumptionStrategy),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// Attribute values to match: literals, regular expressions or runtime expressions.
    pub with: Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub correlate: BTreeMap<String, Correlation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Correlation {
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionIterator {
    #[serde(default = "super::task::item")]
    pub item: String,
    #[serde(default = "super::task::index")]
    pub at: String,
    #[serde(default, rename = "do", skip_serializing_if = "Option::is_none")]
    pub do_: Option<TaskList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}
