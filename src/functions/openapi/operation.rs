//! Finds an operation by `operationId` and lays its arguments out as an HTTP request.
//!
//! - Server: see [`super::server`]. Parameters: the path item's, overridden by the
//!   operation's, local `$ref`s followed; `path` substituted and percent-encoded, `query`
//!   appended, `header` and `cookie` sent as headers, arrays written per [`Parameter`].
//! - Body: Swagger `in: body` takes the argument of its name, `formData` parameters make a form;
//!   OpenAPI `requestBody` takes the `body` argument (or `x-codegen-request-body-name`). Without
//!   that argument, the arguments no parameter claims form the body object, as other SDKs do.
//!   JSON media types are preferred, then form; multipart is not supported.
//! - `Accept` asks for JSON when the operation produces it.
//! - A missing required parameter or body, or an unknown operation → `configuration`.

use std::collections::HashSet;

use reqwest::Url;
use serde_json::{Map, Value};

use super::parameter::Parameter;
use super::server;
use crate::error::Error;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const FORM: &str = "application/x-www-form-urlencoded";

/// The HTTP request an operation call amounts to.
pub(super) struct Call {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

pub(super) fn layout(
    document: &Value,
    document_uri: &Url,
    operation_id: &str,
    arguments: &Map<String, Value>,
) -> Result<Call, Error> {
    let swagger = match (document.get("swagger"), document.get("openapi")) {
        (Some(Value::String(v)), _) if v.starts_with('2') => true,
        (_, Some(Value::String(v))) if v.starts_with('3') => false,
        _ => {
            return Err(Error::configuration(format!(
                "{document_uri} is not an OpenAPI 3.x or Swagger 2.0 document"
            )));
        }
    };
    let (path, method, item, operation) = find(document, operation_id).ok_or_else(|| {
        Error::configuration(format!(
            "no operation '{operation_id}' in the OpenAPI document {document_uri}"
        ))
    })?;
    let op = Operation {
        document,
        operation_id,
        item,
        operation,
        swagger,
    };
    let parameters = op.parameters()?;
    let mut url = if swagger {
        server::swagger(document, operation, document_uri)?
    } else {
        server::openapi([operation, item, document], document_uri)?
    };
    let used = server::append_path(&mut url, path, &parameters, arguments, operation_id)?;
    let mut claimed: HashSet<String> = used.into_iter().collect();
    let mut call = Call {
        method: method.to_string(),
        uri: url.to_string(),
        headers: Vec::new(),
        query: Vec::new(),
        body: None,
    };
    let mut form = Map::new();
    for parameter in parameters.iter().filter(|p| p.location != "body") {
        let name = parameter.name.as_str();
        let Some(value) = arguments.get(name).filter(|v| !v.is_null()) else {
            if parameter.required {
                return Err(op.missing(&parameter.location, name));
            }
            continue;
        };
        claimed.insert(name.to_string());
        match parameter.location.as_str() {
            "path" => {} // placed by `append_path`
            "query" => call.query.extend(parameter.query_pairs(value)),
            "header" => call.headers.push((name.into(), parameter.joined(value))),
            "cookie" => {
                let cookie = format!("{name}={}", parameter.joined(value));
                call.headers.push(("Cookie".into(), cookie));
            }
            "formData" => {
                form.insert(name.into(), value.clone());
            }
            other => {
                return Err(Error::configuration(format!(
                    "operation '{operation_id}': parameter '{name}' is in unknown location '{other}'"
                )));
            }
        }
    }
    let (body, media) = op.body(&parameters, arguments, &claimed, form)?;
    if let (Some(_), Some(media)) = (&body, media)
        && !has_header(&call.headers, "content-type")
    {
        call.headers.push(("Content-Type".into(), media));
    }
    call.body = body;
    if let Some(accept) = op.accepted()
        && !has_header(&call.headers, "accept")
    {
        call.headers.push(("Accept".into(), accept.to_string()));
    }
    Ok(call)
}

/// The path template, method, path item and operation of `operation_id`.
fn find<'a>(
    document: &'a Value,
    operation_id: &str,
) -> Option<(&'a str, &'static str, &'a Value, &'a Value)> {
    let paths = document.get("paths")?.as_object()?;
    paths.iter().find_map(|(path, item)| {
        METHODS.iter().find_map(|method| {
            let operation = item.get(*method)?;
            let found = operation.get("operationId")?.as_str()? == operation_id;
            found.then_some((path.as_str(), *method, item, operation))
        })
    })
}

/// The operation found, with what is needed to read the rest of its declaration.
struct Operation<'a> {
    document: &'a Value,
    operation_id: &'a str,
    item: &'a Value,
    operation: &'a Value,
    swagger: bool,
}

