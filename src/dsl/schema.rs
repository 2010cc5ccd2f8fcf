//! Validates a loaded document against the DSL's JSON Schema, one clear diagnostic per problem.
//!
//! The verdict is the schema's own: `spec-schemas/workflow.yaml`, unchanged, checked with
//! jsonschema's `is_valid`. Explaining a rejection needs jsonschema's error tree, and that
//! tree grows exponentially with task nesting (a task's `do` is examined by both the `do` and
//! the `for` alternative of every enclosing task). So a rejected document is explained piece
//! by piece: the workflow, then each task on its own, every nested task replaced by a valid
//! placeholder. Each piece is small, and together they raise the errors the whole would.

mod explain;

use std::collections::HashSet;
use std::sync::LazyLock;

use jsonschema::Validator;
use serde_json::{Value, json};

use super::diagnostic::Diagnostic;
use super::load::{self, Document};
use explain::{Explainer, Problem, reference, task_key};

/// The schema nagare accepts (see `spec-schemas/README.md`).
const SOURCE: &str = include_str!("../../spec-schemas/workflow.yaml");

/// Bound on the schema-and-document walk that finds nested tasks (it is linear in the
/// document; the bound only guards against a schema change that would make it otherwise).
const WALK_BUDGET: usize = 10_000_000;

struct Schema {
    document: Value,
    /// The whole schema.
    workflow: Validator,
    /// The same document with `$defs/task` as its root: validates one task, and reports
    /// error locations in the same terms as `workflow`.
    task: Validator,
    /// Stands in for a nested task while its parent is checked: valid, and as small as a task.
    placeholder: Value,
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    // The schema is part of the program; a test checks that all of this holds.
    let document = match load::parse("spec-schemas/workflow.yaml", SOURCE) {
        Ok(document) => document.value,
        Err(diagnostic) => panic!("the embedded schema does not load: {diagnostic}"),
    };
    let mut task = document.clone();
    if let Value::Object(root) = &mut task {
        root.retain(|keyword, _| matches!(keyword.as_str(), "$schema" | "$id" | "$defs"));
        root.insert("$ref".to_owned(), json!("#/$defs/task"));
    }
    let compile = |schema: &Value| match jsonschema::draft202012::new(schema) {
        Ok(validator) => validator,
        Err(error) => panic!("the embedded schema does not compile: {error}"),
    };
    Schema {
        workflow: compile(&document),
        task: compile(&task),
        document,
        placeholder: json!({"do": []}),
    }
});

/// Checks `doc` against the schema; an empty result means the document is valid.
pub fn validate(file: &str, doc: &Document) -> Vec<Diagnostic> {
    let schema = &*SCHEMA;
    if schema.workflow.is_valid(&doc.value) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let mut budget = WALK_BUDGET;
    // The workflow first, then every task a piece holds.
    let mut pieces = vec![(String::new(), &doc.value, false)];
    while let Some((base, value, is_task)) = pieces.pop() {
        let tasks = explain_piece(schema, &base, value, is_task, &mut budget, &mut problems);
        pieces.extend(
            tasks
                .into_iter()
                .map(|(pointer, task)| (pointer, task, true)),
        );
    }
    if problems.is_empty() {
        // Not expected: every error is explained. This keeps a rejection from going silent.
        problems.push(Problem {
            pointer: String::new(),
            message: "the workflow does not match the DSL schema".to_owned(),
            unknown: false,
        });
    }
    diagnostics(file, doc, problems)
}

/// Explains the errors of one piece (the workflow at `base` "", or a task), its nested tasks
/// replaced by the placeholder; returns those tasks, with their pointers.
fn explain_piece<'v>(
    schema: &Schema,
    base: &str,
    value: &'v Value,
    is_task: bool,
    budget: &mut usize,
    problems: &mut Vec<Problem>,
) -> Vec<(String, &'v Value)> {
    let root = if is_task {
        match value.as_object().map(task_key) {
            Some(Ok(key)) => reference(&schema.document, &format!("#/$defs/{key}Task")),
            _ => reference(&schema.document, "#/$defs/task"),
        }
    } else {
        Some(&schema.document)
    };
    let mut finder = Finder {
        schema: &schema.document,
        path: Vec::new(),
        tasks: Vec::new(),
        budget,
    };
    if let Some(root) = root {
        finder.walk(root, value, 0);
    }
    let mut tasks = finder.tasks;
    tasks.sort();
    tasks.dedup();
    let paths: Vec<&[String]> = tasks.iter().map(Vec::as_slice).collect();
    let piece = prune(value, &paths, &schema.placeholder);
    let validator = if is_task {
        &schema.task
    } else {
        &schema.workflow
    };
    let mut explainer = Explainer {
        schema: &schema.document,
        instance: &piece,
        base,
        problems,
    };
    for error in validator.iter_errors(&piece) {
        explainer.explain(&error);
    }
    let mut found = Vec::new();
    for path in tasks.iter().rev() {
        let mut pointer = base.to_owned();
        let mut node = Some(value);
        for token in path {
            pointer.push('/');
            pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
            node = node.and_then(|n| match n {
                Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                other => other.get(token),
            });
        }
        found.extend(node.map(|node| (pointer, node)));
    }
    found
}

