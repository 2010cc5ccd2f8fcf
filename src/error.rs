//! The spec's error object (RFC 7807 problem details) and its standard types.

use serde::{Deserialize, Serialize};

/// The base of the spec's standard error type URIs.
pub const TYPE_BASE: &str = "https://serverlessworkflow.io/spec/1.0.0/errors/";

/// An error as the spec describes it: raised by tasks, caught by `try`, reported on fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Error {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// JSON pointer of the task that raised the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Error {
    pub fn new(kind: &str, status: u16, title: &str, detail: impl Into<String>) -> Self {
        Error {
            kind: format!("{TYPE_BASE}{kind}"),
            status,
            title: Some(title.to_string()),
            detail: Some(detail.into()).filter(|d: &String| !d.is_empty()),
            instance: None,
        }
    }
    pub fn configuration(detail: impl Into<String>) -> Self {
        Self::new("configuration", 400, "Configuration Error", detail)
    }
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new("validation", 400, "Validation Error", detail)
    }
    pub fn expression(detail: impl Into<String>) -> Self {
        Self::new("expression", 400, "Expression Error", detail)
    }
    pub fn authentication(detail: impl Into<String>) -> Self {
        Self::new("authentication", 401, "Authentication Error", detail)
    }
    pub fn authorization(detail: impl Into<String>) -> Self {
        Self::new("authorization", 403, "Authorization Error", detail)
    }
    pub fn timeout(detail: impl Into<String>) -> Self {
        Self::new("timeout", 408, "Timeout Error", detail)
    }
    /// A problem while talking to another service; `status` is the peer's HTTP status when it answered.
    pub fn communication(status: u16, title: &str, detail: impl Into<String>) -> Self {
        Self::new("communication", status, title, detail)
    }
    pub fn runtime(detail: impl Into<String>) -> Self {
        Self::new("runtime", 500, "Runtime Error", detail)
    }
    /// Sets the instance (the raising task's JSON pointer) unless one is already set.
    pub fn at(mut self, pointer: &str) -> Self {
        if self.instance.is_none() {
            self.instance = Some(pointer.to_string());
        }
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({})",
            self.title.as_deref().unwrap_or(&self.kind),
            self.status
        )?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if let Some(i) = &self.instance {
            write!(f, " at {i}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
