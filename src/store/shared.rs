//! What both backends share: JSON as text, row decoding, the batch grouping, limits.

use super::{
    Append, Control, EVENT_PAGE_MAX, Error, InstanceRow, LOG_PAGE_MAX, LogChunk, MARKS,
    NewInstance, NewRun, Outgoing, Result, RunRow, StoredEvent, StoredLog, StoredWorkflow, Summary,
    WorkflowKey, WorkflowSettings,
};
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch on this process's clock.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The page size of a listing: 0 means the default, and there is a cap.
pub(super) fn page(limit: u32) -> i64 {
    match limit {
        0 => 50,
        n => i64::from(n.min(1000)),
    }
}

/// The page size of a run listing: 0 means 1000, and 1000 is the cap.
pub(super) fn run_page(limit: u32) -> i64 {
    match limit {
        0 => 1000,
        n => i64::from(n.min(1000)),
    }
}

/// The page size of an event read: 0 gives none, and there is a cap.
pub(super) fn event_page(limit: u32) -> i64 {
    i64::from(limit.min(EVENT_PAGE_MAX))
}

/// An incoming CloudEvent as `put_events` stores it: its attributes, and its text.
pub(super) struct IncomingEvent<'a> {
    pub source: &'a str,
    pub id: &'a str,
    pub r#type: &'a str,
    pub text: String,
}

/// Reads the attributes of every event of a `put_events` batch; any event without them is an
/// error for the whole batch (checked before anything is written).
pub(super) fn incoming_events(events: &[Value]) -> Result<Vec<IncomingEvent<'_>>> {
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let invalid = |problem: String| {
                Error::invalid(format!(
                    "incoming event {i} of the batch {problem}; no event of the batch was stored"
                ))
            };
            if !event.is_object() {
                return Err(invalid(format!("is {}, not a JSON object", kind(event))));
            }
            let attribute = |name: &str| match event.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
                found => Err(invalid(format!(
                    "has no CloudEvents attribute `{name}` (a non-empty string){}",
                    found.map_or(String::new(), |v| format!(", but {}", kind(v)))
                ))),
            };
            Ok(IncomingEvent {
                source: attribute("source")?,
                id: attribute("id")?,
                r#type: attribute("type")?,
                text: text(event),
            })
        })
        .collect()
}

/// What a JSON value is, for messages (values themselves may be large).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(s) if s.is_empty() => "an empty string",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `put_events`' answer: per event of the batch, in order, its new seq — the one a `RETURNING
/// seq, source, id` row gives its (source, id), to the first event naming that key (the one
/// inserted: the batch goes in in order) — or `None` for a duplicate.
pub(super) fn new_seqs<R>(events: &[IncomingEvent], rows: &[R]) -> Result<Vec<Option<i64>>>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut inserted = HashMap::with_capacity(rows.len());
    for row in rows {
        inserted.insert(
            (
                row.try_get::<String, _>("source")?,
                row.try_get::<String, _>("id")?,
            ),
            row.try_get::<i64, _>("seq")?,
        );
    }
    let mut key = (String::new(), String::new());
    Ok(events
        .iter()
        .map(|e| {
            key.0.clear();
            key.0.push_str(e.source);
            key.1.clear();
            key.1.push_str(e.id);
            // Taken out: a later event with the same key is a duplicate of this one.
            inserted.remove(&key)
        })
        .collect())
}

/// The columns [`stored_event`] reads.
macro_rules! event_columns {
    () => {
        "seq, source, id, type, event, received_at"
    };
}
pub(super) use event_columns;

/// Decodes a row of `SELECT event_columns!()` from `events`.
/// The columns [`stored_log`] reads.
macro_rules! log_columns {
    () => {
        "seq, instance_id, task, effect, stream, at, text"
    };
}
pub(super) use log_columns;

/// The page size for a log query.
pub(super) fn log_page(limit: u32) -> i64 {
    i64::from(limit.min(LOG_PAGE_MAX))
}

pub(super) fn stored_log<R>(row: &R) -> Result<StoredLog>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let seq: i64 = row.try_get("seq")?;
    let stream: String = row.try_get("stream")?;
    Ok(StoredLog {
        seq,
        chunk: LogChunk {
            instance: row.try_get("instance_id")?,
            task: row.try_get("task")?,
            effect: row.try_get::<i64, _>("effect")? as u64,
            stream: crate::functions::log::Stream::parse(&stream).ok_or_else(|| {
                Error::corrupt(format!("log piece {seq} has the stream {stream:?}"))
            })?,
            at: row.try_get("at")?,
            text: row.try_get("text")?,
        },
    })
}

