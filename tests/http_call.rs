//! `call: http` and `call: openapi` against the local stand-in of petstore and httpbin.

#[path = "support/standin.rs"]
mod standin;

use std::time::Duration;

use nagare::error::Error;
use nagare::functions::http::{Client, Config, OutputMode, Request};
use nagare::functions::openapi;
use serde_json::{Map, Value, json};
use standin::StandIn;

/// A stand-in and a client whose host map sends petstore.swagger.io and httpbin.org to it.
async fn setup() -> (StandIn, Client) {
    let standin = standin::start().await;
    let client = Client::new(Config {
        host_map: standin.host_map(),
        timeout: Some(Duration::from_secs(10)),
        ..Config::default()
    });
    (standin, client)
}

fn get(uri: &str) -> Request {
    Request {
        method: "get".into(),
        uri: uri.into(),
        ..Default::default()
    }
}

fn with_auth(mut request: Request, policy: Value) -> Request {
    request.authentication = Some(policy);
    request
}

/// The expected error, as a pattern for [`check`].
fn error(kind: &str, status: u16) -> Value {
    json!({"error": {"type": format!("{}{kind}", nagare::error::TYPE_BASE), "status": status}})
}

/// Compares an outcome with `expected`: `{"ok": value}` or `{"error": {...}}`. Objects in
/// `expected` list the members that must be there (others may be); `"<any>"` matches any value
/// that is present; everything else must be equal.
#[track_caller]
fn check(outcome: Result<Value, Error>, expected: Value) {
    let actual = match outcome {
        Ok(value) => json!({"ok": value}),
        Err(e) => json!({"error": e}),
    };
    if let Err(at) = matches(&actual, &expected, String::new()) {
        panic!(
            "mismatch at {at}\nexpected: {expected:#}\nactual:   {actual:#}",
            at = if at.is_empty() { "/" } else { &at }
        );
    }
}

fn matches(actual: &Value, expected: &Value, at: String) -> Result<(), String> {
    match (actual, expected) {
        (_, Value::String(s)) if s == "<any>" => Ok(()),
        (Value::Object(a), Value::Object(e)) => e.iter().try_for_each(|(k, v)| {
            let at = format!("{at}/{k}");
            matches(a.get(k).ok_or_else(|| at.clone())?, v, at)
        }),
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => a
            .iter()
            .zip(e)
            .enumerate()
            .try_for_each(|(i, (a, e))| matches(a, e, format!("{at}/{i}"))),
        _ if actual == expected => Ok(()),
        _ => Err(at),
    }
}

#[tokio::test]
async fn content_output_deserializes_json() {
    let (_standin, client) = setup().await;
    let uri = "https://petstore.swagger.io/v2/pet/findByStatus?status=available";
    check(
        client.call(get(uri)).await,
        json!({"ok": [
            {"id": 1, "name": "Milou", "status": "available"},
            {"id": 3, "name": "Idefix", "status": "available"},
        ]}),
    );
}

#[tokio::test]
async fn response_output_has_the_spec_shape() {
    let (_standin, client) = setup().await;
    let mut request = get("https://petstore.swagger.io/v2/pet/1");
    request.output = OutputMode::Response;
    request.headers = vec![("X-Request-Id".into(), "42".into())];
    check(
        client.call(request).await,
        json!({"ok": {
            "request": {
                "method": "get",
                "uri": "https://petstore.swagger.io/v2/pet/1",
                "headers": {"x-request-id": "42"},
            },
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "content": {"id": 1, "name": "Milou", "status": "available"},
        }}),
    );
}

#[tokio::test]
async fn raw_output_and_non_json_content() {
    let (_standin, client) = setup().await;
    let mut raw = get("https://httpbin.org/bytes/4");
    raw.output = OutputMode::Raw;
    check(client.call(raw).await, json!({"ok": "AAECAw=="}));
    let bytes = get("https://httpbin.org/bytes/4");
    check(client.call(bytes).await, json!({"ok": "AAECAw=="}));
    let text = get("https://httpbin.org/robots.txt");
    check(
        client.call(text).await,
        json!({"ok": "User-agent: *\nDisallow: /deny\n"}),
    );
    let mut empty = get("https://httpbin.org/status/204");
    empty.output = OutputMode::Raw;
    check(client.call(empty).await, json!({"ok": null}));
}

