//! Types YAML scalars the way the YAML 1.2 core schema does, into JSON values.
//!
//! Plain scalars resolve to null, booleans, integers (decimal, `0o`, `0x`), floats or strings;
//! quoted and block scalars are strings; the core tags (`!!str`, `!!int`, `!!float`,
//! `!!bool`, `!!null`) force a type, and other tags are rejected. JSON cannot hold `.inf`,
//! `.nan` or overflowing floats, so those are errors; integers beyond i64/u64 become floats,
//! as serde_json does for JSON text.

use serde_json::{Number, Value};
use yaml_rust2::parser::Tag;
use yaml_rust2::scanner::TScalarStyle;

/// The prefix of the YAML core tags, as yaml-rust2 resolves `!!`.
const CORE_TAG: &str = "tag:yaml.org,2002:";

/// A tag as people write it: `!!int` for core tags, the full tag otherwise.
pub(super) fn tag_name(tag: &Tag) -> String {
    let full = format!("{}{}", tag.handle, tag.suffix);
    match full.strip_prefix(CORE_TAG) {
        Some(core) => format!("!!{core}"),
        None => full,
    }
}

/// The JSON value of a scalar under the YAML 1.2 core schema.
pub(super) fn scalar_value(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, String> {
    let Some(tag) = tag else {
        return if style == TScalarStyle::Plain {
            plain(text)
        } else {
            Ok(Value::String(text.to_owned()))
        };
    };
    let name = tag_name(tag);
    let wrong = || format!("`{text}` is not a valid `{name}`");
    match name.as_str() {
        // The non-specific tag `!` makes a scalar a string.
        "!" | "!!str" => Ok(Value::String(text.to_owned())),
        "!!null" => match plain(text)? {
            Value::Null => Ok(Value::Null),
            _ => Err(wrong()),
        },
        "!!bool" => match plain(text)? {
            Value::Bool(b) => Ok(Value::Bool(b)),
            _ => Err(wrong()),
        },
        "!!int" => match integer(text) {
            Some(value) => value,
            None => Err(wrong()),
        },
        "!!float" => match (integer(text), float(text)) {
            (Some(Ok(Value::Number(n))), _) => n
                .as_f64()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(wrong),
            (_, Some(value)) => value,
            _ => Err(wrong()),
        },
        _ => Err(format!("unsupported tag `{name}`")),
    }
}

/// Resolves a plain scalar: null, bool, int, float, else string.
fn plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Some(value) = integer(text).or_else(|| float(text)) {
        return value;
    }
    Ok(Value::String(text.to_owned()))
}

/// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`; `None` when the text is not an integer.
fn integer(text: &str) -> Option<Result<Value, String>> {
    let (digits, radix) = if let Some(octal) = text.strip_prefix("0o") {
        (octal, 8)
    } else if let Some(hex) = text.strip_prefix("0x") {
        (hex, 16)
    } else {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number = if let Ok(i) = text.parse::<i64>() {
            Number::from(i)
        } else if let Ok(u) = text.trim_start_matches('+').parse::<u64>() {
            Number::from(u)
        } else {
            // Beyond 64 bits: a float, as serde_json reads such JSON numbers.
            return Some(finite(text.parse::<f64>().unwrap_or(f64::INFINITY), text));
        };
        return Some(Ok(Value::Number(number)));
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(match u64::from_str_radix(digits, radix) {
        Ok(u) => Ok(Value::Number(Number::from(u))),
        Err(_) => {
            let wide = digits.chars().fold(0.0_f64, |acc, c| {
                acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
            });
            finite(wide, text)
        }
    })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` and the infinities and NaN, which
/// JSON cannot hold; `None` when the text is not a float.
fn float(text: &str) -> Option<Result<Value, String>> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(Err(format!(
            "`{text}` is not a number JSON can represent (quote it to make it a string)"
        )));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match fraction {
        None => !whole.is_empty() && digits(whole),
        Some(fraction) if whole.is_empty() => !fraction.is_empty() && digits(fraction),
        Some(fraction) => digits(whole) && digits(fraction),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    Some(finite(text.parse::<f64>().unwrap_or(f64::NAN), text))
}

fn finite(number: f64, text: &str) -> Result<Value, String> {
    Number::from_f64(number)
        .map(Value::Number)
        .ok_or_else(|| format!("`{text}` is out of the range of numbers JSON can represent"))
}
