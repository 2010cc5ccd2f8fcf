//! A local stand-in for petstore.swagger.io and httpbin.org, so HTTP tests need no network.
//!
//! One server answers for both hosts (their paths do not overlap: the petstore lives under
//! `/v2`); [`StandIn::host_map`] is the client setting that sends both hosts to it.
//! Petstore: `GET /v2/pet/findByStatus`, `GET|DELETE /v2/pet/{petId}`, `POST /v2/pet`,
//! `GET /v2/pet/getPetByName/{name}` (404, as the real one), `GET /v2/swagger.json`.
//! httpbin: `/basic-auth/{user}/{passwd}`, `/bearer`, `/digest-auth/{qop}/{user}/{passwd}`,
//! `/status/{code}`, `/redirect-to`, `/anything[/…]`, `/robots.txt`, `/bytes/{n}`,
//! `/stream-bytes/{n}` (chunked, no length, any size: a body larger than a client reads),
//! `/delay/{n}`.
//! Extras: an OAuth2 token endpoint `POST /oauth2/token`, OIDC discovery, `GET /protected`
//! (accepts only tokens it issued) and an OpenAPI 3 document `GET /openapi.yaml`.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The OAuth2 client the token endpoint knows, with tokens valid for an hour.
pub const CLIENT_ID: &str = "nagare";
/// A client whose tokens expire at once (`expires_in: 0`).
pub const SHORT_LIVED_CLIENT_ID: &str = "short";
pub const CLIENT_SECRET: &str = "s3cret";
/// The resource owner of the password grant.
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "wonderland";

const NONCE: &str = "7c1d6b2f9e0a4d3c";
const OPAQUE: &str = "5ccc069c403ebaf9f0171e9517f40e41";

/// A running stand-in; it lives as long as the test's runtime.
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    token_requests: AtomicUsize,
    issued: Mutex<HashSet<String>>,
    last_token_request: Mutex<Value>,
}

/// Binds 127.0.0.1 on a free port and serves in a task of the current runtime.
pub async fn start() -> StandIn {
    let shared = Arc::new(Shared::default());
    let app = Router::new()
        .route("/v2/pet/findByStatus", get(find_by_status))
        .route("/v2/pet/getPetByName/{name}", get(pet_by_name))
        .route("/v2/pet/{pet_id}", get(pet_by_id).delete(delete_pet))
        .route("/v2/pet", post(add_pet))
        .route("/v2/swagger.json", get(swagger))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/basic-auth/{user}/{passwd}", get(basic_auth))
        .route("/bearer", get(bearer))
        .route("/digest-auth/{qop}/{user}/{passwd}", get(digest_auth))
        .route("/status/{code}", any(status))
        .route("/redirect-to", any(redirect_to))
        .route("/anything", any(anything))
        .route("/anything/{*rest}", any(anything))
        .route("/robots.txt", get(robots))
        .route("/bytes/{n}", get(bytes))
        .route("/stream-bytes/{n}", get(stream_bytes))
        .route("/delay/{seconds}", get(delay))
        .route("/oauth2/token", post(token))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/protected", get(protected))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the stand-in");
    let addr = listener.local_addr().expect("stand-in address");
    tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("serve the stand-in");
    });
    StandIn { addr, shared }
}

impl StandIn {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The client's host map that sends the CTK's hosts here.
    pub fn host_map(&self) -> Vec<(String, String)> {
        ["petstore.swagger.io", "httpbin.org"]
            .into_iter()
            .map(|host| (host.to_string(), self.url()))
            .collect()
    }

    /// How many requests the token endpoint has received.
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// Forgets every token issued so far, as an issuer revoking them would.
    pub fn revoke_tokens(&self) {
        self.shared.issued.lock().unwrap().clear();
    }

    /// The last token request: its parameters, and `client_auth` (`basic` or `post`).
    pub fn last_token_request(&self) -> Value {
        self.shared.last_token_request.lock().unwrap().clone()
    }
}

