//! Conversions between `serde_json::Value` (the model, the wire) and jaq's values (evaluation).

use super::Val;
use jaq_json::Num;
use serde::Deserialize;
use serde_json::Value;

/// Converts JSON into a jaq value (numbers keep their integer-ness).
pub fn from_json(value: &Value) -> Val {
    // A serde_json::Value always deserializes into a Val; the fallback is unreachable in practice.
    Val::deserialize(value).unwrap_or(Val::Null)
}

/// Converts a jaq value back into JSON. Non-finite numbers become null (JSON has no NaN);
/// non-string object keys are written as their JSON text.
pub fn to_json(value: &Val) -> Value {
    match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => number(n),
        Val::TStr(b) | Val::BStr(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Val::Arr(items) => Value::Array(items.iter().map(to_json).collect()),
        Val::Obj(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Val::TStr(b) | Val::BStr(b) => String::from_utf8_lossy(b).into_owned(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
    }
}

fn number(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::from(*i as i64),
        Num::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        other => {
            let text = other.to_string();
            if let Ok(i) = text.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Value::from(u)
            } else {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
    }
}

/// A string value.
pub fn string(s: &str) -> Val {
    Val::utf8_str(s.as_bytes().to_vec())
}

/// The text of a string value, if it is one.
pub fn as_str(v: &Val) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Val::TStr(b) | Val::BStr(b) => Some(String::from_utf8_lossy(b)),
        _ => None,
    }
}

/// Looks up `key` in an object value.
pub fn get<'a>(v: &'a Val, key: &str) -> Option<&'a Val> {
    match v {
        Val::Obj(map) => map.get(&string(key)),
        _ => None,
    }
}

/// Builds an object value from string keys.
pub fn object<'a>(entries: impl IntoIterator<Item = (&'a str, Val)>) -> Val {
    Val::obj(entries.into_iter().map(|(k, v)| (string(k), v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let v =
            json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}, "big": 18446744073709551615u64});
        assert_eq!(to_json(&from_json(&v)), v);
    }
}
