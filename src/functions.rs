//! Side effects behind the engine's commands: HTTP and OpenAPI calls, local processes,
//! containers.

pub mod container;
mod group;
pub mod http;
pub mod log;
pub mod openapi;
pub mod process;
