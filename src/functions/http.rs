//! `call: http`: one HTTP exchange with the spec's output modes, redirect rule and authentication.
//!
//! The engine resolves every runtime expression first; this module gets plain data and does IO.
//!
//! Behaviour worth knowing (the engine and the docs rely on it):
//! - **Host map** (runtime setting, `NAGARE_HOST_MAP="host=base,host2=base2"`, or
//!   [`Config::host_map`]): a request to a URL whose host (or `host:port`) is a key is sent to
//!   that base URL instead, keeping the path (appended to the base's path) and query. It applies
//!   to every request this client makes: calls, OpenAPI documents, OAuth2 token and OIDC discovery
//!   endpoints. It is how the CTK's `petstore.swagger.io` and `httpbin.org` reach a local
//!   stand-in; outputs and error details still name the URI the workflow asked for.
//! - **Redirects are never followed.** `redirect: false` (the default) accepts only 2xx; `true`
//!   also accepts 3xx, whose response (status, `location` header, body) becomes the output.
//! - **Request body**: a string is sent as is (`text/plain` unless a `Content-Type` header says
//!   otherwise); any other value as JSON (`application/json`), or form-encoded when the
//!   `Content-Type` header is `application/x-www-form-urlencoded` and the body is an object.
//!   A `null` body sends no body.
//! - **Errors**: a status outside the accepted range → `communication` with that status, the
//!   reason phrase as title, and method, URI and a body excerpt as detail; no connection →
//!   `communication` 503; another transport failure or an undecodable JSON body →
//!   `communication` 502; [`Config::timeout`] elapsed → `timeout` 408; a bad method, URI,
//!   header or policy → `configuration` 400; no OAuth2/OIDC token or digest answer →
//!   `authentication` 401.
//! - **Response size**: a body is read as it arrives and at most [`Config::max_response`] bytes
//!   are kept (`--max-response-bytes`, 16 MiB by default); a longer one (or a `Content-Length`
//!   that says so) is a `communication` error 502 titled "Response Too Large" naming the
//!   limit. It holds for every response this client reads: calls, OpenAPI documents, tokens.

mod auth;
mod oauth2;
mod response;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::error::Error;

/// The spec's `output` of `call: http` and `call: openapi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// The response content, deserialized when it is JSON, text as a string, other bytes base64.
    #[default]
    Content,
    /// The spec's HTTP Response object: `{request, statusCode, headers, content}`.
    Response,
    /// The response content base64-encoded (`null` when there is none).
    Raw,
}

impl std::str::FromStr for OutputMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "content" => Ok(OutputMode::Content),
            "response" => Ok(OutputMode::Response),
            "raw" => Ok(OutputMode::Raw),
            other => Err(Error::configuration(format!(
                "unknown output '{other}' (expected content, response or raw)"
            ))),
        }
    }
}

/// One HTTP call, every expression already evaluated.
#[derive(Clone, Default)]
pub struct Request {
    /// The method, case-insensitive (`get`, `POST`, …).
    pub method: String,
    /// The absolute URI, templates already expanded.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    /// Appended to the URI's own query, in order.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub output: OutputMode,
    /// Whether 3xx statuses are accepted (see the module doc).
    pub redirect: bool,
    /// A resolved authentication policy in the spec's shape (`{"basic": {...}}`, …).
    pub authentication: Option<Value>,
}

// Written by hand so that logging a request never prints its credentials.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("query", &self.query)
            .field("body", &self.body)
            .field("output", &self.output)
            .field("redirect", &self.redirect)
            .field(
                "authentication",
                &self.authentication.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Runtime settings of the HTTP client.
#[derive(Debug, Clone)]
pub struct Config {
    /// Host (or `host:port`) → base URL that replaces the scheme and authority (see module doc).
    pub host_map: Vec<(String, String)>,
    /// Whole-exchange timeout of each request; none by default.
    pub timeout: Option<Duration>,
    /// The largest response body read, in bytes (see module doc).
    pub max_response: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host_map: Vec::new(),
            timeout: None,
            max_response: MAX_RESPONSE,
        }
    }
}

