//! nagare (流れ): a runtime for the CNCF Serverless Workflow DSL 1.0.x.
//!
//! The layers, from the document to the side effects:
//! [`dsl`] (document model, loading, validation) → [`expr`] (runtime expressions on jaq) →
//! [`engine`] (the sans-IO interpreter) → [`runtime`] (drives instances, executes commands) →
//! [`functions`] (the side effects: HTTP, OpenAPI, processes).

pub mod api;
pub mod client;
pub mod dsl;
pub mod engine;
pub mod error;
pub mod events;
pub mod expr;
pub mod functions;
pub mod runtime;
pub mod schedule;
pub mod serve;
pub mod store;
pub mod ui;
pub mod workflow;

/// Counts each thread's allocations so that an expression's memory can be bounded
/// (`expr::budget`); otherwise the system allocator.
#[global_allocator]
static ALLOCATOR: expr::budget::Counting = expr::budget::Counting;
