//! Turns jsonschema's errors into one clear problem each.
//!
//! jsonschema reports a failed `oneOf` with the errors of every alternative (a task is a
//! `oneOf` of twelve task types, a call a `oneOf` of seven), and a failed alternative makes a
//! sibling `unevaluatedProperties: false` flag every property. So:
//! - a task's alternative is picked by its type key (`call`, `set`, … and `do` when no other
//!   is present), any other `oneOf`/`anyOf` alternative by how well the value fits it (a wrong
//!   type or `const` on the value rules an alternative out); when none stands out, one problem
//!   lists the accepted forms;
//! - unknown-property errors keep only properties the schema declares nowhere, and point at
//!   the property itself;
//! - messages name the property relative to the enclosing task and say what was expected.

use std::collections::HashSet;

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

/// Task types keyed by the property that selects them. `do` is also a property of `for`
/// tasks, so it selects a `do` task only when none of these is present.
const TASK_KEYS: [&str; 11] = [
    "call", "emit", "for", "fork", "listen", "raise", "run", "set", "switch", "try", "wait",
];

/// Weight of an error that shows a value is not of an alternative's kind at all.
const MISFIT: usize = 1000;
/// Weight of a property an alternative requires directly on the value.
const MISSING: usize = 100;
/// How many nested alternatives an explanation follows; jsonschema nests one error tree per
/// level of recursive definitions (an `until` inside an `until`…), and our stack is finite.
const MAX_NESTING: usize = 48;

/// One problem, at an absolute pointer into the document.
pub(super) struct Problem {
    pub(super) pointer: String,
    pub(super) message: String,
    /// An unknown property (reported once per pointer).
    pub(super) unknown: bool,
}

/// The task an error belongs to: where it is and how messages call it.
struct Task {
    pointer: String,
    /// "a `call: http` task".
    label: String,
}

/// Turns the errors of one part of the document into problems.
pub(super) struct Explainer<'a> {
    pub(super) schema: &'a Value,
    /// The part being explained (its nested tasks replaced by placeholders).
    pub(super) instance: &'a Value,
    /// Where `instance` sits in the document; error pointers are relative to it.
    pub(super) base: &'a str,
    pub(super) problems: &'a mut Vec<Problem>,
}

