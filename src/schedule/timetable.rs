//! The DSL `schedule` compiled against the settings: logical dates, data intervals, due times.
//!
//! A **grid** schedule (`cron`, `every`) has ticks t0 < t1 < …; the run with logical date tᵢ
//! covers the data interval `[tᵢ, tᵢ₊₁)` and is due at tᵢ₊₁ (Airflow's convention). The
//! scheduled runs are those whose logical date lies in `[startDate, endDate]` (both optional).
//! The grid itself extends both ways, so backfill and ad-hoc runs may reach outside those bounds.
//!
//! `after` has no grid: [`Timetable::after_completion`] gives the next run from the previous
//! run's completion. `on` (events) and an absent schedule start runs otherwise; the timetable
//! says so through [`Kind`] and gives them no due times.
//!
//! Ad-hoc runs ([`Timetable::interval_for`]): on a grid schedule the logical date must be a tick
//! (a date such as `2026-11-03` is one for a daily midnight cron); an off-grid date is refused
//! with its neighbouring ticks, and [`Timetable::containing`] finds the tick of the interval a
//! time falls in, for callers that want to snap. Without a grid any date is accepted, and its
//! interval is empty (`start == end == logical date`).

use super::Settings;
use super::cron::Cron;
use super::error::Error;
use super::every::Step;
use super::moment::Moment;
use crate::dsl::model::Schedule;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// One run's dates. On a grid, `logical_date == start` and `due == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub logical_date: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When the run may be created: the end of its data interval.
    pub due: Timestamp,
}

/// What starts a workflow's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cron,
    Every,
    /// A duration after the previous run completed.
    After,
    /// Events (`schedule.on`): started by the event correlation, not by time.
    On,
    /// No `schedule`: ad-hoc runs and backfills of given dates only.
    Manual,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cron => "cron",
            Kind::Every => "every",
            Kind::After => "after",
            Kind::On => "on",
            Kind::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone)]
enum Trigger {
    // Boxed: a parsed cron is large, and the other triggers are small.
    Cron(Box<Cron>),
    Every { anchor: Timestamp, step: Step },
    After(Step),
    On,
    Manual,
}

#[derive(Debug, Clone)]
pub struct Timetable {
    trigger: Trigger,
    tz: TimeZone,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
}

impl Timetable {
    /// Errors point into the document (`/schedule/cron`).
    pub fn new(schedule: Option<&Schedule>, settings: &Settings) -> Result<Timetable, Error> {
        let tz = settings.timezone.clone();
        let trigger = match schedule {
            None => Trigger::Manual,
            Some(s) => {
                let set = [
                    s.cron.is_some(),
                    s.every.is_some(),
                    s.after.is_some(),
                    s.on.is_some(),
                ];
                if set.iter().filter(|b| **b).count() != 1 {
                    return Err(Error::invalid(
                        "/schedule",
                        "a schedule sets exactly one of cron, every, after and on",
                    ));
                }
                if let Some(text) = &s.cron {
                    Trigger::Cron(Box::new(
                        Cron::parse(text).map_err(|m| Error::invalid("/schedule/cron", m))?,
                    ))
                } else if let Some(every) = &s.every {
                    // Without a start date the grid is anchored at the epoch's midnight in the
                    // zone: `PT1H` runs on the hour, `P1D` at local midnight.
                    let epoch = Moment::parse("1970-01-01").and_then(|m| m.resolve(&tz));
                    let anchor = match settings.start_date {
                        Some(start) => start,
                        None => epoch.map_err(|m| Error::invalid("/schedule/every", m))?,
                    };
                    Trigger::Every {
                        anchor,
                        step: Step::new(every, "/schedule/every")?,
                    }
                } else if let Some(after) = &s.after {
                    Trigger::After(Step::new(after, "/schedule/after")?)
                } else {
                    Trigger::On
                }
            }
        };
        Ok(Timetable {
            trigger,
            tz,
            start: settings.start_date,
            end: settings.end_date,
        })
    }

    pub fn kind(&self) -> Kind {
        match self.trigger {
            Trigger::Cron(_) => Kind::Cron,
            Trigger::Every { .. } => Kind::Every,
            Trigger::After(_) => Kind::After,
            Trigger::On => Kind::On,
            Trigger::Manual => Kind::Manual,
        }
    }

    pub fn has_grid(&self) -> bool {
        matches!(self.kind(), Kind::Cron | Kind::Every)
    }

    /// The error catchup and backfill give for a schedule without a grid.
    pub(super) fn no_grid(&self) -> Error {
        Error::NoGrid {
            kind: self.kind().name(),
        }
    }

    /// The first tick at or after `t` (grid schedules only).
    fn at_or_after(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.trigger {
            Trigger::Cron(cron) => cron.at_or_after(t, &self.tz),
            Trigger::Every { anchor, step } => {
                let k = step.index_at_or_before(*anchor, t, &self.tz);
                let g = step.times(*anchor, k, &self.tz)?;
                if g == t {
                    Some(g)
                } else {
                    step.times(*anchor, k + 1, &self.tz)
                }
            }
            _ => None,
        }
    }

