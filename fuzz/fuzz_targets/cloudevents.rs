//! The CloudEvents HTTP binding (`events::binding::read`): arbitrary bodies in each content
//! mode, and arbitrary `ce-*` headers in binary mode. A rejection is fine; a panic or an
//! accepted event that fails the binding's own check is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 5] = [
    "application/cloudevents+json",
    "application/cloudevents-batch+json",
    "application/json",
    "text/plain",
    "application/octet-stream",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let content_type = TYPES[selector as usize % TYPES.len()];
    // Binary mode: the first lines (up to a blank one) are `name: value` headers.
    let text = String::from_utf8_lossy(rest);
    let (head, body) = text.split_once("\n\n").unwrap_or(("", &text));
    let headers: Vec<(String, String)> = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (format!("ce-{}", k.trim().to_ascii_lowercase()), v.trim().to_string()))
        .collect();
    if let Ok(events) = nagare::events::binding::read(Some(content_type), &headers, body.as_bytes()) {
        for e in &events {
            assert!(nagare::events::binding::check(e).is_ok(), "accepted an invalid event: {e}");
        }
    }
});
