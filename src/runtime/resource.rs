//! External resources a definition names (schema documents, for now): read from a file path
//! or `file://` URI, or fetched over HTTP(S) through the HTTP client (its host map applies).
//! JSON and YAML both load.

use crate::functions::http;

/// Loads the document at `uri`; the error says what failed and where.
pub async fn fetch(client: &http::Client, uri: &str) -> Result<serde_json::Value, String> {
    let text = if uri.starts_with("http://") || uri.starts_with("https://") {
        let request = http::Request {
            method: "get".into(),
            uri: uri.into(),
            output: http::OutputMode::Content,
            ..Default::default()
        };
        match client
            .call(request)
            .await
            .map_err(|e| format!("cannot fetch {uri}: {e}"))?
        {
            serde_json::Value::String(text) => text,
            json => return Ok(json),
        }
    } else {
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?
    };
    crate::dsl::load::parse(uri, &text)
        .map(|d| d.value)
        .map_err(|d| d.to_string())
}