impl Explainer<'_> {
    /// Adds the problems `error` stands for.
    pub(super) fn explain(&mut self, error: &ValidationError<'_>) {
        self.explain_in(error, None, 0);
    }

    fn explain_in(&mut self, error: &ValidationError<'_>, task: Option<&Task>, nesting: usize) {
        let pointer = error.instance_path().as_str();
        let keyword = self.schema.pointer(error.schema_path().as_str());
        match error.kind() {
            ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
                if nesting >= MAX_NESTING =>
            {
                let message = format!(
                    "{} matches none of its accepted forms (nested too deeply to say more){}",
                    self.subject(pointer, task),
                    within(task)
                );
                self.push(pointer, message);
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                if error.schema_path().as_str() == "/$defs/task/oneOf" {
                    return self.task(error, context, keyword, nesting);
                }
                match self.choose(pointer, context) {
                    Some(branch) => {
                        for error in &context[branch] {
                            self.explain_in(error, task, nesting + 1);
                        }
                    }
                    None => self.forms(pointer, keyword, task, false),
                }
            }
            ValidationErrorKind::OneOfMultipleValid { .. } => {
                self.forms(pointer, keyword, task, true)
            }
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let owner = parent_pointer(error.schema_path().as_str());
                let schema = self.schema;
                let declared = schema
                    .pointer(owner)
                    .map(|owner| declared(schema, owner))
                    .unwrap_or_default();
                for property in unexpected.iter().filter(|p| !declared.contains(p.as_str())) {
                    let at = format!("{pointer}/{}", escape(property));
                    let message = format!(
                        "unknown property `{}`{}",
                        self.name(&at, task),
                        within(task)
                    );
                    self.problems.push(Problem {
                        pointer: format!("{}{at}", self.base),
                        message,
                        unknown: true,
                    });
                }
            }
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let at = format!("{pointer}/{}", escape(property));
                let message = format!("`{}` is required{}", self.name(&at, task), within(task));
                self.push(pointer, message);
            }
            ValidationErrorKind::MaxProperties { limit: 1 } => self.one_entry(pointer, task),
            ValidationErrorKind::FalseSchema => {
                let message = format!(
                    "`{}` is not allowed here{}",
                    self.name(pointer, task),
                    within(task)
                );
                self.push(pointer, message);
            }
            ValidationErrorKind::Not { schema } => {
                let message = match schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                {
                    Some([Value::String(property)]) => {
                        let at = format!("{pointer}/{}", escape(property));
                        return self.push(
                            &at,
                            format!(
                                "`{}` is not allowed here{}",
                                self.name(&at, task),
                                within(task)
                            ),
                        );
                    }
                    _ => format!(
                        "{} {}{}",
                        self.subject(pointer, task),
                        describe_not(schema),
                        within(task)
                    ),
                };
                self.push(pointer, message);
            }
            kind => {
                let found = self.instance.pointer(pointer);
                let what = match kind {
                    ValidationErrorKind::Type { .. } => format!(
                        "must be {}, found {}",
                        expected_type(keyword),
                        found.map_or("nothing", kind_of)
                    ),
                    ValidationErrorKind::Constant { expected_value } => {
                        format!("must be {}", quote(expected_value))
                    }
                    ValidationErrorKind::Enum { options } => format!(
                        "must be one of {}{}",
                        options
                            .as_array()
                            .map_or_else(String::new, |o| list(o.iter().map(quote), "or")),
                        shown(found)
                    ),
                    ValidationErrorKind::Pattern { pattern } => {
                        format!("must be {}{}", describe_pattern(pattern), shown(found))
                    }
                    ValidationErrorKind::MinProperties { limit } => {
                        format!(
                            "must have at least {limit} {}",
                            plural(*limit, "entry", "entries")
                        )
                    }
                    ValidationErrorKind::MinItems { limit } => {
                        format!(
                            "must have at least {limit} {}",
                            plural(*limit, "item", "items")
                        )
                    }
                    ValidationErrorKind::Maximum { limit } => {
                        format!("must be at most {limit}{}", shown(found))
                    }
                    ValidationErrorKind::Minimum { limit } => {
                        format!("must be at least {limit}{}", shown(found))
                    }
                    ValidationErrorKind::ExclusiveMaximum { limit } => {
                        format!("must be less than {limit}{}", shown(found))
                    }
                    ValidationErrorKind::ExclusiveMinimum { limit } => {
                        format!("must be more than {limit}{}", shown(found))
                    }
                    ValidationErrorKind::MinLength { limit } => format!(
                        "must have at least {limit} {}",
                        plural(*limit, "character", "characters")
                    ),
                    ValidationErrorKind::MaxLength { limit } => format!(
                        "must have at most {limit} {}",
                        plural(*limit, "character", "characters")
                    ),
                    ValidationErrorKind::MaxItems { limit } => format!(
                        "must have at most {limit} {}",
                        plural(*limit, "item", "items")
                    ),
                    _ => format!("is invalid: {error}"),
                };
                let message = format!("{} {what}{}", self.subject(pointer, task), within(task));
                self.push(pointer, message);
            }
        }
    }

    /// A task failed: explain it with the alternative its type key selects.
    fn task(
        &mut self,
        error: &ValidationError<'_>,
        context: &[Vec<ValidationError<'static>>],
        keyword: Option<&Value>,
        nesting: usize,
    ) {
        let pointer = error.instance_path().as_str();
        let name = self.last_token(pointer);
        let Some(Value::Object(task)) = self.instance.pointer(pointer) else {
            let found = self.instance.pointer(pointer).map_or("nothing", kind_of);
            return self.push(
                pointer,
                format!("task `{name}` must be an object, found {found}"),
            );
        };
        let key = match task_key(task) {
            Ok(key) => key,
            Err(message) => return self.push(pointer, format!("task `{name}` {message}")),
        };
        let target = format!("#/$defs/{key}Task");
        let branch = keyword.and_then(Value::as_array).and_then(|branches| {
            branches
                .iter()
                .position(|b| b.get("$ref").and_then(Value::as_str) == Some(&target))
        });
        let label = match (key, task.get("call").and_then(Value::as_str)) {
            ("call", Some(function)) => format!("a `call: {function}` task"),
            ("emit", _) => "an `emit` task".to_owned(),
            _ => format!("a `{key}` task"),
        };
        let task = Task {
            pointer: pointer.to_owned(),
            label,
        };
        match branch.and_then(|b| context.get(b)) {
            Some(errors) => {
                for error in errors {
                    self.explain_in(error, Some(&task), nesting + 1);
                }
            }
            None => self.forms(pointer, keyword, Some(&task), false),
        }
    }

    /// The alternative of a failed `oneOf`/`anyOf` the value fits best, if one stands out.
    fn choose(&self, pointer: &str, context: &[Vec<ValidationError<'static>>]) -> Option<usize> {
        let scores: Vec<usize> = context
            .iter()
            .map(|errors| misfit(depth(pointer), errors))
            .collect();
        let best = scores.iter().copied().min()?;
        let mut winners = scores.iter().enumerate().filter(|(_, s)| **s == best);
        match (winners.next(), winners.next()) {
            (Some((branch, _)), None) => Some(branch),
            _ => None,
        }
    }

    /// One diagnostic listing the forms a value may take.
    fn forms(
        &mut self,
        pointer: &str,
        keyword: Option<&Value>,
        task: Option<&Task>,
        ambiguous: bool,
    ) {
        let branches: Vec<&Value> = keyword
            .and_then(Value::as_array)
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        let resolved: Vec<&Value> = branches.iter().map(|b| resolve(self.schema, b)).collect();
        let keys: Option<Vec<String>> = resolved
            .iter()
            .map(|b| {
                let required = b.get("required")?.as_array()?;
                let names: Vec<String> = required
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|k| format!("`{k}`"))
                    .collect();
                (!names.is_empty() && b.get("type").is_none_or(|t| t == "object"))
                    .then(|| names.join(" + "))
            })
            .collect();
        let subject = self.subject(pointer, task);
        let message = match keys {
            Some(keys) if ambiguous => {
                format!("{subject} must have only one of {}", list(keys, "or"))
            }
            Some(keys) => format!("{subject} must have one of {}", list(keys, "or")),
            None => {
                let mut forms: Vec<String> = Vec::new();
                for (branch, target) in branches.iter().zip(&resolved) {
                    let form = describe(branch, target);
                    if !forms.contains(&form) {
                        forms.push(form);
                    }
                }
                let verb = if ambiguous {
                    "matches more than one of"
                } else {
                    "must be"
                };
                format!(
                    "{subject} {verb} {}{}",
                    list(forms, "or"),
                    shown(self.instance.pointer(pointer))
                )
            }
        };
        self.push(pointer, format!("{message}{}", within(task)));
    }

    /// A list item that must hold one entry holds more: point at the first extra one.
    fn one_entry(&mut self, pointer: &str, task: Option<&Task>) {
        let Some(Value::Object(entries)) = self.instance.pointer(pointer) else {
            return;
        };
        let list_name = self.name(parent_pointer(pointer), task);
        for extra in entries.keys().skip(1) {
            let at = format!("{pointer}/{}", escape(extra));
            let message = format!(
                "`{extra}` must be an item of its own in `{list_name}` (`- {extra}:`): an item holds exactly one entry"
            );
            self.push(&at, message);
        }
    }

    fn push(&mut self, pointer: &str, message: String) {
        self.problems.push(Problem {
            pointer: format!("{}{pointer}", self.base),
            message,
            unknown: false,
        });
    }

    /// How messages call the value at `pointer`.
    fn subject(&self, pointer: &str, task: Option<&Task>) -> String {
        let name = self.name(pointer, task);
        match (name.is_empty(), task) {
            (false, _) => format!("`{name}`"),
            (true, Some(task)) => format!("task `{}`", self.last_token(&task.pointer)),
            (true, None) => "the workflow".to_owned(),
        }
    }

    /// The name of the task or property at `pointer`: its last token in the document.
    fn last_token(&self, pointer: &str) -> String {
        let absolute = format!("{}{pointer}", self.base);
        unescape(absolute.rsplit('/').next().unwrap_or_default())
    }

    /// `pointer` as a dotted path (`with.endpoint`, `switch[0].then`), relative to the task.
    fn name(&self, pointer: &str, task: Option<&Task>) -> String {
        let base = task.map_or("", |t| t.pointer.as_str());
        let (mut node, rest) = match pointer.strip_prefix(base) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                (self.instance.pointer(base), rest)
            }
            _ => (Some(self.instance), pointer),
        };
        let mut name = String::new();
        for token in rest.split('/').skip(1).map(unescape) {
            match node {
                Some(Value::Array(items)) => {
                    name.push_str(&format!("[{token}]"));
                    node = token.parse::<usize>().ok().and_then(|i| items.get(i));
                }
                _ => {
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push_str(&token);
                    node = node.and_then(|n| n.get(&token));
                }
            }
        }
        name
    }
}

