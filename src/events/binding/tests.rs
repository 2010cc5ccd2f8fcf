use super::*;
use serde_json::json;

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const EVENT: &str = r#"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}"#;

#[test]
fn structured_mode_is_one_event() {
    let events = read(
        Some("application/cloudevents+json; charset=utf-8"),
        &[],
        EVENT.as_bytes(),
    )
    .unwrap();
    assert_eq!(events, [serde_json::from_str::<Value>(EVENT).unwrap()]);
}

#[test]
fn batch_mode_is_an_array_and_names_the_bad_event() {
    let body = format!("[{EVENT},{{\"specversion\":\"1.0\",\"id\":\"2\",\"type\":\"t\"}}]");
    let err = read(
        Some("application/cloudevents-batch+json"),
        &[],
        body.as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        err.0,
        "event 1 of the batch: lacks the required attribute `source`"
    );
    let ok = read(
        Some("application/cloudevents-batch+json"),
        &[],
        format!("[{EVENT}]").as_bytes(),
    )
    .unwrap();
    assert_eq!(ok.len(), 1);
    let err = read(
        Some("application/cloudevents-batch+json"),
        &[],
        EVENT.as_bytes(),
    )
    .unwrap_err();
    assert!(err.0.contains("JSON array"), "{err}");
}

#[test]
fn binary_mode_reads_headers_and_data() {
    let headers = h(&[
        ("ce-specversion", "1.0"),
        ("ce-id", "42"),
        ("ce-source", "/orders"),
        ("ce-type", "order.paid"),
        ("ce-subject", "caf%C3%A9%20au%20lait"),
        ("x-other", "ignored"),
    ]);
    let events = read(Some("application/json"), &headers, br#"{"order":7}"#).unwrap();
    assert_eq!(
        events[0],
        json!({"specversion":"1.0","id":"42","source":"/orders","type":"order.paid",
               "subject":"café au lait","datacontenttype":"application/json","data":{"order":7}})
    );
    let text = read(Some("text/plain"), &headers, b"hello").unwrap();
    assert_eq!(text[0]["data"], "hello");
    let bytes = read(
        Some("application/octet-stream"),
        &headers,
        &[0, 159, 146, 150],
    )
    .unwrap();
    assert_eq!(bytes[0]["data_base64"], "AJ+Slg==");
    assert!(bytes[0].get("data").is_none());
}

#[test]
fn errors_say_what_is_wrong() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "application/cloudevents+json",
            "{",
            "the structured-mode body is not JSON",
        ),
        (
            "application/cloudevents+json",
            "[]",
            "must be a JSON object, not an array",
        ),
        (
            "application/cloudevents+json",
            r#"{"id":"1","source":"/s","type":"t"}"#,
            "lacks the required attribute `specversion`",
        ),
        (
            "application/cloudevents+json",
            r#"{"specversion":"0.3","id":"1","source":"/s","type":"t"}"#,
            "specversion `0.3`",
        ),
        (
            "application/cloudevents+json",
            r#"{"specversion":"1.0","id":"","source":"/s","type":"t"}"#,
            "an empty `id`",
        ),
        (
            "application/cloudevents+json",
            r#"{"specversion":"1.0","id":1,"source":"/s","type":"t"}"#,
            "non-string `id` (a number)",
        ),
        (
            "application/cloudevents+json",
            r#"{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"yesterday"}"#,
            "not an RFC 3339 timestamp",
        ),
        (
            "application/cloudevents+json",
            r#"{"specversion":"1.0","id":"1","source":"/s","type":"t","Bad":1}"#,
            "attribute `Bad`",
        ),
        (
            "application/cloudevents+json",
            r#"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1,"data_base64":"AA=="}"#,
            "both `data` and `data_base64`",
        ),
    ];
    for (ct, body, expected) in cases {
        let err = read(Some(ct), &[], body.as_bytes()).unwrap_err();
        assert!(err.0.contains(expected), "{body}: {err}");
    }
    let err = read(Some("application/json"), &[], b"{}").unwrap_err();
    assert!(err.0.contains("no CloudEvent in the request"), "{err}");
    assert!(err.0.contains("`application/json`"), "{err}");
    let missing = h(&[
        ("ce-specversion", "1.0"),
        ("ce-id", "1"),
        ("ce-source", "/s"),
    ]);
    let err = read(Some("text/plain"), &missing, b"x").unwrap_err();
    assert!(
        err.0.contains("binary-mode") && err.0.contains("`type`"),
        "{err}"
    );
    let bad = h(&[("ce-id", "%zz")]);
    assert!(
        read(None, &bad, b"")
            .unwrap_err()
            .0
            .contains("percent-encoded")
    );
}
