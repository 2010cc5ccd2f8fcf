//! Endpoints and authentication policies.

use serde::{Deserialize, Serialize};

/// An endpoint: a URI (template) or runtime expression, optionally with an authentication.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Endpoint {
    Uri(String),
    Config(EndpointConfig),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ReferenceableAuthentication>,
}

impl Endpoint {
    pub fn uri(&self) -> &str {
        match self {
            Endpoint::Uri(u) => u,
            Endpoint::Config(c) => &c.uri,
        }
    }
    pub fn authentication(&self) -> Option<&ReferenceableAuthentication> {
        match self {
            Endpoint::Uri(_) => None,
            Endpoint::Config(c) => c.authentication.as_ref(),
        }
    }
}

/// An authentication policy given inline or by the name of an entry of `use.authentications`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReferenceableAuthentication {
    Use(UseRef),
    Policy(AuthenticationPolicy),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseRef {
    #[serde(rename = "use")]
    pub use_: String,
}

/// One scheme; the scheme's properties are kept as data (they may hold expressions) or name a
/// secret with `use`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthenticationPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AuthenticationPolicy {
    /// The scheme name and its properties (the schema allows exactly one scheme).
    pub fn scheme(&self) -> Option<(&'static str, &serde_json::Map<String, serde_json::Value>)> {
        [
            ("basic", &self.basic),
            ("bearer", &self.bearer),
            ("certificate", &self.certificate),
            ("digest", &self.digest),
            ("oauth2", &self.oauth2),
            ("oidc", &self.oidc),
        ]
        .into_iter()
        .find_map(|(name, props)| props.as_ref().map(|p| (name, p)))
    }
}
