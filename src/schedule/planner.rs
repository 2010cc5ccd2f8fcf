//! Which runs to create: catchup after time moved on, and backfill of an explicit range.
//!
//! Pure functions over plain data. The caller passes the logical dates that already have runs;
//! it still creates them under the store's uniqueness (workflow, logical date), which is what
//! makes a plan safe to compute on two nodes at once.

use super::error::Error;
use super::{Interval, Settings, Timetable};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// A backfill is refused beyond this many logical dates: a slip such as `every: PT1S` over a
/// year would otherwise plan millions of runs in one request.
pub const MAX_BACKFILL: usize = 100_000;

/// The runs that are due by `now` and not created yet, oldest first, at most `limit`.
///
/// - `last` is the latest logical date the scheduler created (its cursor; `None` before the
///   first run). Dates at or before it are never planned again, even if their runs were deleted.
/// - `existing` holds every logical date that has a run (scheduled, backfilled or ad hoc).
/// - `catchup: false`: only the latest due interval, however many were missed (downtime, a
///   paused workflow, a new workflow with an old start date).
/// - `catchup: true`: every interval missed since `last`, or since the start date when nothing
///   ran yet (without a start date there is nothing to catch up from: the latest only).
///
/// With `limit`, a long catchup is created in slices: create these, move `last` to the last
/// of them, and call again.
pub fn catchup(
    timetable: &Timetable,
    settings: &Settings,
    now: Timestamp,
    last: Option<Timestamp>,
    existing: &BTreeSet<Timestamp>,
    limit: usize,
) -> Result<Vec<Interval>, Error> {
    if !timetable.has_grid() {
        return Err(timetable.no_grid());
    }
    let Some(latest) = timetable.latest_due(now) else {
        return Ok(Vec::new());
    };
    let new = |i: &Interval| {
        last.is_none_or(|l| i.logical_date > l) && !existing.contains(&i.logical_date)
    };
    if !settings.catchup {
        return Ok([latest].into_iter().filter(new).take(limit).collect());
    }
    let from = match last {
        Some(l) => l
            .checked_add(jiff::SignedDuration::from_nanos(1))
            .unwrap_or(l),
        None => timetable.first_scheduled().unwrap_or(latest.logical_date),
    };
    Ok(timetable
        .intervals(from, latest.logical_date)
        .filter(|i| timetable.in_bounds(i.logical_date))
        .filter(new)
        .take(limit)
        .collect())
}

/// One run of a backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub interval: Interval,
    /// The date already has a run, and the backfill asked to run it again (clear it).
    pub rerun: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    /// Oldest first.
    pub runs: Vec<Planned>,
    /// Dates in range that have a run and were left alone (`rerun: false`).
    pub skipped: usize,
    /// Dates in range whose interval is not over at `now` (their data is not complete yet):
    /// not planned; the schedule will create them.
    pub not_due: usize,
}

/// The runs for every logical date in `[from, to]`, oldest first. `from` and `to` need not be
/// ticks: the range covers the ticks between them. The start and end dates do not bound a
/// backfill: asking for a range is explicit. Dates with a run are skipped, unless `rerun`.
pub fn backfill(
    timetable: &Timetable,
    from: Timestamp,
    to: Timestamp,
    rerun: bool,
    existing: &BTreeSet<Timestamp>,
    now: Timestamp,
) -> Result<Backfill, Error> {
    if !timetable.has_grid() {
        return Err(timetable.no_grid());
    }
    if to < from {
        return Err(Error::Range(format!(
            "the backfill range ends ({to}) before it starts ({from})"
        )));
    }
    let mut plan = Backfill {
        runs: Vec::new(),
        skipped: 0,
        not_due: 0,
    };
    for (n, interval) in timetable.intervals(from, to).enumerate() {
        if n == MAX_BACKFILL {
            return Err(Error::Range(format!(
                "the backfill from {from} to {to} has more than {MAX_BACKFILL} logical dates; \
                 split it"
            )));
        }
        if interval.due > now {
            // Every later interval is due later still (counted up to the cap: `to` may be far).
            plan.not_due = (timetable.intervals(interval.logical_date, to))
                .take(MAX_BACKFILL - n)
                .count();
            break;
        }
        let exists = existing.contains(&interval.logical_date);
        if exists && !rerun {
            plan.skipped += 1;
            continue;
        }
        plan.runs.push(Planned {
            interval,
            rerun: exists,
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;