pub(super) fn stored_event<R>(row: &R) -> Result<StoredEvent>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let seq: i64 = row.try_get("seq")?;
    Ok(StoredEvent {
        seq,
        source: row.try_get("source")?,
        id: row.try_get("id")?,
        r#type: row.try_get("type")?,
        event: json(
            &format!("incoming event {seq}"),
            &row.try_get::<String, _>("event")?,
        )?,
        received_at: row.try_get("received_at")?,
    })
}

/// The runs of an `add_runs` call in key order, each date once (the first named wins).
/// Sorted, so concurrent calls on PostgreSQL take row locks in one order and cannot deadlock.
pub(super) fn sorted_runs(runs: &[NewRun]) -> Vec<&NewRun> {
    let mut sorted: Vec<&NewRun> = runs.iter().collect();
    // Stable: among equal keys the first named stays first, and dedup keeps it.
    sorted.sort_by(|a, b| {
        (&a.namespace, &a.name, a.logical_date).cmp(&(&b.namespace, &b.name, b.logical_date))
    });
    sorted.dedup_by(|b, a| {
        (&a.namespace, &a.name, a.logical_date) == (&b.namespace, &b.name, b.logical_date)
    });
    sorted
}

/// The runs of `sorted` that the `RETURNING namespace, name, logical_date` rows do not name:
/// those whose date already had a run.
pub(super) fn not_inserted<'a, R>(sorted: &[&'a NewRun], rows: &[R]) -> Result<Vec<&'a NewRun>>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    for row in rows {
        inserted.insert((
            row.try_get::<String, _>("namespace")?,
            row.try_get::<String, _>("name")?,
            row.try_get::<i64, _>("logical_date")?,
        ));
    }
    Ok(sorted
        .iter()
        .filter(|r| !inserted.contains(&(r.namespace.clone(), r.name.clone(), r.logical_date)))
        .copied()
        .collect())
}

/// Decodes the `logical_date` column of `RETURNING` rows.
pub(super) fn dates<R>(rows: &[R]) -> Result<Vec<i64>>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(rows
        .iter()
        .map(|row| row.try_get("logical_date"))
        .collect::<std::result::Result<_, _>>()?)
}

/// Settings as stored: `overrides` must be an object (the run control merges it key by key).
pub(super) fn check_settings(settings: &WorkflowSettings) -> Result<()> {
    if settings.overrides.is_object() {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "workflow settings: overrides must be a JSON object, not {}",
            settings.overrides
        )))
    }
}

/// The columns [`run_row`] reads (`r`: runs, `i`: its instance, LEFT JOINed).
macro_rules! run_columns {
    () => {
        "r.namespace, r.name, r.version, r.logical_date, r.interval_start, r.interval_end, \
         r.kind, r.instance_id, COALESCE(i.status, 'queued') AS status, r.created_at, \
         r.started_at, i.ended_at, r.previous, r.marked, r.task_marks"
    };
}
pub(super) use run_columns;

/// Decodes a row of `SELECT run_columns!()`.
pub(super) fn run_row<R>(row: &R) -> Result<RunRow>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let logical_date: i64 = row.try_get("logical_date")?;
    let previous = row.try_get::<String, _>("previous")?;
    let previous = serde_json::from_str(&previous).map_err(|e| {
        Error::corrupt(format!(
            "stored previous instances of the run of {logical_date} are not a JSON array of \
             ids: {e}"
        ))
    })?;
    let task_marks = task_marks_of(logical_date, &row.try_get::<String, _>("task_marks")?)?;
    Ok(RunRow {
        namespace: row.try_get("namespace")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        logical_date,
        interval_start: row.try_get("interval_start")?,
        interval_end: row.try_get("interval_end")?,
        kind: row.try_get("kind")?,
        instance: row.try_get("instance_id")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        previous,
        marked: row.try_get("marked")?,
        task_marks,
    })
}

/// Decodes the stored `task_marks` of the run of `logical_date`.
pub(super) fn task_marks_of(logical_date: i64, stored: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(stored).map_err(|e| {
        Error::corrupt(format!(
            "stored task marks of the run of {logical_date} are not a JSON object of task \
             references to states: {e}"
        ))
    })
}

