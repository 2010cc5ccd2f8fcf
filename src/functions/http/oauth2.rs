//! OAuth2 and OpenID Connect: getting a token for a policy, caching it, sending it as `Bearer`.
//!
//! - Token endpoint: oauth2's is `authority` + `endpoints.token` (default `/oauth2/token`);
//!   oidc's, and oauth2's when its authority is a `/.well-known/openid-configuration` URL, comes
//!   from discovery. oidc adds the `openid` scope.
//! - Grants: `client_credentials`, `password`, and token exchange (from `subject`/`actor`);
//!   `authorization_code` and `refresh_token` need data the policy does not carry.
//! - Client authentication: `client_secret_post` (the spec's default), `client_secret_basic`,
//!   `none`, and the two JWT methods when `client.assertion` is given. `request.encoding` is
//!   form (default) or `application/json`. `scopes` and `audiences` go space-separated in
//!   `scope` and `audience`.
//! - Tokens are cached per policy until shortly before `expires_in`; when a server rejects a
//!   cached token with 401 it is fetched again, once.
//! - Failing to get a token → `authentication` (a malformed policy → `configuration`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Map, Value};

use super::auth::{bearer, optional_text, text};
use super::{Client, OutputMode, Prepared, Received, parse_uri, response};
use crate::error::Error;

/// A token is renewed this long before the expiry its issuer announced, so it does not
/// expire in flight.
const RENEW_BEFORE: Duration = Duration::from_secs(10);
const DISCOVERY: &str = "/.well-known/openid-configuration";

/// Sends `prepared` with the token of the policy `key` (whose settings are `settings`).
pub(super) async fn send(
    client: &Client,
    prepared: &Prepared,
    key: &str,
    settings: &Map<String, Value>,
    oidc: bool,
) -> Result<Received, Error> {
    let tokens = &client.inner.tokens;
    let fetch = || fetch_token(client, settings, oidc);
    let (token, fresh) = tokens.get(key, fetch).await?;
    let received = client.exchange(prepared, Some(&bearer(&token)?)).await?;
    if received.status != StatusCode::UNAUTHORIZED || fresh {
        return Ok(received);
    }
    // The issuer may have revoked a token our clock still holds valid: retry once.
    tokens.forget(key, &token).await;
    let (token, _) = tokens.get(key, fetch).await?;
    client.exchange(prepared, Some(&bearer(&token)?)).await
}

/// OAuth2 tokens by policy. Each policy has its own async lock so that concurrent calls
/// under one policy wait for one token request instead of each making their own.
#[derive(Default)]
pub(super) struct Tokens {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Token>>>>>,
}

struct Token {
    access: String,
    /// None when the issuer announced no lifetime: kept until a server rejects it.
    renew_at: Option<Instant>,
}

impl Tokens {
    fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<Option<Token>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key.to_string()).or_default().clone()
    }

    /// The cached token for `key`, or a new one from `fetch`; the flag says it is new.
    async fn get<F, Fut>(&self, key: &str, fetch: F) -> Result<(String, bool), Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, Error>>,
    {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref()
            && token.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok((token.access.clone(), false));
        }
        let token = fetch().await?;
        let access = token.access.clone();
        *cached = Some(token);
        Ok((access, true))
    }

    /// Drops `access` unless another call already replaced it.
    async fn forget(&self, key: &str, access: &str) {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|t| t.access == access) {
            *cached = None;
        }
    }
}

