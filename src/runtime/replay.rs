//! Rebuilds an instance from its history. The engine is deterministic, so feeding it the
//! recorded events again gives the same commands; of those, only the effects still open at the
//! end of the history are performed again, and the notices are not announced a second time.

use super::journal::Record;
use crate::engine::instance::Start;
use crate::engine::{Command, Definition, Event, Instance, Notice};
use crate::error::Error;
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
    /// A fresh start ran out of time: the instance began faulted with this error instead, and
    /// the caller records [`Event::Fault`] with it right after the start.
    pub poisoned: Option<Error>,
}

/// Starts the instance and replays `records` (those after the start).
///
/// Evaluations are not bound by time here (see `expr::budget::untimed`); a step that ran out
/// of time was recorded as a fault in its place. When the first record after the start is
/// such a fault, the start itself ran out of time: the instance begins faulted, without
/// running its start again.
pub fn replay(def: Rc<Definition>, mut start: Start, records: Vec<Record>) -> Replayed {
    if records.is_empty() && start.fault.is_none() {
        // A fresh start is a live step: timed. One that runs out of time is started again,
        // faulted, and reported so that the fault is recorded.
        let (mut instance, commands) =
            crate::expr::budget::step(|| Instance::start(def.clone(), start.clone()));
        let Some(error) = instance.take_poison() else {
            return collect(instance, commands, HashSet::new(), false, None);
        };
        drop(instance);
        start.fault = Some(error.clone());
        let (instance, commands) = Instance::start(def, start);
        return collect(instance, commands, HashSet::new(), false, Some(error));
    }
    crate::expr::budget::untimed(|| {
        if let Some(Record::Event {
            event: Event::Fault { error },
            ..
        }) = records.first()
        {
            start.fault = Some(error.clone());
        }
        replay_untimed(def, start, records)
    })
}

fn replay_untimed(def: Rc<Definition>, start: Start, records: Vec<Record>) -> Replayed {
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
    collect(instance, commands, answered, suspended, None)
}

fn collect(
    instance: Instance,
    commands: Vec<Command>,
    answered: HashSet<u64>,
    suspended: bool,
    poisoned: Option<Error>,
) -> Replayed {
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
        poisoned,
    }
}
