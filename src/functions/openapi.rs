//! `call: openapi`: fetches an OpenAPI 3.x or Swagger 2.0 document and calls one of its operations.
//!
//! The document is fetched through the same [`Client`] (the host map applies), parsed as JSON
//! or YAML, and kept per URI for the client's life. The operation is found by `operationId`,
//! the arguments are laid out by each parameter's `in` (see [`operation`]), and the request
//! then goes through `call: http` with the call's authentication, output and redirect rule.

mod operation;
mod parameter;
mod server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use serde_json::{Map, Value};

use super::http::{self, Client, OutputMode};
use crate::error::Error;

/// One OpenAPI call, every expression already evaluated.
#[derive(Clone, Default)]
pub struct Request {
    /// The URI of the OpenAPI or Swagger document (`document.endpoint.uri`).
    pub document: String,
    /// The resolved authentication of the document's endpoint, if it has one.
    pub document_authentication: Option<Value>,
    pub operation_id: String,
    /// Arguments by parameter name; a body is taken from its parameter's name (Swagger's
    /// `in: body`, or `body` for OpenAPI 3) or else from the arguments no parameter claims.
    pub parameters: Map<String, Value>,
    /// The resolved authentication policy of the operation call.
    pub authentication: Option<Value>,
    pub output: OutputMode,
    pub redirect: bool,
}

// Written by hand so that logging a request never prints its credentials.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |a: &Option<Value>| a.as_ref().map(|_| "<redacted>");
        f.debug_struct("Request")
            .field("document", &self.document)
            .field(
                "document_authentication",
                &redacted(&self.document_authentication),
            )
            .field("operation_id", &self.operation_id)
            .field("parameters", &self.parameters)
            .field("authentication", &redacted(&self.authentication))
            .field("output", &self.output)
            .field("redirect", &self.redirect)
            .finish()
    }
}

/// Parsed documents by URI. Only successes are kept, so a document that failed to load is
/// fetched again by the next call.
#[derive(Default)]
pub(super) struct Documents(Mutex<HashMap<String, Arc<Value>>>);

impl Client {
    /// Calls `request.operation_id` of `request.document`.
    pub async fn openapi(&self, request: Request) -> Result<Value, Error> {
        let document_uri = Url::parse(&request.document).map_err(|e| {
            Error::configuration(format!(
                "'{}' is not an absolute document URI: {e}",
                request.document
            ))
        })?;
        let document = self
            .document(&request.document, request.document_authentication.clone())
            .await?;
        let call = operation::layout(
            &document,
            &document_uri,
            &request.operation_id,
            &request.parameters,
        )?;
        self.call(http::Request {
            method: call.method,
            uri: call.uri,
            headers: call.headers,
            query: call.query,
            body: call.body,
            output: request.output,
            redirect: request.redirect,
            authentication: request.authentication,
        })
        .await
    }

    async fn document(
        &self,
        uri: &str,
        authentication: Option<Value>,
    ) -> Result<Arc<Value>, Error> {
        let cache = &self.documents().0;
        if let Some(document) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(uri) {
            return Ok(document.clone());
        }
        let content = self
            .call(http::Request {
                method: "GET".into(),
                uri: uri.to_string(),
                headers: vec![(
                    "Accept".into(),
                    "application/json, application/yaml;q=0.9, */*;q=0.8".into(),
                )],
                authentication,
                ..Default::default()
            })
            .await?;
        let document = match content {
            Value::Object(_) => content,
            Value::String(text) => parse(uri, &text)?,
            _ => return Err(not_a_document(uri, "it is neither JSON nor YAML text")),
        };
        if !document.is_object() {
            return Err(not_a_document(uri, "it is not an object"));
        }
        let document = Arc::new(document);
        cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uri.to_string(), document.clone());
        Ok(document)
    }
}

/// JSON first (the common case, and faster), then YAML.
fn parse(uri: &str, text: &str) -> Result<Value, Error> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    crate::dsl::load::parse(uri, text)
        .map(|document| document.value)
        .map_err(|d| not_a_document(uri, &format!("{}:{}: {}", d.line, d.column, d.message)))
}

fn not_a_document(uri: &str, why: &str) -> Error {
    Error::configuration(format!(
        "the OpenAPI document at {uri} cannot be read: {why}"
    ))
}
