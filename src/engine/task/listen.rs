//! `listen`: waits for CloudEvents delivered to the instance and outputs the consumed ones.
//!
//! The task subscribes through an effect (the runtime delivers events until the effect is
//! cancelled); received events wait in the instance's inbox until a listen consumes them, so an
//! event that arrives before its listener starts is not lost. Each event is consumed once.
//!
//! - `one`: the first event matching the filter.
//! - `all`: one distinct event per filter, in any order; the output follows the filters' order.
//! - `any`: events matching any filter (an empty list matches every event). Without `until`
//!   the first one ends the task; `until` is a condition evaluated on the events consumed so
//!   far (as `read` presents them), or another strategy whose events end the consumption
//!   (and are not part of the output).
//!
//! A filter's `with` compares attributes: a literal equals (objects compare as subsets), a
//! string that does not equal is tried as an anchored regular expression, and a `${ }`
//! expression is evaluated on the attribute's value and must give true (or equal the value).
//! `correlate` keys evaluate `from` on the event; with `expect` (a literal or an expression on
//! the task's input) the value must equal it, without it the first event's value becomes the
//! expectation for the rest of the instance.
//!
//! The output is the array of consumed events, each as `read` says: `data` (default), the
//! whole `envelope`, or `raw` (the data as text). With `foreach`, its `do` runs per event with
//! `$item`/`$index` (or the names given) bound, and the output is the array of their outputs.

use super::{At, Env};
use crate::dsl::model::event::{ConsumptionStrategy, EventFilter, ListenTask, ReadMode, Until};
use crate::engine::command::Effect;
use crate::engine::executor::perform;
use crate::engine::flow;
use crate::error::Error;
use crate::expr::{Args, Val, from_json, is_expression, source, to_json, value};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::task::Poll;

