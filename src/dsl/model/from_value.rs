//! Deserializing a JSON value into the model with the JSON pointer of the first error.
//!
//! Tasks are split by hand (see `task.rs`), which hides the inner path from serde: the inner
//! error is carried in the message as `POINTER\u{1f}MESSAGE` and re-joined by [`from_value`].

use serde::de::DeserializeOwned;
use serde_json::Value;

const SEP: char = '\u{1f}';

/// Deserializes `value`; on error returns the JSON pointer of the failing node and a message.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let outer = pointer(e.path());
        let message = e.inner().to_string();
        match message.split_once(SEP) {
            Some((inner, msg)) => (format!("{outer}{inner}"), msg.to_string()),
            None => (outer, message),
        }
    })
}

/// Wraps an inner error so that [`from_value`] can recover its pointer.
pub fn nest<E: serde::de::Error>(prefix: &str, (inner, message): (String, String)) -> E {
    E::custom(format!("{prefix}{inner}{SEP}{message}"))
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape(key))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

/// RFC 6901 escaping of one reference token.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