/// The task type of a task object, or what is wrong with it.
pub(super) fn task_key(task: &Map<String, Value>) -> Result<&'static str, String> {
    let present: Vec<&'static str> = TASK_KEYS
        .into_iter()
        .filter(|k| task.contains_key(*k))
        .collect();
    match present.as_slice() {
        [key] => Ok(key),
        [] if task.contains_key("do") => Ok("do"),
        [] => {
            let mut keys: Vec<&str> = TASK_KEYS.to_vec();
            keys.push("do");
            keys.sort_unstable();
            let keys = keys.iter().map(|k| format!("`{k}`"));
            Err(format!(
                "has no task type: expected one of {}",
                list(keys, "or")
            ))
        }
        keys => Err(format!(
            "has more than one task type ({}); a task has exactly one",
            list(keys.iter().map(|k| format!("`{k}`")), "and")
        )),
    }
}

/// Every property name `schema` declares, through `$ref`, `allOf`, `oneOf`, `anyOf` and
/// `if`/`then`/`else`: a property that failed alternatives leave unevaluated is still known.
fn declared<'s>(root: &'s Value, schema: &'s Value) -> HashSet<&'s str> {
    let mut names = HashSet::new();
    let mut pending = vec![schema];
    let mut visited = HashSet::new();
    while let Some(node) = pending.pop() {
        // `$ref`s are recursive (a task list holds tasks); visit each schema node once.
        if !visited.insert(std::ptr::from_ref(node)) {
            continue;
        }
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            names.extend(properties.keys().map(String::as_str));
        }
        if let Some(target) = node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| reference(root, r))
        {
            pending.push(target);
        }
        for keyword in ["allOf", "oneOf", "anyOf"] {
            if let Some(branches) = node.get(keyword).and_then(Value::as_array) {
                pending.extend(branches);
            }
        }
        pending.extend(["if", "then", "else"].iter().filter_map(|k| node.get(*k)));
    }
    names
}