async fn fetch_token(
    client: &Client,
    settings: &Map<String, Value>,
    oidc: bool,
) -> Result<Token, Error> {
    let scheme = if oidc { "oidc" } else { "oauth2" };
    let authority = text(settings, scheme, "authority")?;
    let endpoint = if oidc || authority.trim_end_matches('/').ends_with(DISCOVERY) {
        discover(client, authority).await?
    } else {
        let path = settings
            .get("endpoints")
            .and_then(|e| e.get("token"))
            .and_then(Value::as_str)
            .unwrap_or("/oauth2/token");
        join(authority, path)
    };
    let mut params = grant_params(settings, scheme)?;
    let mut scopes = strings(settings, scheme, "scopes")?;
    if oidc && !scopes.iter().any(|s| s == "openid") {
        scopes.push("openid".to_string());
    }
    if !scopes.is_empty() {
        params.push(("scope".into(), scopes.join(" ")));
    }
    let audiences = strings(settings, scheme, "audiences")?;
    if !audiences.is_empty() {
        params.push(("audience".into(), audiences.join(" ")));
    }
    let mut headers = Vec::new();
    client_authentication(settings, scheme, &mut params, &mut headers)?;
    let encoding = settings
        .get("request")
        .and_then(|r| r.get("encoding"))
        .and_then(Value::as_str)
        .unwrap_or("application/x-www-form-urlencoded");
    if !matches!(
        encoding,
        "application/x-www-form-urlencoded" | "application/json"
    ) {
        return Err(Error::configuration(format!(
            "{scheme} request encoding '{encoding}' is not supported"
        )));
    }
    let body: Map<String, Value> = params
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    headers.push(("Content-Type".to_string(), encoding.to_string()));
    headers.push(("Accept".to_string(), "application/json".to_string()));
    let request = super::Request {
        method: "POST".into(),
        uri: endpoint.clone(),
        headers,
        body: Some(Value::Object(body)),
        ..Default::default()
    };
    let answer = unauthenticated(client, request)
        .await
        .map_err(|e| refused(&endpoint, &e))?;
    let access = answer
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::authentication(format!(
                "the token endpoint {endpoint} sent no access_token"
            ))
        })?;
    let renew_at = answer
        .get("expires_in")
        .and_then(|v| {
            let float = || {
                v.as_f64()
                    .filter(|f| *f >= 0.0 && f.is_finite())
                    .map(|f| f as u64)
            };
            v.as_u64()
                .or_else(float)
                .or_else(|| v.as_str()?.parse().ok())
        })
        // A lifetime too long for the clock is as good as none.
        .and_then(|secs| {
            Instant::now().checked_add(Duration::from_secs(secs).saturating_sub(RENEW_BEFORE))
        });
    Ok(Token {
        access: access.to_string(),
        renew_at,
    })
}

/// The `grant_type` and the grant's own parameters.
fn grant_params(
    settings: &Map<String, Value>,
    scheme: &str,
) -> Result<Vec<(String, String)>, Error> {
    let grant = text(settings, scheme, "grant")?;
    let mut params = vec![("grant_type".to_string(), grant.to_string())];
    match grant {
        "client_credentials" => {}
        "password" => {
            params.push((
                "username".into(),
                text(settings, scheme, "username")?.into(),
            ));
            params.push((
                "password".into(),
                text(settings, scheme, "password")?.into(),
            ));
        }
        "urn:ietf:params:oauth:grant-type:token-exchange" => {
            for (role, required) in [("subject", true), ("actor", false)] {
                match settings.get(role).and_then(Value::as_object) {
                    Some(token) => {
                        let value = text(token, scheme, "token")?;
                        let kind = text(token, scheme, "type")?;
                        params.push((format!("{role}_token"), value.into()));
                        params.push((format!("{role}_token_type"), kind.into()));
                    }
                    None if required => {
                        return Err(Error::configuration(format!(
                            "{scheme} token exchange needs '{role}'"
                        )));
                    }
                    None => {}
                }
            }
        }
        other => {
            return Err(Error::configuration(format!(
                "{scheme} grant '{other}' is not supported (use client_credentials, password or token exchange)"
            )));
        }
    }
    Ok(params)
}

