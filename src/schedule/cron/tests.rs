//! Tests of cron evaluation in a time zone, across DST changes (Europe/Paris, America/New_York).

use super::*;

/// The first `n` ticks after `from` (UTC, RFC 3339), as UTC strings.
fn ticks(pattern: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
    let cron = Cron::parse(pattern).unwrap();
    let tz = TimeZone::get(zone).unwrap();
    let mut t: Timestamp = from.parse().unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        t = cron.after(t, &tz).unwrap();
        out.push(t.to_string());
    }
    out
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn daily_in_paris_follows_local_midnight() {
    // 00:00 local is 23:00Z in winter and 22:00Z in summer.
    assert_eq!(
        ticks("0 0 * * *", "Europe/Paris", "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-27T23:00:00Z",
            "2026-03-28T23:00:00Z",
            "2026-03-29T22:00:00Z"
        ]
    );
}

#[test]
fn fixed_time_in_a_spring_forward_gap_runs_once_just_after_the_gap() {
    // Paris, 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day; the
    // run happens once, at 03:00 CEST (01:00Z).
    assert_eq!(
        ticks("30 2 * * *", "Europe/Paris", "2026-03-28T00:00:00Z", 3),
        [
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    assert_eq!(
        ticks("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", 3),
        [
            "2026-03-07T07:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-09T06:30:00Z"
        ]
    );
}

#[test]
fn fixed_time_in_a_fall_back_overlap_runs_once_at_the_first_occurrence() {
    // Paris, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30Z and 01:30Z.
    assert_eq!(
        ticks("30 2 * * *", "Europe/Paris", "2026-10-24T00:00:00Z", 3),
        [
            "2026-10-24T00:30:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:30:00Z"
        ]
    );
    // New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
    assert_eq!(
        ticks("30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", 3),
        [
            "2026-10-31T05:30:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-02T06:30:00Z"
        ]
    );
}

#[test]
fn hourly_runs_every_real_hour_across_both_changes() {
    // Fall back: local 02:00 happens twice, both run.
    assert_eq!(
        ticks("0 * * * *", "Europe/Paris", "2026-10-24T22:30:00Z", 4),
        [
            "2026-10-24T23:00:00Z",
            "2026-10-25T00:00:00Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T02:00:00Z"
        ]
    );
    // Spring forward: local 02:00 does not exist, and no real hour is missed.
    assert_eq!(
        ticks("0 * * * *", "Europe/Paris", "2026-03-28T23:30:00Z", 3),
        [
            "2026-03-29T00:00:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T02:00:00Z"
        ]
    );
}

#[test]
fn backward_search_agrees_with_forward_ticks() {
    // For every tick of a month around each change: the tick is its own at_or_before, and so
    // for every instant until the next tick.
    let cases = [
        ("30 2 * * *", "Europe/Paris", "2026-03-20T00:00:00Z"),
        ("30 2 * * *", "Europe/Paris", "2026-10-15T00:00:00Z"),
        ("30 1 * * *", "America/New_York", "2026-10-25T00:00:00Z"),
        ("0 */2 * * *", "America/New_York", "2026-03-05T00:00:00Z"),
        ("0 * * * *", "Europe/Paris", "2026-10-24T00:00:00Z"),
    ];
    for (pattern, zone, from) in cases {
        let cron = Cron::parse(pattern).unwrap();
        let tz = TimeZone::get(zone).unwrap();
        let mut tick = cron.after(ts(from), &tz).unwrap();
        for _ in 0..200 {
            let next = cron.after(tick, &tz).unwrap();
            let second = SignedDuration::from_secs(1);
            for probe in [tick, tick + second, next - second] {
                assert_eq!(
                    cron.at_or_before(probe, &tz),
                    Some(tick),
                    "{pattern} {zone} {probe}"
                );
            }
            assert_eq!(cron.at_or_after(tick, &tz), Some(tick));
            assert_eq!(cron.at_or_after(tick + second, &tz), Some(next));
            tick = next;
        }
    }
}

#[test]
fn instants_between_seconds_are_not_ticks() {
    let cron = Cron::parse("0 0 * * *").unwrap();
    let t = ts("2026-11-01T00:00:00.5Z");
    assert_eq!(
        cron.at_or_after(t, &TimeZone::UTC),
        Some(ts("2026-11-02T00:00:00Z"))
    );
    assert_eq!(
        cron.at_or_before(t, &TimeZone::UTC),
        Some(ts("2026-11-01T00:00:00Z"))
    );
    assert_eq!(
        cron.after(t, &TimeZone::UTC),
        Some(ts("2026-11-02T00:00:00Z"))
    );
}

#[test]
fn seconds_field_and_bad_patterns() {
    assert_eq!(
        ticks("15 0 0 * * *", "UTC", "2026-11-01T00:00:00Z", 1),
        ["2026-11-01T00:00:15Z"]
    );
    let e = Cron::parse("61 * * * *").unwrap_err();
    assert!(
        e.starts_with("invalid cron expression `61 * * * *`: "),
        "{e}"
    );
}