#[tokio::test]
async fn query_and_headers_are_sent() {
    let (_standin, client) = setup().await;
    let mut request = get("https://httpbin.org/anything?x=1");
    request.query = vec![
        ("a".into(), "1".into()),
        ("a".into(), "2".into()),
        ("b".into(), "c d&e".into()),
    ];
    request.headers = vec![("X-Custom".into(), "value".into())];
    check(
        client.call(request).await,
        json!({"ok": {
            "method": "GET",
            "args": {"x": "1", "a": ["1", "2"], "b": "c d&e"},
            "headers": {"x-custom": "value"},
        }}),
    );
}

#[tokio::test]
async fn bodies_are_encoded_by_type() {
    let (_standin, client) = setup().await;
    let post = |body: Value, headers: Vec<(String, String)>| Request {
        method: "POST".into(),
        uri: "https://httpbin.org/anything".into(),
        body: Some(body),
        headers,
        ..Default::default()
    };
    check(
        client.call(post(json!({"name": "Milou"}), vec![])).await,
        json!({"ok": {"json": {"name": "Milou"}, "headers": {"content-type": "application/json"}}}),
    );
    check(
        client.call(post(json!("plain words"), vec![])).await,
        json!({"ok": {"data": "plain words", "json": null, "headers": {"content-type": "text/plain; charset=utf-8"}}}),
    );
    let form = vec![(
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    )];
    check(
        client.call(post(json!({"a": "x y", "n": 1}), form)).await,
        json!({"ok": {"form": {"a": "x y", "n": "1"}}}),
    );
    check(
        client.call(post(Value::Null, vec![])).await,
        json!({"ok": {"data": ""}}),
    );
}

#[tokio::test]
async fn error_statuses_are_communication_errors() {
    let (_standin, client) = setup().await;
    let not_found = client
        .call(get("https://petstore.swagger.io/v2/pet/getPetByName/Milou"))
        .await;
    let mut expected = error("communication", 404);
    expected["error"]["title"] = json!("Not Found");
    check(not_found, expected);
    let detail = client
        .call(get("https://petstore.swagger.io/v2/pet/99"))
        .await
        .unwrap_err()
        .detail
        .unwrap_or_default();
    assert!(
        detail.starts_with("GET https://petstore.swagger.io/v2/pet/99 (sent to http://127.0.0.1:")
            && detail.ends_with(
                "answered 404: {\"code\":1,\"type\":\"error\",\"message\":\"Pet not found\"}"
            ),
        "{detail}"
    );
    check(
        client.call(get("https://httpbin.org/status/503")).await,
        error("communication", 503),
    );
}

#[tokio::test]
async fn redirects_are_errors_unless_accepted_and_never_followed() {
    let (_standin, client) = setup().await;
    let uri = "https://httpbin.org/redirect-to?url=/anything&status_code=307";
    check(client.call(get(uri)).await, error("communication", 307));
    let mut accepted = get(uri);
    accepted.redirect = true;
    accepted.output = OutputMode::Response;
    check(
        client.call(accepted).await,
        json!({"ok": {"statusCode": 307, "headers": {"location": "/anything"}, "content": null}}),
    );
    let mut still_error = get("https://httpbin.org/status/404");
    still_error.redirect = true;
    check(client.call(still_error).await, error("communication", 404));
}

#[tokio::test]
async fn basic_authentication() {
    let (_standin, client) = setup().await;
    let uri = "https://httpbin.org/basic-auth/serverless-workflow/conformance-test";
    let policy = |password: &str| json!({"basic": {"username": "serverless-workflow", "password": password}});
    check(
        client
            .call(with_auth(get(uri), policy("conformance-test")))
            .await,
        json!({"ok": {"authenticated": true, "user": "serverless-workflow"}}),
    );
    check(
        client.call(with_auth(get(uri), policy("wrong"))).await,
        error("communication", 401),
    );
    check(client.call(get(uri)).await, error("communication", 401));
}

#[tokio::test]
async fn bearer_authentication() {
    let (_standin, client) = setup().await;
    let request = with_auth(
        get("https://httpbin.org/bearer"),
        json!({"bearer": {"token": "abc.def"}}),
    );
    check(
        client.call(request).await,
        json!({"ok": {"authenticated": true, "token": "abc.def"}}),
    );
}

#[tokio::test]
async fn digest_authentication_answers_the_challenge() {
    let (_standin, client) = setup().await;
    let uri = "https://httpbin.org/digest-auth/auth/user/passwd";
    let policy = |password: &str| json!({"digest": {"username": "user", "password": password}});
    check(
        client.call(with_auth(get(uri), policy("passwd"))).await,
        json!({"ok": {"authenticated": true, "user": "user"}}),
    );
    check(
        client.call(with_auth(get(uri), policy("wrong"))).await,
        error("communication", 401),
    );
}