fn pets() -> Vec<Value> {
    [
        (1, "Milou", "available"),
        (2, "Rantanplan", "pending"),
        (3, "Idefix", "available"),
        (4, "Garfield", "sold"),
    ]
    .into_iter()
    .map(|(id, name, status)| json!({"id": id, "name": name, "status": status, "photoUrls": []}))
    .collect()
}

fn not_found(message: &str) -> Response {
    let body = json!({"code": 1, "type": "error", "message": message});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn find_by_status(Query(query): Query<Vec<(String, String)>>) -> Json<Value> {
    // Both `status=a&status=b` (multi) and `status=a,b` (csv) select several statuses.
    let wanted: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "status")
        .flat_map(|(_, v)| v.split(',').map(str::to_string))
        .collect();
    let found = pets()
        .into_iter()
        .filter(|pet| wanted.iter().any(|w| pet["status"] == w.as_str()))
        .collect();
    Json(Value::Array(found))
}

async fn pet_by_id(Path(pet_id): Path<String>) -> Response {
    // Like the real one: an id that is not a number is just not found.
    let id = pet_id.parse::<u64>().ok();
    let pet = pets().into_iter().find(|pet| pet["id"].as_u64() == id);
    match pet {
        Some(pet) => Json(pet).into_response(),
        None => not_found("Pet not found"),
    }
}

async fn pet_by_name(Path(_name): Path<String>) -> Response {
    not_found("Pet not found")
}

async fn delete_pet(Path(pet_id): Path<String>, headers: HeaderMap) -> Json<Value> {
    let api_key = headers.get("api_key").and_then(|v| v.to_str().ok());
    Json(json!({"code": 200, "type": "unknown", "message": pet_id, "apiKey": api_key}))
}

async fn add_pet(Json(mut pet): Json<Value>) -> Json<Value> {
    if let Some(fields) = pet.as_object_mut() {
        fields.entry("id").or_insert(json!(10));
    }
    Json(pet)
}

async fn swagger() -> Json<Value> {
    let pet_id = json!({"name": "petId", "in": "path", "required": true, "type": "integer", "format": "int64"});
    Json(json!({
        "swagger": "2.0",
        "info": {"title": "Swagger Petstore (stand-in)", "version": "1.0.7"},
        "host": "petstore.swagger.io",
        "basePath": "/v2",
        "schemes": ["https", "http"],
        "paths": {
            "/pet": {
                "post": {
                    "operationId": "addPet",
                    "consumes": ["application/json", "application/xml"],
                    "produces": ["application/json", "application/xml"],
                    "parameters": [{"in": "body", "name": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}],
                    "responses": {"405": {"description": "Invalid input"}}
                }
            },
            "/pet/findByStatus": {
                "get": {
                    "operationId": "findPetsByStatus",
                    "produces": ["application/json", "application/xml"],
                    "parameters": [{
                        "name": "status", "in": "query", "required": true, "type": "array",
                        "items": {"type": "string", "enum": ["available", "pending", "sold"]},
                        "collectionFormat": "multi"
                    }],
                    "responses": {"200": {"description": "successful operation"}}
                }
            },
            "/pet/{petId}": {
                "get": {
                    "operationId": "getPetById",
                    "produces": ["application/json", "application/xml"],
                    "parameters": [pet_id],
                    "responses": {"200": {"description": "successful operation"}}
                },
                "delete": {
                    "operationId": "deletePet",
                    "produces": ["application/json", "application/xml"],
                    "parameters": [{"name": "api_key", "in": "header", "required": false, "type": "string"}, pet_id],
                    "responses": {"404": {"description": "Pet not found"}}
                }
            }
        },
        "definitions": {
            "Pet": {
                "type": "object",
                "required": ["name", "photoUrls"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "status": {"type": "string"}}
            }
        }
    }))
}

