//! `schedule.on`: which stored CloudEvents start an instance of a workflow, and which events
//! are its input (the spec: "an array containing the events that trigger the execution").
//! Pure: events go in with their log sequence numbers, starts come out; the inbound loop does
//! the IO (`inbound.rs`).
//!
//! The strategies consume events by `listen`'s rules (`engine/task/listen.rs`), each start
//! gathering its own events:
//!
//! - `one`, and `any` without `until`: every matching event starts an instance of its own.
//! - `all`: one event per filter, in any order; the input follows the filters' order.
//! - `any` with `until`: matching events gather until the condition (evaluated on the gathered
//!   events, as the input would be) holds, or until the `until` strategy's events arrived
//!   (those are consumed too, and are not part of the input).
//!
//! Event sets are kept apart by correlation: a filter's `correlate` key takes its value from
//! each event (`from`); with `expect` the value must equal it, without it the first event of a
//! set fixes the value the set's other events must have. An event joins the oldest open set it
//! fits, else opens a new one. Filters (`with`) match literals, anchored regular expressions
//! and `${ }` expressions on the attribute, as in `listen`; expressions see no workflow input
//! (there is none before the start), so `$input` is null.
//!
//! Exactly once: a start names every event it consumed (`Start::seqs`); the store records them
//! all or none (`NewInstance::starts`), so an event starts at most one instance of a
//! workflow even when several nodes gather the same sets, and [`Trigger::forget`] dissolves
//! the sets that another node's start took events from.

use crate::dsl::model::event::{ConsumptionStrategy, EventFilter, Until};
use crate::engine::attribute_matches;
use crate::expr::{Args, Program, Val, from_json, is_expression, source, to_json, value};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// One workflow's `schedule.on` with its open event sets.
pub struct Trigger {
    on: ConsumptionStrategy,
    program: Program,
    open: Vec<Gathering>,
}

/// An instance to start: the events it consumed (log sequence numbers) and its input events.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub seqs: Vec<i64>,
    pub events: Vec<Value>,
    /// Every event consumed, to gather again if the start is refused.
    held: Vec<(i64, Val)>,
}

/// An event set being gathered, with the correlation values it fixed.
struct Gathering {
    progress: Progress,
    keys: BTreeMap<String, Val>,
}

/// How far one strategy got (`listen`'s `State`, over events with their seqs).
struct Progress {
    consumed: Vec<(i64, Val)>,
    /// `all`: the event taken for each filter so far.
    slots: Vec<Option<(i64, Val)>>,
    /// `any` with an `until` strategy: that strategy's own progress.
    until: Option<Box<Progress>>,
}

impl Trigger {
    /// Compiles the strategy's expressions; the error names the one that does not compile.
    pub fn new(on: ConsumptionStrategy) -> Result<Trigger, String> {
        let mut sources = Vec::new();
        expressions(&on, &mut sources);
        let program = Program::compile(&sources, &[]).map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("`{}`: {}", sources[e.index], e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Ok(Trigger {
            on,
            program,
            open: Vec::new(),
        })
    }

    /// Offers the next event of the log; the start it completes, if any.
    pub fn offer(&mut self, seq: i64, event: &Value) -> Option<Start> {
        self.offer_val(seq, from_json(event))
    }

    fn offer_val(&mut self, seq: i64, event: Val) -> Option<Start> {
        let on = &self.on;
        let eval = Eval(&self.program);
        for i in 0..self.open.len() {
            let g = &mut self.open[i];
            match g.progress.offer(&eval, on, seq, &event, &mut g.keys) {
                Offer::Ignored => continue,
                Offer::Taken(false) => return None,
                Offer::Taken(true) => {
                    let done = self.open.remove(i);
                    return Some(done.progress.start());
                }
            }
        }
        let mut fresh = Gathering {
            progress: Progress::new(on),
            keys: BTreeMap::new(),
        };
        match fresh
            .progress
            .offer(&eval, on, seq, &event, &mut fresh.keys)
        {
            Offer::Ignored => None,
            Offer::Taken(true) => Some(fresh.progress.start()),
            Offer::Taken(false) => {
                self.open.push(fresh);
                None
            }
        }
    }

    /// Another node's start consumed these events: the open sets holding any of them are
    /// dissolved and their other events offered again, in log order. Returns the starts that
    /// completes.
    pub fn forget(&mut self, consumed: &HashSet<i64>) -> Vec<Start> {
        let mut freed = Vec::new();
        self.open.retain(|g| {
            let held = g.progress.events();
            if held.iter().any(|(s, _)| consumed.contains(s)) {
                freed.extend(held.into_iter().filter(|(s, _)| !consumed.contains(s)));
                false
            } else {
                true
            }
        });
        freed.sort_by_key(|(s, _)| *s);
        freed
            .into_iter()
            .filter_map(|(seq, e)| self.offer_val(seq, e))
            .collect()
    }

    /// The store refused `start` because another start took the events `gone`: forgets
    /// those everywhere and gathers the start's other events again. Returns the starts that
    /// completes.
    pub fn refused(&mut self, start: Start, gone: &HashSet<i64>) -> Vec<Start> {
        let mut starts = self.forget(gone);
        for (seq, event) in start.held {
            if !gone.contains(&seq) {
                starts.extend(self.offer_val(seq, event));
            }
        }
        starts
    }

    /// Events held in open sets (for tests and metrics).
    pub fn pending(&self) -> usize {
        self.open.iter().map(|g| g.progress.events().len()).sum()
    }
}

enum Offer {
    Ignored,
    Taken(bool),
}

/// Evaluates the strategy's compiled expressions.
struct Eval<'a>(&'a Program);