/// Puts the client's credentials where its `client.authentication` method says.
fn client_authentication(
    settings: &Map<String, Value>,
    scheme: &str,
    params: &mut Vec<(String, String)>,
    headers: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    let empty = Map::new();
    let client = settings
        .get("client")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let id = optional_text(client, scheme, "id")?;
    let secret = optional_text(client, scheme, "secret")?;
    let method = optional_text(client, scheme, "authentication")?.unwrap_or("client_secret_post");
    match method {
        "client_secret_post" => {
            let id =
                id.ok_or_else(|| Error::configuration(format!("{scheme} needs 'client.id'")))?;
            params.push(("client_id".into(), id.into()));
            if let Some(secret) = secret {
                params.push(("client_secret".into(), secret.into()));
            }
        }
        "client_secret_basic" => {
            let id =
                id.ok_or_else(|| Error::configuration(format!("{scheme} needs 'client.id'")))?;
            // RFC 6749 §2.3.1: both parts are form-encoded before base64.
            let encode =
                |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(id), encode(secret.unwrap_or_default()));
            headers.push((
                "Authorization".into(),
                format!("Basic {}", STANDARD.encode(pair)),
            ));
        }
        "none" => {
            if let Some(id) = id {
                params.push(("client_id".into(), id.into()));
            }
        }
        "client_secret_jwt" | "private_key_jwt" => {
            let assertion = optional_text(client, scheme, "assertion")?.ok_or_else(|| {
                Error::configuration(format!(
                    "{scheme} client authentication '{method}' needs 'client.assertion'"
                ))
            })?;
            if let Some(id) = id {
                params.push(("client_id".into(), id.into()));
            }
            params.push((
                "client_assertion_type".into(),
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ));
            params.push(("client_assertion".into(), assertion.into()));
        }
        other => {
            return Err(Error::configuration(format!(
                "{scheme} client authentication '{other}' is not supported"
            )));
        }
    }
    Ok(())
}

/// The token endpoint from the authority's OpenID configuration.
async fn discover(client: &Client, authority: &str) -> Result<String, Error> {
    let authority = authority.trim_end_matches('/');
    let uri = if authority.ends_with(DISCOVERY) {
        authority.to_string()
    } else {
        format!("{authority}{DISCOVERY}")
    };
    let request = super::Request {
        method: "GET".into(),
        uri: uri.clone(),
        headers: vec![("Accept".into(), "application/json".into())],
        ..Default::default()
    };
    let configuration = unauthenticated(client, request)
        .await
        .map_err(|e| refused(&uri, &e))?;
    let endpoint = configuration
        .get("token_endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::authentication(format!("{uri} names no token_endpoint")))?;
    parse_uri(endpoint).map_err(|e| refused(&uri, &e))?;
    Ok(endpoint.to_string())
}

/// A call without policy, for the token and discovery endpoints. Not `Client::call`: that
/// would make the call's future contain itself.
async fn unauthenticated(client: &Client, request: super::Request) -> Result<Value, Error> {
    let prepared = client.prepare(&request)?;
    let received = client.exchange(&prepared, None).await?;
    response::output(&prepared, received, OutputMode::Content, false)
}

/// `endpoints.token` is a path relative to the authority, appended to it (a plain URL join
/// would drop the authority's own path, e.g. a Keycloak realm); an absolute URL stays as is.
fn join(authority: &str, path: &str) -> String {
    if parse_uri(path).is_ok() {
        return path.to_string();
    }
    format!(
        "{}/{}",
        authority.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn strings(settings: &Map<String, Value>, scheme: &str, name: &str) -> Result<Vec<String>, Error> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    Error::configuration(format!("{scheme} '{name}' must be a list of strings"))
                })
            })
            .collect(),
        Some(_) => Err(Error::configuration(format!(
            "{scheme} '{name}' must be a list of strings"
        ))),
    }
}

/// Any failure to get a token is the spec's authentication error; configuration mistakes
/// (a bad authority URI, say) stay configuration errors.
fn refused(endpoint: &str, error: &Error) -> Error {
    // The spec's error type (a URI), compared whole.
    if error.kind.strip_prefix(crate::error::TYPE_BASE) == Some("configuration") {
        return error.clone();
    }
    let cause = error
        .detail
        .as_deref()
        .or(error.title.as_deref())
        .unwrap_or_default();
    Error::authentication(format!("no token from {endpoint}: {cause}"))
}
