//! `schedule.cron` evaluated by croner on wall-clock time in the workflow's time zone.
//!
//! croner 4 searches over any type implementing its `CronDateTime`; this crate's jiff (1.x) is
//! newer than the one croner's own `jiff` feature binds, so [`Wall`] adapts a
//! `jiff::ZonedDateTime`. DST is then croner's (OCPS) rule, documented and tested here:
//!
//! - a **fixed-time** pattern (one second, minute and hour, e.g. `30 2 * * *`) whose time falls
//!   in a spring-forward gap runs **once, at the first valid time after the gap** (03:00 local);
//!   in a fall-back overlap it runs **once, at the first occurrence**;
//! - a **wildcard/interval** pattern (`*/15 * * * *`, `0 * * * *`) skips the times of a gap and
//!   runs at every matching wall-clock time of both passes of an overlap, so an hourly cron runs
//!   every real hour. Airflow (`_covers_every_hour`) treats hourly crons the same way.
//!
//! Ticks are whole seconds; instants in between are handled by flooring first.

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds};
use croner::{CivilDate, CivilDateTime, CivilTime, CronDateTime, Resolution, Weekday};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub(super) struct Cron(croner::Cron);

impl Cron {
    /// Parsed as `dsl::check` does (five or six fields), so a valid document parses here.
    pub(super) fn parse(text: &str) -> Result<Cron, String> {
        CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(text)
            .map(Cron)
            .map_err(|e| format!("invalid cron expression `{text}`: {e}"))
    }

    /// The first tick strictly after `t`.
    pub(super) fn after(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let from = Wall(floor(t).to_zoned_datetime(tz.clone()));
        let next = self.0.find_next_occurrence(&from, false).ok()?;
        Some(next.0.timestamp())
    }

    /// The first tick at or after `t`.
    ///
    /// Ticks are whole seconds, so this is the first tick after the second before `t`. (croner's
    /// inclusive search is not used: started exactly on a run moved out of a DST gap, 03:00 for
    /// a 02:30 job, it does not see that run, since 03:00 does not match the pattern.)
    pub(super) fn at_or_after(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if t.subsec_nanosecond() != 0 {
            return self.after(t, tz);
        }
        self.after(t.checked_sub(SignedDuration::from_secs(1)).ok()?, tz)
    }

    /// The last tick at or before `t`, on the same grid as the forward searches.
    ///
    /// croner's backward search meets DST changes from the other side (it may return the
    /// second pass of a repeated hour, or miss a time moved out of a gap), so it only gives a
    /// starting point: from one backward tick earlier, forward steps find the answer.
    pub(super) fn at_or_before(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let back = |t: Timestamp| {
            let from = Wall(t.to_zoned_datetime(tz.clone()));
            Some(
                self.0
                    .find_previous_occurrence(&from, true)
                    .ok()?
                    .0
                    .timestamp(),
            )
        };
        let t = floor(t);
        let near = back(t)?;
        let far = near
            .checked_sub(SignedDuration::from_secs(1))
            .ok()
            .and_then(back)
            .unwrap_or(near);
        let mut tick = self.at_or_after(far, tz)?;
        if tick > t {
            return None;
        }
        while let Some(next) = self.after(tick, tz).filter(|n| *n <= t) {
            tick = next;
        }
        Some(tick)
    }
}

fn floor(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// A zoned time croner can search over. Instants are compared by timestamp, so the two passes
/// of a repeated hour stay distinct.
#[derive(Debug, Clone)]
struct Wall(ZonedDateTime);

impl CronDateTime for Wall {
    fn to_civil(&self) -> CivilDateTime {
        let dt = self.0.datetime();
        // jiff keeps every part in range, so the unchecked constructors are sound.
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(
                i32::from(dt.year()),
                dt.month() as u32,
                dt.day() as u32,
            ),
            CivilTime::from_parts_unchecked(
                dt.hour() as u32,
                dt.minute() as u32,
                dt.second() as u32,
            ),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
        let dt = DateTime::new(
            year,
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(dt);
        let bad = |_| CronError::InvalidTime;
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => {
                Resolution::Single(Wall(ambiguous.unambiguous().map_err(bad)?))
            }
            AmbiguousOffset::Fold { .. } => Resolution::Ambiguous(
                Wall(ambiguous.clone().earlier().map_err(bad)?),
                Wall(ambiguous.later().map_err(bad)?),
            ),
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Wall)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

#[cfg(test)]
mod tests;