/// An OpenAPI 3 document in YAML whose relative server points at `/anything`, so that a call
/// echoes where each argument went.
async fn openapi_yaml() -> Response {
    let text = r#"openapi: 3.0.3
info:
  title: Echo (stand-in)
  version: 1.0.0
servers:
  - url: /{base}
    variables:
      base:
        default: anything
paths:
  /items/{itemId}:
    parameters:
      - $ref: '#/components/parameters/ItemId'
    post:
      operationId: echoItem
      parameters:
        - name: tags
          in: query
          schema: {type: array, items: {type: string}}
        - name: X-Trace
          in: header
          required: true
          schema: {type: string}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '200':
          description: the echo
          content:
            application/json:
              schema: {type: object}
    get:
      operationId: getItem
      parameters:
        - name: fields
          in: query
          explode: false
          schema: {type: array, items: {type: string}}
      responses:
        '200':
          description: the echo
components:
  parameters:
    ItemId:
      name: itemId
      in: path
      required: true
      schema: {type: string}
"#;
    ([(header::CONTENT_TYPE, "application/yaml")], text).into_response()
}

/// The credentials of an `Authorization: <scheme> <value>` header.
fn credentials<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

fn unauthorized(challenge: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
        Json(json!({"authenticated": false})),
    )
        .into_response()
}

async fn basic_auth(Path((user, passwd)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let expected = STANDARD.encode(format!("{user}:{passwd}"));
    if credentials(&headers, "Basic") == Some(expected.as_str()) {
        Json(json!({"authenticated": true, "user": user})).into_response()
    } else {
        unauthorized("Basic realm=\"Fake Realm\"".into())
    }
}

async fn bearer(headers: HeaderMap) -> Response {
    match credentials(&headers, "Bearer") {
        Some(token) if !token.is_empty() => {
            Json(json!({"authenticated": true, "token": token})).into_response()
        }
        _ => unauthorized("Bearer".into()),
    }
}

/// A real digest check: the response hash is recomputed from the known password.
async fn digest_auth(
    Path((qop, user, passwd)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let challenge = format!(
        "Digest realm=\"stand-in@httpbin.org\", qop=\"{qop}\", nonce=\"{NONCE}\", opaque=\"{OPAQUE}\", algorithm=MD5"
    );
    let Some(answer) = credentials(&headers, "Digest") else {
        return unauthorized(challenge);
    };
    let Ok(given) = digest_auth::AuthorizationHeader::parse(answer) else {
        return unauthorized(challenge);
    };
    let mut expected = given.clone();
    let context = digest_auth::AuthContext::new_with_method(
        user.as_str(),
        passwd.as_str(),
        given.uri.as_str(),
        Option::<&[u8]>::None,
        digest_auth::HttpMethod(method.as_str().to_string().into()),
    );
    expected.digest(&context);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let valid = given.username == user
        && given.nonce == NONCE
        && given.uri == path
        && expected.response == given.response;
    if valid {
        Json(json!({"authenticated": true, "user": user})).into_response()
    } else {
        unauthorized(challenge)
    }
}

async fn status(Path(code): Path<u16>) -> Response {
    let Ok(code) = StatusCode::from_u16(code) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if code.is_redirection() {
        return (code, [(header::LOCATION, "/anything")]).into_response();
    }
    code.into_response()
}

async fn redirect_to(Query(query): Query<Vec<(String, String)>>) -> Response {
    let find = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let code = find("status_code")
        .and_then(|c| c.parse().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::FOUND);
    let location = find("url").unwrap_or_else(|| "/anything".into());
    (code, [(header::LOCATION, location)]).into_response()
}

/// httpbin's echo: method, url, args (repeated keys as arrays), headers, data, json, form.
async fn anything(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let mut args = Map::new();
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        let value = Value::String(value.into_owned());
        match args.get_mut(name.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = json!([first.take(), value]),
            None => {
                args.insert(name.into_owned(), value);
            }
        }
    }
    let header_map: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or_default())))
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("httpbin.org");
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: Map<String, Value> = if is_form {
        form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), json!(v)))
            .collect()
    } else {
        Map::new()
    };
    Json(json!({
        "method": method.as_str(),
        "url": format!("http://{host}{uri}"),
        "path": uri.path(),
        "args": args,
        "headers": header_map,
        "data": String::from_utf8_lossy(&body),
        "json": serde_json::from_slice::<Value>(&body).ok(),
        "form": form,
    }))
}

