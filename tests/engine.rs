//! Drives the sans-IO engine step by step from data files (`tests/engine/*.yaml`), with a
//! simulated clock: no runtime, no sockets, no sleeps. Each file holds a workflow, its input,
//! canned answers for its calls, and the expected effects, task order and output or error.
//! Every case is also replayed from its recorded events and must give the same commands.

use nagare::engine::instance::Start;
use nagare::engine::{Command, Effect, Event, Instance, Lifecycle};
use serde::Deserialize;
use serde_json::{Value, json};
use std::rc::Rc;

const T0: i64 = 1_700_000_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    workflow: Value,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    secrets: Value,
    /// Answers to the calls, in the order the calls are made.
    #[serde(default)]
    calls: Vec<Answer>,
    /// Expected effect log (`call http GET uri`, `timer 2000`, `emit type`, `cancel timer`).
    effects: Option<Vec<String>>,
    /// Expected names of the tasks, in the order they started.
    tasks: Option<Vec<String>>,
    /// Tasks expected to be cancelled.
    cancelled: Option<Vec<String>>,
    output: Option<Value>,
    /// Expected error (its fields must match).
    error: Option<Value>,
    /// CloudEvents delivered to the instance at a time (milliseconds after the start).
    #[serde(default)]
    events: Vec<Delivery>,
    /// Expected subset of a call's arguments, checked per call in order.
    #[serde(default)]
    arguments: Vec<Value>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Delivery {
    at: i64,
    event: Value,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Answer {
    #[serde(default)]
    result: Value,
    error: Option<nagare::error::Error>,
    /// Milliseconds after the call is made.
    #[serde(default)]
    after: i64,
}

struct Pending {
    id: u64,
    due: i64,
    result: Result<Value, nagare::error::Error>,
    what: String,
}

#[derive(Default)]
struct Run {
    log: Vec<String>,
    started: Vec<String>,
    cancelled: Vec<String>,
    arguments: Vec<Value>,
    end: Option<Result<Value, nagare::error::Error>>,
    events: Vec<(Event, i64)>,
    commands: Vec<Command>,
}

fn drive(case: &Case, definition: Rc<nagare::engine::Definition>) -> Run {
    let start = Start {
        id: "test".into(),
        input: case.input.clone(),
        secrets: case.secrets.clone(),
        now: T0,
        gate: false,
        fault: None,
    };
    let (mut instance, commands) = Instance::start(definition, start);
    let mut run = Run::default();
    let mut pending: Vec<Pending> = Vec::new();
    let mut answers = case.calls.iter();
    let mut deliveries = case.events.clone();
    let mut listens: Vec<u64> = Vec::new();
    let mut now = T0;
    let mut queue = commands;
    for _ in 0..10_000 {
        for c in queue.drain(..) {
            run.commands.push(c.clone());
            match c {
                Command::Perform { id, effect } => match effect {
                    Effect::Listen { .. } => {
                        run.log.push("listen".into());
                        listens.push(id);
                    }
                    Effect::Timer { at, .. } => {
                        run.log.push(format!("timer {}", at - now));
                        pending.push(Pending {
                            id,
                            due: at,
                            result: Ok(Value::Null),
                            what: "timer".into(),
                        });
                    }
                    Effect::Gate { .. } => unreachable!("the cases run ungated"),
                    Effect::Emit { event, .. } => {
                        run.log
                            .push(format!("emit {}", event["type"].as_str().unwrap_or("?")));
                        pending.push(Pending {
                            id,
                            due: now,
                            result: Ok(event),
                            what: "emit".into(),
                        });
                    }
                    Effect::Run { process, .. } => {
                        let what = process
                            .get("command")
                            .or(process.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        run.log.push(format!(
                            "run {} {what}",
                            process["kind"].as_str().unwrap_or("?")
                        ));
                        run.arguments.push(process);
                        pending.push(answer(&mut answers, id, now, "run"));
                    }
                    Effect::Call {
                        function,
                        arguments,
                        ..
                    } => {
                        let target = arguments
                            .get("uri")
                            .or(arguments.get("operationId"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let method = arguments
                            .get("method")
                            .and_then(Value::as_str)
                            .map(|m| format!("{} ", m.to_uppercase()))
                            .unwrap_or_default();
                        run.log.push(format!("call {function} {method}{target}"));
                        run.arguments.push(arguments);
                        pending.push(answer(&mut answers, id, now, "call"));
                    }
                },
                Command::Cancel { id } => {
                    if let Some(i) = listens.iter().position(|l| *l == id) {
                        listens.remove(i);
                        run.log.push("cancel listen".into());
                    }
                    if let Some(i) = pending.iter().position(|p| p.id == id) {
                        run.log.push(format!("cancel {}", pending.remove(i).what));
                    }
                }
                Command::Notify(notice) => {
                    let name = notice
                        .task
                        .as_deref()
                        .and_then(|t| t.rsplit('/').next())
                        .unwrap_or_default()
                        .to_string();
                    match notice.kind {
                        Lifecycle::TaskStarted => run.started.push(name),
                        Lifecycle::TaskCancelled => run.cancelled.push(name),
                        _ => {}
                    }
                }
                Command::Complete { output } => run.end = Some(Ok(output)),
                Command::Fault { error } => run.end = Some(Err(error)),
            }
        }
        // An instance that only listens is waiting (the spec's status phase).
        if run.end.is_none() && !listens.is_empty() && pending.is_empty() {
            assert_eq!(instance.status(), nagare::engine::Status::Waiting);
        }
        if run.end.is_some() {
            return run;
        }
        pending.sort_by_key(|p| (p.due, p.id));
        deliveries.sort_by_key(|d| d.at);
        if let Some(d) = deliveries
            .first()
            .filter(|d| pending.first().is_none_or(|p| T0 + d.at <= p.due))
        {
            now = now.max(T0 + d.at);
            let event = Event::Receive {
                event: d.event.clone(),
            };
            deliveries.remove(0);
            run.events.push((event.clone(), now));
            queue = instance.step(event, now);
            continue;
        }
        assert!(!pending.is_empty(), "the instance waits for nothing");
        let next = pending.remove(0);
        now = now.max(next.due);
        let event = Event::Done {
            id: next.id,
            result: next.result,
        };
        run.events.push((event.clone(), now));
        queue = instance.step(event, now);
    }
    panic!("the instance did not end within 10,000 steps");
}

/// The next canned answer, due `after` milliseconds from now.
fn answer<'a>(
    answers: &mut impl Iterator<Item = &'a Answer>,
    id: u64,
    now: i64,
    what: &str,
) -> Pending {
    let a = answers
        .next()
        .unwrap_or_else(|| panic!("no answer left for {what} effect #{id}"));
    let result = match &a.error {
        Some(e) => Err(e.clone()),
        None => Ok(a.result.clone()),
    };
    Pending {
        id,
        due: now + a.after,
        result,
        what: what.into(),
    }
}

/// Replaying the recorded events on a fresh instance gives the same commands.
fn replay(case: &Case, definition: Rc<nagare::engine::Definition>, recorded: &Run) {
    let start = Start {
        id: "test".into(),
        input: case.input.clone(),
        secrets: case.secrets.clone(),
        now: T0,
        gate: false,
        fault: None,
    };
    let (mut instance, mut commands) = Instance::start(definition, start);
    for (event, now) in &recorded.events {
        commands.extend(instance.step(event.clone(), *now));
    }
    assert_eq!(
        commands, recorded.commands,
        "replay gave different commands"
    );
}

fn subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|w| subset(v, w))),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => expected == actual,
    }
}