fn oauth2(client_id: &str, secret: &str) -> Value {
    json!({"oauth2": {
        "authority": "https://httpbin.org",
        "grant": "client_credentials",
        "client": {"id": client_id, "secret": secret},
        "scopes": ["api", "read"],
        "audiences": ["runtime"],
    }})
}

fn protected() -> Request {
    get("https://httpbin.org/protected")
}

#[tokio::test]
async fn oauth2_client_credentials_token_is_cached() {
    let (standin, client) = setup().await;
    let policy = oauth2(standin::CLIENT_ID, standin::CLIENT_SECRET);
    for _ in 0..3 {
        check(
            client.call(with_auth(protected(), policy.clone())).await,
            json!({"ok": {"authenticated": true, "token": "token-1"}}),
        );
    }
    assert_eq!(standin.token_requests(), 1);
    check(
        Ok(standin.last_token_request()),
        json!({"ok": {
            "grant_type": "client_credentials",
            "client_id": "nagare",
            "client_secret": "s3cret",
            "client_auth": "post",
            "content_type": "form",
            "scope": "api read",
            "audience": "runtime",
        }}),
    );
}

#[tokio::test]
async fn oauth2_expired_and_revoked_tokens_are_renewed() {
    let (standin, client) = setup().await;
    let short = oauth2(standin::SHORT_LIVED_CLIENT_ID, standin::CLIENT_SECRET);
    client
        .call(with_auth(protected(), short.clone()))
        .await
        .unwrap();
    client.call(with_auth(protected(), short)).await.unwrap();
    assert_eq!(
        standin.token_requests(),
        2,
        "a token with expires_in 0 is not reused"
    );

    let policy = oauth2(standin::CLIENT_ID, standin::CLIENT_SECRET);
    client
        .call(with_auth(protected(), policy.clone()))
        .await
        .unwrap();
    standin.revoke_tokens();
    check(
        client.call(with_auth(protected(), policy)).await,
        json!({"ok": {"authenticated": true, "token": "token-4"}}),
    );
    assert_eq!(standin.token_requests(), 4);
}

#[tokio::test]
async fn oauth2_client_secret_basic_json_encoding_and_password_grant() {
    let (standin, client) = setup().await;
    let policy = json!({"oauth2": {
        "authority": "https://httpbin.org/",
        "endpoints": {"token": "oauth2/token"},
        "grant": "password",
        "username": standin::USERNAME,
        "password": standin::PASSWORD,
        "client": {"id": "nagare", "secret": "s3cret", "authentication": "client_secret_basic"},
        "request": {"encoding": "application/json"},
    }});
    check(
        client.call(with_auth(protected(), policy)).await,
        json!({"ok": {"authenticated": true}}),
    );
    check(
        Ok(standin.last_token_request()),
        json!({"ok": {
            "grant_type": "password",
            "username": "alice",
            "client_auth": "basic",
            "content_type": "json",
        }}),
    );
}

#[tokio::test]
async fn oauth2_failures_are_authentication_errors() {
    let (_standin, client) = setup().await;
    let bad_secret = oauth2(standin::CLIENT_ID, "wrong");
    check(
        client.call(with_auth(protected(), bad_secret)).await,
        error("authentication", 401),
    );
    let unsupported = json!({"oauth2": {"authority": "https://httpbin.org", "grant": "authorization_code", "client": {"id": "nagare"}}});
    check(
        client.call(with_auth(protected(), unsupported)).await,
        error("configuration", 400),
    );
}

#[tokio::test]
async fn oidc_discovers_the_token_endpoint() {
    let (standin, client) = setup().await;
    let policy = json!({"oidc": {
        "authority": "https://httpbin.org",
        "grant": "client_credentials",
        "client": {"id": "nagare", "secret": "s3cret"},
        "scopes": ["api"],
    }});
    check(
        client.call(with_auth(protected(), policy)).await,
        json!({"ok": {"authenticated": true}}),
    );
    check(
        Ok(standin.last_token_request()),
        json!({"ok": {"scope": "api openid"}}),
    );
}

#[tokio::test]
async fn host_map_rewrites_scheme_and_authority_only() {
    let standin = standin::start().await;
    let client = Client::new(Config {
        host_map: Config::parse_host_map(&format!(
            " api.example.test={}/anything , other.test:8443={} ,broken.test",
            standin.url(),
            standin.url()
        )),
        timeout: None,
        ..Config::default()
    });
    check(
        client
            .call(get("https://api.example.test/v1/items?q=1"))
            .await,
        json!({"ok": {"path": "/anything/v1/items", "args": {"q": "1"}}}),
    );
    check(
        client.call(get("https://other.test:8443/anything/x")).await,
        json!({"ok": {"path": "/anything/x"}}),
    );
    check(
        client.call(get("https://broken.test/")).await,
        error("configuration", 400),
    );
    // Unmapped hosts are used as they are.
    check(
        client
            .call(get(&format!("{}/anything", standin.url())))
            .await,
        json!({"ok": {"path": "/anything"}}),
    );
}