impl Eval<'_> {
    fn bare(&self, text: &str, input: &Val) -> Result<Val, String> {
        self.0
            .eval(source(text), input.clone(), &Args::default())
            .map_err(|e| e.to_string())
    }
}

impl Progress {
    fn new(s: &ConsumptionStrategy) -> Progress {
        let until = match s.until.as_deref() {
            Some(Until::Events(u)) => Some(Box::new(Progress::new(u))),
            _ => None,
        };
        Progress {
            consumed: Vec::new(),
            slots: vec![None; s.all.as_ref().map_or(0, Vec::len)],
            until,
        }
    }

    fn offer(
        &mut self,
        eval: &Eval,
        s: &ConsumptionStrategy,
        seq: i64,
        event: &Val,
        keys: &mut BTreeMap<String, Val>,
    ) -> Offer {
        if let Some(filter) = &s.one {
            if matches(eval, filter, event, keys) {
                self.consumed.push((seq, event.clone()));
                return Offer::Taken(true);
            }
            return Offer::Ignored;
        }
        if let Some(filters) = &s.all {
            for (slot, filter) in self.slots.iter_mut().zip(filters) {
                if slot.is_none() && matches(eval, filter, event, keys) {
                    *slot = Some((seq, event.clone()));
                    let done = self.slots.iter().all(Option::is_some);
                    if done {
                        self.consumed = self.slots.iter().flatten().cloned().collect();
                    }
                    return Offer::Taken(done);
                }
            }
            return Offer::Ignored;
        }
        let filters = s.any.as_deref().unwrap_or_default();
        if let (Some(until), Some(Until::Events(strategy))) = (&mut self.until, s.until.as_deref())
            && let Offer::Taken(done) = until.offer(eval, strategy, seq, event, keys)
        {
            return Offer::Taken(done);
        }
        let hit = filters.is_empty() || filters.iter().any(|f| matches(eval, f, event, keys));
        if !hit {
            return Offer::Ignored;
        }
        self.consumed.push((seq, event.clone()));
        let done = match s.until.as_deref() {
            None => true,
            Some(Until::Events(_)) => false,
            Some(Until::Condition(cond)) => {
                let so_far: Val = self.consumed.iter().map(|(_, e)| e.clone()).collect();
                // A condition that fails to evaluate keeps gathering (and is reported by
                // nothing: `schedule.on` faults are invisible to instances, as the spec says).
                matches!(eval.bare(cond, &so_far), Ok(Val::Bool(true)))
            }
        };
        Offer::Taken(done)
    }

    /// Every event this progress holds (its own and its `until`'s), by seq.
    fn events(&self) -> Vec<(i64, Val)> {
        let mut all: Vec<(i64, Val)> = self.consumed.clone();
        all.extend(self.slots.iter().flatten().cloned());
        if let Some(u) = &self.until {
            all.extend(u.events());
        }
        all.sort_by_key(|(s, _)| *s);
        all.dedup_by_key(|(s, _)| *s);
        all
    }

    fn start(self) -> Start {
        let held = self.events();
        Start {
            seqs: held.iter().map(|(s, _)| *s).collect(),
            events: self.consumed.iter().map(|(_, e)| to_json(e)).collect(),
            held,
        }
    }
}

/// Does the event pass the filter, given the set's correlation values? Binds the values a
/// set does not have yet (only when the whole filter matches).
fn matches(
    eval: &Eval,
    filter: &EventFilter,
    event: &Val,
    keys: &mut BTreeMap<String, Val>,
) -> bool {
    for (name, wanted) in &filter.with {
        let actual = value::get(event, name).cloned().unwrap_or(Val::Null);
        if !attribute_matches(wanted, &actual, &|text, input| eval.bare(text, input).ok()) {
            return false;
        }
    }
    let mut bind = Vec::new();
    for (key, correlation) in &filter.correlate {
        let Ok(got) = eval.bare(&correlation.from, event) else {
            return false;
        };
        let expected = match &correlation.expect {
            Some(e) if is_expression(e) => match eval.bare(e, &Val::Null) {
                Ok(v) => Some(v),
                Err(_) => return false,
            },
            Some(literal) => Some(value::string(literal)),
            None => keys.get(key).cloned(),
        };
        match expected {
            Some(expected) if expected != got => return false,
            Some(_) => {}
            None => bind.push((key.clone(), got)),
        }
    }
    keys.extend(bind);
    true
}

/// The jq sources of a strategy: `with` expressions, correlation `from` and `expect`, and
/// `until` conditions, recursively.
fn expressions(s: &ConsumptionStrategy, out: &mut Vec<String>) {
    let filters = s
        .one
        .iter()
        .chain(s.all.iter().flatten())
        .chain(s.any.iter().flatten());
    for f in filters {
        for v in f.with.values() {
            with_expressions(v, out);
        }
        for c in f.correlate.values() {
            out.push(source(&c.from).to_string());
            if let Some(e) = c.expect.as_deref().filter(|e| is_expression(e)) {
                out.push(source(e).to_string());
            }
        }
    }
    match s.until.as_deref() {
        Some(Until::Condition(c)) => out.push(source(c).to_string()),
        Some(Until::Events(u)) => expressions(u, out),
        None => {}
    }
}

fn with_expressions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_expression(s) => out.push(source(s).to_string()),
        Value::Object(m) => m.values().for_each(|v| with_expressions(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
