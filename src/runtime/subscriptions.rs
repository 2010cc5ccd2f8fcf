//! Which instances on this node listen for which CloudEvents: an index from event `type` to
//! the instances whose `listen` could consume an event of that type, so delivering an event
//! costs the number of instances that listen for its type, not the number that listen at all.
//!
//! A listen is indexed under a type when every filter of its strategy (`one`, `all`, `any`
//! and an `until` strategy) names a literal `type` (no expression, no regular expression).
//! Other listens (an empty `any`, a type given as a pattern) get every event. The engine
//! still applies the whole filter (other attributes, correlation): the index only narrows.

use crate::expr::program::Program;
use crate::expr::{Args, from_json, source, to_json};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Where one listen is indexed.
#[derive(Clone)]
enum Entry {
    Every,
    Types(Vec<String>),
    /// Types, and one correlation key: its `from` expression and expected value (JSON text).
    Keyed(Vec<String>, String, String),
}

#[derive(Default)]
pub struct Subscriptions {
    by_type: HashMap<String, HashSet<String>>,
    /// type → `from` expression → expected value → instances.
    by_key: HashMap<String, HashMap<String, HashMap<String, HashSet<String>>>>,
    every: HashSet<String>,
    of: HashMap<String, HashMap<u64, Entry>>,
    /// Compiled `from` expressions (`None`: it does not compile; such listens get every
    /// event of their type through `by_type`).
    programs: HashMap<String, Option<Program>>,
}

impl Subscriptions {
    /// Adds a listen of `instance` (its effect id, `to` strategy and resolved correlation
    /// keys). Returns the types it listens for (`None`: any type).
    pub fn add(
        &mut self,
        instance: &str,
        effect: u64,
        to: &Value,
        keys: &[(String, Value)],
    ) -> Option<Vec<String>> {
        let types = types(to);
        let entry = match (&types, keys.first()) {
            (None, _) => Entry::Every,
            (Some(t), Some((from, expected))) if self.compiles(from) => {
                Entry::Keyed(t.clone(), from.clone(), expected.to_string())
            }
            (Some(t), _) => Entry::Types(t.clone()),
        };
        self.index(instance, &entry);
        self.of
            .entry(instance.to_string())
            .or_default()
            .insert(effect, entry);
        types
    }

    /// Removes one listen (cancelled or done).
    pub fn remove(&mut self, instance: &str, effect: u64) {
        let Some(listens) = self.of.get_mut(instance) else {
            return;
        };
        let Some(gone) = listens.remove(&effect) else {
            return;
        };
        let left: Vec<Entry> = listens.values().cloned().collect();
        if left.is_empty() {
            self.of.remove(instance);
        }
        self.unindex(instance, &gone);
        // Another listen of the instance may share a place with the removed one.
        for entry in left {
            self.index(instance, &entry);
        }
    }

    /// Removes every listen of an instance (it ended or left the node).
    pub fn forget(&mut self, instance: &str) {
        if let Some(listens) = self.of.remove(instance) {
            for entry in listens.values() {
                self.unindex(instance, entry);
            }
        }
    }

    /// The instances that may consume `event`: those listening for any event, for its type,
    /// and those whose correlation key the event's value matches (one lookup per distinct
    /// `from` expression, whatever the number of instances).
    pub fn targets(&mut self, event: &Value) -> Vec<String> {
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut out: HashSet<String> = self.every.clone();
        if let Some(set) = self.by_type.get(kind) {
            out.extend(set.iter().cloned());
        }
        if let Some(by_from) = self.by_key.get(kind) {
            let input = from_json(event);
            for (from, by_value) in by_from {
                let Some(Some(program)) = self.programs.get(from) else {
                    continue;
                };
                let text = source(from);
                // An event the expression fails on matches no key (as in the engine).
                if let Ok(v) = program.eval(text, input.clone(), &Args::default())
                    && let Some(set) = by_value.get(&to_json(&v).to_string())
                {
                    out.extend(set.iter().cloned());
                }
            }
        }
        out.into_iter().collect()
    }

    fn compiles(&mut self, from: &str) -> bool {
        self.programs
            .entry(from.to_string())
            .or_insert_with(|| Program::compile(&[source(from).to_string()], &[]).ok())
            .is_some()
    }

    fn index(&mut self, instance: &str, entry: &Entry) {
        let i = instance.to_string();
        match entry {
            Entry::Every => {
                self.every.insert(i);
            }
            Entry::Types(types) => {
                for t in types {
                    self.by_type.entry(t.clone()).or_default().insert(i.clone());
                }
            }
            Entry::Keyed(types, from, expected) => {
                for t in types {
                    self.by_key
                        .entry(t.clone())
                        .or_default()
                        .entry(from.clone())
                        .or_default()
                        .entry(expected.clone())
                        .or_default()
                        .insert(i.clone());
                }
            }
        }
    }