/// The default of [`Config::max_response`].
pub const MAX_RESPONSE: usize = 16 << 20;

impl Config {
    /// Reads `NAGARE_HOST_MAP` (`host=http://127.0.0.1:1234,host2=…`).
    pub fn from_env() -> Self {
        let map = std::env::var("NAGARE_HOST_MAP").unwrap_or_default();
        Config {
            host_map: Self::parse_host_map(&map),
            ..Config::default()
        }
    }

    /// Parses the `NAGARE_HOST_MAP` syntax. An entry without `=` is kept with an empty base,
    /// so that calls to that host fail loudly instead of silently going to the real host.
    pub fn parse_host_map(text: &str) -> Vec<(String, String)> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| match entry.split_once('=') {
                Some((host, base)) => (host.trim().to_string(), base.trim().to_string()),
                None => (entry.to_string(), String::new()),
            })
            .collect()
    }
}

/// The HTTP client of the runtime: cheap to clone, shares connections, tokens and documents.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Building can only fail when the TLS backend cannot start; kept to report it per call.
    http: Result<reqwest::Client, String>,
    hosts: Vec<(String, Result<Url, String>)>,
    tokens: oauth2::Tokens,
    documents: super::openapi::Documents,
    max_response: usize,
}

impl Client {
    pub fn new(config: Config) -> Self {
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = config.timeout {
            builder = builder.timeout(timeout);
        }
        let hosts = config
            .host_map
            .into_iter()
            .map(|(host, base)| {
                let parsed = Url::parse(&base)
                    .ok()
                    .filter(|url| url.has_host())
                    .ok_or_else(|| format!("host map entry '{host}={base}' has no valid base URL"));
                (host.to_ascii_lowercase(), parsed)
            })
            .collect();
        Client {
            inner: Arc::new(Inner {
                http: builder.build().map_err(|e| e.to_string()),
                hosts,
                tokens: oauth2::Tokens::default(),
                documents: Default::default(),
                max_response: config.max_response,
            }),
        }
    }

    /// Performs the call and shapes its output; see the module doc for the rules.
    pub async fn call(&self, request: Request) -> Result<Value, Error> {
        let prepared = self.prepare(&request)?;
        let received = auth::send(self, &prepared, request.authentication.as_ref()).await?;
        response::output(&prepared, received, request.output, request.redirect)
    }

    pub(super) fn documents(&self) -> &super::openapi::Documents {
        &self.inner.documents
    }

    /// Checks the request and turns it into what goes on the wire.
    fn prepare(&self, request: &Request) -> Result<Prepared, Error> {
        let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .ok()
            .filter(|_| !request.method.is_empty())
            .ok_or_else(|| {
                Error::configuration(format!("'{}' is not an HTTP method", request.method))
            })?;
        let mut uri = parse_uri(&request.uri)?;
        if !request.query.is_empty() {
            uri.query_pairs_mut().extend_pairs(&request.query);
        }
        let target = self.target(&uri)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::configuration(format!("'{name}' is not a valid HTTP header name"))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::configuration(format!("the value of header '{name}' is not valid"))
            })?;
            headers.append(name, value);
        }
        let body = match &request.body {
            None | Some(Value::Null) => None,
            Some(body) => Some(encode_body(body, &mut headers)?),
        };
        Ok(Prepared {
            method,
            uri,
            target,
            headers,
            body,
        })
    }

    /// Applies the host map to `url`.
    fn target(&self, url: &Url) -> Result<Url, Error> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let Some((_, base)) = self
            .inner
            .hosts
            .iter()
            .find(|(key, _)| *key == authority || *key == host)
        else {
            return Ok(url.clone());
        };
        let mut target = base.clone().map_err(Error::configuration)?;
        let path = format!("{}{}", target.path().trim_end_matches('/'), url.path());
        target.set_path(&path);
        target.set_query(url.query());
        Ok(target)
    }

    /// Sends `prepared` once, with `authorization` if given, and reads the whole response.
    async fn exchange(
        &self,
        prepared: &Prepared,
        authorization: Option<&HeaderValue>,
    ) -> Result<Received, Error> {
        let http = self.inner.http.as_ref().map_err(|e| {
            Error::runtime(format!("the HTTP client could not be initialised: {e}"))
        })?;
        let mut builder = http
            .request(prepared.method.clone(), prepared.target.clone())
            .headers(prepared.headers.clone());
        if let Some(value) = authorization {
            builder = builder.header(reqwest::header::AUTHORIZATION, value.clone());
        }
        if let Some(body) = &prepared.body {
            builder = builder.body(body.clone());
        }
        let transport = |e: reqwest::Error| transport_error(prepared, e);
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_body(prepared, response).await?;
        Ok(Received {
            status,
            headers,
            body,
        })
    }
}

