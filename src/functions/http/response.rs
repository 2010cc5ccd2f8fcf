//! Turns a received response into the call's output (content, response or raw) or its error.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value, json};

use super::{OutputMode, Prepared, Received};
use crate::error::Error;

/// How much of an error response's body goes into the error's detail.
const EXCERPT_CHARS: usize = 200;

pub(super) fn output(
    prepared: &Prepared,
    received: Received,
    mode: OutputMode,
    redirect: bool,
) -> Result<Value, Error> {
    check_status(prepared, &received, redirect)?;
    match mode {
        OutputMode::Raw if received.body.is_empty() => Ok(Value::Null),
        OutputMode::Raw => Ok(Value::String(STANDARD.encode(&received.body))),
        OutputMode::Content => content(prepared, &received),
        OutputMode::Response => Ok(json!({
            "request": {
                // Lowercase, as the DSL writes methods and the spec's example shows.
                "method": prepared.method.as_str().to_ascii_lowercase(),
                "uri": prepared.uri.as_str(),
                // What the workflow asked for; credentials added by a policy are not echoed.
                "headers": header_map(&prepared.headers),
            },
            "statusCode": received.status.as_u16(),
            "headers": header_map(&received.headers),
            "content": content(prepared, &received)?,
        })),
    }
}

/// The spec's rule: 2xx is success; 3xx too when `redirect` is set; anything else raises.
fn check_status(prepared: &Prepared, received: &Received, redirect: bool) -> Result<(), Error> {
    let status = received.status;
    if status.is_success() || (redirect && status.is_redirection()) {
        return Ok(());
    }
    let mut detail = format!("{} answered {}", prepared.describe(), status.as_u16());
    if status.is_redirection() {
        detail.push_str(" (redirects are not followed; `redirect: true` accepts 3xx)");
    }
    let excerpt = excerpt(&received.body);
    if !excerpt.is_empty() {
        detail.push_str(": ");
        detail.push_str(&excerpt);
    }
    let title = status.canonical_reason().unwrap_or("Unexpected Status");
    Err(Error::communication(status.as_u16(), title, detail))
}

/// The body as a value: JSON deserialized, text as a string, other bytes base64, none as null.
fn content(prepared: &Prepared, received: &Received) -> Result<Value, Error> {
    let body = &received.body;
    if body.is_empty() {
        return Ok(Value::Null);
    }
    let declared = received
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type);
    let Some(media) = declared else {
        // No declared type: take the most specific reading that fits.
        return Ok(serde_json::from_slice(body).unwrap_or_else(|_| {
            match std::str::from_utf8(body) {
                Ok(text) => Value::String(text.to_string()),
                Err(_) => Value::String(STANDARD.encode(body)),
            }
        }));
    };
    if is_json(&media) {
        serde_json::from_slice(body).map_err(|e| {
            Error::communication(
                502,
                "Bad Gateway",
                format!(
                    "{} answered {} with a {media} body that is not JSON: {e}",
                    prepared.describe(),
                    received.status.as_u16()
                ),
            )
        })
    } else if is_text(&media) {
        Ok(Value::String(String::from_utf8_lossy(body).into_owned()))
    } else {
        Ok(Value::String(STANDARD.encode(body)))
    }
}

/// `Application/JSON; charset=utf-8` → `application/json`.
pub(super) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

fn is_text(media: &str) -> bool {
    media.starts_with("text/")
        || media.ends_with("+xml")
        || media.ends_with("+yaml")
        || matches!(
            media,
            "application/xml"
                | "application/yaml"
                | "application/x-yaml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
        )
}

/// Header names as received (lowercase on the wire in HTTP/2, normalized so by hyper);
/// repeated headers joined with ", " as RFC 9110 allows.
fn header_map(headers: &HeaderMap) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match map.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                map.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    Value::Object(map)
}

/// The start of a body on one line, for error details.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
