//! The CloudEvents HTTP protocol binding (1.0), inbound: turns a request into events, in its
//! three content modes, and says exactly what is wrong with one that is not a valid event.
//!
//! - **structured**: `Content-Type: application/cloudevents+json`, the body is one event;
//! - **batch**: `application/cloudevents-batch+json`, the body is a JSON array of events;
//! - **binary**: any other content type; the attributes are `ce-*` headers (values
//!   percent-decoded), the body is the data and its content type the `datacontenttype`.
//!   A JSON body (`application/json`, `…+json`) becomes JSON `data`; text stays text; other
//!   bytes become `data_base64`.
//!
//! Every event is checked as the CloudEvents 1.0 spec requires: `specversion` "1.0", non-empty
//! string `id`, `source` and `type`; `subject`, `datacontenttype`, `dataschema` strings if
//! present; `time` an RFC 3339 timestamp; extension names lowercase alphanumeric (≤ 20
//! characters); not both `data` and `data_base64`.

use base64::Engine as _;
use serde_json::{Map, Value};

/// Why a request holds no valid events; the message names the event (by index in a batch)
/// and the attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The events of a request. `headers` are (lowercase name, value) pairs.
pub fn read(
    content_type: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<Value>, Invalid> {
    let media = content_type.map(media_type).unwrap_or_default();
    match media.as_str() {
        "application/cloudevents+json" => {
            let event = json(body, "the structured-mode body")?;
            check(&event).map_err(|e| Invalid(format!("the event {e}")))?;
            Ok(vec![event])
        }
        "application/cloudevents-batch+json" => {
            let Value::Array(events) = json(body, "the batch body")? else {
                return Err(Invalid(
                    "a batch (application/cloudevents-batch+json) is a JSON array of events".into(),
                ));
            };
            for (i, event) in events.iter().enumerate() {
                check(event).map_err(|e| Invalid(format!("event {i} of the batch: {e}")))?;
            }
            Ok(events)
        }
        _ => {
            let event = binary(content_type, &media, headers, body)?;
            check(&event)
                .map_err(|e| Invalid(format!("the binary-mode event (ce-* headers) {e}")))?;
            Ok(vec![event])
        }
    }
}

pub(crate) fn json(body: &[u8], what: &str) -> Result<Value, Invalid> {
    serde_json::from_slice(body).map_err(|e| Invalid(format!("{what} is not JSON: {e}")))
}

fn binary(
    content_type: Option<&str>,
    media: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Value, Invalid> {
    let mut event = Map::new();
    for (name, value) in headers {
        let Some(attribute) = name.strip_prefix("ce-") else {
            continue;
        };
        let decoded = percent_decode(value).ok_or_else(|| {
            Invalid(format!(
                "the header `{name}` is not valid percent-encoded UTF-8"
            ))
        })?;
        event.insert(attribute.to_string(), Value::String(decoded));
    }
    if event.is_empty() {
        return Err(Invalid(format!(
            "no CloudEvent in the request: give Content-Type application/cloudevents+json \
             (structured), application/cloudevents-batch+json (batch), or ce-* headers \
             (binary){}",
            content_type
                .map(|c| format!("; the content type was `{c}`"))
                .unwrap_or_default()
        )));
    }
    if let Some(ct) = content_type {
        event.insert("datacontenttype".into(), Value::String(ct.to_string()));
    }
    put_data(&mut event, media, body, "the body")?;
    Ok(Value::Object(event))
}

/// The data of a binary-mode event from its payload, by its (lowercase) media type: JSON
/// (`application/json`, `…+json`) becomes JSON `data`, text stays text, other bytes become
/// `data_base64`. Shared by the HTTP and Kafka bindings; `what` names the payload in errors.
pub fn put_data(
    event: &mut Map<String, Value>,
    media: &str,
    body: &[u8],
    what: &str,
) -> Result<(), Invalid> {
    if body.is_empty() {
        return Ok(());
    }
    let is_json = media == "application/json" || media.ends_with("+json");
    if is_json {
        event.insert(
            "data".into(),
            json(body, &format!("{what} (application/json data)"))?,
        );
    } else if let Ok(text) = std::str::from_utf8(body)
        && (media.starts_with("text/") || media.is_empty())
    {
        event.insert("data".into(), Value::String(text.to_string()));
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(body);
        event.insert("data_base64".into(), Value::String(encoded));
    }
    Ok(())
}

/// The media type of a content type: lowercase, without parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Checks one event; the error says which attribute and why.
pub fn check(event: &Value) -> Result<(), String> {
    let Value::Object(m) = event else {
        return Err(format!("must be a JSON object, not {}", kind(event)));
    };
    match m.get("specversion") {
        Some(Value::String(v)) if v == "1.0" => {}
        Some(Value::String(v)) => {
            return Err(format!(
                "has specversion `{v}`; nagare reads CloudEvents 1.0"
            ));
        }
        Some(other) => return Err(format!("has a non-string specversion ({})", kind(other))),
        None => return Err("lacks the required attribute `specversion`".into()),
    }
    for name in ["id", "source", "type"] {
        match m.get(name) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) => return Err(format!("has an empty `{name}`")),
            Some(other) => return Err(format!("has a non-string `{name}` ({})", kind(other))),
            None => return Err(format!("lacks the required attribute `{name}`")),
        }
    }
    for name in ["subject", "datacontenttype", "dataschema", "time"] {
        match m.get(name) {
            None | Some(Value::String(_)) => {}
            Some(other) => return Err(format!("has a non-string `{name}` ({})", kind(other))),
        }
    }
    if let Some(Value::String(t)) = m.get("time")
        && t.parse::<jiff::Timestamp>().is_err()
    {
        return Err(format!(
            "has `time` `{t}`, which is not an RFC 3339 timestamp"
        ));
    }
    if m.contains_key("data") && m.contains_key("data_base64") {
        return Err("has both `data` and `data_base64`".into());
    }
    if let Some(Value::String(b)) = m.get("data_base64")
        && base64::engine::general_purpose::STANDARD.decode(b).is_err()
    {
        return Err("has a `data_base64` that is not base64".into());
    }
    for name in m.keys() {
        let ok = name == "data_base64"
            || (!name.is_empty()
                && name.len() <= 20
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if !ok {
            return Err(format!(
                "has the attribute `{name}`: names are lowercase letters and digits, at most 20"
            ));
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
