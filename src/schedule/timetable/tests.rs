//! Tests of logical dates, data intervals and due times for each kind of schedule.

use super::*;
use serde_json::{Value, json};

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn table(schedule: Value, settings: Value) -> Timetable {
    try_table(schedule, settings).unwrap()
}

fn try_table(schedule: Value, settings: Value) -> Result<Timetable, Error> {
    let schedule: Schedule = serde_json::from_value(schedule).unwrap();
    let meta = serde_json::Map::from_iter([("nagare".to_string(), settings)]);
    let settings = Settings::new(Some(&meta), &Default::default()).unwrap();
    Timetable::new(Some(&schedule), &settings)
}

/// An interval as `logical/start/end/due`, each in UTC.
fn show(i: Interval) -> String {
    format!("{} {} {} {}", i.logical_date, i.start, i.end, i.due)
}

fn grid(i: &str, end: &str) -> String {
    format!("{i} {i} {end} {end}")
}

#[test]
fn a_daily_run_is_due_when_its_day_is_over() {
    let t = table(json!({"cron": "0 0 * * *"}), json!({}));
    assert_eq!(t.kind(), Kind::Cron);
    let i = t.interval_for(ts("2026-11-01T00:00:00Z")).unwrap();
    assert_eq!(
        show(i),
        grid("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")
    );
}

#[test]
fn next_due_starts_at_the_start_date_and_is_strictly_after() {
    let t = table(
        json!({"cron": "0 0 * * *"}),
        json!({"startDate": "2026-11-01"}),
    );
    let next = |after: &str| t.next_due(ts(after)).map(show);
    let day = |d: &str, e: &str| Some(grid(&format!("{d}T00:00:00Z"), &format!("{e}T00:00:00Z")));
    assert_eq!(
        next("2026-10-15T09:00:00Z"),
        day("2026-11-01", "2026-11-02")
    );
    assert_eq!(
        next("2026-11-01T12:00:00Z"),
        day("2026-11-01", "2026-11-02")
    );
    // At the due time itself, that run is no longer "next": the timer moves on.
    assert_eq!(
        next("2026-11-02T00:00:00Z"),
        day("2026-11-02", "2026-11-03")
    );
    assert_eq!(t.first_scheduled(), Some(ts("2026-11-01T00:00:00Z")));
}

#[test]
fn the_end_date_is_inclusive_on_logical_dates() {
    let t = table(
        json!({"cron": "0 0 * * *"}),
        json!({"startDate": "2026-11-01", "endDate": "2026-11-03"}),
    );
    assert_eq!(
        t.next_due(ts("2026-11-03T05:00:00Z")).map(show),
        Some(grid("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"))
    );
    assert_eq!(t.next_due(ts("2026-11-04T00:00:00Z")), None);
    // Long after the end, the latest due run is the last one.
    assert_eq!(
        t.latest_due(ts("2027-01-01T00:00:00Z")).map(show),
        Some(grid("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"))
    );
}

#[test]
fn latest_due_is_the_last_interval_that_is_over() {
    let t = table(
        json!({"cron": "0 0 * * *"}),
        json!({"startDate": "2026-11-01"}),
    );
    assert_eq!(
        t.latest_due(ts("2026-11-04T08:00:00Z")).map(show),
        Some(grid("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"))
    );
    assert_eq!(
        t.latest_due(ts("2026-11-04T00:00:00Z")).map(show),
        Some(grid("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"))
    );
    // The first interval is not over yet.
    assert_eq!(t.latest_due(ts("2026-11-01T23:59:59Z")), None);
}

