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
/// A variable must be a string, number, boolean or null, as the spec says; an array or object
/// is an error.
pub fn expand(template: &str, vars: &Val) -> Result<String, String> {
    if !template.contains('{') {
        return Ok(template.to_string());
    }
    let parsed = UriTemplateStr::new(template)
        .map_err(|e| format!("invalid URI template `{template}`: {e}"))?;
    let mut context = SimpleContext::new();
    for var in parsed.variables() {
        let name = var.as_str();
        let v = super::value::get(vars, name).unwrap_or(&Val::Null);
        if matches!(v, Val::Arr(_) | Val::Obj(_)) {
            return Err(format!(
                "URI template variable `{name}` must be a string, number, boolean or null, not {v}"
            ));
        }
        if let Some(text) = scalar(v) {
            context.insert(name.to_string(), Value::String(text));
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
        assert!(
            expand(
                "https://h/{list*}",
                &from_json(&json!({"list": ["a", "b"]}))
            )
            .is_err()
        );
        assert!(expand("https://h/{o}", &from_json(&json!({"o": {"a": 1}}))).is_err());
        assert!(expand("https://h/{unclosed", &Val::Null).is_err());
    }
}
