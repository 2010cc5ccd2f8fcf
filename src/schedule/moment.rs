//! A point in time as users write it: a date, a wall-clock date-time, or an RFC 3339 instant.
//!
//! `startDate: 2026-11-01` means midnight of that day *in the workflow's time zone*, which may be
//! overridden separately from the date; so a date is kept as written and resolved only once the
//! zone is known ([`Moment::resolve`]). The CLI's `--from`/`--to` go through the same parser.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moment {
    /// A date (midnight) or date-time without offset: wall-clock time in the workflow's zone.
    Civil(DateTime),
    /// An instant with `Z` or an offset: the same everywhere.
    Instant(Timestamp),
}

impl Moment {
    /// Parses `2026-11-01`, `2026-11-01T06:30[:00]` or `2026-11-01T05:30:00Z` (any offset).
    pub fn parse(text: &str) -> Result<Moment, String> {
        // An instant first: civil parsing would not accept an offset anyway, but an instant is
        // the more specific reading of a string that has one.
        if let Ok(t) = text.parse::<Timestamp>() {
            return Ok(Moment::Instant(t));
        }
        text.parse::<DateTime>().map(Moment::Civil).map_err(|_| {
            format!(
                "`{text}` is not a date: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (in the \
                 workflow's time zone) or an RFC 3339 time with an offset"
            )
        })
    }

    /// The instant in `tz`. A wall-clock time skipped by a DST change is moved forward by the
    /// length of the gap and a repeated one takes its first occurrence (RFC 5545, Temporal's
    /// "compatible"), so every written date has exactly one meaning.
    pub fn resolve(&self, tz: &TimeZone) -> Result<Timestamp, String> {
        match self {
            Moment::Instant(t) => Ok(*t),
            Moment::Civil(dt) => tz
                .to_ambiguous_timestamp(*dt)
                .compatible()
                .map_err(|e| format!("`{dt}` cannot be placed in the time zone: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, zone: &str, expected: &str) {
        let tz = TimeZone::get(zone).unwrap();
        let got = Moment::parse(text).and_then(|m| m.resolve(&tz));
        assert_eq!(
            got.map(|t| t.to_string()),
            Ok(expected.to_string()),
            "{text}"
        );
    }

    #[test]
    fn dates_are_midnight_in_the_zone() {
        check("2026-11-01", "UTC", "2026-11-01T00:00:00Z");
        check("2026-11-01", "Europe/Paris", "2026-10-31T23:00:00Z");
        check("2026-07-01", "America/New_York", "2026-07-01T04:00:00Z");
    }

    #[test]
    fn civil_times_and_instants() {
        check("2026-11-01T06:30", "Europe/Paris", "2026-11-01T05:30:00Z");
        check("2026-11-01T06:30:15", "UTC", "2026-11-01T06:30:15Z");
        // An explicit offset wins over the zone.
        check(
            "2026-11-01T06:30:00+09:00",
            "Europe/Paris",
            "2026-10-31T21:30:00Z",
        );
        check(
            "2026-11-01T06:30:00Z",
            "America/New_York",
            "2026-11-01T06:30:00Z",
        );
    }

    #[test]
    fn dst_gaps_move_forward_and_folds_take_the_first() {
        // 2026-03-29 02:30 does not exist in Paris (02:00 CET -> 03:00 CEST): 03:30 CEST.
        check("2026-03-29T02:30", "Europe/Paris", "2026-03-29T01:30:00Z");
        // 2026-10-25 02:30 happens twice in Paris: the first one, still CEST.
        check("2026-10-25T02:30", "Europe/Paris", "2026-10-25T00:30:00Z");
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for text in ["", "yesterday", "2026-13-01", "2026-02-30", "01/11/2026"] {
            let e = Moment::parse(text).unwrap_err();
            assert!(e.starts_with(&format!("`{text}` is not a date")), "{e}");
        }
    }
}
