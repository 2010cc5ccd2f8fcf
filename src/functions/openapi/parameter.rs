//! One declared OpenAPI parameter and how its value is written in a path, query or header.

use serde_json::Value;

use crate::functions::http::scalar_text;

/// A parameter, with how its arrays are written. Objects are written as JSON text.
pub(super) struct Parameter {
    pub name: String,
    /// `path`, `query`, `header`, `cookie`, or Swagger's `body` and `formData`.
    pub location: String,
    pub required: bool,
    /// Arrays as repeated `name=value` pairs (Swagger `multi`, OpenAPI `explode`).
    explode: bool,
    /// Between array items otherwise.
    separator: &'static str,
}

impl Parameter {
    /// Reads a (resolved) parameter object; None when it lacks `name` or `in`.
    pub fn read(raw: &Value, swagger: bool) -> Option<Self> {
        let name = raw.get("name")?.as_str()?.to_string();
        let location = raw.get("in")?.as_str()?.to_string();
        let required = raw.get("required").and_then(Value::as_bool);
        // Path parameters are always required (both specs say so).
        let required = required.unwrap_or(false) || location == "path";
        let (explode, separator) = if swagger {
            match raw.get("collectionFormat").and_then(Value::as_str) {
                Some("multi") => (true, ","),
                Some("ssv") => (false, " "),
                Some("tsv") => (false, "\t"),
                Some("pipes") => (false, "|"),
                _ => (false, ","),
            }
        } else {
            let default_style = match location.as_str() {
                "query" | "cookie" => "form",
                _ => "simple",
            };
            let style = raw.get("style").and_then(Value::as_str);
            let style = style.unwrap_or(default_style);
            let explode = raw.get("explode").and_then(Value::as_bool);
            let separator = match style {
                "spaceDelimited" => " ",
                "pipeDelimited" => "|",
                _ => ",",
            };
            (explode.unwrap_or(style == "form"), separator)
        };
        Some(Parameter {
            name,
            location,
            required,
            explode,
            separator,
        })
    }

    /// The value as one string: array items joined by the separator.
    pub fn joined(&self, value: &Value) -> String {
        match value {
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(scalar_text).collect();
                items.join(self.separator)
            }
            other => scalar_text(other),
        }
    }

    /// The query pairs of the value: one per item when exploded, else one.
    pub fn query_pairs(&self, value: &Value) -> Vec<(String, String)> {
        match value {
            Value::Array(items) if self.explode => items
                .iter()
                .map(|item| (self.name.clone(), scalar_text(item)))
                .collect(),
            other => vec![(self.name.clone(), self.joined(other))],
        }
    }
}
