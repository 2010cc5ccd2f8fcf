//! The CloudEvents Kafka protocol binding (1.0): a record into an event, an event into a record.
//!
//! - **structured**: the header `content-type: application/cloudevents+json`; the record's
//!   value is the whole event as JSON.
//! - **binary**: every other record. The attributes are `ce_*` headers (UTF-8, not
//!   percent-encoded, unlike HTTP), `content-type` is the `datacontenttype`, and the value is
//!   the data: JSON, text or bytes, decided by the content type exactly as over HTTP.
//!
//! Either way the event is checked by [`binding::check`], so an event is valid or not whatever
//! transport brought it. nagare writes binary mode (the binding's default, and what lets
//! consumers route on headers without parsing the value).

use crate::events::binding::{self, Invalid};
use base64::Engine as _;
use serde_json::{Map, Value};

/// A record as the binding sees it: key, headers in order, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub value: Option<Vec<u8>>,
}

impl Record {
    /// Its size as the limit counts it: key, header names and values, and value.
    pub fn size(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.key.as_ref().map_or(0, Vec::len) + headers + self.value.as_ref().map_or(0, Vec::len)
    }
}

/// [`read`], for a record of at most `limit` bytes ([`Record::size`]); a larger one is
/// invalid whatever it holds (`--max-event-bytes`, the limit of `POST /api/v1/events` too).
pub fn read_within(record: &Record, limit: usize) -> Result<Value, Invalid> {
    let size = record.size();
    if size > limit {
        return Err(Invalid(format!(
            "the record is {size} bytes, more than the {limit} bytes an event may be \
             (--max-event-bytes)"
        )));
    }
    read(record)
}

/// The event of a record; the error says what is wrong with it (for the dead-letter topic).
pub fn read(record: &Record) -> Result<Value, Invalid> {
    let header = |name: &str| {
        record
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    };
    let content_type = match header("content-type") {
        Some(v) => Some(
            std::str::from_utf8(v)
                .map_err(|_| Invalid("the header `content-type` is not UTF-8".into()))?
                .to_string(),
        ),
        None => None,
    };
    let media = content_type
        .as_deref()
        .map(binding::media_type)
        .unwrap_or_default();
    let value = record.value.as_deref().unwrap_or_default();
    if media == "application/cloudevents+json" {
        let event = binding::json(value, "the structured-mode value")?;
        binding::check(&event).map_err(|e| Invalid(format!("the event {e}")))?;
        return Ok(event);
    }
    if media == "application/cloudevents-batch+json" {
        return Err(Invalid(
            "the Kafka binding has no batch mode: send one event per record".into(),
        ));
    }
    let mut event = Map::new();
    for (name, v) in &record.headers {
        let Some(attribute) = name.strip_prefix("ce_") else {
            continue;
        };
        let text = std::str::from_utf8(v)
            .map_err(|_| Invalid(format!("the header `{name}` is not UTF-8")))?;
        event.insert(attribute.to_string(), Value::String(text.to_string()));
    }
    if event.is_empty() {
        return Err(Invalid(format!(
            "no CloudEvent in the record: give the header content-type: \
             application/cloudevents+json (structured) or ce_* headers (binary){}",
            content_type
                .as_deref()
                .map(|c| format!("; the content type was `{c}`"))
                .unwrap_or_default()
        )));
    }
    if let Some(ct) = &content_type {
        event.insert("datacontenttype".into(), Value::String(ct.clone()));
    }
    binding::put_data(&mut event, &media, value, "the value")?;
    let event = Value::Object(event);
    binding::check(&event)
        .map_err(|e| Invalid(format!("the binary-mode event (ce_* headers) {e}")))?;
    Ok(event)
}

/// The binary-mode record of an event, keyed by `key`.
pub fn write(event: &Value, key: &str) -> Record {
    let mut headers = Vec::new();
    let mut value = None;
    let empty = Map::new();
    let attributes = event.as_object().unwrap_or(&empty);
    let content_type = attributes.get("datacontenttype").and_then(Value::as_str);
    for (name, v) in attributes {
        match name.as_str() {
            "datacontenttype" => {}
            "data" => value = Some(data_bytes(v, content_type)),
            "data_base64" => {
                value = v
                    .as_str()
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            }
            _ => {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                headers.push((format!("ce_{name}"), text.into_bytes()));
            }
        }
    }
    let content_type = match (content_type, attributes.get("data")) {
        (Some(ct), _) => Some(ct.to_string()),
        // JSON data without a declared type: say so, or a reader could not tell it from text.
        (None, Some(d)) if !d.is_string() => Some("application/json".to_string()),
        _ => None,
    };
    if let Some(ct) = content_type {
        headers.push(("content-type".into(), ct.into_bytes()));
    }
    Record {
        key: Some(key.as_bytes().to_vec()),
        headers,
        value,
    }
}