/// The schema a local `$ref` (`#/$defs/…`) designates.
pub(super) fn reference<'s>(root: &'s Value, reference: &str) -> Option<&'s Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// A branch that is only a `$ref` stands for its target.
fn resolve<'s>(root: &'s Value, branch: &'s Value) -> &'s Value {
    branch
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| reference(root, r))
        .unwrap_or(branch)
}

/// How badly the value at depth `base` fails an alternative: a wrong type or `const` on the
/// value rules it out, a missing property of the value weighs less, anything deeper is a
/// detail. A nested `oneOf`/`anyOf` on the value or a child counts as its best alternative
/// (deeper ones are details, which also bounds the recursion).
fn misfit(base: usize, errors: &[ValidationError<'_>]) -> usize {
    errors
        .iter()
        .map(|error| {
            let relative = depth(error.instance_path().as_str()).saturating_sub(base);
            match error.kind() {
                ValidationErrorKind::Type { .. } if relative == 0 => MISFIT,
                ValidationErrorKind::Enum { .. } if relative == 0 => MISFIT,
                ValidationErrorKind::Constant { .. } | ValidationErrorKind::Not { .. }
                    if relative <= 1 =>
                {
                    MISFIT
                }
                ValidationErrorKind::Required { .. } if relative == 0 => MISSING,
                ValidationErrorKind::OneOfNotValid { context }
                | ValidationErrorKind::AnyOf { context }
                    if relative <= 1 =>
                {
                    context
                        .iter()
                        .map(|errors| misfit(base, errors))
                        .min()
                        .unwrap_or(1)
                        .max(1)
                }
                _ => 1,
            }
        })
        .fold(0, usize::saturating_add)
}

fn depth(pointer: &str) -> usize {
    pointer.matches('/').count()
}

fn within(task: Option<&Task>) -> String {
    task.map_or_else(String::new, |task| format!(" in {}", task.label))
}

fn parent_pointer(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// "a, b or c".
fn list(items: impl IntoIterator<Item = String>, conjunction: &str) -> String {
    let items: Vec<String> = items.into_iter().collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `type` keyword's types as prose.
fn expected_type(keyword: Option<&Value>) -> String {
    let article = |t: &str| match t {
        "null" => "null".to_owned(),
        "object" | "array" | "integer" => format!("an {t}"),
        _ => format!("a {t}"),
    };
    match keyword {
        Some(Value::String(t)) => article(t),
        Some(Value::Array(types)) => {
            list(types.iter().filter_map(Value::as_str).map(article), "or")
        }
        _ => "of another type".to_owned(),
    }
}

fn quote(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// "; found `x`" for a short scalar, to show what was written.
fn shown(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) if s.chars().count() <= 60 => format!("; found `{s}`"),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => format!("; found `{v}`"),
        Some(other @ (Value::Null | Value::Array(_) | Value::Object(_))) => {
            format!("; found {}", kind_of(other))
        }
        _ => String::new(),
    }
}

/// What the schema's patterns mean, so messages do not quote regular expressions.
fn describe_pattern(pattern: &str) -> String {
    if pattern.contains(r"\$\{") {
        "a runtime expression `${ … }`".to_owned()
    } else if pattern.starts_with(r"^(0|[1-9]\d*)\.") {
        "a semantic version such as `1.0.0`".to_owned()
    } else if pattern.starts_with("^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}") {
        "a name of letters, digits and `-` (at most 63, not starting or ending with `-`)".to_owned()
    } else if pattern.starts_with("^[a-zA-Z0-9](?:[a-zA-Z0-9-.]{0,61}") {
        "a host name".to_owned()
    } else if pattern.starts_with("^P") {
        "an ISO 8601 duration such as `PT30S`".to_owned()
    } else if pattern.contains("://") {
        "an absolute URI such as `https://example.com/path`".to_owned()
    } else {
        format!("a string matching `{pattern}`")
    }
}

/// One accepted form of a value, for listing alternatives.
fn describe(branch: &Value, target: &Value) -> String {
    let title = branch
        .get("title")
        .or_else(|| target.get("title"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match title {
        "RuntimeExpression" | "DurationExpression" => {
            return "a runtime expression `${ … }`".to_owned();
        }
        "UriTemplate" | "LiteralUriTemplate" | "LiteralUri" | "LiteralEndpointURI" => {
            return "an absolute URI such as `https://example.com/path`".to_owned();
        }
        "DurationLiteral" => return "an ISO 8601 duration such as `PT30S`".to_owned(),
        "DurationInline" => {
            return "an object of `days`, `hours`, `minutes`, `seconds`, `milliseconds`".to_owned();
        }
        _ => {}
    }
    if let Some(pattern) = target.get("pattern").and_then(Value::as_str) {
        return describe_pattern(pattern);
    }
    match target.get("type") {
        Some(kind @ (Value::String(_) | Value::Array(_))) => {
            let described = expected_type(Some(kind));
            if title.is_empty() || !described.contains("object") {
                described
            } else {
                format!("{described} ({title})")
            }
        }
        _ if !title.is_empty() => title.to_owned(),
        _ => "another form".to_owned(),
    }
}

fn describe_not(schema: &Value) -> String {
    match schema.get("enum").and_then(Value::as_array) {
        Some(options) => format!("must not be {}", list(options.iter().map(quote), "or")),
        None => format!("must not match {schema}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use crate::dsl::load::parse;

    const HEADER: &str = "document: {dsl: '1.0.3', namespace: test, name: t, version: '0.1.0'}\n";

    /// Validates `HEADER` + `body` and compares the diagnostics, printed, with `expected`.
    fn check(body: &str, expected: &[&str]) {
        let text = format!("{HEADER}{body}");
        let document = parse("t.yaml", &text).unwrap_or_else(|d| panic!("{d}"));
        let diagnostics: Vec<String> = validate("t.yaml", &document)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(diagnostics, expected, "diagnostics for\n{text}");
    }

    #[test]
    fn valid_workflow() {
        check("do:\n  - a:\n      set: {x: 1}\n", &[]);
    }

    #[test]
    fn unknown_property_points_at_the_property() {
        check(
            "do:\n  - getPet:\n      call: http\n      with:\n        method: get\n        endpoint: https://x.io/\n      foo: bar\n",
            &["t.yaml:8:7: unknown property `foo` in a `call: http` task (at /do/0/getPet/foo)"],
        );
        check(
            "do:\n  - getPet:\n      call: http\n      with: {method: get, endpoint: 'https://x.io', bdy: 1}\n",
            &[
                "t.yaml:5:53: unknown property `with.bdy` in a `call: http` task (at /do/0/getPet/with/bdy)",
            ],
        );
        check(
            "do:\n  - a:\n      set: {x: 1}\n      iff: x\n",
            &["t.yaml:5:7: unknown property `iff` in a `set` task (at /do/0/a/iff)"],
        );
    }

    #[test]
    fn missing_property() {
        check(
            "do:\n  - getPet:\n      call: http\n      with:\n        endpoint: https://x.io/\n",
            &[
                "t.yaml:5:7: `with.method` is required in a `call: http` task (at /do/0/getPet/with)",
            ],
        );
        check(
            "do:\n  - a:\n      for: {each: x}\n      do: []\n",
            &["t.yaml:4:7: `for.in` is required in a `for` task (at /do/0/a/for)"],
        );
    }

    #[test]
    fn task_types() {
        check(
            "do:\n  - a:\n      set: {x: 1}\n      wait: PT1S\n",
            &[
                "t.yaml:3:5: task `a` has more than one task type (`set` and `wait`); a task has exactly one (at /do/0/a)",
            ],
        );
        check(
            "do:\n  - a:\n      then: end\n",
            &[
                "t.yaml:3:5: task `a` has no task type: expected one of `call`, `do`, `emit`, `for`, `fork`, `listen`, `raise`, `run`, `set`, `switch`, `try` or `wait` (at /do/0/a)",
            ],
        );
        check(
            "do:\n  - a: 3\n",
            &["t.yaml:3:5: task `a` must be an object, found an integer (at /do/0/a)"],
        );
        check(
            "do:\n  - a:\n      do:\n        - b:\n            call: grpc\n            with: {}\n",
            &[
                "t.yaml:7:13: `with.proto` is required in a `call: grpc` task (at /do/0/a/do/0/b/with)",
                "t.yaml:7:13: `with.service` is required in a `call: grpc` task (at /do/0/a/do/0/b/with)",
                "t.yaml:7:13: `with.method` is required in a `call: grpc` task (at /do/0/a/do/0/b/with)",
            ],
        );
    }

    #[test]
    fn two_tasks_in_one_item() {
        check(
            "do:\n  - a:\n      set: {x: 1}\n    b:\n      set: {y: 2}\n",
            &[
                "t.yaml:5:5: `b` must be an item of its own in `do` (`- b:`): an item holds exactly one entry (at /do/0/b)",
            ],
        );
    }

    #[test]
    fn alternatives() {
        check(
            "do:\n  - a:\n      wait: 5 minutes\n",
            &[
                "t.yaml:4:7: `wait` must be an object of `days`, `hours`, `minutes`, `seconds`, `milliseconds`, a runtime expression `${ … }` or an ISO 8601 duration such as `PT30S`; found `5 minutes` in a `wait` task (at /do/0/a/wait)",
            ],
        );
        check(
            "do:\n  - a:\n      wait: {minutes: x}\n",
            &[
                "t.yaml:4:14: `wait.minutes` must be an integer, found a string in a `wait` task (at /do/0/a/wait/minutes)",
            ],
        );
        check(
            "do:\n  - a:\n      run: {await: true}\n",
            &[
                "t.yaml:4:7: `run` must have one of `container`, `script`, `shell` or `workflow` in a `run` task (at /do/0/a/run)",
            ],
        );
        check(
            "do:\n  - a:\n      call: http\n      with:\n        method: get\n        endpoint:\n          uri: https://x.io\n          authentication:\n            bearer: {tokn: x}\n",
            &[
                "t.yaml:10:13: `with.endpoint.authentication.bearer.token` is required in a `call: http` task (at /do/0/a/with/endpoint/authentication/bearer)",
                "t.yaml:10:22: unknown property `with.endpoint.authentication.bearer.tokn` in a `call: http` task (at /do/0/a/with/endpoint/authentication/bearer/tokn)",
            ],
        );
        check(
            "do:\n  - a:\n      listen:\n        to:\n          any: []\n          until:\n            any: []\n            until: ${ true }\n",
            &[
                "t.yaml:9:13: `listen.to.until.until` is not allowed here in a `listen` task (at /do/0/a/listen/to/until/until)",
            ],
        );
    }

    #[test]
    fn scalars() {
        check(
            "do:\n  - a:\n      call: http\n      with: {method: get, endpoint: 'https://x.io', output: json}\n",
            &[
                "t.yaml:5:53: `with.output` must be one of `raw`, `content` or `response`; found `json` in a `call: http` task (at /do/0/a/with/output)",
            ],
        );
        check(
            "do:\n  - a:\n      set: 5\n",
            &[
                "t.yaml:4:7: `set` must be an object or a string; found `5` in a `set` task (at /do/0/a/set)",
            ],
        );
        check(
            "do:\n  - a:\n      set: {}\n",
            &["t.yaml:4:7: `set` must have at least 1 entry in a `set` task (at /do/0/a/set)"],
        );
    }

    #[test]
    fn document_section() {
        let text = "document: {dsl: '1.0', namespace: Test_1, name: t}\ndo: []\n";
        let document = parse("t.yaml", text).unwrap_or_else(|d| panic!("{d}"));
        let diagnostics: Vec<String> = validate("t.yaml", &document)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            diagnostics,
            [
                "t.yaml:1:1: `document.version` is required (at /document)",
                "t.yaml:1:12: `document.dsl` must be a semantic version such as `1.0.0`; found `1.0` (at /document/dsl)",
                "t.yaml:1:24: `document.namespace` must be a name of letters, digits and `-` (at most 63, not starting or ending with `-`); found `Test_1` (at /document/namespace)",
            ]
        );
        let document = parse("t.yaml", "[1]").unwrap_or_else(|d| panic!("{d}"));
        let diagnostics: Vec<String> = validate("t.yaml", &document)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            diagnostics,
            ["t.yaml:1:1: the workflow must be an object, found an array (at /)"]
        );
    }
}
