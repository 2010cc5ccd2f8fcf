//! RFC 7807 problem documents: every error answer of the API.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    /// More members (e.g. `diagnostics`).
    pub extra: Option<Box<(&'static str, Value)>>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
            extra: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    pub fn store(e: crate::store::Error) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Store unavailable",
            e.to_string(),
        )
    }

    /// The answer to a body axum could not read (too large, cut short).
    pub fn body(e: axum::extract::rejection::BytesRejection, limit: super::BodyLimit) -> Problem {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // axum's own text ("length limit exceeded") names neither the limit nor the knob.
            return Problem::new(
                status,
                "Request body too large",
                format!(
                    "the request body is larger than this server accepts ({} bytes; see nagare serve {})",
                    limit.bytes, limit.flag
                ),
            );
        }
        Problem::new(status, "Unreadable request body", e.body_text())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some((k, v)) = self.extra.map(|b| *b) {
            body[k] = v;
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}
