//! Run-control settings: the document's `metadata.nagare`, then the API's overrides, then defaults.
//!
//! ```yaml
//! document:
//!   metadata:
//!     nagare: {startDate: '2026-11-01', endDate: '2026-12-31', timezone: Europe/Paris,
//!              catchup: true, dependsOnPast: true, maxActiveRuns: 16, maxActiveTasks: 32}
//! ```
//!
//! `metadata` is free-form in the spec, so a document carrying these stays spec-compliant. Under
//! `nagare` the keys are ours, so unknown ones are errors (a typo such as `maxActiveRun` must not
//! silently fall back to a default). Defaults, chosen for people coming from Airflow 2:
//!
//! | field            | default     | why |
//! |------------------|-------------|-----|
//! | `startDate`      | none        | without one, catchup has no start: only the latest interval runs |
//! | `endDate`        | none        | inclusive on logical dates, like Airflow's `end_date` |
//! | `timezone`       | `UTC`       | an IANA name; the zone of `cron`, of `every` days and of written dates |
//! | `catchup`        | `false`     | Airflow's `catchup_by_default` is commonly turned off: a new or resumed workflow runs its latest interval, not years of history (backfill is explicit) |
//! | `dependsOnPast`  | `false`     | as Airflow |
//! | `maxActiveRuns`  | `16`        | Airflow's `max_active_runs_per_dag` |
//! | `maxActiveTasks` | unlimited   | `"unlimited"` can also be written, so an override can lift a document's limit |

use super::error::Error;
use super::moment::Moment;
use super::overrides::Overrides;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// Where the document's settings live, for error pointers.
pub(super) const DOCUMENT: &str = "/document/metadata/nagare";

/// The fields under `nagare`, in the order the docs list them.
pub(super) const NAMES: [&str; 7] = [
    "startDate",
    "endDate",
    "timezone",
    "catchup",
    "dependsOnPast",
    "maxActiveRuns",
    "maxActiveTasks",
];

/// The effective settings of one workflow: dates resolved in its zone, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub start_date: Option<Timestamp>,
    pub end_date: Option<Timestamp>,
    pub timezone: TimeZone,
    pub catchup: bool,
    pub depends_on_past: bool,
    /// At least 1: pausing is its own control, not a zero here.
    pub max_active_runs: u32,
    /// `None`: unlimited.
    pub max_active_tasks: Option<u32>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            start_date: None,
            end_date: None,
            timezone: TimeZone::UTC,
            catchup: false,
            depends_on_past: false,
            max_active_runs: 16,
            max_active_tasks: None,
        }
    }
}

impl Settings {
    /// The settings of a document (its `document.metadata`), with the API's overrides on top.
    /// The service calls this after every PATCH too: a patch that makes the whole invalid (an
    /// `endDate` before the document's `startDate`) is rejected with the override's pointer.
    pub fn new(
        metadata: Option<&Map<String, Value>>,
        overrides: &Overrides,
    ) -> Result<Settings, Error> {
        let document = match metadata.and_then(|m| m.get("nagare")) {
            None | Some(Value::Null) => Fields::default(),
            Some(Value::Object(object)) => Fields::parse(object, DOCUMENT)?,
            Some(other) => {
                return Err(Error::invalid(
                    DOCUMENT,
                    format!(
                        "the run-control settings must be an object ({}), not {}",
                        NAMES.join(", "),
                        kind(other)
                    ),
                ));
            }
        };
        document.over(overrides.fields()).resolve()
    }

    /// A date as users write it (CLI `--from`, API bodies), in this workflow's zone.
    pub fn parse_date(&self, text: &str) -> Result<Timestamp, String> {
        Moment::parse(text)?.resolve(&self.timezone)
    }
}

/// One field as written, with the pointer it was written at.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Set<T> {
    pub value: T,
    pub at: String,
}

impl<T> Set<T> {
    fn new(at: &str, value: T) -> Set<T> {
        Set {
            value,
            at: at.to_string(),
        }
    }
}

/// The fields as written in one layer (document or overrides); absent ones are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Fields {
    start_date: Option<Set<Moment>>,
    end_date: Option<Set<Moment>>,
    timezone: Option<Set<TimeZone>>,
    catchup: Option<Set<bool>>,
    depends_on_past: Option<Set<bool>>,
    max_active_runs: Option<Set<u32>>,
    /// `Some(None)`: explicitly unlimited.
    max_active_tasks: Option<Set<Option<u32>>>,
}