fn check(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let case: Case = serde_json::from_value(
        nagare::dsl::load::parse("case", &text)
            .expect("case parses")
            .value,
    )
    .unwrap_or_else(|e| panic!("{}: bad case: {e}", path.display()));
    let file = path.display().to_string();
    let definition = match nagare::workflow::load(&file, &case.workflow.to_string()) {
        Ok(d) => Rc::new(d),
        Err(ds) => panic!(
            "{file}: {}",
            ds.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let run = drive(&case, definition.clone());
    replay(&case, definition, &run);
    let end = run.end.clone().expect("ended");
    if let Some(effects) = &case.effects {
        assert_eq!(&run.log, effects, "{file}: effects");
    }
    if let Some(tasks) = &case.tasks {
        assert_eq!(&run.started, tasks, "{file}: task order");
    }
    if let Some(cancelled) = &case.cancelled {
        assert_eq!(&run.cancelled, cancelled, "{file}: cancelled tasks");
    }
    for (i, want) in case.arguments.iter().enumerate() {
        let got = run
            .arguments
            .get(i)
            .unwrap_or_else(|| panic!("{file}: no call #{i}"));
        assert!(
            subset(want, got),
            "{file}: call #{i} arguments {got} do not match {want}"
        );
    }
    match (&case.output, &case.error, &end) {
        (Some(want), None, Ok(got)) => assert!(
            subset(want, got) && subset(got, want),
            "{file}: output {got} is not {want}"
        ),
        (None, Some(want), Err(got)) => {
            let got = json!(got);
            assert!(
                subset(want, &got),
                "{file}: error {got} does not match {want}"
            );
        }
        _ => panic!(
            "{file}: expected output {:?} / error {:?}, got {end:?}",
            case.output, case.error
        ),
    }
}

#[test]
fn cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/engine");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "expected the engine cases in {dir}");
    let mut failures = Vec::new();
    for p in &paths {
        if let Err(e) = std::panic::catch_unwind(|| check(p)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", p.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}

/// Cancelling an instance cancels its running effects (the runtime then stops the process)
/// and notifies the running tasks as cancelled.
#[test]
fn cancel_stops_running_effects() {
    let text = "document: {dsl: 1.0.3, namespace: t, name: c, version: 1.0.0}\ndo:\n  - slow:\n      run:\n        shell: {command: sleep 60}\n";
    let definition = Rc::new(nagare::workflow::load("cancel.yaml", text).expect("valid"));
    let start = Start {
        id: "c".into(),
        input: json!({}),
        secrets: json!({}),
        now: T0,
        gate: false,
        fault: None,
    };
    let (mut instance, commands) = Instance::start(definition, start);
    let run_id = commands
        .iter()
        .find_map(|c| match c {
            Command::Perform {
                id,
                effect: Effect::Run { .. },
            } => Some(*id),
            _ => None,
        })
        .expect("the process is started");
    let after = instance.step(Event::Cancel, T0 + 5);
    assert!(after.contains(&Command::Cancel { id: run_id }), "{after:?}");
    assert!(
        after
            .iter()
            .any(|c| matches!(c, Command::Notify(n) if n.kind == Lifecycle::TaskCancelled))
    );
    assert!(
        after
            .iter()
            .any(|c| matches!(c, Command::Notify(n) if n.kind == Lifecycle::WorkflowCancelled))
    );
    assert_eq!(instance.status(), nagare::engine::Status::Cancelled);
    assert!(
        instance
            .step(
                Event::Done {
                    id: run_id,
                    result: Ok(json!({}))
                },
                T0 + 6
            )
            .is_empty(),
        "a late result is ignored"
    );
}

/// A gated instance asks run control before each top-level task, and only those: nested
/// tasks (a `do` inside, a `for` body) run without asking; nothing of a task starts before
/// its gate is answered.
#[test]
fn a_gated_instance_asks_before_each_top_level_task() {
    let text = r#"
document: {dsl: '1.0.3', namespace: test, name: gated, version: '1.0.0'}
do:
  - first:
      set: {a: 1}
  - second:
      do:
        - inner: {set: {b: 2}}
  - third:
      for: {each: x, in: '${ [1, 2] }'}
      do:
        - each: {set: {c: '${ $x }'}}
"#;
    let definition = Rc::new(nagare::workflow::load("gated", text).unwrap());
    let start = Start {
        id: "gated".into(),
        input: serde_json::json!({}),
        secrets: serde_json::json!({}),
        now: T0,
        gate: true,
        fault: None,
    };
    let (mut instance, mut commands) = Instance::start(definition, start);
    let mut asked = Vec::new();
    for _ in 0..10 {
        let gate = commands.iter().find_map(|c| match c {
            Command::Perform {
                id,
                effect: Effect::Gate { task },
            } => Some((*id, task.clone())),
            _ => None,
        });
        let Some((id, task)) = gate else { break };
        // Nothing of the task was announced before its gate opened.
        assert!(
            !commands.iter().any(|c| matches!(c, Command::Notify(n)
                if n.task.as_deref() == Some(task.as_str())
                    && n.kind == nagare::engine::Lifecycle::TaskStarted)),
            "{task} started before its gate: {commands:#?}"
        );
        asked.push(task);
        commands = instance.step(
            nagare::engine::Event::Done {
                id,
                result: Ok(Value::Null),
            },
            T0,
        );
    }
    assert_eq!(asked, ["/do/0/first", "/do/1/second", "/do/2/third"]);
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::Complete { output } if output["c"] == 2)),
        "{commands:#?}"
    );
}

/// An evaluation out of time voids its step, even one that ended the workflow (its `try`
/// caught the error and the workflow completed): the fault recorded in its place is what
/// counts, live and replayed.
#[test]
fn a_step_out_of_time_is_void_and_its_fault_stands_in_its_place() {
    let text = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: spin
  version: '1.0.0'
  metadata: {nagare: {limits: {evalTime: PT0.05S}}}
do:
  - pause:
      wait: PT1S
  - guarded:
      try:
        - spin:
            set:
              n: '${ last(repeat(1)) }'
      catch:
        do:
          - caught:
              set: {caught: true}
"#;
    let definition = Rc::new(nagare::workflow::load("spin", text).unwrap());
    let start = Start {
        id: "spin".into(),
        input: json!({}),
        secrets: json!({}),
        now: T0,
        gate: false,
        fault: None,
    };
    let (mut instance, commands) = Instance::start(definition.clone(), start.clone());
    let timer = commands
        .iter()
        .find_map(|c| match c {
            Command::Perform {
                id,
                effect: Effect::Timer { .. },
            } => Some(*id),
            _ => None,
        })
        .expect("the wait's timer");
    let done = Event::Done {
        id: timer,
        result: Ok(Value::Null),
    };
    let void = instance.step(done, T0 + 1000);
    let error = instance.take_poison().expect("the spin ran out of time");
    assert!(error.kind.ends_with("/runtime"), "{error:?}");
    assert!(
        error
            .detail
            .as_deref()
            .unwrap()
            .contains("ran longer than 50 ms"),
        "{error:?}"
    );
    // What the void step did: the catch ran and the workflow completed.
    assert!(
        void.iter().any(|c| matches!(c, Command::Complete { .. })),
        "{void:#?}"
    );
    let fault = Event::Fault {
        error: error.clone(),
    };
    let end = instance.step(fault.clone(), T0 + 1000);
    assert!(
        end.iter()
            .any(|c| matches!(c, Command::Fault { error: e } if *e == error)),
        "{end:#?}"
    );
    assert_eq!(instance.status(), nagare::engine::Status::Faulted);
    // Replayed with the fault in place of the timer's answer: the same end, without running
    // the spin again.
    let replayed = nagare::runtime::replay::replay(
        definition,
        start,
        vec![nagare::runtime::journal::Record::Event {
            event: fault,
            now: T0 + 1000,
        }],
    );
    assert_eq!(replayed.instance.status(), nagare::engine::Status::Faulted);
    assert!(
        replayed
            .commands
            .iter()
            .any(|c| matches!(c, Command::Fault { error: e } if *e == error))
    );
}
