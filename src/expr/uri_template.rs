//! RFC 6570 URI templates (`https://host/pets/{petId}{?status}`), expanded from the top-level
//! fields of a value (the spec's "simple interpolation": only top-level variables).

use super::Val;
use iri_string::spec::UriSpec;
use iri_string::template::UriTemplateStr;
use iri_string::template::simple_context::{SimpleContext, Value};

/// Checks that `template` is a valid URI template.
pub fn check(template: &str) -> Result<(), String> {
    UriTemplateStr::new(template)
        .map(|_| ())
        .map_err(|e| format!("invalid URI template `{template}`: {e}"))
}

/// Expands `template` with the fields of `vars` (an object; other values expand nothing).
/// Strings, numbers and booleans are values; arrays are lists, objects associative arrays.
pub fn expand(template: &str, vars: &Val) -> Result<String, String> {
    if !template.contains('{') {
        return Ok(template.to_string());
    }
    let parsed = UriTemplateStr::new(template)
        .map_err(|e| format!("invalid URI template `{template}`: {e}"))?;
    let mut context = SimpleContext::new();
    if let Val::Obj(map) = vars {
        for (k, v) in map.iter() {
            let Some(name) = super::value::as_str(k) else {
                continue;
            };
            context.insert(name.into_owned(), value(v));
        }
    }
    parsed
        .expand::<UriSpec, _>(&context)
        .map(|e| e.to_string())
        .map_err(|e| format!("cannot expand URI template `{template}`: {e}"))
}

fn scalar(v: &Val) -> Option<String> {
    match v {
        Val::Null | Val::Arr(_) | Val::Obj(_) => None,
        Val::TStr(_) | Val::BStr(_) => super::value::as_str(v).map(|s| s.into_owned()),
        other => Some(other.to_string()),
    }
}

fn value(v: &Val) -> Value {
    match v {
        Val::Arr(items) => Value::List(items.iter().filter_map(scalar).collect()),
        Val::Obj(map) => Value::Assoc(
            map.iter()
                .filter_map(|(k, v)| Some((super::value::as_str(k)?.into_owned(), scalar(v)?)))
                .collect(),
        ),
        other => scalar(other).map_or(Value::Undefined, Value::String),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::from_json;
    use serde_json::json;

    fn check(template: &str, vars: serde_json::Value, want: &str) {
        assert_eq!(expand(template, &from_json(&vars)).unwrap(), want);
    }

    #[test]
    fn expands() {
        check(
            "https://h/pet/{petId}",
            json!({"petId": 1}),
            "https://h/pet/1",
        );
        check(
            "https://h/p?status={status}",
            json!({"status": "available"}),
            "https://h/p?status=available",
        );
        check(
            "https://h/{name}",
            json!({"name": "a b"}),
            "https://h/a%20b",
        );
        check(
            "https://h/s{?q,n}",
            json!({"q": "x", "n": 2}),
            "https://h/s?q=x&n=2",
        );
        check("https://h/{missing}", json!({}), "https://h/");
        check(
            "https://h/{list*}",
            json!({"list": ["a", "b"]}),
            "https://h/a,b",
        );
        assert!(expand("https://h/{unclosed", &Val::Null).is_err());
    }
}
