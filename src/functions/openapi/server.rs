//! The URL an OpenAPI operation is sent to: the document's server plus the filled path template.

use reqwest::Url;
use serde_json::{Map, Value};

use super::parameter::Parameter;
use crate::error::Error;
use crate::functions::http::scalar_text;

/// Swagger 2.0: `schemes` (https preferred, else the first, else the document's), `host`
/// (else the document's) and `basePath`.
pub(super) fn swagger(
    document: &Value,
    operation: &Value,
    document_uri: &Url,
) -> Result<Url, Error> {
    let schemes = operation.get("schemes").or(document.get("schemes"));
    let schemes: Vec<&str> = schemes
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let scheme = if schemes.contains(&"https") {
        "https"
    } else {
        schemes.first().copied().unwrap_or(document_uri.scheme())
    };
    let host = match document.get("host").and_then(Value::as_str) {
        Some(host) => host.to_string(),
        None => {
            let host = document_uri.host_str().unwrap_or_default();
            match document_uri.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        }
    };
    let base_path = document.get("basePath").and_then(Value::as_str);
    let text = format!("{scheme}://{host}{}", base_path.unwrap_or(""));
    Url::parse(&text).map_err(|e| bad_server(document_uri, &text, e))
}

/// OpenAPI 3.x: the first server of the innermost of `levels` (operation, path item, document)
/// that declares one, its variables set to their defaults, resolved against the document URI.
pub(super) fn openapi(levels: [&Value; 3], document_uri: &Url) -> Result<Url, Error> {
    let server = levels
        .iter()
        .find_map(|level| level.get("servers")?.as_array()?.first());
    let mut text = server
        .and_then(|s| s.get("url"))
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let variables = server.and_then(|s| s.get("variables")?.as_object());
    for (name, variable) in variables.into_iter().flatten() {
        let default = variable.get("default").map(scalar_text).unwrap_or_default();
        text = text.replace(&format!("{{{name}}}"), &default);
    }
    document_uri
        .join(&text)
        .map_err(|e| bad_server(document_uri, &text, e))
}

fn bad_server(document_uri: &Url, text: &str, error: impl std::fmt::Display) -> Error {
    Error::configuration(format!(
        "{document_uri}: server '{text}' is not a URL: {error}"
    ))
}

/// Appends the path template to `server`, each `{name}` replaced by its argument, and
/// returns the names it used.
pub(super) fn append_path(
    server: &mut Url,
    template: &str,
    parameters: &[Parameter],
    arguments: &Map<String, Value>,
    operation_id: &str,
) -> Result<Vec<String>, Error> {
    let mut used = Vec::new();
    let mut segments = Vec::new();
    for raw in template.split('/').filter(|s| !s.is_empty()) {
        let mut segment = String::new();
        let mut rest = raw;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').map(|i| open + i).ok_or_else(|| {
                Error::configuration(format!(
                    "operation '{operation_id}': bad path template '{template}'"
                ))
            })?;
            let name = &rest[open + 1..close];
            let value = arguments
                .get(name)
                .filter(|v| !v.is_null())
                .ok_or_else(|| {
                    Error::configuration(format!(
                        "operation '{operation_id}' requires the path parameter '{name}'"
                    ))
                })?;
            let declared = parameters
                .iter()
                .find(|p| p.name == name && p.location == "path");
            segment.push_str(&rest[..open]);
            segment.push_str(&match declared {
                Some(parameter) => parameter.joined(value),
                None => scalar_text(value),
            });
            used.push(name.to_string());
            rest = &rest[close + 1..];
        }
        segment.push_str(rest);
        segments.push(segment);
    }
    let text = server.to_string();
    let mut path = server
        .path_segments_mut()
        .map_err(|_| Error::configuration(format!("server URL {text} cannot take a path")))?;
    // `path_segments_mut` percent-encodes each segment, so arguments cannot inject `/` or `?`.
    path.pop_if_empty().extend(segments);
    Ok(used)
}