pub(super) async fn run(
    env: &Env,
    task: &ListenTask,
    at: &At<'_>,
    input: Val,
    args: &Args,
) -> Result<Val, Error> {
    let to = serde_json::to_value(&task.listen.to).unwrap_or_default();
    let keys = correlation_keys(env, &task.listen.to, &input, args)?;
    let subscription = perform(
        &env.shared,
        Effect::Listen {
            to,
            task: at.pointer.to_string(),
            keys,
        },
    );
    let pausing = crate::engine::executor::Pausing::new(&env.shared);
    let mut state = State::new(&task.listen.to);
    let read = task.listen.read;
    let result =
        std::future::poll_fn(
            |_| match state.advance(env, &task.listen.to, read, &input, args) {
                Ok(true) => Poll::Ready(Ok(())),
                Ok(false) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        )
        .await;
    drop(pausing);
    drop(subscription);
    result?;
    let items: Vec<Val> = state.consumed.iter().map(|e| present(e, read)).collect();
    let Some(foreach) = &task.foreach else {
        return Ok(items.into_iter().collect());
    };
    let Some(body) = &foreach.do_ else {
        return Ok(items.into_iter().collect());
    };
    let item: std::rc::Rc<str> = foreach.item.trim_start_matches('$').into();
    let index: std::rc::Rc<str> = foreach.at.trim_start_matches('$').into();
    let mut outputs = Vec::new();
    for (i, event) in items.into_iter().enumerate() {
        let mut locals = at.locals.clone();
        locals.push((item.clone(), event.clone()));
        locals.push((index.clone(), Val::from(i as isize)));
        let (out, _) = flow::run(
            env,
            body,
            &format!("{}/foreach/do", at.pointer),
            event,
            &locals,
        )
        .await?;
        let mut iteration_args = args.clone();
        iteration_args.locals = locals;
        let out = crate::engine::data_flow::output(
            env,
            foreach.output.as_ref(),
            &format!("{}/foreach", at.pointer),
            out,
            &iteration_args,
        )?;
        crate::engine::data_flow::export(
            env,
            foreach.export.as_ref(),
            &format!("{}/foreach", at.pointer),
            &out,
            &iteration_args,
        )?;
        outputs.push(out);
    }
    Ok(outputs.into_iter().collect())
}

/// The expected correlation values of a `one` filter (see [`Effect::Listen`]'s `keys`).
fn correlation_keys(
    env: &Env,
    strategy: &ConsumptionStrategy,
    input: &Val,
    args: &Args,
) -> Result<Vec<(String, Value)>, Error> {
    let Some(filter) = &strategy.one else {
        return Ok(Vec::new());
    };
    let mut keys = Vec::new();
    for correlation in filter.correlate.values() {
        let expected = match &correlation.expect {
            Some(e) if is_expression(e) => env.bare(source(e), input, args)?,
            Some(literal) => value::string(literal),
            None => continue,
        };
        keys.push((correlation.from.clone(), to_json(&expected)));
    }
    Ok(keys)
}

/// Progress of a consumption strategy.
struct State {
    consumed: Vec<Val>,
    /// `all`: the event matched to each filter so far.
    slots: Vec<Option<Val>>,
    /// `any` with an `until` strategy: that strategy's own progress.
    until: Option<Box<State>>,
}

impl State {
    fn new(strategy: &ConsumptionStrategy) -> State {
        let until = match strategy.until.as_deref() {
            Some(Until::Events(s)) => Some(Box::new(State::new(s))),
            _ => None,
        };
        State {
            consumed: Vec::new(),
            slots: vec![None; strategy.all.as_ref().map_or(0, Vec::len)],
            until,
        }
    }

    /// Consumes what it can from the inbox; true when the strategy is satisfied.
    fn advance(
        &mut self,
        env: &Env,
        s: &ConsumptionStrategy,
        read: ReadMode,
        input: &Val,
        args: &Args,
    ) -> Result<bool, Error> {
        let mut i = 0;
        loop {
            let Some(event) = env.shared.borrow().inbox.get(i).cloned() else {
                return Ok(false);
            };
            match self.offer(env, s, read, &event, input, args)? {
                Offer::Ignored => i += 1,
                Offer::Taken(done) => {
                    env.shared.borrow_mut().inbox.remove(i);
                    if done {
                        return Ok(true);
                    }
                }
            }
        }
    }

    fn offer(
        &mut self,
        env: &Env,
        s: &ConsumptionStrategy,
        read: ReadMode,
        event: &Val,
        input: &Val,
        args: &Args,
    ) -> Result<Offer, Error> {
        if let Some(filter) = &s.one {
            if matches(env, filter, event, input, args)? {
                self.consumed.push(event.clone());
                return Ok(Offer::Taken(true));
            }
            return Ok(Offer::Ignored);
        }
        if let Some(filters) = &s.all {
            for (slot, filter) in self.slots.iter_mut().zip(filters) {
                if slot.is_none() && matches(env, filter, event, input, args)? {
                    *slot = Some(event.clone());
                    let done = self.slots.iter().all(Option::is_some);
                    if done {
                        self.consumed = self.slots.iter().flatten().cloned().collect();
                    }
                    return Ok(Offer::Taken(done));
                }
            }
            return Ok(Offer::Ignored);
        }
        let filters = s.any.as_deref().unwrap_or_default();
        if let (Some(until), Some(Until::Events(strategy))) = (&mut self.until, s.until.as_deref())
            && let Offer::Taken(done) = until.offer(env, strategy, read, event, input, args)?
        {
            return Ok(Offer::Taken(done));
        }
        let mut hit = filters.is_empty();
        for filter in filters {
            if matches(env, filter, event, input, args)? {
                hit = true;
                break;
            }
        }
        if !hit {
            return Ok(Offer::Ignored);
        }
        self.consumed.push(event.clone());
        let done = match s.until.as_deref() {
            None => true,
            Some(Until::Events(_)) => false,
            Some(Until::Condition(cond)) => {
                let so_far: Val = self.consumed.iter().map(|e| present(e, read)).collect();
                env.condition(cond, &so_far, args)?
            }
        };
        Ok(Offer::Taken(done))
    }
}

enum Offer {
    Ignored,
    Taken(bool),
}

/// Does `event` pass the filter's attributes and correlation keys?
fn matches(
    env: &Env,
    filter: &EventFilter,
    event: &Val,
    input: &Val,
    args: &Args,
) -> Result<bool, Error> {
    for (name, wanted) in &filter.with {
        let actual = value::get(event, name).cloned().unwrap_or(Val::Null);
        if !attribute_matches(wanted, &actual, &|text, input| {
            env.bare(text, input, args).ok()
        }) {
            return Ok(false);
        }
    }
    for (key, correlation) in &filter.correlate {
        let got = env.bare(&correlation.from, event, args)?;
        let expected = match &correlation.expect {
            Some(e) if is_expression(e) => Some(env.bare(source(e), input, args)?),
            Some(literal) => Some(value::string(literal)),
            None => env.shared.borrow().correlations.get(key).cloned(),
        };
        match expected {
            Some(expected) if expected != got => return Ok(false),
            Some(_) => {}
            None => {
                env.shared
                    .borrow_mut()
                    .correlations
                    .insert(key.clone(), got);
            }
        }
    }
    Ok(true)
}

/// Does an event attribute match what a filter's `with` wants? A literal equals (objects
/// compare as subsets); a string that does not equal is tried as an anchored regular
/// expression; an expression is given to `eval` with the attribute as input and must give
/// true (or the attribute itself). `eval` answering `None` (an attribute of another shape than
/// the expression expects, or no evaluator) does not match. Shared with the runtime's
/// `schedule.on`, which has no instance to evaluate in.
pub fn attribute_matches(
    wanted: &Value,
    actual: &Val,
    eval: &dyn Fn(&str, &Val) -> Option<Val>,
) -> bool {
    match wanted {
        Value::String(s) if is_expression(s) => match eval(source(s), actual) {
            Some(Val::Bool(b)) => b,
            Some(v) => &v == actual,
            None => false,
        },
        Value::String(s) => {
            let text = value::as_str(actual);
            if text.as_deref() == Some(s.as_str()) {
                return true;
            }
            match text {
                Some(t) => pattern(s).is_some_and(|re| re.is_match(&t)),
                None => false,
            }
        }
        Value::Object(fields) => fields.iter().all(|(k, w)| {
            let a = value::get(actual, k).cloned().unwrap_or(Val::Null);
            attribute_matches(w, &a, eval)
        }),
        literal => &from_json(literal) == actual,
    }
}

/// A filter string as an anchored regular expression (None when it is not one), compiled
/// once per thread: compiling costs ~50 µs, and every event is matched against every filter.
fn pattern(s: &str) -> Option<regex::Regex> {
    thread_local! {
        static COMPILED: RefCell<HashMap<String, Option<regex::Regex>>> = RefCell::default();
    }
    COMPILED.with_borrow_mut(|compiled| {
        if let Some(re) = compiled.get(s) {
            return re.clone();
        }
        // Filters are few; a bound keeps patterns built from event data from growing it.
        if compiled.len() >= 4096 {
            compiled.clear();
        }
        let re = regex::Regex::new(&format!("^(?:{s})$")).ok();
        compiled.insert(s.to_string(), re.clone());
        re
    })
}

/// An event as `read` presents it.
fn present(event: &Val, read: ReadMode) -> Val {
    let data = value::get(event, "data").cloned().unwrap_or(Val::Null);
    match read {
        ReadMode::Data => data,
        ReadMode::Envelope => event.clone(),
        ReadMode::Raw => match &data {
            Val::TStr(_) | Val::BStr(_) => data,
            other => value::string(&to_json(other).to_string()),
        },
    }
}