#[tokio::test]
async fn transport_failures() {
    let standin = standin::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Client::new(Config {
        host_map: vec![
            ("down.test".into(), down),
            ("slow.test".into(), standin.url()),
        ],
        timeout: Some(Duration::from_millis(200)),
        ..Config::default()
    });
    check(
        client.call(get("https://down.test/")).await,
        error("communication", 503),
    );
    check(
        client.call(get("https://slow.test/delay/5")).await,
        error("timeout", 408),
    );
}

#[tokio::test]
async fn bad_input_is_a_configuration_error() {
    let (_standin, client) = setup().await;
    let cases = [
        Request {
            method: "not a method".into(),
            ..get("https://httpbin.org/anything")
        },
        Request {
            method: String::new(),
            ..get("https://httpbin.org/anything")
        },
        get("not a uri"),
        get("/relative/path"),
        get("ftp://httpbin.org/file"),
        Request {
            headers: vec![("bad header".into(), "x".into())],
            ..get("https://httpbin.org/anything")
        },
        Request {
            headers: vec![("X-Ok".into(), "line\nbreak".into())],
            ..get("https://httpbin.org/anything")
        },
        with_auth(
            get("https://httpbin.org/anything"),
            json!({"use": "someSecret"}),
        ),
        with_auth(
            get("https://httpbin.org/anything"),
            json!({"basic": {"username": 1}}),
        ),
        with_auth(
            get("https://httpbin.org/anything"),
            json!({"certificate": {}}),
        ),
        with_auth(get("https://httpbin.org/anything"), json!("basic")),
    ];
    for request in cases {
        let shown = format!("{request:?}");
        let outcome = client.call(request).await;
        assert_eq!(
            outcome.as_ref().map_err(|e| (e.kind.as_str(), e.status)),
            Err((
                "https://serverlessworkflow.io/spec/1.0.0/errors/configuration",
                400
            )),
            "{shown}"
        );
    }
    assert!("stream".parse::<OutputMode>().is_err());
    assert_eq!("raw".parse::<OutputMode>().unwrap(), OutputMode::Raw);
}

#[tokio::test]
async fn request_debug_hides_credentials() {
    let request = with_auth(
        get("https://x.test/"),
        json!({"bearer": {"token": "secret-token"}}),
    );
    assert!(!format!("{request:?}").contains("secret-token"));
}

fn operation(document: &str, operation_id: &str, parameters: Value) -> openapi::Request {
    let parameters: Map<String, Value> = serde_json::from_value(parameters).unwrap();
    openapi::Request {
        document: document.into(),
        operation_id: operation_id.into(),
        parameters,
        ..Default::default()
    }
}

const PETSTORE: &str = "https://petstore.swagger.io/v2/swagger.json";
const ECHO: &str = "https://httpbin.org/openapi.yaml";

#[tokio::test]
async fn openapi_swagger_operations() {
    let (_standin, client) = setup().await;
    let find = operation(PETSTORE, "findPetsByStatus", json!({"status": "available"}));
    check(
        client.openapi(find).await,
        json!({"ok": [{"id": 1}, {"id": 3}]}),
    );
    let several = operation(
        PETSTORE,
        "findPetsByStatus",
        json!({"status": ["pending", "sold"]}),
    );
    check(
        client.openapi(several).await,
        json!({"ok": [{"id": 2}, {"id": 4}]}),
    );
    let mut by_id = operation(PETSTORE, "getPetById", json!({"petId": 1}));
    by_id.output = OutputMode::Response;
    check(
        client.openapi(by_id).await,
        json!({"ok": {
            "request": {"method": "get", "uri": "https://petstore.swagger.io/v2/pet/1", "headers": {"accept": "application/json"}},
            "statusCode": 200,
            "content": {"id": 1, "name": "Milou", "status": "available"},
        }}),
    );
    let add = operation(PETSTORE, "addPet", json!({"body": {"name": "Snowy"}}));
    check(
        client.openapi(add).await,
        json!({"ok": {"id": 10, "name": "Snowy"}}),
    );
    let flat = operation(PETSTORE, "addPet", json!({"name": "Snowy", "id": 7}));
    check(
        client.openapi(flat).await,
        json!({"ok": {"id": 7, "name": "Snowy"}}),
    );
    let delete = operation(PETSTORE, "deletePet", json!({"petId": 3, "api_key": "k"}));
    check(
        client.openapi(delete).await,
        json!({"ok": {"message": "3", "apiKey": "k"}}),
    );
    let unknown = operation(PETSTORE, "getPetById", json!({"petId": 99}));
    check(client.openapi(unknown).await, error("communication", 404));
}

