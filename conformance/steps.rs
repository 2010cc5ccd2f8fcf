//! The step sentences of the Serverless Workflow CTK (its README lists them), implemented on
//! `nagare::runtime::local`. Shared by the official CTK runner (`tests/ctk.rs`) and nagare's own
//! conformance suite, so both speak exactly the same sentences.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use nagare::engine::Status;
use nagare::functions::http;
use nagare::runtime::effect::Context;
use nagare::runtime::local::{self, Options, Outcome};
use nagare::runtime::registry::Registry;
use serde_json::Value;
use std::rc::Rc;

#[derive(Debug, Default, cucumber::World)]
pub struct Scenario {
    definition: String,
    input: Option<Value>,
    outcome: Option<Outcome>,
    /// Host → base URL of the local stand-ins (see `tests/support/standin.rs`).
    pub host_map: Vec<(String, String)>,
}

/// The step's docstring without the indentation it has in the feature file.
fn docstring(step: &Step) -> String {
    let text = step
        .docstring
        .as_deref()
        .expect("this step needs a docstring");
    // The parser keeps the media type of `"""yaml` as the first line.
    let text = match text.split_once('\n') {
        Some((first, rest)) if matches!(first.trim(), "yaml" | "json") => rest,
        _ => text,
    };
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn yaml(text: &str) -> Value {
    match nagare::dsl::load::parse("docstring", text) {
        Ok(d) => d.value,
        Err(e) => panic!("the step YAML does not parse: {e}\n{text:?}"),
    }
}

impl Scenario {
    fn outcome(&self) -> &Outcome {
        self.outcome
            .as_ref()
            .expect("the workflow has not been executed")
    }
    fn output(&self) -> &Value {
        let o = self.outcome();
        assert_eq!(
            o.status,
            Status::Completed,
            "the workflow did not complete: {:?}",
            o.error
        );
        o.output
            .as_ref()
            .expect("a completed workflow has an output")
    }
    fn started(&self) -> Vec<&str> {
        self.outcome()
            .tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect()
    }
    fn position(&self, task: &str) -> usize {
        self.started()
            .iter()
            .position(|t| *t == task)
            .unwrap_or_else(|| panic!("task {task} did not run; ran: {:?}", self.started()))
    }
    fn task(&self, name: &str) -> &local::TaskRecord {
        self.outcome()
            .tasks
            .iter()
            .rev()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("task {name} did not run"))
    }
}

/// Follows a dotted property path (`content.id`, `items.0`).
fn property<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// JSON equality where 1 and 1.0 are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Every field of `expected` is in `actual` with the same value.
fn subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            e.iter().all(|(k, v)| a.get(k).is_some_and(|w| same(v, w)))
        }
        _ => same(expected, actual),
    }
}

/// Runs every feature file of `dir` with these steps, the stand-in answering for
/// petstore.swagger.io and httpbin.org through the host map; exits with the result.
pub async fn run_features(dir: &str, host_map: Vec<(String, String)>) {
    use cucumber::World as _;
    assert!(
        std::path::Path::new(dir).is_dir(),
        "the feature folder {dir} is missing"
    );
    Scenario::cucumber()
        .before(move |_, _, _, scenario| {
            scenario.host_map = host_map.clone();
            Box::pin(async {})
        })
        .fail_on_skipped()
        .with_default_cli()
        .run_and_exit(dir)
        .await;
}

#[given(regex = r"^a workflow with definition:$")]
fn definition(s: &mut Scenario, step: &Step) {
    s.definition = docstring(step);
}

#[given(regex = r"^(?:given )?the workflow input is:$")]
fn input(s: &mut Scenario, step: &Step) {
    s.input = Some(yaml(&docstring(step)));
}

