//! Memory per waiting instance: starts N instances of a workflow that listens for an event
//! (after one `set`) and counts the bytes they hold with nagare's counting allocator. Prints one
//! `FIGURE` line; `cargo bench --bench waiting` (N defaults to 10,000; `WAITING_N` overrides).

use nagare::engine::instance::Start;
use nagare::engine::{Instance, Status};
use serde_json::json;
use std::rc::Rc;

/// The bytes this thread holds, by nagare's own counting allocator (the bench runs on one
/// thread).
fn live() -> isize {
    nagare::expr::budget::allocated()
}

const WORKFLOW: &str = "document: {dsl: 1.0.3, namespace: bench, name: waiting, version: 1.0.0}
do:
  - prepare:
      set:
        order: ${ .order }
  - awaitPayment:
      listen:
        to:
          one:
            with:
              type: com.example.payment.received
            correlate:
              order: {from: .data.order, expect: '${ .order }'}
";

fn main() {
    let n: usize = std::env::var("WAITING_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let definition = Rc::new(nagare::workflow::load("waiting.yaml", WORKFLOW).expect("valid"));
    let before = live();
    let mut instances = Vec::with_capacity(n);
    for i in 0..n {
        let start = Start {
            id: format!("i{i}"),
            input: json!({"order": format!("order-{i}")}),
            secrets: json!({}),
            now: 0,
            gate: false,
            fault: None,
        };
        let (instance, commands) = Instance::start(definition.clone(), start);
        assert_eq!(instance.status(), Status::Waiting);
        drop(commands); // the runtime would persist and then drop them
        instances.push(instance);
    }
    let held = live() - before - (n * std::mem::size_of::<Instance>()) as isize;
    let per = held as f64 / n as f64 + std::mem::size_of::<Instance>() as f64;
    println!(
        "FIGURE engine_waiting_instance_bytes {per:.0} bytes (heap held per instance waiting in `listen`, {n} instances)"
    );
    drop(instances);
}
