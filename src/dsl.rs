//! The DSL 1.0 document: loading with positions, the model, and validation.

pub mod check;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod schema;
