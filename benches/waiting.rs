//! Memory per waiting instance: starts N instances of a workflow that listens for an event
//! (after one `set`) and counts the bytes they hold with a counting allocator. Prints one
//! `FIGURE` line; `cargo bench --bench waiting` (N defaults to 10,000; `WAITING_N` overrides).

use nagare::engine::instance::Start;
use nagare::engine::{Instance, Status};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
    let before = LIVE.load(Ordering::Relaxed);
    let mut instances = Vec::with_capacity(n);
    for i in 0..n {
        let start = Start {
            id: format!("i{i}"),
            input: json!({"order": format!("order-{i}")}),
            secrets: json!({}),
            now: 0,
            gate: false,
        };
        let (instance, commands) = Instance::start(definition.clone(), start);
        assert_eq!(instance.status(), Status::Waiting);
        drop(commands); // the runtime would persist and then drop them
        instances.push(instance);
    }
    let held =
        LIVE.load(Ordering::Relaxed) - before - (n * std::mem::size_of::<Instance>()) as isize;
    let per = held as f64 / n as f64 + std::mem::size_of::<Instance>() as f64;
    println!(
        "FIGURE engine_waiting_instance_bytes {per:.0} bytes (heap held per instance waiting in `listen`, {n} instances)"
    );
    drop(instances);
}