/// A mark to write: `failed`, `succeeded`, or none (the mark is removed).
pub(super) fn check_mark(state: Option<&str>) -> Result<()> {
    match state {
        Some(s) if !MARKS.contains(&s) => Err(Error::invalid(format!(
            "a run or task is marked `failed` or `succeeded`, not `{s}`"
        ))),
        _ => Ok(()),
    }
}

/// The stored `task_marks` of the run of `logical_date` with `task` marked `state` (or its
/// mark removed), as the column stores it.
pub(super) fn with_task_mark(
    logical_date: i64,
    stored: &str,
    task: &str,
    state: Option<&str>,
) -> Result<String> {
    let mut marks = task_marks_of(logical_date, stored)?;
    match state {
        Some(state) => marks.insert(task.to_string(), state.to_string()),
        None => marks.remove(task),
    };
    serde_json::to_string(&marks)
        .map_err(|e| Error::bug(format!("task marks of the run of {logical_date}: {e}")))
}

/// Decodes a row of `SELECT overrides, paused, last_scheduled` from `workflow_settings`.
pub(super) fn settings_row<R>(row: &R) -> Result<WorkflowSettings>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(WorkflowSettings {
        overrides: json(
            "workflow settings overrides",
            &row.try_get::<String, _>("overrides")?,
        )?,
        paused: row.try_get("paused")?,
        last_scheduled: row.try_get("last_scheduled")?,
    })
}

/// JSON is stored as text: `serde_json` keeps object keys in insertion order
/// (`preserve_order`), and text keeps that order where JSONB would sort the keys.
pub(super) fn text(value: &Value) -> String {
    // Serializing a `Value` cannot fail (its keys are strings).
    value.to_string()
}

pub(super) fn json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::corrupt(format!("stored {what} is not JSON: {e}")))
}

fn opt_json(what: &str, text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| json(what, &t)).transpose()
}

/// The columns [`instance_row`] reads, as a literal for `concat!` (queries are static strings).
macro_rules! instance_columns {
    () => {
        "id, namespace, name, version, status, input, output, error, tasks, created_at, \
         ended_at, owner"
    };
}
pub(super) use instance_columns;

/// Decodes a row of `SELECT instance_columns!()`.
pub(super) fn instance_row<R>(row: &R) -> Result<InstanceRow>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = row.try_get("id")?;
    let context = |what: &str| format!("{what} of instance {id}");
    Ok(InstanceRow {
        workflow: WorkflowKey {
            namespace: row.try_get("namespace")?,
            name: row.try_get("name")?,
            version: row.try_get("version")?,
        },
        status: row.try_get("status")?,
        input: json(&context("input"), &row.try_get::<String, _>("input")?)?,
        output: opt_json(&context("output"), row.try_get("output")?)?,
        error: opt_json(&context("error"), row.try_get("error")?)?,
        tasks: json(&context("tasks"), &row.try_get::<String, _>("tasks")?)?,
        created_at: row.try_get("created_at")?,
        ended_at: row.try_get("ended_at")?,
        owner: row.try_get("owner")?,
        id,
    })
}

/// Decodes a row of `SELECT namespace, name, version, source, digest, created_at`.
pub(super) fn workflow_row<R>(row: &R) -> Result<StoredWorkflow>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredWorkflow {
        key: WorkflowKey {
            namespace: row.try_get("namespace")?,
            name: row.try_get("name")?,
            version: row.try_get("version")?,
        },
        source: row.try_get("source")?,
        digest: row.try_get("digest")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Decodes `RETURNING id` rows, sorted (the order a statement returns them in is arbitrary).
pub(super) fn ids<R>(rows: Vec<R>) -> Result<Vec<String>>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut ids = rows
        .iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    ids.sort();
    Ok(ids)
}

/// Decodes `seq, instance_id, control` rows of taken requests, oldest first.
pub(super) fn requests<R>(rows: Vec<R>) -> Result<Vec<(String, Control)>>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut taken = Vec::with_capacity(rows.len());
    for row in &rows {
        let seq: i64 = row.try_get("seq")?;
        let instance: String = row.try_get("instance_id")?;
        let control: String = row.try_get("control")?;
        let control = Control::parse(&control).ok_or_else(|| {
            Error::corrupt(format!(
                "stored request {seq} for instance {instance} has an unknown control `{control}`"
            ))
        })?;
        taken.push((seq, instance, control));
    }
    taken.sort_by_key(|(seq, _, _)| *seq);
    Ok(taken.into_iter().map(|(_, id, c)| (id, c)).collect())
}

