//! Side effects behind the engine's commands: HTTP and OpenAPI calls (more backends later).

pub mod http;
pub mod openapi;
