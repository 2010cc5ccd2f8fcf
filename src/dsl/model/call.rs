//! `call` tasks: http, openapi, grpc, asyncapi, a2a, mcp, and custom functions.
//!
//! The `with` arguments of the typed calls are closed objects; custom functions take any
//! arguments. Values that may hold runtime expressions stay `serde_json::Value`.

use super::event::SubscriptionIterator;
use super::{Duration, Endpoint, ExternalResource, ReferenceableAuthentication};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub enum Call {
    Http(HttpArgs),
    OpenApi(OpenApiArgs),
    Grpc(GrpcArgs),
    AsyncApi(AsyncApiArgs),
    A2a(A2aArgs),
    Mcp(McpArgs),
    /// A function of `use.functions` or a catalog (`name:version@catalog`), with free arguments.
    Function {
        name: String,
        with: Map<String, Value>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpArgs {
    pub method: String,
    pub endpoint: Endpoint,
    /// An object of header templates, or an expression producing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// An object of query templates, or an expression producing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFormat>,
    #[serde(default)]
    pub redirect: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputFormat {
    Raw,
    #[default]
    Content,
    Response,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenApiArgs {
    pub document: ExternalResource,
    pub operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ReferenceableAuthentication>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFormat>,
    #[serde(default)]
    pub redirect: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrpcArgs {
    pub proto: ExternalResource,
    pub service: GrpcService,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrpcService {
    pub name: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ReferenceableAuthentication>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncApiArgs {
    pub document: ExternalResource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<AsyncApiServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<AsyncApiMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<AsyncApiSubscription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ReferenceableAuthentication>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncApiServer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncApiMessage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncApiSubscription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub consume: AsyncApiConsumption,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreach: Option<SubscriptionIterator>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncApiConsumption {
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    #[serde(default, rename = "while", skip_serializing_if = "Option::is_none")]
    pub while_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct A2aArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_card: Option<ExternalResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Endpoint>,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    pub transport: McpTransport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<McpClient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpTransport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<McpHttp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdio: Option<McpStdio>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpHttp {
    pub endpoint: Endpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpStdio {
    pub command: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpClient {
    pub name: String,
    pub version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    call: String,
    #[serde(default)]
    with: Option<Value>,
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use super::from_value::{from_value, nest};
        let raw = Raw::deserialize(d)?;
        let with = raw.with.unwrap_or(Value::Object(Map::new()));
        fn args<T: serde::de::DeserializeOwned, E: serde::de::Error>(v: &Value) -> Result<T, E> {
            from_value(v).map_err(|e| nest::<E>("/with", e))
        }
        Ok(match raw.call.as_str() {
            "http" => Call::Http(args(&with)?),
            "openapi" => Call::OpenApi(args(&with)?),
            "grpc" => Call::Grpc(args(&with)?),
            "asyncapi" => Call::AsyncApi(args(&with)?),
            "a2a" => Call::A2a(args(&with)?),
            "mcp" => Call::Mcp(args(&with)?),
            _ => Call::Function {
                name: raw.call,
                with: args(&with)?,
            },
        })
    }
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let (call, with) = match self {
            Call::Http(a) => ("http", serde_json::to_value(a)),
            Call::OpenApi(a) => ("openapi", serde_json::to_value(a)),
            Call::Grpc(a) => ("grpc", serde_json::to_value(a)),
            Call::AsyncApi(a) => ("asyncapi", serde_json::to_value(a)),
            Call::A2a(a) => ("a2a", serde_json::to_value(a)),
            Call::Mcp(a) => ("mcp", serde_json::to_value(a)),
            Call::Function { name, with } => (name.as_str(), Ok(Value::Object(with.clone()))),
        };
        let mut out = Map::new();
        out.insert("call".into(), Value::String(call.into()));
        let with = with.map_err(S::Error::custom)?;
        if !matches!(&with, Value::Object(m) if m.is_empty())
            || !matches!(self, Call::Function { .. })
        {
            out.insert("with".into(), with);
        }
        out.serialize(s)
    }
}
