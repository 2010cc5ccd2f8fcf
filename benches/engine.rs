//! Interpreter overhead, in-process and without a runtime: a chain of N `set` tasks driven to
//! its end through the engine (expressions, data flow, lifecycle notifications included), and
//! the one-time cost of compiling the definition.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use nagare::engine::instance::Start;
use nagare::engine::{Command, Instance};
use serde_json::json;
use std::rc::Rc;

fn chain(n: usize) -> String {
    let mut text = String::from(
        "document: {dsl: 1.0.3, namespace: bench, name: chain, version: 1.0.0}\ndo:\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  - step{i}:\n      set:\n        x: ${{ .x + 1 }}\n"
        ));
    }
    text
}

fn run(definition: &Rc<nagare::engine::Definition>) -> serde_json::Value {
    let start = Start {
        id: "bench".into(),
        input: json!({"x": 0}),
        secrets: json!({}),
        now: 0,
        gate: false,
        fault: None,
    };
    let (_, commands) = Instance::start(definition.clone(), start);
    match commands.into_iter().last() {
        Some(Command::Complete { output }) => output,
        other => panic!("the chain did not complete: {other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("set-chain");
    for n in [10usize, 100] {
        let definition = Rc::new(nagare::workflow::load("chain.yaml", &chain(n)).expect("valid"));
        assert_eq!(run(&definition), json!({"x": n}));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("run", n), &definition, |b, d| {
            b.iter(|| run(d))
        });
    }
    group.finish();
    let text = chain(100);
    c.bench_function("load-and-compile/chain-100", |b| {
        b.iter(|| nagare::workflow::load("chain.yaml", &text).expect("valid"))
    });
}

criterion_group!(benches, bench);

/// On a thread with the engine thread's stack, as in the service and `nagare run`: on a
/// smaller one each evaluation would first move to a fresh stack segment (`expr::budget`).
fn main() {
    std::thread::Builder::new()
        .stack_size(nagare::expr::budget::THREAD_STACK)
        .spawn(|| {
            benches();
            Criterion::default().configure_from_args().final_summary();
        })
        .expect("a bench thread")
        .join()
        .expect("the bench ran");
}
