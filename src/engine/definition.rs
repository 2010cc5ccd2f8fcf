//! A workflow definition made ready to run: the model, its expressions compiled into one program,
//! and its JSON Schemas compiled on first use.

use crate::dsl::model::{EvaluationMode, Workflow, from_value::from_value};
use crate::expr::Program;
use crate::expr::collect::collect;
use crate::expr::template::Mode;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

mod limits;

pub struct Definition {
    pub workflow: Workflow,
    /// The document as loaded (for `$workflow.definition`).
    pub document: Value,
    pub program: Program,
    pub mode: Mode,
    /// Which arguments the expressions use: building `$task` and `$workflow` costs, so only
    /// when something reads them.
    pub(crate) uses_task: bool,
    pub(crate) uses_workflow: bool,
    /// `use.extensions` in declaration order, flattened to (name, extension).
    pub(crate) extensions: Vec<(String, crate::dsl::model::Extension)>,
    schemas: RefCell<HashMap<String, Rc<jsonschema::Validator>>>,
    /// External schema documents by URI, loaded by the runtime before the run (the engine
    /// does no IO); an error says why one could not be loaded.
    resources: RefCell<HashMap<String, Result<Value, String>>>,
}

/// A problem with a definition, at a JSON pointer.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

impl Definition {
    /// Reads the model from a loaded document and compiles every expression.
    pub fn compile(document: Value) -> Result<Definition, Vec<Problem>> {
        let workflow: Workflow = from_value(&document)
            .map_err(|(pointer, message)| vec![Problem { pointer, message }])?;
        let loose = workflow
            .evaluate
            .as_ref()
            .is_some_and(|e| e.mode == EvaluationMode::Loose);
        let found = collect(&document, loose);
        let mut sources: Vec<String> = found.expressions.iter().map(|f| f.source.clone()).collect();
        if loose {
            // A loose string that is not valid jq is a literal; keep only the candidates that compile.
            let ok: Vec<String> = found
                .candidates
                .iter()
                .filter(|c| {
                    Program::compile(std::slice::from_ref(&c.source), &found.locals).is_ok()
                })
                .map(|c| c.source.clone())
                .collect();
            sources.extend(ok);
        }
        let mut program = Program::compile(&sources, &found.locals).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| Problem {
                    pointer: found
                        .expressions
                        .get(e.index)
                        .map(|f| f.pointer.clone())
                        .unwrap_or_default(),
                    message: format!(
                        "invalid runtime expression `{}`: {}",
                        sources[e.index], e.message
                    ),
                })
                .collect::<Vec<_>>()
        })?;
        limits::apply(&document, &mut program)?;
        let uses = |arg: &str| sources.iter().any(|s| s.contains(arg));
        let extensions = workflow
            .use_
            .iter()
            .flat_map(|u| u.extensions.iter())
            .flat_map(|item| item.iter().map(|(n, e)| (n.clone(), e.clone())))
            .collect();
        Ok(Definition {
            extensions,
            uses_task: uses("$task")
                || !workflow
                    .use_
                    .as_ref()
                    .is_none_or(|u| u.extensions.is_empty()),
            uses_workflow: uses("$workflow"),
            mode: if loose { Mode::Loose } else { Mode::Strict },
            workflow,
            document,
            program,
            schemas: RefCell::default(),
            resources: RefCell::default(),
        })
    }

    /// The JSON Schema validator for an inline schema document, compiled once per pointer.
    pub(crate) fn schema(
        &self,
        pointer: &str,
        schema: &Value,
    ) -> Result<Rc<jsonschema::Validator>, String> {
        if let Some(v) = self.schemas.borrow().get(pointer) {
            return Ok(v.clone());
        }
        let validator = Rc::new(
            jsonschema::validator_for(schema)
                .map_err(|e| format!("invalid schema at {pointer}: {e}"))?,
        );
        self.schemas
            .borrow_mut()
            .insert(pointer.to_string(), validator.clone());
        Ok(validator)
    }

    /// The URIs of the external schema resources the definition uses (`schema.resource`).
    pub fn schema_resources(&self) -> Vec<String> {
        fn walk(v: &Value, under_schema: bool, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if under_schema
                        && let Some(uri) = m
                            .get("resource")
                            .and_then(|r| r.get("endpoint"))
                            .and_then(|e| e.get("uri").or(Some(e)))
                            .and_then(Value::as_str)
                    {
                        out.push(uri.to_string());
                    }
                    for (k, child) in m {
                        walk(child, k == "schema", out);
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, false, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.document, false, &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Gives the engine an external schema document (or why it could not be loaded).
    pub fn provide_schema(&self, uri: &str, document: Result<Value, String>) {
        self.resources
            .borrow_mut()
            .insert(uri.to_string(), document);
    }

    pub(crate) fn resource(&self, uri: &str) -> Result<Value, String> {
        match self.resources.borrow().get(uri) {
            Some(r) => r.clone(),
            None => Err(format!(
                "the schema resource {uri} was not loaded by the runtime"
            )),
        }
    }

    /// `namespace/name:version`, used in logs and lifecycle events.
    pub fn qualified_name(&self) -> String {
        let d = &self.workflow.document;
        format!("{}.{}:{}", d.name, d.namespace, d.version)
    }
}
