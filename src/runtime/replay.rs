//! Rebuilds an instance from its history. The engine is deterministic, so feeding it the
//! recorded events again gives the same commands; of those, only the effects still open at the
//! end of the history are performed again, and the notices are not announced a second time.

use super::journal::Record;
use crate::engine::instance::Start;
use crate::engine::{Command, Definition, Event, Instance, Notice};
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

pub struct Replayed {
    pub instance: Instance,
    /// The effects still open (in the order they were asked for), then whatever else the
    /// history ends with (a completion, a fault).
    pub commands: Vec<Command>,
    /// Every notice of the history, in order (to rebuild the task history).
    pub notices: Vec<Notice>,
    /// Whether the history ends suspended.
    pub suspended: bool,
}

/// Starts the instance and replays `records` (those after the start).
pub fn replay(def: Rc<Definition>, start: Start, records: Vec<Record>) -> Replayed {
    let (mut instance, mut commands) = Instance::start(def, start);
    let mut answered = HashSet::new();
    let mut suspended = false;
    for record in records {
        match record {
            Record::Event { event, now } => {
                if let Event::Done { id, .. } = &event {
                    answered.insert(*id);
                }
                commands.extend(instance.step(event, now));
            }
            Record::Suspended { .. } => suspended = true,
            Record::Resumed { .. } => suspended = false,
            Record::Started { .. } => {}
        }
    }
    let mut open: BTreeMap<u64, Command> = BTreeMap::new();
    let mut rest = Vec::new();
    let mut notices = Vec::new();
    for c in commands {
        match c {
            Command::Perform { id, .. } if !answered.contains(&id) => {
                open.insert(id, c);
            }
            Command::Perform { .. } => {}
            Command::Cancel { id } => {
                open.remove(&id);
            }
            Command::Notify(n) => notices.push(n),
            other => rest.push(other),
        }
    }
    Replayed {
        instance,
        commands: open.into_values().chain(rest).collect(),
        notices,
        suspended,
    }
}
