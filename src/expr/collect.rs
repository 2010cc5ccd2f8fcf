//! Finds every runtime expression of a definition (with its JSON pointer) and the local variable
//! names it binds, by walking the document as the schema lays it out.
//!
//! Strings in `${ }` are expressions anywhere but in JSON Schema documents. Bare strings are
//! expressions only in the fields the spec evaluates (`if`, `when`, `exceptWhen`, `while`,
//! `for.in`, `input.from`, `output.as`, `export.as`, `until`, `correlate.*.from`) and never
//! inside data (a `set` body, call arguments, event data), where a key named `when` is just data.

use super::{is_expression, source};
use serde_json::Value;

/// One expression found in a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Where it is written (RFC 6901).
    pub pointer: String,
    /// The jq source (without `${ }`).
    pub source: String,
}

/// All expressions of a document and the variable names bound by `for`, `catch` and `foreach`.
#[derive(Debug, Default)]
pub struct Collected {
    pub expressions: Vec<Found>,
    pub locals: Vec<String>,
    /// Loose mode: other data strings that may be expressions (kept only if they compile).
    pub candidates: Vec<Found>,
}

/// Keys whose value is data (templates), not DSL structure.
const DATA: [&str; 12] = [
    "set",
    "with",
    "body",
    "data",
    "headers",
    "query",
    "parameters",
    "arguments",
    "environment",
    "metadata",
    "tags",
    "payload",
];

pub fn collect(document: &Value, loose: bool) -> Collected {
    let mut out = Collected {
        locals: vec!["item".into(), "index".into(), "error".into()],
        ..Default::default()
    };
    walk(document, &mut Vec::new(), false, loose, &mut out);
    out
}

fn walk(value: &Value, path: &mut Vec<String>, data: bool, loose: bool, out: &mut Collected) {
    match value {
        Value::String(s) => {
            let pointer = pointer(path);
            if is_expression(s) {
                out.expressions.push(Found {
                    pointer,
                    source: source(s).to_string(),
                });
            } else if !data && bare(path) {
                out.expressions.push(Found {
                    pointer,
                    source: s.trim().to_string(),
                });
            } else if data && loose && !s.trim().is_empty() {
                out.candidates.push(Found {
                    pointer,
                    source: s.trim().to_string(),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(item, path, data, loose, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            locals(path, map, out);
            for (key, item) in map {
                // JSON Schema documents are not evaluated.
                if !data && key == "document" && path.last().is_some_and(|p| p == "schema") {
                    continue;
                }
                if !data
                    && key == "schema"
                    && path
                        .last()
                        .is_some_and(|p| p == "input" || p == "output" || p == "export")
                {
                    continue;
                }
                // The `with` of an AsyncAPI call holds DSL structure (a subscription's `foreach`).
                let asyncapi =
                    key == "with" && map.get("call").and_then(Value::as_str) == Some("asyncapi");
                let enters_data = data
                    || (DATA.contains(&key.as_str()) && !asyncapi)
                    || (key == "input" && path.last().is_some_and(|p| p == "workflow"))
                    || (matches!(key.as_str(), "from" | "as") && item.is_object());
                path.push(key.clone());
                walk(item, path, enters_data, loose, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Is the string at `path` (outside data) one the spec evaluates even when bare?
fn bare(path: &[String]) -> bool {
    let key = path.last().map(String::as_str).unwrap_or("");
    let parent = path
        .len()
        .checked_sub(2)
        .map(|i| path[i].as_str())
        .unwrap_or("");
    let grand = path
        .len()
        .checked_sub(3)
        .map(|i| path[i].as_str())
        .unwrap_or("");
    match key {
        "if" | "when" | "exceptWhen" | "while" | "until" => true,
        "in" => parent == "for",
        "from" => parent == "input" || grand == "correlate",
        "as" => parent == "output" || parent == "export",
        _ => false,
    }
}

fn locals(path: &[String], map: &serde_json::Map<String, Value>, out: &mut Collected) {
    let names: &[&str] = match path.last().map(String::as_str) {
        Some("for") => &["each", "at"],
        Some("catch") => &["as"],
        Some("foreach") => &["item", "at"],
        _ => &[],
    };
    for name in names {
        if let Some(Value::String(v)) = map.get(*name) {
            out.locals.push(v.trim_start_matches('$').to_string());
        }
    }
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_expressions_and_locals() {
        let doc = json!({
            "do": [
                {"a": {"if": ".ok", "set": {"when": "not an expression", "x": "${ .x }"}}},
                {"b": {"for": {"each": "color", "in": ".colors"}, "do": []}},
                {"c": {"try": [], "catch": {"as": "err", "when": "$err.status == 404"}}},
                {"d": {"input": {"from": ".user", "schema": {"document": {"default": "${ nope }"}}}, "output": {"as": {"y": "${ .y }"}}}}
            ]
        });
        let c = collect(&doc, false);
        let found: Vec<(&str, &str)> = c
            .expressions
            .iter()
            .map(|f| (f.pointer.as_str(), f.source.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("/do/0/a/if", ".ok"),
                ("/do/0/a/set/x", ".x"),
                ("/do/1/b/for/in", ".colors"),
                ("/do/2/c/catch/when", "$err.status == 404"),
                ("/do/3/d/input/from", ".user"),
                ("/do/3/d/output/as/y", ".y"),
            ]
        );
        assert!(c.locals.contains(&"color".to_string()) && c.locals.contains(&"err".to_string()));
    }
}