#[tokio::test]
async fn openapi_configuration_errors() {
    let (_standin, client) = setup().await;
    let missing = operation(PETSTORE, "getPetById", json!({}));
    let outcome = client.openapi(missing).await;
    let mut expected = error("configuration", 400);
    expected["error"]["detail"] =
        json!("operation 'getPetById' requires the path parameter 'petId'");
    check(outcome, expected);
    check(
        client
            .openapi(operation(PETSTORE, "findPetsByStatus", json!({})))
            .await,
        error("configuration", 400),
    );
    check(
        client
            .openapi(operation(PETSTORE, "noSuchOperation", json!({})))
            .await,
        error("configuration", 400),
    );
    check(
        client
            .openapi(operation("https://httpbin.org/robots.txt", "x", json!({})))
            .await,
        error("configuration", 400),
    );
    check(
        client.openapi(operation("not a uri", "x", json!({}))).await,
        error("configuration", 400),
    );
    check(
        client
            .openapi(operation("https://httpbin.org/status/404", "x", json!({})))
            .await,
        error("communication", 404),
    );
}

#[tokio::test]
async fn openapi_3_yaml_document_places_every_parameter() {
    let (_standin, client) = setup().await;
    let echo = operation(
        ECHO,
        "echoItem",
        json!({"itemId": "a/b c", "tags": ["x", "y"], "X-Trace": "t-1", "body": {"k": 1}}),
    );
    check(
        client.openapi(echo).await,
        json!({"ok": {
            "method": "POST",
            "path": "/anything/items/a%2Fb%20c",
            "args": {"tags": ["x", "y"]},
            "headers": {"x-trace": "t-1", "content-type": "application/json", "accept": "application/json"},
            "json": {"k": 1},
        }}),
    );
    let flat_body = operation(
        ECHO,
        "echoItem",
        json!({"itemId": "1", "X-Trace": "t", "k": 2}),
    );
    check(
        client.openapi(flat_body).await,
        json!({"ok": {"json": {"k": 2}}}),
    );
    let no_body = operation(ECHO, "echoItem", json!({"itemId": "1", "X-Trace": "t"}));
    check(client.openapi(no_body).await, error("configuration", 400));
    let csv = operation(
        ECHO,
        "getItem",
        json!({"itemId": "1", "fields": ["a", "b"]}),
    );
    check(
        client.openapi(csv).await,
        json!({"ok": {"method": "GET", "args": {"fields": "a,b"}}}),
    );
}

/// A response body past `max_response` is a communication error naming the limit, whether
/// its length is declared or it is streamed; an endless one too, so the client stops reading
/// at the limit (reading it whole would never end). A body of exactly the limit is read.
#[tokio::test]
async fn a_response_larger_than_the_limit_is_a_communication_error() {
    let standin = standin::start().await;
    let limit = 64 << 10;
    let client = Client::new(Config {
        host_map: standin.host_map(),
        timeout: Some(Duration::from_secs(60)),
        max_response: limit,
    });
    let too_large = json!({"error": {
        "type": format!("{}communication", nagare::error::TYPE_BASE),
        "status": 502,
        "title": "Response Too Large",
    }});
    for path in [
        format!("/bytes/{}", limit + 1),
        format!("/stream-bytes/{}", limit + 1),
        // Effectively endless: 1 TiB.
        format!("/stream-bytes/{}", 1u64 << 40),
    ] {
        let outcome = client
            .call(Request {
                output: OutputMode::Raw,
                ..get(&format!("https://httpbin.org{path}"))
            })
            .await;
        let detail = match &outcome {
            Err(e) => e.detail.clone().unwrap_or_default(),
            Ok(_) => String::new(),
        };
        check(outcome, too_large.clone());
        assert!(
            detail.contains(&limit.to_string()) && detail.contains("--max-response-bytes"),
            "{path}: the detail names the limit and its flag: {detail}"
        );
    }
    let exactly = client
        .call(Request {
            output: OutputMode::Raw,
            ..get(&format!("https://httpbin.org/stream-bytes/{limit}"))
        })
        .await
        .expect("a body of exactly the limit is read");
    let decoded = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        exactly.as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(decoded.len(), limit);
}
