//! Reading a workflow file: YAML/JSON with positions, the schema, the model, the semantic
//! checks and the expressions, each problem located as `FILE:LINE:COLUMN (at /pointer)`.

use crate::dsl::diagnostic::Diagnostic;
use crate::dsl::{check, load, schema};
use crate::engine::Definition;

/// Loads and validates a workflow; every problem found is reported, not just the first.
pub fn load(file: &str, text: &str) -> Result<Definition, Vec<Diagnostic>> {
    let document = load::parse(file, text).map_err(|d| vec![d])?;
    let problems = schema::validate(file, &document);
    if !problems.is_empty() {
        return Err(problems);
    }
    let definition = Definition::compile(document.value.clone()).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| document.diagnostic(file, &p.pointer, p.message))
            .collect::<Vec<_>>()
    })?;
    let mut problems = check::check(&definition.workflow);
    if let Err(problem) = crate::events::route::Routes::of_document(&definition.document) {
        problems.push(problem);
    }
    let problems: Vec<Diagnostic> = problems
        .into_iter()
        .map(|(pointer, message)| document.diagnostic(file, &pointer, message))
        .collect();
    if problems.is_empty() {
        Ok(definition)
    } else {
        Err(problems)
    }
}
