use super::*;
use serde_json::json;

fn trigger(on: Value) -> Trigger {
    Trigger::new(serde_json::from_value(on).unwrap()).unwrap()
}

fn event(kind: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": kind, "source": "/t", "type": kind, "data": data})
}

fn types(start: &Start) -> Vec<String> {
    start
        .events
        .iter()
        .map(|e| format!("{}:{}", e["type"].as_str().unwrap(), e["data"]))
        .collect()
}

#[test]
fn one_and_any_start_per_event() {
    let mut t = trigger(json!({"one": {"with": {"type": "order.paid", "source": "/t|/u"}}}));
    assert_eq!(t.offer(1, &event("order.new", json!(1))), None);
    let s = t.offer(2, &event("order.paid", json!(2))).unwrap();
    assert_eq!(
        (s.seqs.clone(), types(&s)),
        (vec![2], vec!["order.paid:2".to_string()])
    );
    let mut any = trigger(json!({"any": [{"with": {"type": "a"}}, {"with": {"type": "b"}}]}));
    assert!(any.offer(1, &event("a", json!(1))).is_some());
    assert!(any.offer(2, &event("b", json!(2))).is_some());
    assert!(any.offer(3, &event("c", json!(3))).is_none());
    assert_eq!(any.pending(), 0);
    let mut every = trigger(json!({"any": []}));
    assert!(every.offer(1, &event("z", json!(0))).is_some());
}

#[test]
fn all_gathers_one_event_per_filter_in_filter_order() {
    let mut t = trigger(json!({"all": [{"with": {"type": "a"}}, {"with": {"type": "b"}}]}));
    assert_eq!(t.offer(1, &event("b", json!(1))), None);
    assert_eq!(
        t.offer(2, &event("b", json!(2))),
        None,
        "a second b opens another set"
    );
    let s = t.offer(3, &event("a", json!(3))).unwrap();
    assert_eq!(s.seqs, vec![1, 3]);
    assert_eq!(types(&s), ["a:3", "b:1"]);
    assert_eq!(t.pending(), 1);
    let s = t.offer(4, &event("a", json!(4))).unwrap();
    assert_eq!(s.seqs, vec![2, 4]);
}

#[test]
fn correlation_keeps_sets_apart() {
    let mut t = trigger(json!({"all": [
        {"with": {"type": "placed"}, "correlate": {"order": {"from": "${ .data.order }"}}},
        {"with": {"type": "paid"}, "correlate": {"order": {"from": ".data.order"}}}
    ]}));
    assert_eq!(t.offer(1, &event("placed", json!({"order": 1}))), None);
    assert_eq!(t.offer(2, &event("placed", json!({"order": 2}))), None);
    let s = t.offer(3, &event("paid", json!({"order": 2}))).unwrap();
    assert_eq!(s.seqs, vec![2, 3]);
    let s = t.offer(4, &event("paid", json!({"order": 1}))).unwrap();
    assert_eq!(s.seqs, vec![1, 4]);
    // `expect` fixes the value for every set.
    let mut only7 = trigger(json!({"one": {"with": {"type": "paid"},
        "correlate": {"order": {"from": ".data.order", "expect": "7"}}}}));
    assert!(
        only7
            .offer(1, &event("paid", json!({"order": 6})))
            .is_none()
    );
    // A literal expect is a string; the event's value must equal it.
    assert!(
        only7
            .offer(2, &event("paid", json!({"order": "7"})))
            .is_some()
    );
}

#[test]
fn any_until_a_condition_or_events() {
    let mut t = trigger(json!({"any": [{"with": {"type": "item"}}], "until": "${ length >= 3 }"}));
    assert!(t.offer(1, &event("item", json!(1))).is_none());
    assert!(t.offer(2, &event("other", json!(0))).is_none());
    assert!(t.offer(3, &event("item", json!(2))).is_none());
    let s = t.offer(4, &event("item", json!(3))).unwrap();
    assert_eq!(s.seqs, vec![1, 3, 4]);
    let mut t = trigger(json!({"any": [{"with": {"type": "item"}}],
                               "until": {"one": {"with": {"type": "close"}}}}));
    assert!(t.offer(1, &event("item", json!(1))).is_none());
    assert!(t.offer(2, &event("item", json!(2))).is_none());
    let s = t.offer(3, &event("close", json!(null))).unwrap();
    assert_eq!(s.seqs, vec![1, 2, 3], "the until event is consumed");
    assert_eq!(
        types(&s),
        ["item:1", "item:2"],
        "and is not part of the input"
    );
}

#[test]
fn expression_filters() {
    let mut t = trigger(json!({"one": {"with": {"type": "order", "data": "${ .amount > 100 }"}}}));
    assert!(t.offer(1, &event("order", json!({"amount": 50}))).is_none());
    assert!(
        t.offer(2, &event("order", json!({"amount": 150})))
            .is_some()
    );
    assert!(
        t.offer(3, &event("order", json!("not an object")))
            .is_none()
    );
    let bad = Trigger::new(
        serde_json::from_value(json!({"one": {"with": {"type": "${ .[ }"}}})).unwrap(),
    );
    assert!(bad.err().unwrap().contains(".["));
}

#[test]
fn forgetting_events_consumed_elsewhere_dissolves_their_sets() {
    let mut t = trigger(json!({"all": [{"with": {"type": "a"}}, {"with": {"type": "b"}}]}));
    assert!(t.offer(1, &event("a", json!(1))).is_none());
    assert!(t.offer(2, &event("a", json!(2))).is_none());
    // Another node started {1, 3}: event 1 is gone, 3 never reaches this set.
    let starts = t.forget(&HashSet::from([1, 3]));
    assert!(starts.is_empty());
    assert_eq!(t.pending(), 1);
    let s = t.offer(4, &event("b", json!(4))).unwrap();
    assert_eq!(s.seqs, vec![2, 4]);
    // A dissolved set's other events are offered again, in log order.
    let mut t = trigger(json!({"all": [
        {"with": {"type": "a"}}, {"with": {"type": "b"}}, {"with": {"type": "c"}}]}));
    t.offer(1, &event("a", json!(1)));
    t.offer(2, &event("b", json!(2)));
    t.offer(3, &event("a", json!(3)));
    // Elsewhere {1, 9, …} started: b2 is free again and joins a3's set.
    assert!(t.forget(&HashSet::from([1, 9])).is_empty());
    let s = t.offer(10, &event("c", json!(10))).unwrap();
    assert_eq!(s.seqs, vec![2, 3, 10]);
    assert_eq!(types(&s), ["a:3", "b:2", "c:10"]);
}