/// One diagnostic per problem, in document order.
fn diagnostics(file: &str, doc: &Document, problems: Vec<Problem>) -> Vec<Diagnostic> {
    let mut seen = HashSet::new();
    let mut unknown = HashSet::new();
    let mut diagnostics = Vec::new();
    for problem in problems {
        // The same unknown property is reported by a task and by its type; keep one.
        if problem.unknown && !unknown.insert(problem.pointer.clone()) {
            continue;
        }
        if seen.insert((problem.pointer.clone(), problem.message.clone())) {
            diagnostics.push(doc.diagnostic(file, &problem.pointer, problem.message));
        }
    }
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics
}

/// Walks a schema and a document together to find where the document holds tasks.
struct Finder<'s, 'b> {
    schema: &'s Value,
    path: Vec<String>,
    /// Paths of the tasks found, relative to the walk's start; the walk stops at each.
    tasks: Vec<Vec<String>>,
    budget: &'b mut usize,
}

impl<'s> Finder<'s, '_> {
    /// `hops` counts `$ref`s followed without descending, so reference cycles end.
    fn walk(&mut self, schema: &'s Value, value: &Value, hops: usize) {
        if *self.budget == 0 || hops > 64 {
            return;
        }
        *self.budget -= 1;
        let Value::Object(keywords) = schema else {
            return;
        };
        if let Some(target) = keywords.get("$ref").and_then(Value::as_str) {
            if target == "#/$defs/task" {
                if value.is_object() {
                    self.tasks.push(self.path.clone());
                }
                return;
            }
            if let Some(target) = reference(self.schema, target) {
                self.walk(target, value, hops + 1);
            }
        }
        for keyword in ["allOf", "oneOf", "anyOf"] {
            for branch in keywords
                .get(keyword)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // An alternative whose type or `const` excludes the value holds none of its tasks.
                if keyword == "allOf" || admits(branch, value) {
                    self.walk(branch, value, hops);
                }
            }
        }
        for keyword in ["if", "then", "else"] {
            if let Some(branch) = keywords.get(keyword) {
                self.walk(branch, value, hops);
            }
        }
        match value {
            Value::Object(members) => {
                let properties = keywords.get("properties").and_then(Value::as_object);
                for (key, member) in members {
                    let declared = properties.and_then(|p| p.get(key));
                    let undeclared = || keywords.get("additionalProperties");
                    if let Some(schema) = declared.or_else(undeclared) {
                        self.path.push(key.clone());
                        self.walk(schema, member, 0);
                        self.path.pop();
                    }
                }
            }
            Value::Array(items) => {
                if let Some(schema) = keywords.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        self.path.push(index.to_string());
                        self.walk(schema, item, 0);
                        self.path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether an alternative can apply to `value`, judging by its `type` and the `const`s of its
/// properties (`call: http` selects the HTTP call).
fn admits(branch: &Value, value: &Value) -> bool {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let type_ok = |t: &Value| t == kind || (kind == "integer" && t == "number");
    let types_ok = match branch.get("type") {
        Some(Value::Array(types)) => types.iter().any(type_ok),
        Some(t) => type_ok(t),
        None => true,
    };
    let parts = std::iter::once(branch).chain(
        branch
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    let consts_ok = parts
        .filter_map(|part| part.get("properties").and_then(Value::as_object))
        .flatten()
        .all(
            |(key, property)| match (property.get("const"), value.get(key)) {
                (Some(expected), Some(actual)) => expected == actual,
                _ => true,
            },
        );
    types_ok && consts_ok
}

/// A copy of `value` with the nodes at `paths` replaced by `placeholder`.
fn prune(value: &Value, paths: &[&[String]], placeholder: &Value) -> Value {
    if paths.is_empty() {
        return value.clone();
    }
    if paths.iter().any(|path| path.is_empty()) {
        return placeholder.clone();
    }
    let below = |token: &str| -> Vec<&[String]> {
        paths
            .iter()
            .filter(|path| path[0] == token)
            .map(|path| &path[1..])
            .collect()
    };
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, member)| (key.clone(), prune(member, &below(key), placeholder)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| prune(item, &below(&i.to_string()), placeholder))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::{SCHEMA, validate};
    use crate::dsl::load::parse;

    /// A workflow of `levels` nested `do` tasks around `leaf`.
    fn nested(levels: usize, leaf: &str) -> String {
        let mut text = String::from(
            "document: {dsl: '1.0.3', namespace: t, name: t, version: '0.1.0'}\ndo:\n",
        );
        let mut indent = String::new();
        for level in 0..levels {
            text.push_str(&format!("{indent}  - t{level}:\n{indent}      do:\n"));
            indent.push_str("      ");
        }
        text.push_str(&format!("{indent}  - leaf:\n{indent}      {leaf}\n"));
        text
    }

    fn check(text: &str, expected: &[&str]) {
        let document = parse("t.yaml", text).unwrap_or_else(|d| panic!("{d}"));
        let diagnostics: Vec<String> = validate("t.yaml", &document)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(diagnostics, expected, "diagnostics for\n{text}");
    }

    #[test]
    fn the_embedded_schema_compiles_and_its_placeholder_is_a_task() {
        assert!(SCHEMA.task.is_valid(&SCHEMA.placeholder));
        assert!(!SCHEMA.task.is_valid(&serde_json::json!({"set": 5})));
    }

    #[test]
    fn deep_nesting_is_explained_in_linear_time() {
        // Without pieces, explaining this takes 2^levels time and memory.
        check(&nested(150, "set: {x: 1}"), &[]);
        let levels = 150;
        let diagnostics = [format!(
            "t.yaml:{}:{}: `set` must be an object or a string; found `5` in a `set` task (at {}/leaf/set)",
            2 * levels + 4,
            6 * levels + 7,
            (0..levels)
                .map(|l| format!("/do/0/t{l}"))
                .collect::<String>()
                + "/do/0"
        )];
        let expected: Vec<&str> = diagnostics.iter().map(String::as_str).collect();
        check(&nested(levels, "set: 5"), &expected);
    }

    #[test]
    fn recursive_definitions_nested_deep_stay_within_the_stack() {
        // Each `until` holds the next; jsonschema nests one error tree per level.
        let mut text = String::from(
            "document: {dsl: '1.0.3', namespace: t, name: t, version: '0.1.0'}\n\
             do:\n  - a:\n      listen:\n        to:\n",
        );
        let mut indent = " ".repeat(10);
        for _ in 0..200 {
            text.push_str(&format!("{indent}any: []\n{indent}until:\n"));
            indent.push_str("  ");
        }
        text.push_str(&format!("{indent}any: []\n"));
        let document = parse("t.yaml", &text).unwrap_or_else(|d| panic!("{d}"));
        let diagnostics = validate("t.yaml", &document);
        assert_eq!(
            diagnostics.first().map(ToString::to_string).as_deref(),
            Some(
                "t.yaml:9:13: `listen.to.until.until` is not allowed here in a `listen` task \
                 (at /do/0/a/listen/to/until/until)"
            )
        );
    }

    #[test]
    fn problems_at_several_levels() {
        let text = "\
document: {dsl: '1.0.3', namespace: t, name: t, version: '0.1.0', extra: 1}
use:
  functions:
    f:
      call: http
      with: {method: get}
do:
  - outer:
      for: {in: '${ .items }'}
      whle: x
      do:
        - inner:
            wait: {minutes: x}
  - other:
      try:
        - x: {set: {a: 1}}
      catch: {do: [{y: {raise: {}}}]}
";
        check(
            text,
            &[
                "t.yaml:1:67: unknown property `document.extra` (at /document/extra)",
                "t.yaml:6:7: `with.endpoint` is required in a `call: http` task (at /use/functions/f/with)",
                "t.yaml:10:7: unknown property `whle` in a `for` task (at /do/0/outer/whle)",
                "t.yaml:13:20: `wait.minutes` must be an integer, found a string in a `wait` task (at /do/0/outer/do/0/inner/wait/minutes)",
                "t.yaml:17:25: `raise.error` is required in a `raise` task (at /do/1/other/catch/do/0/y/raise)",
            ],
        );
    }

    #[test]
    fn data_that_looks_like_tasks_is_not_checked_as_tasks() {
        let text = "\
document: {dsl: '1.0.3', namespace: t, name: t, version: '0.1.0'}
do:
  - a:
      call: myFunction
      with:
        subscription: {foreach: {do: [{b: {nonsense: 1}}]}}
      unknown: 1
";
        check(
            text,
            &[
                "t.yaml:7:7: unknown property `unknown` in a `call: myFunction` task (at /do/0/a/unknown)",
            ],
        );
    }
}
