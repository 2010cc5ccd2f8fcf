//! Authentication policies applied to a request: basic, bearer, digest, OAuth2 and OIDC.
//!
//! - `basic`, `bearer`: an `Authorization` header on the one request.
//! - `digest`: the request goes out bare; a 401 with a `Digest` challenge is answered once
//!   (RFC 7616 via `digest_auth`). A challenge that cannot be answered → `authentication`.
//! - `oauth2`, `oidc`: a bearer token from the policy's token endpoint (see [`super::oauth2`]).
//! - `use` (an unresolved reference), `certificate`, or anything else → `configuration`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use serde_json::{Map, Value};

use super::{Client, Prepared, Received, oauth2};
use crate::error::Error;

/// Sends `prepared` under `policy` (none: as is).
pub(super) async fn send(
    client: &Client,
    prepared: &Prepared,
    policy: Option<&Value>,
) -> Result<Received, Error> {
    let Some(policy) = policy else {
        return client.exchange(prepared, None).await;
    };
    match Scheme::parse(policy)? {
        Scheme::Basic(username, password) => {
            let value = basic(username, password)?;
            client.exchange(prepared, Some(&value)).await
        }
        Scheme::Bearer(token) => client.exchange(prepared, Some(&bearer(token)?)).await,
        Scheme::Digest(username, password) => {
            let first = client.exchange(prepared, None).await?;
            if first.status != StatusCode::UNAUTHORIZED {
                return Ok(first);
            }
            let Some(challenge) = digest_challenge(&first.headers) else {
                return Ok(first);
            };
            let answer = digest_answer(prepared, challenge, username, password)?;
            client.exchange(prepared, Some(&answer)).await
        }
        Scheme::OAuth2(settings, oidc) => {
            oauth2::send(client, prepared, &policy.to_string(), settings, oidc).await
        }
    }
}

enum Scheme<'a> {
    Basic(&'a str, &'a str),
    Bearer(&'a str),
    Digest(&'a str, &'a str),
    /// The settings, and whether they are `oidc`.
    OAuth2(&'a Map<String, Value>, bool),
}

impl<'a> Scheme<'a> {
    fn parse(policy: &'a Value) -> Result<Self, Error> {
        let fields = policy
            .as_object()
            .ok_or_else(|| Error::configuration("an authentication policy must be an object"))?;
        let settings = |name: &str| -> Result<&'a Map<String, Value>, Error> {
            fields.get(name).and_then(Value::as_object).ok_or_else(|| {
                Error::configuration(format!("'{name}' authentication must be an object"))
            })
        };
        if let Some(name) = fields.get("use").and_then(Value::as_str) {
            return Err(Error::configuration(format!(
                "authentication policy '{name}' was not resolved before the call"
            )));
        }
        if fields.contains_key("basic") {
            let s = settings("basic")?;
            Ok(Scheme::Basic(
                text(s, "basic", "username")?,
                text(s, "basic", "password")?,
            ))
        } else if fields.contains_key("bearer") {
            Ok(Scheme::Bearer(text(
                settings("bearer")?,
                "bearer",
                "token",
            )?))
        } else if fields.contains_key("digest") {
            let s = settings("digest")?;
            Ok(Scheme::Digest(
                text(s, "digest", "username")?,
                text(s, "digest", "password")?,
            ))
        } else if fields.contains_key("oauth2") {
            Ok(Scheme::OAuth2(settings("oauth2")?, false))
        } else if fields.contains_key("oidc") {
            Ok(Scheme::OAuth2(settings("oidc")?, true))
        } else if fields.contains_key("certificate") {
            Err(Error::configuration(
                "certificate authentication is not supported",
            ))
        } else {
            Err(Error::configuration(
                "an authentication policy needs one of basic, bearer, digest, oauth2 or oidc",
            ))
        }
    }
}

/// A required string setting.
pub(super) fn text<'a>(
    settings: &'a Map<String, Value>,
    scheme: &str,
    name: &str,
) -> Result<&'a str, Error> {
    optional_text(settings, scheme, name)?
        .ok_or_else(|| Error::configuration(format!("{scheme} authentication needs '{name}'")))
}

pub(super) fn optional_text<'a>(
    settings: &'a Map<String, Value>,
    scheme: &str,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    match settings.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::configuration(format!(
            "{scheme} authentication: '{name}' must be a string"
        ))),
    }
}

fn header(value: String) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(&value)
        .map_err(|_| Error::configuration("credentials contain characters not allowed in a header"))
}

fn basic(username: &str, password: &str) -> Result<HeaderValue, Error> {
    header(format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    ))
}

pub(super) fn bearer(token: &str) -> Result<HeaderValue, Error> {
    header(format!("Bearer {token}"))
}

/// The first `Digest` challenge among the `WWW-Authenticate` headers, without its scheme.
/// Only visible-ASCII values pass `to_str`, which `digest_auth`'s parser needs: it slices by
/// character index.
fn digest_challenge(headers: &HeaderMap) -> Option<&str> {
    headers.get_all(WWW_AUTHENTICATE).iter().find_map(|value| {
        let value = value.to_str().ok()?.trim_start();
        let scheme = value.get(..6)?;
        scheme.eq_ignore_ascii_case("digest").then(|| &value[6..])
    })
}

fn digest_answer(
    prepared: &Prepared,
    challenge: &str,
    username: &str,
    password: &str,
) -> Result<HeaderValue, Error> {
    let refuse = |e: digest_auth::Error| {
        Error::authentication(format!(
            "{} sent a digest challenge that cannot be answered: {e}",
            prepared.describe()
        ))
    };
    let mut prompt = digest_auth::parse(challenge).map_err(refuse)?;
    // The digest covers the request-target the server sees, so the host-mapped one.
    let mut uri = prepared.target.path().to_string();
    if let Some(query) = prepared.target.query() {
        uri.push('?');
        uri.push_str(query);
    }
    let method = digest_auth::HttpMethod(prepared.method.as_str().into());
    let context = digest_auth::AuthContext::new_with_method(
        username,
        password,
        uri,
        prepared.body.as_deref(),
        method,
    );
    let answer = prompt.respond(&context).map_err(refuse)?;
    header(answer.to_header_string())
}
