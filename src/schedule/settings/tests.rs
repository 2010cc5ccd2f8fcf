//! Tests of run-control settings: defaults, the document, overrides, and located errors.

use super::*;
use serde_json::json;

fn metadata(nagare: Value) -> Map<String, Value> {
    Map::from_iter([("nagare".to_string(), nagare)])
}

fn document(nagare: Value) -> Result<Settings, Error> {
    Settings::new(Some(&metadata(nagare)), &Overrides::default())
}

fn error(nagare: Value) -> String {
    document(nagare).unwrap_err().to_string()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn defaults_without_settings() {
    let expected = Settings {
        start_date: None,
        end_date: None,
        timezone: TimeZone::UTC,
        catchup: false,
        depends_on_past: false,
        max_active_runs: 16,
        max_active_tasks: None,
    };
    assert_eq!(
        Settings::new(None, &Overrides::default()),
        Ok(expected.clone())
    );
    let other = Map::from_iter([("team".to_string(), json!("ml"))]);
    assert_eq!(
        Settings::new(Some(&other), &Overrides::default()),
        Ok(expected.clone())
    );
    assert_eq!(document(json!(null)), Ok(expected.clone()));
    assert_eq!(document(json!({})), Ok(expected));
}

#[test]
fn every_field_from_the_document() {
    let s = document(json!({
        "startDate": "2026-11-01", "endDate": "2026-12-31T06:00",
        "timezone": "Europe/Paris", "catchup": true, "dependsOnPast": true,
        "maxActiveRuns": 4, "maxActiveTasks": 32
    }))
    .unwrap();
    assert_eq!(s.start_date, Some(ts("2026-10-31T23:00:00Z")));
    assert_eq!(s.end_date, Some(ts("2026-12-31T05:00:00Z")));
    assert_eq!(s.timezone.iana_name(), Some("Europe/Paris"));
    assert!(s.catchup && s.depends_on_past);
    assert_eq!((s.max_active_runs, s.max_active_tasks), (4, Some(32)));
    assert_eq!(s.parse_date("2026-11-03"), Ok(ts("2026-11-02T23:00:00Z")));
}

#[test]
fn overrides_win_and_null_clears_them() {
    let meta =
        metadata(json!({"startDate": "2026-11-01", "maxActiveRuns": 4, "maxActiveTasks": 32}));
    let mut overrides = Overrides::default();
    overrides
        .patch(&json!({"maxActiveRuns": 1, "catchup": true, "maxActiveTasks": "unlimited"}))
        .unwrap();
    let s = Settings::new(Some(&meta), &overrides).unwrap();
    assert_eq!(
        (s.max_active_runs, s.catchup, s.max_active_tasks),
        (1, true, None)
    );

    overrides
        .patch(&json!({"maxActiveRuns": null, "catchup": null}))
        .unwrap();
    assert_eq!(overrides.to_json(), json!({"maxActiveTasks": "unlimited"}));
    let s = Settings::new(Some(&meta), &overrides).unwrap();
    assert_eq!(
        (s.max_active_runs, s.catchup, s.max_active_tasks),
        (4, false, None)
    );

    // Stored and read back, the overrides are the same.
    assert_eq!(Overrides::from_json(&overrides.to_json()), Ok(overrides));
}

#[test]
fn an_overridden_zone_moves_the_documents_dates() {
    let meta = metadata(json!({"startDate": "2026-11-01", "timezone": "Europe/Paris"}));
    let mut overrides = Overrides::default();
    overrides
        .patch(&json!({"timezone": "America/New_York"}))
        .unwrap();
    let s = Settings::new(Some(&meta), &overrides).unwrap();
    assert_eq!(s.start_date, Some(ts("2026-11-01T04:00:00Z")));
}

#[test]
fn document_errors_name_the_field_and_its_pointer() {
    let at = "/document/metadata/nagare";
    assert_eq!(
        error(json!({"maxActiveRuns": 0})),
        format!("maxActiveRuns: expected a positive integer, not 0 (at {at}/maxActiveRuns)")
    );
    assert_eq!(
        error(json!({"maxActiveRuns": "16"})),
        format!("maxActiveRuns: expected a positive integer, not \"16\" (at {at}/maxActiveRuns)")
    );
    assert_eq!(
        error(json!({"maxActiveTasks": -3})),
        format!(
            "maxActiveTasks: expected a positive integer or \"unlimited\", not -3 \
             (at {at}/maxActiveTasks)"
        )
    );
    assert_eq!(
        error(json!({"catchup": "yes"})),
        format!("catchup: expected true or false, not \"yes\" (at {at}/catchup)")
    );
    assert_eq!(
        error(json!({"timezone": "Europe/Pariss"})),
        format!(
            "timezone: unknown time zone `Europe/Pariss`: expected an IANA name such as \
             Europe/Paris (at {at}/timezone)"
        )
    );
    assert_eq!(
        error(json!({"startDate": 20261101})),
        format!(
            "startDate: expected a date string such as \"2026-11-01\", not 20261101 \
             (at {at}/startDate)"
        )
    );
    assert!(
        error(json!({"startDate": "next monday"}))
            .starts_with("startDate: `next monday` is not a date: expected YYYY-MM-DD"),
    );
    assert_eq!(
        error(json!({"startDate": "2026-11-01", "endDate": "2026-10-01"})),
        format!(
            "endDate: 2026-10-01T00:00:00Z is before startDate 2026-11-01T00:00:00Z \
             (at {at}/endDate)"
        )
    );
}

#[test]
fn unknown_fields_and_wrong_shapes_are_errors() {
    assert_eq!(
        error(json!({"maxActiveRun": 3})),
        "unknown run-control setting `maxActiveRun`; the settings are startDate, endDate, \
         timezone, catchup, dependsOnPast, maxActiveRuns, maxActiveTasks \
         (at /document/metadata/nagare/maxActiveRun)"
    );
    assert_eq!(
        error(json!([1, 2])),
        "the run-control settings must be an object (startDate, endDate, timezone, catchup, \
         dependsOnPast, maxActiveRuns, maxActiveTasks), not [1,2] (at /document/metadata/nagare)"
    );
    // A key with a slash is escaped in the pointer.
    assert!(error(json!({"a/b": 1})).ends_with("(at /document/metadata/nagare/a~1b)"));
}

#[test]
fn patch_errors_point_into_the_patch_and_change_nothing() {
    let mut overrides = Overrides::default();
    overrides.patch(&json!({"maxActiveRuns": 2})).unwrap();
    let before = overrides.clone();
    let e = overrides
        .patch(&json!({"catchup": true, "maxActiveRuns": -1}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "maxActiveRuns: expected a positive integer, not -1 (at /maxActiveRuns)"
    );
    assert_eq!(overrides, before);
    let e = overrides.patch(&json!({"catchUp": null})).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unknown run-control setting `catchUp`"),
        "{e}"
    );
    assert!(e.to_string().ends_with("(at /catchUp)"), "{e}");
    let e = overrides.patch(&json!(["maxActiveRuns"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the settings patch must be a JSON object of run-control settings"
    );
    assert_eq!(overrides, before);
}

#[test]
fn a_patch_that_breaks_the_whole_is_caught_when_resolving() {
    let meta = metadata(json!({"startDate": "2026-11-01"}));
    let mut overrides = Overrides::default();
    overrides.patch(&json!({"endDate": "2026-01-01"})).unwrap();
    assert_eq!(
        Settings::new(Some(&meta), &overrides)
            .unwrap_err()
            .to_string(),
        "endDate: 2026-01-01T00:00:00Z is before startDate 2026-11-01T00:00:00Z (at /endDate)"
    );
}
