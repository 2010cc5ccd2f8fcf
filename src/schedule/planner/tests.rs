//! Tests of catchup and backfill plans.

use super::*;
use serde_json::{Value, json};

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn day(d: &str) -> Timestamp {
    ts(&format!("2026-{d}T00:00:00Z"))
}

fn setup(schedule: Value, settings: Value) -> (Timetable, Settings) {
    let schedule: crate::dsl::model::Schedule = serde_json::from_value(schedule).unwrap();
    let meta = serde_json::Map::from_iter([("nagare".to_string(), settings)]);
    let settings = Settings::new(Some(&meta), &Default::default()).unwrap();
    (
        Timetable::new(Some(&schedule), &settings).unwrap(),
        settings,
    )
}

fn daily(catchup: bool) -> (Timetable, Settings) {
    setup(
        json!({"cron": "0 0 * * *"}),
        json!({"startDate": "2026-11-01", "catchup": catchup}),
    )
}

fn dates(plan: &[Interval]) -> Vec<Timestamp> {
    plan.iter().map(|i| i.logical_date).collect()
}

#[test]
fn three_days_down_gives_three_runs_with_catchup_and_one_without() {
    // The run for 11-01 was created at 11-02 00:00; the server then stopped until 11-05 00:00:05.
    let now = ts("2026-11-05T00:00:05Z");
    let last = Some(day("11-01"));
    let none = BTreeSet::new();
    let (t, s) = daily(true);
    let plan = catchup(&t, &s, now, last, &none, usize::MAX).unwrap();
    assert_eq!(dates(&plan), [day("11-02"), day("11-03"), day("11-04")]);
    assert_eq!(plan[2].due, day("11-05"));
    let (t, s) = daily(false);
    let plan = catchup(&t, &s, now, last, &none, usize::MAX).unwrap();
    assert_eq!(dates(&plan), [day("11-04")]);
}

#[test]
fn catchup_from_the_start_date_skips_dates_that_have_runs() {
    let (t, s) = daily(true);
    let now = ts("2026-11-05T01:00:00Z");
    let adhoc = BTreeSet::from([day("11-02")]);
    let plan = catchup(&t, &s, now, None, &adhoc, usize::MAX).unwrap();
    assert_eq!(dates(&plan), [day("11-01"), day("11-03"), day("11-04")]);
    // Without catchup, the latest only, and not twice.
    let (t, s) = daily(false);
    assert_eq!(
        dates(&catchup(&t, &s, now, None, &adhoc, 9).unwrap()),
        [day("11-04")]
    );
    assert_eq!(
        catchup(&t, &s, now, Some(day("11-04")), &adhoc, 9).unwrap(),
        []
    );
    let made = BTreeSet::from([day("11-04")]);
    assert_eq!(catchup(&t, &s, now, None, &made, 9).unwrap(), []);
}

#[test]
fn a_long_catchup_comes_in_slices() {
    let (t, s) = daily(true);
    let now = ts("2026-11-05T01:00:00Z");
    let none = BTreeSet::new();
    let first = catchup(&t, &s, now, None, &none, 2).unwrap();
    assert_eq!(dates(&first), [day("11-01"), day("11-02")]);
    let rest = catchup(&t, &s, now, Some(day("11-02")), &none, 2).unwrap();
    assert_eq!(dates(&rest), [day("11-03"), day("11-04")]);
    assert_eq!(
        catchup(&t, &s, now, Some(day("11-04")), &none, 2).unwrap(),
        []
    );
}

#[test]
fn catchup_stops_at_the_end_date_and_waits_for_the_first_due_time() {
    let (t, s) = setup(
        json!({"cron": "0 0 * * *"}),
        json!({"startDate": "2026-11-01", "endDate": "2026-11-02", "catchup": true}),
    );
    let none = BTreeSet::new();
    let plan = catchup(&t, &s, day("12-01"), None, &none, usize::MAX).unwrap();
    assert_eq!(dates(&plan), [day("11-01"), day("11-02")]);
    assert_eq!(
        catchup(&t, &s, ts("2026-11-01T23:00:00Z"), None, &none, 9).unwrap(),
        []
    );
}