async fn robots() -> Response {
    let text = "User-agent: *\nDisallow: /deny\n";
    ([(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

/// `n` bytes counting up from 0 (httpbin's are random; fixed ones are easier to assert).
async fn bytes(Path(n): Path<usize>) -> Response {
    let body: Vec<u8> = (0..n.min(100_000)).map(|i| i as u8).collect();
    ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

/// `n` bytes (`x`) sent in 64 KiB chunks without a `Content-Length`, produced as they are
/// read: unlike httpbin's there is no upper bound, so a client must stop reading by itself.
async fn stream_bytes(Path(n): Path<u64>) -> Response {
    const CHUNK: u64 = 64 << 10;
    let chunks = futures::stream::unfold(n, |left| async move {
        (left > 0).then(|| {
            let size = left.min(CHUNK);
            let chunk = Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; size as usize]));
            (chunk, left - size)
        })
    });
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

async fn delay(Path(seconds): Path<u64>) -> Json<Value> {
    tokio::time::sleep(Duration::from_secs(seconds.min(10))).await;
    Json(json!({"delayed": seconds}))
}

/// An OAuth2 token endpoint: client_credentials and password grants; client credentials by
/// `client_secret_basic` or `client_secret_post`; form or JSON bodies.
async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.token_requests.fetch_add(1, Ordering::SeqCst);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut params: Map<String, Value> = if is_json {
        serde_json::from_slice(&body).unwrap_or_default()
    } else {
        form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), json!(v)))
            .collect()
    };
    let param = |params: &Map<String, Value>, name: &str| {
        params.get(name).and_then(Value::as_str).map(str::to_string)
    };
    let (client_auth, id, secret) = match credentials(&headers, "Basic")
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
    {
        Some(pair) => {
            let (id, secret) = pair.split_once(':').unwrap_or((&pair, ""));
            let decode = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            ("basic", Some(decode(id)), Some(decode(secret)))
        }
        None => (
            "post",
            param(&params, "client_id"),
            param(&params, "client_secret"),
        ),
    };
    params.insert("client_auth".into(), json!(client_auth));
    params.insert(
        "content_type".into(),
        json!(if is_json { "json" } else { "form" }),
    );
    *shared.last_token_request.lock().unwrap() = Value::Object(params.clone());

    let expires_in = match (id.as_deref(), secret.as_deref()) {
        (Some(CLIENT_ID), Some(CLIENT_SECRET)) => 3600,
        (Some(SHORT_LIVED_CLIENT_ID), Some(CLIENT_SECRET)) => 0,
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    };
    match param(&params, "grant_type").as_deref() {
        Some("client_credentials") => {}
        Some("password")
            if param(&params, "username").as_deref() == Some(USERNAME)
                && param(&params, "password").as_deref() == Some(PASSWORD) => {}
        Some("password") => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"),
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let access_token = format!("token-{}", shared.token_requests.load(Ordering::SeqCst));
    shared.issued.lock().unwrap().insert(access_token.clone());
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": param(&params, "scope"),
    }))
    .into_response()
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn discovery() -> Json<Value> {
    Json(json!({
        "issuer": "https://httpbin.org",
        "token_endpoint": "https://httpbin.org/oauth2/token",
    }))
}

async fn protected(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = credentials(&headers, "Bearer").unwrap_or_default();
    if shared.issued.lock().unwrap().contains(token) {
        Json(json!({"authenticated": true, "token": token})).into_response()
    } else {
        unauthorized("Bearer error=\"invalid_token\"".into())
    }
}
