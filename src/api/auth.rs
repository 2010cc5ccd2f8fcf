//! Optional bearer-token authentication: with `--token-file`, every route but `/healthz`
//! needs `Authorization: Bearer <a token of the file>`.

use super::{App, Problem};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if app.tokens.is_empty() {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 7235 §2.1).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match given {
        Some(token) if app.tokens.iter().any(|t| same(t, token)) => next.run(request).await,
        _ => {
            let mut response = Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "this server needs `Authorization: Bearer <token>` with a token of its --token-file",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("static header"),
            );
            response
        }
    }
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Reads a token file: one token per line; blank lines and `#` comments are skipped.
pub fn read_tokens(path: &std::path::Path) -> Result<std::collections::HashSet<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    let tokens: std::collections::HashSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if tokens.is_empty() {
        return Err(format!("the token file {} holds no token", path.display()));
    }
    Ok(tokens)
}