impl<'a> Operation<'a> {
    /// Follows local `$ref`s (`#/…`); other documents are not fetched.
    fn resolve(&self, mut value: &'a Value) -> Result<&'a Value, Error> {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(value);
            };
            let pointer = reference.strip_prefix('#').ok_or_else(|| {
                self.error(&format!(
                    "external reference '{reference}' is not supported"
                ))
            })?;
            value = self
                .document
                .pointer(pointer)
                .ok_or_else(|| self.error(&format!("reference '{reference}' points at nothing")))?;
        }
        Err(self.error("references nest too deep"))
    }

    /// The path item's parameters overridden by the operation's, keyed by name and location.
    fn parameters(&self) -> Result<Vec<Parameter>, Error> {
        let mut parameters: Vec<Parameter> = Vec::new();
        let declared = [self.item, self.operation]
            .into_iter()
            .filter_map(|v| v.get("parameters")?.as_array())
            .flatten();
        for raw in declared {
            let parameter = Parameter::read(self.resolve(raw)?, self.swagger)
                .ok_or_else(|| self.error("a parameter has no name or location"))?;
            parameters.retain(|p| (&p.name, &p.location) != (&parameter.name, &parameter.location));
            parameters.push(parameter);
        }
        Ok(parameters)
    }

    /// The body and its media type.
    fn body(
        &self,
        parameters: &[Parameter],
        arguments: &Map<String, Value>,
        claimed: &HashSet<String>,
        form: Map<String, Value>,
    ) -> Result<(Option<Value>, Option<String>), Error> {
        let (name, required, media) = if self.swagger {
            let consumes = self
                .operation
                .get("consumes")
                .or(self.document.get("consumes"));
            let consumes: Vec<&str> = consumes
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !form.is_empty() {
                if !consumes.is_empty() && consumes.iter().all(|c| c.starts_with("multipart/")) {
                    return Err(self.error("multipart/form-data bodies are not supported"));
                }
                return Ok((Some(Value::Object(form)), Some(FORM.into())));
            }
            let Some(parameter) = parameters.iter().find(|p| p.location == "body") else {
                return Ok((None, None));
            };
            let media = pick_media(consumes.into_iter()).unwrap_or("application/json");
            (parameter.name.as_str(), parameter.required, Some(media))
        } else {
            let Some(request_body) = self.operation.get("requestBody") else {
                return Ok((None, None));
            };
            let request_body = self.resolve(request_body)?;
            let required = request_body.get("required").and_then(Value::as_bool);
            let name = request_body.get("x-codegen-request-body-name");
            let name = name.and_then(Value::as_str).unwrap_or("body");
            let content = request_body.get("content").and_then(Value::as_object);
            let media = content.and_then(|c| pick_media(c.keys().map(String::as_str)));
            if media.is_some_and(|m| m.starts_with("multipart/")) {
                return Err(self.error("multipart/form-data bodies are not supported"));
            }
            (name, required.unwrap_or(false), media)
        };
        let body = match arguments.get(name).filter(|v| !v.is_null()) {
            Some(value) => Some(value.clone()),
            None => {
                let rest: Map<String, Value> = arguments
                    .iter()
                    .filter(|(k, _)| !claimed.contains(k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (!rest.is_empty()).then_some(Value::Object(rest))
            }
        };
        if body.is_none() && required {
            return Err(self.missing("body", name));
        }
        Ok((body, media.map(str::to_string)))
    }

    /// The media type to ask for: JSON when the operation produces it.
    fn accepted(&self) -> Option<&'a str> {
        let produced: Vec<&str> = if self.swagger {
            let produces = self
                .operation
                .get("produces")
                .or(self.document.get("produces"));
            produces
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        } else {
            let responses = self.operation.get("responses").and_then(Value::as_object);
            responses
                .into_iter()
                .flatten()
                .filter(|(code, _)| code.starts_with('2') || *code == "default")
                .filter_map(|(_, response)| response.get("content")?.as_object())
                .flat_map(|content| content.keys().map(String::as_str))
                .collect()
        };
        pick_media(produced.into_iter()).filter(|m| m.contains("json"))
    }

    fn missing(&self, location: &str, name: &str) -> Error {
        Error::configuration(format!(
            "operation '{}' requires the {location} parameter '{name}'",
            self.operation_id
        ))
    }

    fn error(&self, problem: &str) -> Error {
        Error::configuration(format!("operation '{}': {problem}", self.operation_id))
    }
}

/// A JSON media type if there is one, else the form type, else the first.
fn pick_media<'a>(mut types: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    let json = |t: &&str| {
        let t = t.split(';').next().unwrap_or_default().trim();
        t == "application/json" || t.ends_with("+json")
    };
    types
        .clone()
        .find(json)
        .or_else(|| types.clone().find(|t| t.starts_with(FORM)))
        .or_else(|| types.next())
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}