impl Client {
    /// Reads a response body as it arrives, keeping at most the limit: a longer body is an
    /// error as soon as it is known to be (from its `Content-Length`, or its bytes), so a
    /// huge or endless response never sits in memory.
    async fn read_body(
        &self,
        prepared: &Prepared,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, Error> {
        let limit = self.inner.max_response;
        let too_large = || {
            Error::communication(
                502,
                "Response Too Large",
                format!(
                    "{}: the response body is larger than {limit} bytes, the most a call \
                     reads (--max-response-bytes)",
                    prepared.describe()
                ),
            )
        };
        let declared = response.content_length().unwrap_or(0);
        if declared > limit as u64 {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(declared as usize);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(prepared, e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A checked request, kept whole so it can be sent again (digest challenge, token refresh).
struct Prepared {
    method: Method,
    /// As the workflow named it, query included: what outputs and errors report.
    uri: Url,
    /// Where it is sent, after the host map.
    target: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
}

impl Prepared {
    /// `GET https://host/path` plus where it really went when the host map changed it.
    fn describe(&self) -> String {
        let mut text = format!("{} {}", self.method, self.uri);
        if self.target != self.uri {
            text.push_str(&format!(" (sent to {})", self.target));
        }
        text
    }
}

/// A whole response.
struct Received {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn parse_uri(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text)
        .map_err(|e| Error::configuration(format!("'{text}' is not an absolute URI: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(Error::configuration(format!(
            "'{text}' is not an http or https URI"
        )));
    }
    Ok(url)
}

/// Serializes the body and sets a Content-Type when the caller did not (rules in module doc).
fn encode_body(body: &Value, headers: &mut HeaderMap) -> Result<Vec<u8>, Error> {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(response::media_type);
    let (bytes, default_type) = match (body, declared.as_deref()) {
        (Value::String(text), _) => (text.clone().into_bytes(), "text/plain; charset=utf-8"),
        (Value::Object(fields), Some("application/x-www-form-urlencoded")) => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (name, value) in fields {
                form.append_pair(name, &scalar_text(value));
            }
            (
                form.finish().into_bytes(),
                "application/x-www-form-urlencoded",
            )
        }
        (other, _) => (
            serde_json::to_vec(other).map_err(|e| Error::runtime(e.to_string()))?,
            "application/json",
        ),
    };
    if declared.is_none() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(default_type));
    }
    Ok(bytes)
}

/// How a JSON value reads in a query, a form or a header: strings bare, the rest as JSON.
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn transport_error(prepared: &Prepared, error: reqwest::Error) -> Error {
    let what = prepared.describe();
    if error.is_timeout() {
        Error::timeout(format!("{what} timed out"))
    } else if error.is_connect() {
        Error::communication(
            503,
            "Service Unavailable",
            format!("{what}: could not connect: {}", root_cause(&error)),
        )
    } else {
        Error::communication(
            502,
            "Bad Gateway",
            format!("{what}: {}", root_cause(&error)),
        )
    }
}

/// reqwest's own message is generic ("error sending request"); the cause says what happened.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
