//! The step of `schedule.every` and `schedule.after`: calendar days plus exact time.
//!
//! Like Airflow's `timedelta` schedules on pendulum, days (and weeks) are **calendar days** in the
//! workflow's zone, so `every: P1D` anchored at midnight stays at midnight across DST changes
//! (a 23- or 25-hour interval that day), while hours and smaller units are **elapsed time**, so
//! `every: PT1H` runs every real hour. `P1DT6H` is one calendar day, then six hours.
//!
//! An `every` grid is `anchor + k × step` for integer k, the anchor being the start date.
//! Point k is computed directly (not by k additions) so that finding the grid point near an
//! instant years away costs the same as near the anchor.

use super::error::Error;
use crate::dsl::model::duration::{Duration, parse_iso8601};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Step {
    days: i64,
    nanos: i128,
}

const DAY_NANOS: i128 = 86_400_000_000_000;

impl Step {
    /// `pointer` names the field in errors (`/schedule/every`).
    pub(super) fn new(duration: &Duration, pointer: &str) -> Result<Step, Error> {
        let step = match duration {
            Duration::Inline(units) => {
                let mut exact = units.clone();
                exact.days = None;
                Step {
                    days: units.days.map_or(0, |d| d.min(i64::MAX as u64) as i64),
                    nanos: exact.to_std().as_nanos() as i128,
                }
            }
            Duration::Iso(text, total) => iso(text, *total),
            Duration::Expr(text) => {
                return Err(Error::invalid(
                    pointer,
                    format!(
                        "`{text}`: a runtime expression cannot set a schedule; write a duration"
                    ),
                ));
            }
        };
        if step.days == 0 && step.nanos == 0 {
            return Err(Error::invalid(
                pointer,
                "a schedule's step must not be zero",
            ));
        }
        // jiff's spans hold about 20,000 years of days; a step anywhere near that schedules
        // nothing useful and would overflow the grid arithmetic.
        if step.days > 365 * 1000 || step.nanos > 365 * 1000 * DAY_NANOS {
            return Err(Error::invalid(
                pointer,
                "a schedule's step must be under 1000 years",
            ));
        }
        Ok(step)
    }

    /// `from + k × step` in `tz`, or `None` outside the representable range.
    pub(super) fn times(&self, from: Timestamp, k: i64, tz: &TimeZone) -> Option<Timestamp> {
        let mut t = from;
        if self.days != 0 {
            let days = Span::new().try_days(self.days.checked_mul(k)?).ok()?;
            t = t
                .to_zoned_datetime(tz.clone())
                .checked_add(days)
                .ok()?
                .timestamp();
        }
        let nanos = self.nanos.checked_mul(i128::from(k))?;
        Timestamp::from_nanosecond(t.as_nanosecond().checked_add(nanos)?).ok()
    }

    /// The largest k with `anchor + k × step ≤ t`.
    pub(super) fn index_at_or_before(&self, anchor: Timestamp, t: Timestamp, tz: &TimeZone) -> i64 {
        // The nominal length (days of 24 h) is off by at most a few hours per DST change, so
        // the estimate is within a step or two of the answer; the loops settle it.
        let nominal = i128::from(self.days) * DAY_NANOS + self.nanos;
        let offset = t.as_nanosecond() - anchor.as_nanosecond();
        let mut k = offset.div_euclid(nominal) as i64;
        while self.times(anchor, k, tz).is_some_and(|g| g > t) {
            k -= 1;
        }
        while self.times(anchor, k + 1, tz).is_some_and(|g| g <= t) {
            k += 1;
        }
        k
    }
}