impl Fields {
    /// Checks every field of `object`; pointers are `base` + `/field`. A `null` is absent.
    pub(super) fn parse(object: &Map<String, Value>, base: &str) -> Result<Fields, Error> {
        let mut fields = Fields::default();
        for (key, value) in object {
            let at = format!("{base}/{}", escape(key));
            if value.is_null() {
                continue;
            }
            let invalid = |message: String| Error::invalid(&at, format!("{key}: {message}"));
            match key.as_str() {
                "startDate" => {
                    fields.start_date = Some(Set::new(&at, moment(value).map_err(invalid)?))
                }
                "endDate" => fields.end_date = Some(Set::new(&at, moment(value).map_err(invalid)?)),
                "timezone" => fields.timezone = Some(Set::new(&at, zone(value).map_err(invalid)?)),
                "catchup" => fields.catchup = Some(Set::new(&at, boolean(value).map_err(invalid)?)),
                "dependsOnPast" => {
                    fields.depends_on_past = Some(Set::new(&at, boolean(value).map_err(invalid)?))
                }
                "maxActiveRuns" => {
                    fields.max_active_runs = Some(Set::new(&at, positive(value).map_err(invalid)?))
                }
                "maxActiveTasks" => {
                    let limit = match value {
                        Value::String(s) if s == "unlimited" => None,
                        _ => Some(positive(value).map_err(|_| {
                            invalid(format!(
                                "expected a positive integer or \"unlimited\", not {}",
                                kind(value)
                            ))
                        })?),
                    };
                    fields.max_active_tasks = Some(Set::new(&at, limit));
                }
                // Where the workflow's events go: not run control, read by `events::route`
                // (and checked when the document is loaded).
                "routes" if base == DOCUMENT => {}
                // The budget of its expressions: read and checked by `engine::definition`.
                "limits" if base == DOCUMENT => {}
                _ => return Err(unknown(key, &at)),
            }
        }
        Ok(fields)
    }

    /// `self` with every field that `top` sets replaced by `top`'s.
    fn over(self, top: &Fields) -> Fields {
        let top = top.clone();
        Fields {
            start_date: top.start_date.or(self.start_date),
            end_date: top.end_date.or(self.end_date),
            timezone: top.timezone.or(self.timezone),
            catchup: top.catchup.or(self.catchup),
            depends_on_past: top.depends_on_past.or(self.depends_on_past),
            max_active_runs: top.max_active_runs.or(self.max_active_runs),
            max_active_tasks: top.max_active_tasks.or(self.max_active_tasks),
        }
    }

    fn resolve(self) -> Result<Settings, Error> {
        let defaults = Settings::default();
        let timezone = self.timezone.map_or(defaults.timezone, |s| s.value);
        let date = |field: Option<Set<Moment>>, name: &str| {
            field
                .map(|s| {
                    let t = (s.value.resolve(&timezone))
                        .map_err(|m| Error::invalid(&s.at, format!("{name}: {m}")))?;
                    Ok::<_, Error>((t, s.at))
                })
                .transpose()
        };
        let start = date(self.start_date, "startDate")?;
        let end = date(self.end_date, "endDate")?;
        if let (Some((start, _)), Some((end, at))) = (&start, &end)
            && end < start
        {
            return Err(Error::invalid(
                at,
                format!("endDate: {end} is before startDate {start}"),
            ));
        }
        Ok(Settings {
            start_date: start.map(|(t, _)| t),
            end_date: end.map(|(t, _)| t),
            timezone,
            catchup: self.catchup.map_or(defaults.catchup, |s| s.value),
            depends_on_past: self
                .depends_on_past
                .map_or(defaults.depends_on_past, |s| s.value),
            max_active_runs: self
                .max_active_runs
                .map_or(defaults.max_active_runs, |s| s.value),
            max_active_tasks: self
                .max_active_tasks
                .map_or(defaults.max_active_tasks, |s| s.value),
        })
    }
}

pub(super) fn unknown(key: &str, at: &str) -> Error {
    Error::invalid(
        at,
        format!(
            "unknown run-control setting `{key}`; the settings are {}",
            NAMES.join(", ")
        ),
    )
}

fn moment(value: &Value) -> Result<Moment, String> {
    match value {
        Value::String(s) => Moment::parse(s),
        other => Err(format!(
            "expected a date string such as \"2026-11-01\", not {}",
            kind(other)
        )),
    }
}

fn zone(value: &Value) -> Result<TimeZone, String> {
    match value {
        Value::String(name) => TimeZone::get(name).map_err(|_| {
            format!("unknown time zone `{name}`: expected an IANA name such as Europe/Paris")
        }),
        other => Err(format!(
            "expected an IANA time zone name, not {}",
            kind(other)
        )),
    }
}

fn boolean(value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .ok_or_else(|| format!("expected true or false, not {}", kind(value)))
}

fn positive(value: &Value) -> Result<u32, String> {
    match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive integer, not {}", kind(value))),
    }
}

/// How a wrong value is named in messages: its JSON text when short, else its type.
fn kind(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 40 {
        text
    } else {
        match value {
            Value::Object(_) => "an object".into(),
            Value::Array(_) => "an array".into(),
            _ => "a long string".into(),
        }
    }
}

/// RFC 6901: a key as a pointer segment.
pub(super) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests;
