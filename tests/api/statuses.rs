//! The OpenAPI document against what the routes really answer: every status the table
//! below provokes from a running server must be listed for its operation, every operation
//! behind the store lists 500 and 503 (503 with `Retry-After`), and every one behind the
//! token check lists 401. (`outage.rs` provokes the 503s for real.)

use super::server::{Backing, Http, Server, TempDir};
use super::{HELLO, assert_problem};
use serde_json::{Value, json};

/// Routes that never read the store: no 500 or 503 to declare.
pub const STORELESS: [&str; 3] = ["/healthz", "/readyz", "/api/v1/openapi.json"];

/// A workflow with a daily grid of logical dates, for the run routes. Without catchup the
/// schedule queues only the latest due date, so the November dates below are the test's.
const DAILY: &str = r#"
document:
  dsl: '1.0.3'
  namespace: test
  name: daily
  version: '1.0.0'
  metadata:
    nagare: {startDate: '2026-11-01', timezone: Europe/Paris, catchup: false}
schedule:
  cron: '0 0 * * *'
do:
  - work: {set: {day: '${ .logicalDate }'}}
"#;

/// A workflow that waits, so an instance of it can be cancelled.
const SLOW: &str = r#"document: {dsl: '1.0.3', namespace: test, name: slow, version: '1.0.0'}
do:
  - pause: {wait: {seconds: 60}}
"#;

/// One provoked answer: method, route as documented, the URL path, content type and body.
struct Case {
    method: &'static str,
    route: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
    status: u16,
}

fn case(method: &'static str, route: &'static str, path: &str, status: u16) -> Case {
    Case {
        method,
        route,
        path: path.to_string(),
        content_type: None,
        body: None,
        status,
    }
}

fn with_body(
    method: &'static str,
    route: &'static str,
    path: &str,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    Case {
        content_type: Some(content_type),
        body: Some(body.into()),
        ..case(method, route, path, status)
    }
}

fn json_body(method: &'static str, route: &'static str, path: &str, v: Value, status: u16) -> Case {
    with_body(
        method,
        route,
        path,
        "application/json",
        v.to_string(),
        status,
    )
}