    /// Takes `instance` out of the places `entry` put it in (and drops places left empty):
    /// a lookup per type, however many instances are indexed.
    fn unindex(&mut self, instance: &str, entry: &Entry) {
        match entry {
            Entry::Every => {
                self.every.remove(instance);
            }
            Entry::Types(types) => {
                for t in types {
                    if let Some(set) = self.by_type.get_mut(t) {
                        set.remove(instance);
                        if set.is_empty() {
                            self.by_type.remove(t);
                        }
                    }
                }
            }
            Entry::Keyed(types, from, expected) => {
                for t in types {
                    let Some(by_from) = self.by_key.get_mut(t) else {
                        continue;
                    };
                    if let Some(by_value) = by_from.get_mut(from) {
                        if let Some(set) = by_value.get_mut(expected) {
                            set.remove(instance);
                            if set.is_empty() {
                                by_value.remove(expected);
                            }
                        }
                        if by_value.is_empty() {
                            by_from.remove(from);
                        }
                    }
                    if by_from.is_empty() {
                        self.by_key.remove(t);
                    }
                }
            }
        }
    }
}

/// The literal types a strategy listens for, or `None` when it may take any type.
pub fn types(to: &Value) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut filters: Vec<&Value> = Vec::new();
    let mut strategies = vec![to];
    while let Some(s) = strategies.pop() {
        if let Some(one) = s.get("one") {
            filters.push(one);
        }
        for key in ["all", "any"] {
            if let Some(list) = s.get(key).and_then(Value::as_array) {
                if key == "any" && list.is_empty() {
                    return None;
                }
                filters.extend(list);
            }
        }
        if let Some(until) = s.get("until")
            && until.is_object()
        {
            strategies.push(until);
        }
    }
    for f in filters {
        let t = f.get("with")?.get("type")?.as_str()?;
        let literal = !t.contains("${")
            && !t.chars().any(|c| {
                matches!(
                    c,
                    '*' | '+' | '?' | '[' | ']' | '(' | ')' | '|' | '^' | '$' | '\\' | '{' | '}'
                )
            });
        if !literal {
            return None;
        }
        out.push(t.to_string());
    }
    if out.is_empty() {
        return None;
    }
    out.sort();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_types_are_indexed_and_patterns_take_everything() {
        let mut s = Subscriptions::default();
        s.add(
            "a",
            1,
            &json!({"one": {"with": {"type": "order.paid"}}}),
            &[],
        );
        s.add(
            "b",
            1,
            &json!({"all": [{"with": {"type": "x"}}, {"with": {"type": "y"}}]}),
            &[],
        );
        s.add(
            "c",
            1,
            &json!({"any": [{"with": {"type": "order.*"}}]}),
            &[],
        );
        s.add("d", 1, &json!({"any": []}), &[]);
        s.add("e", 1, &json!({"any": [{"with": {"type": "z"}}], "until": {"one": {"with": {"type": "stop"}}}}), &[]);
        let mut t = s.targets(&json!({"type": "order.paid"}));
        t.sort();
        assert_eq!(t, ["a", "c", "d"]);
        let mut t = s.targets(&json!({"type": "y"}));
        t.sort();
        assert_eq!(t, ["b", "c", "d"]);
        let mut t = s.targets(&json!({"type": "stop"}));
        t.sort();
        assert_eq!(t, ["c", "d", "e"]);
        s.remove("c", 1);
        s.forget("d");
        assert_eq!(s.targets(&json!({"type": "order.paid"})), ["a"]);
        assert!(s.targets(&json!({"type": "nothing"})).is_empty());
    }

    #[test]
    fn correlated_listens_are_found_by_their_key_value() {
        let mut s = Subscriptions::default();
        let to = json!({"one": {"with": {"type": "paid"}}});
        for n in 0..1000 {
            let keys = [("${ .data.order }".to_string(), json!(n))];
            s.add(&format!("i{n}"), 1, &to, &keys);
        }
        assert_eq!(
            s.targets(&json!({"type": "paid", "data": {"order": 7}})),
            ["i7"]
        );
        assert!(
            s.targets(&json!({"type": "paid", "data": {"order": 5000}}))
                .is_empty()
        );
        assert!(s.targets(&json!({"type": "paid"})).is_empty());
        assert!(
            s.targets(&json!({"type": "other", "data": {"order": 7}}))
                .is_empty()
        );
        s.forget("i7");
        assert!(
            s.targets(&json!({"type": "paid", "data": {"order": 7}}))
                .is_empty()
        );
    }

    #[test]
    fn removing_one_listen_keeps_the_others_of_the_instance() {
        let mut s = Subscriptions::default();
        s.add("a", 1, &json!({"one": {"with": {"type": "p"}}}), &[]);
        s.add("a", 2, &json!({"one": {"with": {"type": "q"}}}), &[]);
        s.remove("a", 1);
        assert!(s.targets(&json!({"type": "p"})).is_empty());
        assert_eq!(s.targets(&json!({"type": "q"})), ["a"]);
    }

    #[test]
    fn a_place_shared_by_two_listens_outlives_one_of_them() {
        let mut s = Subscriptions::default();
        let to = json!({"one": {"with": {"type": "paid"}}});
        let keys = [("${ .data.order }".to_string(), json!(7))];
        s.add("a", 1, &to, &keys);
        s.add("a", 2, &to, &keys);
        s.add("b", 1, &to, &keys);
        let paid = json!({"type": "paid", "data": {"order": 7}});
        s.remove("a", 1);
        let mut t = s.targets(&paid);
        t.sort();
        assert_eq!(t, ["a", "b"]);
        s.remove("a", 2);
        s.remove("a", 2);
        assert_eq!(s.targets(&paid), ["b"]);
        s.forget("b");
        assert!(s.targets(&paid).is_empty());
        // Nothing is left behind: empty places are dropped.
        assert!(s.by_key.is_empty() && s.by_type.is_empty() && s.of.is_empty());
    }
}