#[when(regex = r"^the workflow is executed$")]
async fn execute(s: &mut Scenario) {
    let text = s.definition.clone();
    let input = s.input.clone().unwrap_or(Value::Object(Default::default()));
    let host_map = s.host_map.clone();
    // The engine is single-threaded (reference-counted values): run it on a thread of its own.
    let outcome = tokio::task::spawn_blocking(move || {
        let definition = match nagare::workflow::load("scenario.yaml", &text) {
            Ok(d) => Rc::new(d),
            Err(ds) => panic!(
                "the definition is invalid:\n{}",
                ds.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        let config = http::Config {
            host_map,
            ..Default::default()
        };
        // Subflows resolve from conformance/workflows (a CTK run simply never uses them).
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/workflows");
        let workflows = Registry::load_dir(std::path::Path::new(dir))
            .unwrap_or_else(|e| panic!("{}", e.join("\n")));
        let context = Context {
            http: http::Client::new(config),
            workflows: std::sync::Arc::new(workflows),
            secrets: Value::Object(Default::default()),
            containers: std::sync::Arc::new(nagare::functions::container::Containers::new(
                Default::default(),
            )),
            max_output: nagare::functions::log::MAX_OUTPUT,
        };
        let options = Options {
            context,
            events: Vec::new(),
            journal: None,
            on_notify: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(local::run(definition, "ctk", input, &options))
    })
    .await
    .expect("the run thread panicked");
    s.outcome = Some(outcome);
}

#[then(regex = r"^the workflow should complete$")]
fn completes(s: &mut Scenario) {
    s.output();
}

#[then(regex = r"^the workflow should complete with output:$")]
fn completes_with(s: &mut Scenario, step: &Step) {
    let expected = yaml(&docstring(step));
    let output = s.output();
    assert!(same(output, &expected), "output {output} is not {expected}");
}

#[then(regex = r"^the workflow should fault$")]
fn faults(s: &mut Scenario) {
    let o = s.outcome();
    assert_eq!(o.status, Status::Faulted, "output: {:?}", o.output);
}

#[then(regex = r"^the workflow should fault with error:$")]
fn faults_with(s: &mut Scenario, step: &Step) {
    faults(s);
    let expected = yaml(&docstring(step));
    let actual = serde_json::to_value(
        s.outcome()
            .error
            .as_ref()
            .expect("a faulted workflow has an error"),
    )
    .unwrap();
    assert!(
        subset(&expected, &actual),
        "error {actual} does not match {expected}"
    );
}

#[then(regex = r"^the workflow should cancel$")]
fn cancels(s: &mut Scenario) {
    assert_eq!(s.outcome().status, Status::Cancelled);
}

#[then(regex = r"^the workflow output should have properties (.+)$")]
fn has_properties(s: &mut Scenario, list: String) {
    let output = s.output();
    for path in list.split(',').map(|p| p.trim().trim_matches('\'')) {
        assert!(
            property(output, path).is_some(),
            "output {output} has no property '{path}'"
        );
    }
}

#[then(regex = r"^the workflow output should have a '(.+)' property with value:$")]
fn has_property_value(s: &mut Scenario, path: String, step: &Step) {
    let expected = yaml(&docstring(step));
    let output = s.output();
    let actual = property(output, &path)
        .unwrap_or_else(|| panic!("output {output} has no property '{path}'"));
    assert!(
        same(actual, &expected),
        "'{path}' is {actual}, not {expected}"
    );
}

#[then(regex = r"^the workflow output should have a '(.+)' property containing (\d+) items$")]
fn has_items(s: &mut Scenario, path: String, count: usize) {
    let output = s.output();
    let actual = property(output, &path)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("'{path}' of {output} is not an array"));
    assert_eq!(actual.len(), count, "'{path}' is {actual:?}");
}

#[then(regex = r"^(\S+) should run first$")]
fn runs_first(s: &mut Scenario, task: String) {
    assert_eq!(
        s.started().first().copied(),
        Some(task.as_str()),
        "order: {:?}",
        s.started()
    );
}

#[then(regex = r"^(\S+) should run last$")]
fn runs_last(s: &mut Scenario, task: String) {
    assert_eq!(
        s.started().last().copied(),
        Some(task.as_str()),
        "order: {:?}",
        s.started()
    );
}

#[then(regex = r"^(\S+) should run before (\S+)$")]
fn runs_before(s: &mut Scenario, a: String, b: String) {
    assert!(s.position(&a) < s.position(&b), "order: {:?}", s.started());
}

#[then(regex = r"^(\S+) should run after (\S+)$")]
fn runs_after(s: &mut Scenario, a: String, b: String) {
    assert!(s.position(&a) > s.position(&b), "order: {:?}", s.started());
}

#[then(regex = r"^(\S+) should (complete|fault|cancel)$")]
fn task_ends(s: &mut Scenario, task: String, how: String) {
    let want = match how.as_str() {
        "complete" => Status::Completed,
        "fault" => Status::Faulted,
        _ => Status::Cancelled,
    };
    assert_eq!(s.task(&task).status, want);
}

#[then(regex = r"^(\S+) should complete with output:$")]
fn task_output(s: &mut Scenario, task: String, step: &Step) {
    let expected = yaml(&docstring(step));
    let t = s.task(&task);
    assert_eq!(t.status, Status::Completed);
    let actual = t.output.as_ref().expect("a completed task has an output");
    assert!(
        same(actual, &expected),
        "{task} output {actual} is not {expected}"
    );
}

#[then(regex = r"^(\S+) should fault with error:$")]
fn task_error(s: &mut Scenario, task: String, step: &Step) {
    let expected = yaml(&docstring(step));
    let t = s.task(&task);
    assert_eq!(t.status, Status::Faulted);
    let actual =
        serde_json::to_value(t.error.as_ref().expect("a faulted task has an error")).unwrap();
    assert!(
        subset(&expected, &actual),
        "{task} error {actual} does not match {expected}"
    );
}
