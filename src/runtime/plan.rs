//! A workflow's run control as of now: its latest version, effective settings (document
//! metadata, then API overrides) and timetable. The runs loop, the API and the task gates
//! all read it through [`Plans`].

use super::runs::Error;
use crate::dsl::model::Schedule;
use crate::schedule::{Overrides, Settings, Timetable};
use crate::store::{Store, StoredWorkflow, WorkflowKey, WorkflowSettings};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A workflow's run control, as of now: its latest version, settings and timetable.
pub struct Plan {
    pub key: WorkflowKey,
    pub settings: Settings,
    pub timetable: Timetable,
    pub stored: WorkflowSettings,
}

/// Reads plans from the store.
#[derive(Clone)]
pub struct Plans {
    pub store: Arc<dyn Store>,
    /// The schedule and metadata of each stored document, by digest (documents are immutable,
    /// so this never goes stale; it saves a compile per workflow per tick).
    pub parts: Arc<Mutex<HashMap<String, Parts>>>,
}

pub type Parts = (Option<Schedule>, Option<Map<String, Value>>);

impl Plans {
    pub fn new(store: Arc<dyn Store>) -> Plans {
        Plans {
            store,
            parts: Arc::default(),
        }
    }

    /// The run control of `namespace/name` (its highest version).
    pub async fn plan(&self, namespace: &str, name: &str) -> Result<Plan, Error> {
        self.plan_with(namespace, name, None).await
    }

    /// The run control with other overrides than the stored ones (to check a change).
    pub async fn plan_with(
        &self,
        namespace: &str,
        name: &str,
        overrides: Option<Value>,
    ) -> Result<Plan, Error> {
        let latest = self
            .latest()
            .await?
            .into_iter()
            .find(|w| w.key.namespace == namespace && w.key.name == name)
            .ok_or_else(|| Error::NoWorkflow {
                namespace: namespace.to_string(),
                name: name.to_string(),
            })?;
        self.plan_of(latest, overrides).await
    }
}

impl Plans {
    /// The run control of a workflow whose latest version is `latest` (the stored overrides,
    /// or `overrides` instead).
    pub async fn plan_of(
        &self,
        latest: StoredWorkflow,
        overrides: Option<Value>,
    ) -> Result<Plan, Error> {
        let (namespace, name) = (&latest.key.namespace, &latest.key.name);
        let mut stored = self.store.settings(namespace, name).await?;
        if let Some(o) = overrides {
            stored.overrides = o;
        }
        let (schedule, metadata) = self.parts_of(&latest)?;
        let overrides = Overrides::from_json(&stored.overrides)?;
        let settings = Settings::new(metadata.as_ref(), &overrides)?;
        let timetable = Timetable::new(schedule.as_ref(), &settings)?;
        Ok(Plan {
            key: latest.key,
            settings,
            timetable,
            stored,
        })
    }

    /// The schedule and metadata of a stored version (cached by digest).
    pub fn parts_of(&self, w: &StoredWorkflow) -> Result<Parts, Error> {
        let cached = self
            .parts
            .lock()
            .ok()
            .and_then(|m| m.get(&w.digest).cloned());
        if let Some(parts) = cached {
            return Ok(parts);
        }
        let parts = document_parts(&w.source)?;
        if let Ok(mut m) = self.parts.lock() {
            m.insert(w.digest.clone(), parts.clone());
        }
        Ok(parts)
    }

    /// The latest version of each workflow, from one reading of the store.
    pub async fn latest(&self) -> Result<Vec<StoredWorkflow>, Error> {
        let all = self.store.workflows().await?;
        let mut latest: std::collections::BTreeMap<(String, String), StoredWorkflow> =
            Default::default();
        for w in all {
            let k = (w.key.namespace.clone(), w.key.name.clone());
            match latest.get(&k) {
                Some(have)
                    if super::registry::precedence(&have.key.version, &w.key.version)
                        != std::cmp::Ordering::Less => {}
                _ => {
                    latest.insert(k, w);
                }
            }
        }
        Ok(latest.into_values().collect())
    }
}

/// The schedule and metadata of a stored document (the compiled definition is not `Send`).
fn document_parts(source: &str) -> Result<Parts, Error> {
    let def = crate::workflow::load("stored workflow", source).map_err(|ds| {
        Error::Definition(
            ds.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let w = &def.workflow;
    Ok((w.schedule.clone(), w.document.metadata.clone()))
}