#[test]
fn a_timer_driven_by_next_due_creates_each_run_once() {
    let (t, s) = daily(true);
    let none = BTreeSet::new();
    let (mut now, mut last) = (ts("2026-10-30T10:00:00Z"), None);
    let mut created = Vec::new();
    for _ in 0..4 {
        let next = t.next_due(now).unwrap();
        now = next.due; // the timer fires exactly at the due time
        let plan = catchup(&t, &s, now, last, &none, usize::MAX).unwrap();
        assert_eq!(plan, [next]);
        last = Some(next.logical_date);
        created.push(next.logical_date);
    }
    assert_eq!(
        created,
        [day("11-01"), day("11-02"), day("11-03"), day("11-04")]
    );
}

#[test]
fn catchup_needs_a_grid() {
    let (t, s) = setup(json!({"after": "PT1H"}), json!({}));
    let e = catchup(&t, &s, day("11-01"), None, &BTreeSet::new(), 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a workflow scheduled by `schedule.after` has no grid of logical dates: catchup and \
         backfill need `schedule.cron` or `schedule.every`"
    );
    let manual = Timetable::new(None, &s).unwrap();
    let e = backfill(
        &manual,
        day("10-01"),
        day("10-02"),
        false,
        &BTreeSet::new(),
        day("11-01"),
    );
    assert_eq!(e, Err(Error::NoGrid { kind: "manual" }));
}

#[test]
fn backfill_skips_existing_runs_unless_rerun() {
    let (t, _) = daily(false);
    let existing = BTreeSet::from([day("10-03"), day("10-05")]);
    let now = day("11-10");
    let plan = backfill(&t, day("10-01"), day("10-07"), false, &existing, now).unwrap();
    let got: Vec<_> = plan
        .runs
        .iter()
        .map(|p| (p.interval.logical_date, p.rerun))
        .collect();
    let new = |d| (day(d), false);
    assert_eq!(
        got,
        [
            new("10-01"),
            new("10-02"),
            new("10-04"),
            new("10-06"),
            new("10-07")
        ]
    );
    assert_eq!((plan.skipped, plan.not_due), (2, 0));
    // The start date (11-01) does not bound an explicit range.
    let plan = backfill(&t, day("10-01"), day("10-07"), true, &existing, now).unwrap();
    let got: Vec<_> = plan
        .runs
        .iter()
        .map(|p| (p.interval.logical_date, p.rerun))
        .collect();
    let again = |d| (day(d), true);
    assert_eq!(
        got,
        [
            new("10-01"),
            new("10-02"),
            again("10-03"),
            new("10-04"),
            again("10-05"),
            new("10-06"),
            new("10-07")
        ]
    );
    assert_eq!((plan.skipped, plan.not_due), (0, 0));
    assert_eq!(plan.runs[6].interval.due, day("10-08"));
}

#[test]
fn backfill_covers_the_ticks_in_range_and_leaves_the_future_to_the_schedule() {
    let (t, _) = daily(false);
    let now = ts("2026-11-03T12:00:00Z");
    let plan = backfill(
        &t,
        ts("2026-10-30T12:00:00Z"),
        day("11-05"),
        false,
        &BTreeSet::new(),
        now,
    )
    .unwrap();
    let got: Vec<_> = plan.runs.iter().map(|p| p.interval.logical_date).collect();
    // 10-30 12:00 is inside 10-30's interval: the range starts at the next tick.
    assert_eq!(got, [day("10-31"), day("11-01"), day("11-02")]);
    // 11-03 (due 11-04), 11-04 and 11-05 are not over yet.
    assert_eq!((plan.skipped, plan.not_due), (0, 3));
}

#[test]
fn backfill_ranges_must_be_ordered_and_bounded() {
    let (t, _) = daily(false);
    let none = BTreeSet::new();
    let e = backfill(&t, day("10-07"), day("10-01"), false, &none, day("11-01")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the backfill range ends (2026-10-01T00:00:00Z) before it starts (2026-10-07T00:00:00Z)"
    );
    let (every_second, _) = setup(json!({"every": "PT1S"}), json!({}));
    let e = backfill(
        &every_second,
        day("10-01"),
        day("10-03"),
        false,
        &none,
        day("11-01"),
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "the backfill from 2026-10-01T00:00:00Z to 2026-10-03T00:00:00Z has more than 100000 \
         logical dates; split it"
    );
}