/// Decodes a `seq, instance_id, destination, event` row of the outbox.
pub(super) fn outgoing<R>(row: &R) -> Result<Outgoing>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let seq: i64 = row.try_get("seq")?;
    Ok(Outgoing {
        seq,
        instance: row.try_get("instance_id")?,
        destination: row.try_get("destination")?,
        event: json(
            &format!("outgoing event {seq}"),
            &row.try_get::<String, _>("event")?,
        )?,
    })
}

/// The appends of one batch for one instance, merged: a batch may name an instance twice,
/// and one row update per instance keeps the statements simple (records and events keep
/// their order; the last summary wins).
pub(super) struct Group<'a> {
    pub instance: &'a str,
    pub records: Vec<String>,
    pub summary: Option<&'a Summary>,
    /// (destination, event as text)
    pub outbox: Vec<(Option<&'a str>, String)>,
}

impl Group<'_> {
    /// The summary as the columns store it: status, output, error, tasks, ended_at.
    #[allow(clippy::type_complexity)]
    pub fn columns(&self) -> Option<(String, Option<String>, Option<String>, String, Option<i64>)> {
        self.summary.map(|s| {
            (
                s.status.clone(),
                s.output.as_ref().map(text),
                s.error.as_ref().map(text),
                text(&s.tasks),
                s.ended_at,
            )
        })
    }
}

pub(super) fn group(batch: &[Append]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for append in batch {
        let i = *index.entry(&append.instance).or_insert_with(|| {
            groups.push(Group {
                instance: &append.instance,
                records: Vec::new(),
                summary: None,
                outbox: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[i];
        group.records.extend(append.records.iter().map(text));
        group.outbox.extend(
            append
                .outbox
                .iter()
                .map(|q| (q.destination.as_deref(), text(&q.event))),
        );
        if append.summary.is_some() {
            group.summary = append.summary.as_ref();
        }
    }
    groups
}

/// The error of creating an instance on its own whose events already started one.
pub(super) fn started_already(new: &NewInstance) -> Error {
    Error::conflict(format!(
        "instance {}: events {:?} already started an instance of {}/{}",
        new.id, new.starts, new.workflow.namespace, new.workflow.name
    ))
}

/// A connection URL fit for an error message: the password is masked.
pub(super) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password_only() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("nonsense"), "nonsense");
    }

    #[test]
    fn marks_are_failed_or_succeeded() {
        assert!(check_mark(Some("failed")).is_ok());
        assert!(check_mark(Some("succeeded")).is_ok());
        assert!(check_mark(None).is_ok());
        let bad = check_mark(Some("running")).unwrap_err();
        assert!(matches!(bad, Error::Invalid(_)), "{bad:?}");
        assert!(bad.to_string().contains("`running`"), "{bad}");
    }

    #[test]
    fn task_marks_are_set_replaced_and_removed() {
        let one = with_task_mark(7, "{}", "/do/1/b", Some("failed")).unwrap();
        let two = with_task_mark(7, &one, "/do/0/a", Some("succeeded")).unwrap();
        assert_eq!(two, r#"{"/do/0/a":"succeeded","/do/1/b":"failed"}"#);
        let replaced = with_task_mark(7, &two, "/do/1/b", Some("succeeded")).unwrap();
        assert_eq!(replaced, r#"{"/do/0/a":"succeeded","/do/1/b":"succeeded"}"#);
        let removed = with_task_mark(7, &replaced, "/do/0/a", None).unwrap();
        assert_eq!(removed, r#"{"/do/1/b":"succeeded"}"#);
        assert_eq!(with_task_mark(7, "{}", "/x", None).unwrap(), "{}");
        let corrupt = with_task_mark(7, "[1]", "/x", None).unwrap_err();
        assert!(matches!(corrupt, Error::Corrupt(_)), "{corrupt:?}");
        assert!(
            corrupt.to_string().contains("task marks of the run of 7"),
            "{corrupt}"
        );
    }

    #[test]
    fn pages_default_and_cap() {
        assert_eq!(page(0), 50);
        assert_eq!(page(7), 7);
        assert_eq!(page(5000), 1000);
        assert_eq!(run_page(0), 1000);
        assert_eq!(run_page(7), 7);
        assert_eq!(run_page(5000), 1000);
    }
}