#[test]
fn a_paris_day_is_23_or_25_hours_long_around_dst() {
    let t = table(
        json!({"cron": "0 0 * * *"}),
        json!({"timezone": "Europe/Paris"}),
    );
    let spring = t.interval_for(ts("2026-03-28T23:00:00Z")).unwrap();
    assert_eq!(
        show(spring),
        grid("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
    );
    let fall = t.interval_for(ts("2026-10-24T22:00:00Z")).unwrap();
    assert_eq!(
        show(fall),
        grid("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")
    );
}

#[test]
fn every_is_a_grid_anchored_at_the_start_date() {
    let t = table(
        json!({"every": "PT6H"}),
        json!({"startDate": "2026-11-01T03:00"}),
    );
    assert_eq!(t.kind(), Kind::Every);
    let got: Vec<String> = t
        .intervals(ts("2026-11-01T00:00:00Z"), ts("2026-11-01T15:00:00Z"))
        .map(show)
        .collect();
    assert_eq!(
        got,
        [
            grid("2026-11-01T03:00:00Z", "2026-11-01T09:00:00Z"),
            grid("2026-11-01T09:00:00Z", "2026-11-01T15:00:00Z"),
            grid("2026-11-01T15:00:00Z", "2026-11-01T21:00:00Z"),
        ]
    );
    assert_eq!(
        t.next_due(ts("2026-11-01T10:00:00Z")).map(show),
        Some(grid("2026-11-01T09:00:00Z", "2026-11-01T15:00:00Z"))
    );
}

#[test]
fn every_day_keeps_local_midnight_across_dst() {
    let t = table(
        json!({"every": {"days": 1}}),
        json!({"startDate": "2026-03-27", "timezone": "Europe/Paris"}),
    );
    let got: Vec<String> = t
        .intervals(ts("2026-03-28T00:00:00Z"), ts("2026-03-30T00:00:00Z"))
        .map(show)
        .collect();
    assert_eq!(
        got,
        [
            grid("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
            grid("2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z"),
        ]
    );
}

#[test]
fn without_a_start_date_every_is_anchored_at_local_midnight_of_the_epoch() {
    let t = table(
        json!({"every": "PT1H"}),
        json!({"timezone": "Asia/Kolkata"}),
    );
    // Kolkata is UTC+05:30, so its hours start at half past in UTC.
    assert_eq!(
        show(t.interval_for(ts("2026-11-01T04:30:00Z")).unwrap()),
        grid("2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z")
    );
    let off = t.interval_for(ts("2026-11-01T05:00:00Z")).unwrap_err();
    assert_eq!(
        off,
        Error::OffGrid {
            date: ts("2026-11-01T05:00:00Z"),
            previous: Some(ts("2026-11-01T04:30:00Z")),
            next: Some(ts("2026-11-01T05:30:00Z")),
        }
    );
    assert_eq!(
        off.to_string(),
        "2026-11-01T05:00:00Z is not a logical date of this schedule; the nearest are \
         2026-11-01T04:30:00Z and 2026-11-01T05:30:00Z"
    );
    assert_eq!(
        t.containing(ts("2026-11-01T05:00:00Z")).map(show),
        Some(grid("2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z"))
    );
}

#[test]
fn after_runs_a_duration_after_the_previous_completion() {
    let t = table(
        json!({"after": "PT30M"}),
        json!({"startDate": "2026-11-01T08:00Z"}),
    );
    assert_eq!((t.kind(), t.has_grid()), (Kind::After, false));
    let now = ts("2026-11-05T00:00:00Z");
    let first = t.after_completion(None, now).unwrap();
    assert_eq!(
        show(first),
        grid("2026-11-01T08:00:00Z", "2026-11-01T08:00:00Z")
    );
    let next = t
        .after_completion(Some(ts("2026-11-01T08:12:00Z")), now)
        .unwrap();
    assert_eq!(
        show(next),
        grid("2026-11-01T08:12:00Z", "2026-11-01T08:42:00Z")
    );
    assert_eq!(t.next_due(now), None);
    // Without a start date, the first run is due now.
    let t = table(json!({"after": "PT30M"}), json!({"endDate": "2026-11-01"}));
    assert_eq!(
        t.after_completion(None, ts("2026-10-01T00:00:00Z"))
            .map(|i| i.due),
        Some(ts("2026-10-01T00:00:00Z"))
    );
    assert_eq!(
        t.after_completion(Some(ts("2026-11-01T00:00:01Z")), now),
        None
    );
}

#[test]
fn events_and_manual_workflows_have_no_due_times_but_take_any_date() {
    let on = table(
        json!({"on": {"one": {"with": {"type": "com.example.ready"}}}}),
        json!({}),
    );
    let manual = Timetable::new(None, &Settings::default()).unwrap();
    for (t, kind) in [(on, Kind::On), (manual, Kind::Manual)] {
        assert_eq!(t.kind(), kind);
        assert_eq!(t.next_due(ts("2026-11-01T00:00:00Z")), None);
        assert_eq!(t.after_completion(None, ts("2026-11-01T00:00:00Z")), None);
        let d = ts("2026-11-03T12:34:00Z");
        assert_eq!(
            show(t.interval_for(d).unwrap()),
            grid("2026-11-03T12:34:00Z", "2026-11-03T12:34:00Z")
        );
        assert_eq!(t.intervals(d, d).count(), 0);
    }
}

#[test]
fn schedule_errors_point_into_the_document() {
    let both = try_table(json!({"cron": "0 0 * * *", "every": "P1D"}), json!({})).unwrap_err();
    assert_eq!(
        both.to_string(),
        "a schedule sets exactly one of cron, every, after and on (at /schedule)"
    );
    let cron = try_table(json!({"cron": "0 0 * *"}), json!({})).unwrap_err();
    assert!(
        matches!(&cron, Error::Invalid { pointer, .. } if pointer == "/schedule/cron"),
        "{cron}"
    );
    let expr = try_table(json!({"every": "${ .period }"}), json!({})).unwrap_err();
    assert_eq!(
        expr.to_string(),
        "`${ .period }`: a runtime expression cannot set a schedule; write a duration \
         (at /schedule/every)"
    );
}
