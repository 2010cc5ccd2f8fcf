//! What a document's `metadata.nagare` says about evaluating its expressions: a budget lower
//! than the server's (`limits`), and the time zone of `localtime` and `strflocaltime`
//! (`timezone`, which also places its schedule; UTC when absent).
//!
//! ```yaml
//! document:
//!   metadata:
//!     nagare:
//!       timezone: Europe/Paris
//!       limits: {evalSteps: 100000, evalMemory: 16777216, evalDepth: 100, evalTime: PT0.2S}
//! ```

use super::Problem;
use crate::expr::Program;
use crate::expr::budget::Limits;
use serde_json::Value;

const AT: &str = "/document/metadata/nagare";

/// Applies the document's limits and time zone to its program.
pub fn apply(document: &Value, program: &mut Program) -> Result<(), Vec<Problem>> {
    let Some(nagare) = document.pointer("/document/metadata/nagare") else {
        return Ok(());
    };
    let mut problems = Vec::new();
    if let Some(zone) = nagare.get("timezone").and_then(Value::as_str) {
        // A bad zone is reported by the schedule's settings, where it is read too.
        if let Ok(tz) = jiff::tz::TimeZone::get(zone) {
            program.set_time_zone(tz);
        }
    }
    let Some(limits) = nagare.get("limits") else {
        return Ok(());
    };
    let Some(limits) = limits.as_object() else {
        return Err(vec![problem("/limits", "must be an object".into())]);
    };
    let mut lowered = Limits {
        steps: u64::MAX,
        memory: usize::MAX,
        depth: usize::MAX,
        time: std::time::Duration::MAX,
    };
    for (key, v) in limits {
        let at = format!("/limits/{key}");
        let count = || v.as_u64().filter(|n| *n > 0);
        match key.as_str() {
            "evalSteps" => match count() {
                Some(n) => lowered.steps = n,
                None => problems.push(problem(
                    &at,
                    "must be a positive whole number of steps".into(),
                )),
            },
            "evalMemory" => match count() {
                Some(n) => lowered.memory = n as usize,
                None => problems.push(problem(
                    &at,
                    "must be a positive whole number of bytes".into(),
                )),
            },
            "evalDepth" => match count() {
                Some(n) => lowered.depth = n as usize,
                None => problems.push(problem(
                    &at,
                    "must be a positive whole number of levels".into(),
                )),
            },
            "evalTime" => match v.as_str().map(crate::dsl::model::duration::parse_iso8601) {
                Some(Ok(d)) if !d.is_zero() => lowered.time = d,
                _ => problems.push(problem(
                    &at,
                    "must be an ISO 8601 duration such as PT0.5S".into(),
                )),
            },
            other => problems.push(problem(
                &at,
                format!("unknown limit `{other}` (evalSteps, evalMemory, evalDepth, evalTime)"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    program.limit(lowered);
    Ok(())
}

fn problem(at: &str, message: String) -> Problem {
    Problem {
        pointer: format!("{AT}{at}"),
        message: format!("metadata.nagare.limits: {message}"),
    }
}
