//! `GET /api/v1/workflows/{namespace}/{name}/graph`: the latest version's tasks as a tree the
//! UI's graph view draws — each task with its kind, its nested lists (a `do`, a `for` body, a
//! fork's branches, `try` and `catch`, a listen's `foreach`), a switch's cases, and where
//! `then` goes, with jumps resolved to the reference of the task they name. References are
//! the engine's, so a run's task records colour the nodes they belong to.

use super::{App, Problem};
use crate::dsl::model::from_value::escape;
use crate::runtime::plan::Plan;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use std::sync::Arc;

/// The task kinds of the DSL, by the key that names them in a task; `for` before `do`, since
/// a for task has both.
const KINDS: [&str; 12] = [
    "call", "for", "do", "emit", "fork", "listen", "raise", "run", "set", "switch", "try", "wait",
];

pub async fn graph(
    State(app): State<Arc<App>>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<Value>, Problem> {
    let plan = app.runs.plans.plan(&namespace, &name).await?;
    Ok(Json(json!({
        "namespace": namespace,
        "name": name,
        "version": plan.key.version,
        "tasks": tree(&app, &plan).await?,
    })))
}

/// The task tree of the plan's (latest) version; the grid's rows are its top level.
pub(super) async fn tree(app: &App, plan: &Plan) -> Result<Vec<Value>, Problem> {
    let key = &plan.key;
    let stored =
        app.store.workflow(key).await?.ok_or_else(|| {
            Problem::not_found(format!("no workflow {}/{}", key.namespace, key.name))
        })?;
    let document = crate::dsl::load::parse("workflow", &stored.source).map_err(|e| {
        crate::runtime::runs::Error::Definition(format!("the stored definition does not load: {e}"))
    })?;
    Ok(list(&document.value["do"], "/do"))
}

/// A task list at `pointer`: its nodes in order, `then: <name>` resolved among them.
pub fn list(items: &Value, pointer: &str) -> Vec<Value> {
    let entries: Vec<(String, &Value)> = items
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let (name, task) = entry.as_object()?.iter().next()?;
            Some((name.clone(), task))
        })
        .collect();
    let reference = |i: usize, name: &str| format!("{pointer}/{i}/{}", escape(name));
    let resolve = |then: &Value| -> Value {
        match then.as_str() {
            None => Value::Null,
            Some(keyword @ ("continue" | "exit" | "end")) => json!(keyword),
            Some(target) => match entries.iter().position(|(n, _)| n == target) {
                Some(i) => json!({"task": target, "reference": reference(i, target)}),
                None => json!({"task": target, "reference": null}),
            },
        }
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, (name, task))| {
            let at = reference(i, name);
            let kind = KINDS
                .iter()
                .find(|k| task.get(**k).is_some())
                .copied()
                .unwrap_or("unknown");
            let cases: Vec<Value> = if kind == "switch" {
                task["switch"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| {
                        let (case, body) = c.as_object()?.iter().next()?;
                        Some(json!({"name": case, "when": body.get("when"),
                            "then": resolve(&body["then"])}))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            json!({
                "reference": at,
                "name": name,
                "kind": kind,
                "detail": detail(kind, task),
                "then": resolve(&task["then"]),
                "cases": cases,
                "lists": lists(kind, task, &at),
            })
        })
        .collect()
}

/// The nested lists of a task, each `{label, parallel, tasks}`.
fn lists(kind: &str, task: &Value, at: &str) -> Vec<Value> {
    let nested = |label: String, items: &Value, pointer: String, parallel: bool| json!({"label": label, "parallel": parallel, "tasks": list(items, &pointer)});
    match kind {
        "do" => vec![nested("do".into(), &task["do"], format!("{at}/do"), false)],
        "for" => {
            let each = task["for"]["each"].as_str().unwrap_or("item");
            let over = task["for"]["in"].as_str().unwrap_or("");
            vec![nested(
                format!("for each {each} in {over}"),
                &task["do"],
                format!("{at}/do"),
                false,
            )]
        }
        "fork" => vec![nested(
            if task["fork"]["compete"] == true {
                "branches (compete)".into()
            } else {
                "branches".into()
            },
            &task["fork"]["branches"],
            format!("{at}/fork/branches"),
            true,
        )],
        "try" => {
            let mut out = vec![nested(
                "try".into(),
                &task["try"],
                format!("{at}/try"),
                false,
            )];
            if task["catch"]["do"].is_array() {
                out.push(nested(
                    "catch".into(),
                    &task["catch"]["do"],
                    format!("{at}/catch/do"),
                    false,
                ));
            }
            out
        }
        "listen" if task["foreach"]["do"].is_array() => vec![nested(
            "for each event".into(),
            &task["foreach"]["do"],
            format!("{at}/foreach/do"),
            false,
        )],
        _ => Vec::new(),
    }
}

/// A few words under the task's name: what it calls, runs, emits, waits for.
fn detail(kind: &str, task: &Value) -> String {
    let body = &task[kind];
    let text = match kind {
        "call" => body.as_str().map(str::to_string),
        "run" => ["container", "script", "shell", "workflow"]
            .into_iter()
            .find(|k| body.get(*k).is_some())
            .map(|k| match k {
                "container" => format!("container {}", body[k]["image"].as_str().unwrap_or("")),
                "shell" => format!("shell {}", body[k]["command"].as_str().unwrap_or("")),
                "workflow" => format!("workflow {}", body[k]["name"].as_str().unwrap_or("")),
                _ => format!("script {}", body[k]["language"].as_str().unwrap_or("")),
            }),
        "emit" => body["event"]["with"]["type"].as_str().map(str::to_string),
        "listen" => ["one", "all", "any"]
            .into_iter()
            .find(|k| body["to"].get(*k).is_some())
            .map(|k| format!("{k} event{}", if k == "one" { "" } else { "s" })),
        "raise" => body["error"]["type"]
            .as_str()
            .or(body["error"].as_str())
            .map(str::to_string),
        "wait" => Some(match &task["wait"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        _ => None,
    };
    let text = text.unwrap_or_default();
    // A long shell command or event type would stretch its node across the page.
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(yaml: &str) -> Vec<Value> {
        let source =
            format!("document: {{dsl: '1.0.3', namespace: t, name: w, version: '1'}}\n{yaml}");
        let document = crate::dsl::load::parse("workflow", &source).expect("loads");
        list(&document.value["do"], "/do")
    }

    #[test]
    fn nested_lists_carry_the_engine_references() {
        let t = tasks(
            "do:\n\
             - loop:\n    for: {each: x, in: '${ .xs }'}\n    do:\n      - inner: {set: {a: 1}}\n\
             - both:\n    fork:\n      branches:\n        - l: {set: {b: 1}}\n        - r: {wait: PT1S}\n\
             - guarded:\n    try:\n      - risky: {raise: {error: {type: x, status: 500}}}\n    catch:\n      do:\n        - recover: {set: {c: 1}}\n",
        );
        assert_eq!(t[0]["kind"], "for");
        assert_eq!(t[0]["lists"][0]["label"], "for each x in ${ .xs }");
        assert_eq!(
            t[0]["lists"][0]["tasks"][0]["reference"],
            "/do/0/loop/do/0/inner"
        );
        assert_eq!(t[1]["lists"][0]["parallel"], true);
        assert_eq!(
            t[1]["lists"][0]["tasks"][1]["reference"],
            "/do/1/both/fork/branches/1/r"
        );
        assert_eq!(t[1]["lists"][0]["tasks"][1]["detail"], "PT1S");
        assert_eq!(
            t[2]["lists"][0]["tasks"][0]["reference"],
            "/do/2/guarded/try/0/risky"
        );
        assert_eq!(
            t[2]["lists"][1]["tasks"][0]["reference"],
            "/do/2/guarded/catch/do/0/recover"
        );
    }

    #[test]
    fn top_level_tasks_in_order_with_escaped_references() {
        let t = tasks("do:\n  - a: {set: {x: 1}}\n  - 'b/c': {set: {y: 2}}\n");
        let rows: Vec<Value> = t
            .iter()
            .map(|n| json!({"reference": n["reference"], "name": n["name"]}))
            .collect();
        assert_eq!(
            rows,
            vec![
                json!({"reference": "/do/0/a", "name": "a"}),
                json!({"reference": "/do/1/b~1c", "name": "b/c"}),
            ]
        );
    }

    #[test]
    fn switch_cases_and_jumps_resolve_to_sibling_references() {
        let t = tasks(
            "do:\n\
             - check:\n    switch:\n      - big: {when: '${ .n > 1 }', then: 'a/b'}\n      - other: {then: exit}\n\
             - skipped: {set: {x: 1}, then: nowhere}\n\
             - 'a/b': {set: {y: 1}, then: end}\n",
        );
        assert_eq!(t[0]["kind"], "switch");
        assert_eq!(t[0]["cases"][0]["name"], "big");
        assert_eq!(t[0]["cases"][0]["then"]["reference"], "/do/2/a~1b");
        assert_eq!(t[0]["cases"][1]["then"], "exit");
        assert_eq!(t[1]["then"]["reference"], Value::Null);
        assert_eq!(t[2]["then"], "end");
    }
}