/// The statuses the document lists for an operation.
fn documented(doc: &Value, route: &str, method: &str) -> Vec<u16> {
    let responses = doc["paths"][route][method.to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {route} is not documented"));
    responses.keys().map(|k| k.parse().unwrap()).collect()
}

#[test]
fn openapi_lists_the_statuses_routes_answer() {
    let dir = TempDir::new("statuses");
    let server = Server::start(
        &Backing::Sqlite(dir.path().to_path_buf()),
        &["--max-body", "4096", "--max-event-bytes", "4096"],
    );
    let http = Http::default();
    let (_, doc) = http.get(&server.api("/openapi.json"));

    // Every operation: 401 where tokens apply (all but /healthz and /readyz); 500 and 503 where the
    // store is read, the 503 with its Retry-After header.
    for (route, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let listed = documented(&doc, route, method);
            if route != "/healthz" && route != "/readyz" {
                assert!(listed.contains(&401), "{method} {route} lacks 401");
            }
            if STORELESS.contains(&route.as_str()) {
                continue;
            }
            for status in [500, 503] {
                assert!(listed.contains(&status), "{method} {route} lacks {status}");
            }
            let unavailable = op["responses"]["503"]["$ref"].as_str().unwrap_or_default();
            let pointer = unavailable.trim_start_matches('#');
            assert!(
                doc.pointer(&format!("{pointer}/headers/Retry-After"))
                    .is_some(),
                "{method} {route}: its 503 does not declare Retry-After"
            );
        }
    }

    http.push(&server, DAILY);
    http.push(&server, SLOW);
    let big = "x".repeat(10_000);
    let w = "/api/v1/workflows/{namespace}/{name}/{version}";
    let start = "/api/v1/workflows/{namespace}/{name}/{version}/instances";
    let backfill = "/api/v1/workflows/{namespace}/{name}/backfill";
    let runs = "/api/v1/workflows/{namespace}/{name}/runs";
    let run = "/api/v1/workflows/{namespace}/{name}/runs/{date}";
    let act = "/api/v1/workflows/{namespace}/{name}/runs/{date}/{action}";
    let settings = "/api/v1/workflows/{namespace}/{name}/settings";
    let grid = "/api/v1/workflows/{namespace}/{name}/grid";
    let instance = "/api/v1/instances/{id}";
    let control = "/api/v1/instances/{id}/{action}";
    let cases = vec![
        with_body(
            "POST",
            "/api/v1/workflows",
            "/workflows",
            "application/yaml",
            HELLO,
            201,
        ),
        with_body(
            "POST",
            "/api/v1/workflows",
            "/workflows",
            "application/yaml",
            HELLO,
            200,
        ),
        with_body(
            "POST",
            "/api/v1/workflows",
            "/workflows",
            "application/yaml",
            "do: [",
            400,
        ),
        with_body(
            "POST",
            "/api/v1/workflows",
            "/workflows",
            "application/yaml",
            HELLO.replace("hello ", "bye "),
            409,
        ),
        with_body(
            "POST",
            "/api/v1/workflows",
            "/workflows",
            "application/yaml",
            format!("{HELLO}# {big}\n"),
            413,
        ),
        with_body(
            "POST",
            "/api/v1/workflows",
            "/workflows",
            "text/plain",
            HELLO,
            415,
        ),
        case("GET", "/api/v1/workflows", "/workflows", 200),
        case("GET", w, "/workflows/test/hello/1.0.0", 200),
        case("GET", w, "/workflows/test/hello/9.9.9", 404),
        json_body(
            "POST",
            start,
            "/workflows/test/hello/1.0.0/instances",
            json!({"name": "a"}),
            201,
        ),
        with_body(
            "POST",
            start,
            "/workflows/test/hello/1.0.0/instances",
            "application/json",
            "{oops",
            400,
        ),
        json_body(
            "POST",
            start,
            "/workflows/test/nope/1.0.0/instances",
            json!({}),
            404,
        ),
        json_body(
            "POST",
            start,
            "/workflows/test/hello/1.0.0/instances",
            json!({"name": big}),
            413,
        ),
        with_body(
            "POST",
            start,
            "/workflows/test/hello/1.0.0/instances",
            "text/plain",
            "{}",
            415,
        ),
        with_body(
            "POST",
            "/api/v1/events",
            "/events",
            "application/cloudevents+json",
            json!({"specversion": "1.0", "id": "1", "source": "s", "type": "t"}).to_string(),
            202,
        ),
        with_body(
            "POST",
            "/api/v1/events",
            "/events",
            "application/cloudevents+json",
            json!({"specversion": "1.0", "id": "2"}).to_string(),
            400,
        ),
        with_body(
            "POST",
            "/api/v1/events",
            "/events",
            "application/cloudevents+json",
            big.clone(),
            413,
        ),
        case("GET", "/api/v1/instances", "/instances", 200),
        case(
            "GET",
            "/api/v1/instances",
            "/instances?status=sleeping",
            400,
        ),
        case(
            "GET",
            instance,
            "/instances/01a21280-0000-7000-8000-000000000000",
            404,
        ),
        case(
            "POST",
            control,
            "/instances/01a21280-0000-7000-8000-000000000000/cancel",
            404,
        ),
        json_body(
            "POST",
            backfill,
            "/workflows/test/daily/backfill",
            json!({"from": "2026-11-01", "to": "2026-11-02"}),
            202,
        ),
        json_body(
            "POST",
            backfill,
            "/workflows/test/daily/backfill",
            json!({"from": "2026-11-01"}),
            400,
        ),
        json_body(
            "POST",
            backfill,
            "/workflows/test/daily/backfill",
            json!({"from": "someday", "to": "2026-11-02"}),
            400,
        ),
        json_body(
            "POST",
            backfill,
            "/workflows/test/nope/backfill",
            json!({"from": "2026-11-01", "to": "2026-11-02"}),
            404,
        ),
        json_body(
            "POST",
            backfill,
            "/workflows/test/daily/backfill",
            json!({"pad": big}),
            413,
        ),
        // A workflow without a schedule has no grid of dates to backfill.
        json_body(
            "POST",
            backfill,
            "/workflows/test/hello/backfill",
            json!({"from": "2026-11-01", "to": "2026-11-02"}),
            422,
        ),
        case("GET", runs, "/workflows/test/daily/runs", 200),
        case("GET", runs, "/workflows/test/daily/runs?from=someday", 400),
        case("GET", runs, "/workflows/test/nope/runs", 404),
        json_body(
            "POST",
            runs,
            "/workflows/test/daily/runs",
            json!({"logicalDate": "2026-11-10"}),
            201,
        ),
        json_body(
            "POST",
            runs,
            "/workflows/test/daily/runs",
            json!({"logicalDate": "2026-11-10"}),
            409,
        ),
        json_body("POST", runs, "/workflows/test/daily/runs", json!({}), 400),
        json_body(
            "POST",
            runs,
            "/workflows/test/nope/runs",
            json!({"logicalDate": "2026-11-10"}),
            404,
        ),
        json_body(
            "POST",
            runs,
            "/workflows/test/daily/runs",
            json!({"pad": big}),
            413,
        ),
        json_body(
            "POST",
            runs,
            "/workflows/test/daily/runs",
            json!({"logicalDate": "2026-11-10T13:00"}),
            422,
        ),
        case("GET", run, "/workflows/test/daily/runs/2026-11-01", 200),
        case("GET", run, "/workflows/test/daily/runs/someday", 400),
        case("GET", run, "/workflows/test/daily/runs/2026-12-25", 404),
        json_body(
            "POST",
            act,
            "/workflows/test/daily/runs/2026-11-01/mark-succeeded",
            json!({}),
            202,
        ),
        json_body(
            "POST",
            act,
            "/workflows/test/daily/runs/2026-11-01/mark-failed",
            json!({"task": 7}),
            400,
        ),
        json_body(
            "POST",
            act,
            "/workflows/test/daily/runs/2026-11-01/explode",
            json!({}),
            404,
        ),
        json_body(
            "POST",
            act,
            "/workflows/test/daily/runs/2026-11-01/mark-failed",
            json!({"pad": big}),
            413,
        ),
        case(
            "POST",
            "/api/v1/workflows/{namespace}/{name}/pause",
            "/workflows/test/daily/pause",
            200,
        ),
        // Paused: a run queued now gets no instance, and one cannot retry what never ran.
        json_body(
            "POST",
            runs,
            "/workflows/test/daily/runs",
            json!({"logicalDate": "2026-11-20"}),
            201,
        ),
        json_body(
            "POST",
            act,
            "/workflows/test/daily/runs/2026-11-20/retry",
            json!({}),
            409,
        ),
        case(
            "POST",
            "/api/v1/workflows/{namespace}/{name}/pause",
            "/workflows/test/nope/pause",
            404,
        ),
        case(
            "POST",
            "/api/v1/workflows/{namespace}/{name}/unpause",
            "/workflows/test/daily/unpause",
            200,
        ),
        case(
            "POST",
            "/api/v1/workflows/{namespace}/{name}/unpause",
            "/workflows/test/nope/unpause",
            404,
        ),
        case("GET", settings, "/workflows/test/daily/settings", 200),
        case("GET", settings, "/workflows/test/nope/settings", 404),
        with_body(
            "PATCH",
            settings,
            "/workflows/test/daily/settings",
            "application/json",
            r#"{"maxActiveRuns": 3}"#,
            200,
        ),
        with_body(
            "PATCH",
            settings,
            "/workflows/test/daily/settings",
            "application/json",
            r#"{"catchUp": true}"#,
            400,
        ),
        with_body(
            "PATCH",
            settings,
            "/workflows/test/nope/settings",
            "application/json",
            "{}",
            404,
        ),
        with_body(
            "PATCH",
            settings,
            "/workflows/test/daily/settings",
            "application/json",
            json!({"pad": big}).to_string(),
            413,
        ),
        case("GET", grid, "/workflows/test/daily/grid", 200),
        case("GET", grid, "/workflows/test/daily/grid?limit=0", 400),
        case("GET", grid, "/workflows/test/nope/grid", 404),
        case(
            "GET",
            "/api/v1/workflows/{namespace}/{name}/grid/stream",
            "/workflows/test/daily/grid/stream?limit=0",
            400,
        ),
        case(
            "GET",
            "/api/v1/workflows/{namespace}/{name}/grid/stream",
            "/workflows/test/nope/grid/stream",
            404,
        ),
        case(
            "GET",
            "/api/v1/workflows/{namespace}/{name}/graph",
            "/workflows/test/daily/graph",
            200,
        ),
        case(
            "GET",
            "/api/v1/workflows/{namespace}/{name}/graph",
            "/workflows/test/nope/graph",
            404,
        ),
        case(
            "GET",
            "/api/v1/instances/{id}/logs",
            "/instances/01a21280-0000-7000-8000-000000000000/logs",
            404,
        ),
        case(
            "GET",
            "/api/v1/instances/{id}/lifecycle",
            "/instances/01a21280-0000-7000-8000-000000000000/lifecycle",
            404,
        ),
    ];
    let check = |cases: Vec<Case>| {
        for c in cases {
            let url = match c.route {
                "/metrics" | "/healthz" | "/readyz" => format!("{}{}", server.url, c.path),
                _ => server.api(&c.path),
            };
            let (s, v, _) = http.send(c.method, &url, c.content_type, c.body);
            assert_eq!(s, c.status, "{} {}: {v}", c.method, c.path);
            if s >= 400 {
                assert_problem(&v, s);
            }
            let listed = documented(&doc, c.route, c.method);
            assert!(
                listed.contains(&s),
                "{} {} answers {s}, which openapi.json does not list for it ({listed:?})",
                c.method,
                c.route
            );
        }
    };
    check(cases);
    // Cases on real instances: one that ended, one that waits.
    let done = http.start(&server, "test/hello/1.0.0", &json!({"name": "b"}));
    assert_eq!(http.wait(&server, &done, 30)["status"], "completed");
    let slow = http.start(&server, "test/slow/1.0.0", &json!({}));
    check(vec![
        case("GET", instance, &format!("/instances/{done}"), 200),
        case(
            "GET",
            instance,
            &format!("/instances/{done}?wait=forever"),
            400,
        ),
        case("POST", control, &format!("/instances/{slow}/cancel"), 202),
        case("POST", control, &format!("/instances/{done}/cancel"), 409),
        // Only a faulted instance can be retried.
        case("POST", control, &format!("/instances/{done}/retry"), 409),
        case(
            "GET",
            "/api/v1/instances/{id}/logs",
            &format!("/instances/{done}/logs"),
            200,
        ),
        case(
            "GET",
            "/api/v1/instances/{id}/logs",
            &format!("/instances/{done}/logs?after=-1"),
            400,
        ),
        case(
            "GET",
            "/api/v1/instances/{id}/lifecycle",
            &format!("/instances/{done}/lifecycle"),
            200,
        ),
        case("GET", "/metrics", "/metrics", 200),
        case("GET", "/healthz", "/healthz", 200),
        case("GET", "/readyz", "/readyz", 200),
    ]);

    // A stored row that does not decode is a 500, not a 503: nothing will fix it by waiting.
    corrupt_input(dir.path(), &done);
    for (path, route) in [
        (format!("/instances/{done}"), instance),
        ("/instances".to_string(), "/api/v1/instances"),
    ] {
        let (s, v, _) = http.send("GET", &server.api(&path), None, None);
        assert_eq!(s, 500, "{path}: {v}");
        assert_problem(&v, 500);
        assert_eq!(v["title"], "Stored data unreadable", "{v}");
        assert!(documented(&doc, route, "GET").contains(&500));
    }
}

/// Writes text that is not JSON into an instance's stored input, beside the running server
/// (SQLite's WAL lets a second connection write).
fn corrupt_input(data: &std::path::Path, id: &str) {
    use sqlx::Connection;
    super::runtime().block_on(async {
        let file = data.join("nagare.db");
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let done = sqlx::query("UPDATE instances SET input = '{not json' WHERE id = ?1")
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    });
}