    /// The first tick strictly after `t`.
    fn after(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.trigger {
            Trigger::Cron(cron) => cron.after(t, &self.tz),
            Trigger::Every { anchor, step } => {
                let k = step.index_at_or_before(*anchor, t, &self.tz);
                step.times(*anchor, k + 1, &self.tz)
            }
            _ => None,
        }
    }

    /// The last tick at or before `t`.
    fn at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.trigger {
            Trigger::Cron(cron) => cron.at_or_before(t, &self.tz),
            Trigger::Every { anchor, step } => {
                let k = step.index_at_or_before(*anchor, t, &self.tz);
                step.times(*anchor, k, &self.tz)
            }
            _ => None,
        }
    }

    /// The grid interval starting at tick `t`.
    fn starting_at(&self, t: Timestamp) -> Option<Interval> {
        let end = self.after(t)?;
        Some(Interval {
            logical_date: t,
            start: t,
            end,
            due: end,
        })
    }

    /// The first scheduled logical date: the first tick at or after the start date.
    pub fn first_scheduled(&self) -> Option<Timestamp> {
        self.at_or_after(self.start?)
    }

    /// Whether a logical date lies within `[startDate, endDate]`.
    pub fn in_bounds(&self, logical_date: Timestamp) -> bool {
        self.start.is_none_or(|s| s <= logical_date) && self.end.is_none_or(|e| logical_date <= e)
    }

    /// The interval of an ad-hoc run for `logical_date` (see the module docs).
    pub fn interval_for(&self, logical_date: Timestamp) -> Result<Interval, Error> {
        if !self.has_grid() {
            return Ok(Interval {
                logical_date,
                start: logical_date,
                end: logical_date,
                due: logical_date,
            });
        }
        let next = self.at_or_after(logical_date);
        if next == Some(logical_date)
            && let Some(interval) = self.starting_at(logical_date)
        {
            return Ok(interval);
        }
        Err(Error::OffGrid {
            date: logical_date,
            previous: self.at_or_before(logical_date),
            next,
        })
    }

    /// The grid interval that `t` falls in (`start <= t < end`).
    pub fn containing(&self, t: Timestamp) -> Option<Interval> {
        self.starting_at(self.at_or_before(t)?)
    }

    /// The grid intervals whose logical dates lie in `[from, to]`, oldest first, regardless of
    /// the start and end dates. Lazy: a long range costs only what is consumed.
    pub fn intervals(&self, from: Timestamp, to: Timestamp) -> Intervals<'_> {
        Intervals {
            table: self,
            next: self.at_or_after(from),
            to,
        }
    }

    /// The scheduled interval with the latest due time at or before `now`.
    pub fn latest_due(&self, now: Timestamp) -> Option<Interval> {
        // The interval containing `now` is not due yet; the one before it is the latest due.
        let current = self.at_or_before(now)?;
        let mut logical =
            self.at_or_before(current.checked_sub(SignedDuration::from_nanos(1)).ok()?)?;
        if let Some(end) = self.end
            && logical > end
        {
            logical = self.at_or_before(end)?;
        }
        if self.first_scheduled().is_some_and(|first| logical < first) {
            return None;
        }
        self.starting_at(logical)
    }

    /// The scheduled interval with the earliest due time strictly after `after`: what the
    /// service's timer heap waits for. `None` past the end date, and for schedules without a
    /// grid (`after` has [`Timetable::after_completion`]; `on` and manual have no due times).
    pub fn next_due(&self, after: Timestamp) -> Option<Interval> {
        if !self.has_grid() {
            return None;
        }
        // The interval containing `after` is due at its end, which is after `after`.
        let mut logical = match self.at_or_before(after) {
            Some(t) => t,
            None => self.at_or_after(after)?,
        };
        if let Some(first) = self.first_scheduled()
            && logical < first
        {
            logical = first;
        }
        if self.end.is_some_and(|end| logical > end) {
            return None;
        }
        self.starting_at(logical)
    }

    /// For `schedule.after`: the next run once the previous one ended at `previous_end`, or the
    /// first run (due at the start date, else at `now`). Its logical date is the interval start:
    /// the previous completion. `None` for other kinds and past the end date.
    pub fn after_completion(
        &self,
        previous_end: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<Interval> {
        let Trigger::After(step) = &self.trigger else {
            return None;
        };
        let interval = match previous_end {
            Some(start) => {
                let end = step.times(start, 1, &self.tz)?;
                Interval {
                    logical_date: start,
                    start,
                    end,
                    due: end,
                }
            }
            None => {
                let first = self.start.unwrap_or(now);
                Interval {
                    logical_date: first,
                    start: first,
                    end: first,
                    due: first,
                }
            }
        };
        self.end
            .is_none_or(|end| interval.logical_date <= end)
            .then_some(interval)
    }
}

/// See [`Timetable::intervals`].
#[derive(Debug, Clone)]
pub struct Intervals<'a> {
    table: &'a Timetable,
    next: Option<Timestamp>,
    to: Timestamp,
}

impl Iterator for Intervals<'_> {
    type Item = Interval;

    fn next(&mut self) -> Option<Interval> {
        let start = self.next.filter(|s| *s <= self.to)?;
        let interval = self.table.starting_at(start);
        self.next = interval.map(|i| i.end);
        interval
    }
}

#[cfg(test)]
mod tests;
