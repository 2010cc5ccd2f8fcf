//! The lifecycle CloudEvents of an instance, rebuilt from its history for readers (the run
//! detail): the outbox forgets an event once it is published, and holds none where no route
//! takes lifecycle events, but the history is the record. On the engine thread, with the
//! node's compiled definition (external schemas included), so the replay is the run's own.

use super::rebuild::read_history;
use super::{Engine, Refused, cloud_event};
use crate::engine::{Lifecycle, Notice};
use crate::runtime::journal::Record;
use crate::runtime::replay::replay;
use serde_json::Value;

impl Engine {
    /// The instance's lifecycle events in order, the runtime's `workflow.suspended`/`resumed`
    /// (recorded beside the engine's events) in their place. Event ids are assigned when an
    /// event is published and are not kept, so the events have none.
    pub(super) async fn lifecycle(&mut self, id: &str) -> Result<Vec<Value>, Refused> {
        let row = self
            .store
            .instance(id)
            .await?
            .ok_or_else(|| Refused::NoInstance(id.into()))?;
        let def = self.definition(&row.workflow).await?;
        let history = self.store.history(id).await?;
        let (start, records) =
            read_history(history, &def, &self.config.secrets).map_err(Refused::Unreadable)?;
        let pauses: Vec<Notice> = records
            .iter()
            .filter_map(|r| match r {
                Record::Suspended { now } => Some(Notice::new(Lifecycle::WorkflowSuspended, *now)),
                Record::Resumed { now } => Some(Notice::new(Lifecycle::WorkflowResumed, *now)),
                _ => None,
            })
            .collect();
        let replayed = replay(def, start, records);
        let mut notices = replayed.notices;
        notices.extend(pauses);
        // Stable: the notices of one instant keep the engine's order.
        notices.sort_by_key(|n| n.at);
        Ok(notices
            .iter()
            .map(|n| {
                let mut event = cloud_event(id, n, replayed.instance.notice_data(n));
                if let Some(m) = event.as_object_mut() {
                    m.remove("id");
                }
                event
            })
            .collect())
    }
}