/// Splits an ISO 8601 duration that the DSL already accepted into calendar days and the rest.
/// A fractional number of days (`P1.5D`) has no calendar meaning: it is all elapsed time.
fn iso(text: &str, total: std::time::Duration) -> Step {
    let total = total.as_nanos() as i128;
    let date = text
        .strip_prefix('P')
        .map(|rest| rest.split('T').next().unwrap_or_default())
        .unwrap_or_default();
    let date_nanos = if date.is_empty() {
        Some(0)
    } else {
        parse_iso8601(&format!("P{date}"))
            .ok()
            .map(|d| d.as_nanos() as i128)
    };
    match date_nanos {
        Some(n) if n % DAY_NANOS == 0 => Step {
            days: (n / DAY_NANOS) as i64,
            nanos: total - n,
        },
        _ => Step {
            days: 0,
            nanos: total,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::model::duration::Units;

    fn step(text: &str) -> Step {
        Step::new(
            &Duration::Iso(text.into(), parse_iso8601(text).unwrap()),
            "/schedule/every",
        )
        .unwrap()
    }

    #[test]
    fn iso_durations_split_into_days_and_time() {
        assert_eq!(step("P1D"), Step { days: 1, nanos: 0 });
        assert_eq!(step("P2W"), Step { days: 14, nanos: 0 });
        assert_eq!(
            step("PT90M"),
            Step {
                days: 0,
                nanos: 5_400_000_000_000
            }
        );
        assert_eq!(
            step("P1DT6H"),
            Step {
                days: 1,
                nanos: 21_600_000_000_000
            }
        );
        assert_eq!(
            step("P0.5D"),
            Step {
                days: 0,
                nanos: 43_200_000_000_000
            }
        );
    }

    #[test]
    fn unit_objects_split_the_same_way() {
        let units = Units {
            days: Some(2),
            hours: Some(1),
            ..Units::default()
        };
        let s = Step::new(&Duration::Inline(units), "/schedule/every").unwrap();
        assert_eq!(
            s,
            Step {
                days: 2,
                nanos: 3_600_000_000_000
            }
        );
    }

    #[test]
    fn zero_and_expressions_are_rejected_with_the_pointer() {
        let zero = Step::new(&Duration::Inline(Units::default()), "/schedule/every").unwrap_err();
        assert_eq!(
            zero.to_string(),
            "a schedule's step must not be zero (at /schedule/every)"
        );
        let expr = Step::new(&Duration::Expr("${ .d }".into()), "/schedule/after").unwrap_err();
        assert_eq!(
            expr.to_string(),
            "`${ .d }`: a runtime expression cannot set a schedule; write a duration \
             (at /schedule/after)"
        );
    }

    #[test]
    fn days_are_calendar_days_and_hours_are_elapsed() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // Saturday 2026-03-28 00:00 CET; DST starts on Sunday 29th at 02:00.
        let anchor: Timestamp = "2026-03-27T23:00:00Z".parse().unwrap();
        let day = step("P1D");
        assert_eq!(
            day.times(anchor, 1, &paris).unwrap().to_string(),
            "2026-03-28T23:00:00Z"
        );
        assert_eq!(
            day.times(anchor, 2, &paris).unwrap().to_string(),
            "2026-03-29T22:00:00Z"
        );
        let hours = step("PT24H");
        assert_eq!(
            hours.times(anchor, 2, &paris).unwrap().to_string(),
            "2026-03-29T23:00:00Z"
        );
    }

    #[test]
    fn index_lands_on_the_grid_point_at_or_before() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let anchor: Timestamp = "2026-01-01T05:00:00Z".parse().unwrap();
        let day = step("P1D");
        // Summer: midnight local is 22:00Z, six o'clock local 04:00Z.
        let t: Timestamp = "2026-07-14T04:00:00Z".parse().unwrap();
        let k = day.index_at_or_before(anchor, t, &paris);
        assert_eq!(day.times(anchor, k, &paris).unwrap(), t);
        let just_before: Timestamp = "2026-07-14T03:59:59Z".parse().unwrap();
        assert_eq!(day.index_at_or_before(anchor, just_before, &paris), k - 1);
        // Before the anchor, k is negative.
        let early: Timestamp = "2025-12-31T05:00:00Z".parse().unwrap();
        assert_eq!(day.index_at_or_before(anchor, early, &paris), -1);
    }
}
