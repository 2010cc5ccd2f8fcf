//! RFC 7807 problem documents: every error answer of the API, and the one mapping from the
//! error kinds of the store and the runtime to HTTP statuses (the `From` impls below):
//! handlers return those errors with `?` and never choose a status for them.
//!
//! - 400 the request is malformed; 404 what it names does not exist; 409 it conflicts with
//!   what exists; 413 / 415 the body; 422 run control refuses on the merits;
//! - 503 with `Retry-After` while the store is unreachable or busy: the same request may
//!   succeed later;
//! - 500 for what only a bug or damaged data explains (a row that does not decode, a store
//!   refusing what the API should have checked, the engine gone).

use crate::runtime::node::Refused;
use crate::runtime::runs;
use crate::store;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// How long a client should wait before asking again after a 503, in seconds: the database
/// being down is longer than it being busy.
const RETRY_UNAVAILABLE: u32 = 5;
const RETRY_BUSY: u32 = 1;

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    /// More members (e.g. `diagnostics`).
    pub extra: Option<Box<(&'static str, Value)>>,
    /// Seconds for the `Retry-After` header (503s).
    pub retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            title,
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    fn retry_after(mut self, seconds: u32) -> Problem {
        self.retry_after = Some(seconds);
        self
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

impl From<store::Error> for Problem {
    fn from(e: store::Error) -> Problem {
        let detail = e.to_string();
        match e {
            store::Error::Unavailable(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Store unavailable", detail)
                    .retry_after(RETRY_UNAVAILABLE)
            }
            store::Error::Busy(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Store busy", detail)
                    .retry_after(RETRY_BUSY)
            }
            store::Error::Conflict(_) => Problem::new(StatusCode::CONFLICT, "Conflict", detail),
            store::Error::Corrupt(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Stored data unreadable",
                detail,
            ),
            store::Error::Invalid(_) | store::Error::Bug(_) => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", detail)
            }
        }
    }
}

impl From<runs::Error> for Problem {
    fn from(e: runs::Error) -> Problem {
        let detail = e.to_string();
        match e {
            runs::Error::NoWorkflow { .. } => Problem::not_found(detail),
            runs::Error::BadDate { .. } => Problem::bad_request(detail),
            runs::Error::RunExists { .. } => {
                Problem::new(StatusCode::CONFLICT, "Run exists", detail)
            }
            runs::Error::Schedule(_) | runs::Error::Definition(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Cannot plan runs", detail)
            }
            runs::Error::Store(e) => e.into(),
        }
    }
}

impl From<Refused> for Problem {
    fn from(e: Refused) -> Problem {
        let detail = e.to_string();
        match e {
            Refused::Store(e) => e.into(),
            Refused::NoInstance(_) => Problem::not_found(detail),
            Refused::State(_) => Problem::new(StatusCode::CONFLICT, "Instance state", detail),
            Refused::Unreadable(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Stored data unreadable",
                detail,
            ),
            // The API creates no instance that events start, so a lost creation is a bug, as
            // is an engine thread that went away.
            Refused::Lost(_) | Refused::Stopped => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", detail)
            }
        }
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
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