/// `data` as bytes: a string under a non-JSON content type is its text, anything else JSON.
fn data_bytes(data: &Value, content_type: Option<&str>) -> Vec<u8> {
    let json = content_type.is_none_or(|c| {
        let m = binding::media_type(c);
        m == "application/json" || m.ends_with("+json")
    });
    match data {
        Value::String(s) if !json || content_type.is_none() => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binary(headers: &[(&str, &str)], value: &str) -> Record {
        Record {
            key: None,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            value: Some(value.as_bytes().to_vec()),
        }
    }

    const ATTRS: [(&str, &str); 4] = [
        ("ce_specversion", "1.0"),
        ("ce_id", "1"),
        ("ce_source", "/shop"),
        ("ce_type", "order.paid"),
    ];

    #[test]
    fn a_record_larger_than_the_limit_is_invalid_whatever_it_holds() {
        let mut h = ATTRS.to_vec();
        h.push(("content-type", "text/plain"));
        let record = binary(&h, &"x".repeat(100));
        let size = record.size();
        assert!(
            read_within(&record, size).is_ok(),
            "the limit itself is accepted"
        );
        let Err(Invalid(why)) = read_within(&record, size - 1) else {
            panic!("a record one byte over the limit was read")
        };
        assert!(why.contains("--max-event-bytes"), "{why}");
    }

    #[test]
    fn binary_json_text_and_bytes() {
        let mut h = ATTRS.to_vec();
        h.push(("content-type", "application/json"));
        let e = read(&binary(&h, r#"{"order": 7}"#)).unwrap();
        assert_eq!(e["data"], json!({"order": 7}));
        assert_eq!(e["datacontenttype"], "application/json");
        // Not percent-decoded: Kafka headers are plain UTF-8.
        let mut h = ATTRS.to_vec();
        h.push(("ce_subject", "50%25"));
        h.push(("content-type", "text/plain"));
        let e = read(&binary(&h, "hello")).unwrap();
        assert_eq!(
            (e["subject"].clone(), e["data"].clone()),
            (json!("50%25"), json!("hello"))
        );
        let mut r = binary(&ATTRS, "");
        r.value = Some(vec![0xff, 0x00]);
        r.headers
            .push(("content-type".into(), b"application/octet-stream".to_vec()));
        assert_eq!(read(&r).unwrap()["data_base64"], "/wA=");
    }

    #[test]
    fn structured() {
        let e = json!({"specversion": "1.0", "id": "9", "source": "/s", "type": "t", "data": [1]});
        let r = binary(
            &[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )],
            &e.to_string(),
        );
        assert_eq!(read(&r).unwrap(), e);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let missing = binary(&ATTRS[..3], "{}");
        assert!(
            read(&missing).unwrap_err().0.contains("`type`"),
            "{:?}",
            read(&missing)
        );
        let none = binary(&[], "hello");
        assert!(read(&none).unwrap_err().0.contains("no CloudEvent"));
        let mut bad_json = ATTRS.to_vec();
        bad_json.push(("content-type", "application/json"));
        assert!(
            read(&binary(&bad_json, "{"))
                .unwrap_err()
                .0
                .contains("not JSON")
        );
        let structured = binary(&[("content-type", "application/cloudevents+json")], "[]");
        assert!(read(&structured).unwrap_err().0.contains("JSON object"));
        let mut r = binary(&ATTRS, "");
        r.headers[1].1 = vec![0xff];
        assert!(read(&r).unwrap_err().0.contains("`ce_id` is not UTF-8"));
    }

    #[test]
    fn write_then_read_is_the_event() {
        for e in [
            json!({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "subject": "x",
                   "time": "2026-12-05T10:00:00Z", "data": {"k": [1, 2]}}),
            json!({"specversion": "1.0", "id": "2", "source": "/s", "type": "t",
                   "datacontenttype": "text/plain", "data": "hi"}),
            json!({"specversion": "1.0", "id": "3", "source": "/s", "type": "t",
                   "datacontenttype": "application/octet-stream", "data_base64": "AAE="}),
        ] {
            let r = write(&e, "k");
            assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
            let mut back = read(&r).unwrap();
            // JSON data without a type is written with one.
            if e.get("datacontenttype").is_none() {
                back.as_object_mut().unwrap().remove("datacontenttype");
            }
            assert_eq!(back, e);
        }
    }
}
