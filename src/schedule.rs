//! Scheduled runs, as a pure core: run-control settings, logical dates, catchup, backfill, admission.
//!
//! Nothing here does IO, reads a clock or spawns anything: every function takes `now` (and the
//! runs it reasons about) as arguments and returns plain data, so the service can drive it from
//! a timer heap and tests can pin every instant.
//!
//! The pieces, in the order the service uses them:
//!
//! - [`Settings`] (`settings.rs`): the workflow's run control, read from the document's
//!   `metadata.nagare` and merged with API [`Overrides`] (`overrides.rs`). Dates as users write
//!   them (`2026-11-01`, `2026-11-01T06:00`, RFC 3339) are parsed by [`Moment`] (`moment.rs`).
//! - [`Timetable`] (`timetable.rs`): the DSL `schedule` compiled against the settings. `cron`
//!   (`cron.rs`, croner in the settings' time zone) and `every` (`every.rs`, a grid anchored at
//!   the start date) have a grid of **logical dates**; `after` gives the next due time from the
//!   previous run's completion; `on` (events) is not the timetable's business.
//! - Airflow's convention for a grid schedule: the run for the data interval `[start, end)` is
//!   **due at `end`**, and its logical date is `start`. So the daily run of 2026-11-01 starts
//!   just after midnight on 2026-11-02, when the day's data is complete.
//! - [`planner`]: which runs to create: [`planner::catchup`] after `now` moved (at a timer, at
//!   start-up after downtime) and [`planner::backfill`] for an explicit range.
//! - [`admission`]: which queued runs may start now (`maxActiveRuns`, a per-server limit) and
//!   whether one task may start now (`dependsOnPast`, `maxActiveTasks`, a per-server limit),
//!   with a [`admission::Wait`] reason for the UI when not.
//!
//! Driving it event-driven: keep one heap entry per workflow keyed by
//! `timetable.next_due(now).due`; when it pops, run [`planner::catchup`] with the popped time as
//! `now` and push `next_due` of that time again. No polling loop is needed, and a server that was
//! down simply sees a `now` far past the last scheduled date.

pub mod admission;
mod cron;
mod error;
mod every;
mod moment;
mod overrides;
pub mod planner;
mod settings;
mod timetable;

pub use error::Error;
pub use moment::Moment;
pub use overrides::Overrides;
pub use settings::Settings;
pub use timetable::{Interval, Intervals, Kind, Timetable};
