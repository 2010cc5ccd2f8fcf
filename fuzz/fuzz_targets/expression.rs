//! Expression handling: a fuzzed jq expression on fuzzed JSON input, compiled and evaluated
//! directly (`expr::Program`) and as the `set` of a one-task workflow driven through the
//! engine (loading, data flow, `$context`/`$workflow`/`$runtime` arguments, output).
//!
//! Input: the first line is the expression, the rest is the input as JSON (text that is not
//! JSON is passed as a JSON string). A panic or a stack overflow is a bug; errors are fine.
//!
//! `NAGARE_FUZZ_DEBUG=1` prints what each input came to (to check that seeds get through).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nagare::engine::instance::Start;
use nagare::engine::{Command, Instance};
use serde_json::{Value, json};
use std::rc::Rc;
use std::sync::OnceLock;

fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("NAGARE_FUZZ_DEBUG").is_some())
}

/// Every evaluation runs within nagare's budget (`expr::budget`), so expressions that loop
/// (`repeat`, `range(1e18)`, `def f: f; f`) are fuzzed too: they must end with a budget error,
/// well within libFuzzer's `-timeout`, and never crash. The budget is the product's default
/// but for a shorter time, so that a slow input is reported by the budget, not by libFuzzer.
fn budget() {
    static SET: OnceLock<()> = OnceLock::new();
    SET.get_or_init(|| {
        nagare::expr::budget::set_defaults(nagare::expr::budget::Limits {
            steps: 1_000_000,
            time: std::time::Duration::from_secs(2),
            ..nagare::expr::budget::Limits::DEFAULT
        })
    });
}

/// Local variables bound in the direct evaluation (each to the input).
const LOCALS: [&str; 3] = ["item", "index", "error"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (source, input) = text.split_once('\n').unwrap_or((text, ""));
    budget();
    let input: Value =
        serde_json::from_str(input).unwrap_or_else(|_| Value::String(input.to_string()));

    // Directly: one program with the locals `for` and `catch` bind, one evaluation, the
    // result back to JSON.
    let value = nagare::expr::from_json(&input);
    let sources = [source.to_string()];
    let locals = LOCALS.map(String::from);
    let program = match nagare::expr::Program::compile(&sources, &locals) {
        Ok(program) => program,
        Err(errors) => {
            if debug() {
                eprintln!("does not compile: {}", errors[0].message);
            }
            // The workflow below would not load either (it binds no more variables).
            return;
        }
    };
    let args = LOCALS.iter().fold(
        nagare::expr::Args {
            context: value.clone(),
            ..Default::default()
        },
        |args, name| args.with(name, value.clone()),
    );
    let result = program
        .eval(source, value, &args)
        .map(|v| nagare::expr::to_json(&v));
    if debug() {
        eprintln!("direct: {result:?}");
    }

    // Through the engine: `set: "${ <expression> }"` in a one-task workflow.
    let document = json!({
        "document": {"dsl": "1.0.3", "namespace": "fuzz", "name": "expression", "version": "1.0.0"},
        "do": [{"step": {"set": format!("${{ {source} }}")}}],
    });
    let definition = match nagare::workflow::load("fuzz.json", &document.to_string()) {
        Ok(definition) => definition,
        Err(problems) => {
            if debug() {
                problems.iter().for_each(|p| eprintln!("does not load: {p}"));
            }
            return;
        }
    };
    let start = Start {
        id: "fuzz".into(),
        input,
        secrets: json!({}),
        now: 0,
        gate: false,
        fault: None,
    };
    let (_instance, commands) = Instance::start(Rc::new(definition), start);
    if debug() {
        eprintln!("engine: {:?}", commands.last());
    }
    // A `set` performs no effect: the instance must end in its first batch of commands.
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::Complete { .. } | Command::Fault { .. })),
        "a one-task set workflow did not end: {commands:?}"
    );
});
