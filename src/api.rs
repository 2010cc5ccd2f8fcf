//! The REST API (`/api/v1`, DESIGN.md): the only module that knows HTTP routes and the JSON
//! shapes of the API. Handlers read and write through the store and hand instances to this
//! node's engine; errors are RFC 7807 problem documents.

pub mod auth;
mod events;
mod graph;
mod grid;
mod instances;
mod lifecycle;
mod logs;
mod problem;
mod runs;
mod workflows;

pub use problem::Problem;

use crate::runtime::metrics::Metrics;
use crate::runtime::node::Node;
use crate::store::Store;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// What every handler shares.
pub struct App {
    pub store: Arc<dyn Store>,
    pub node: Node,
    /// This node's name (the owner of the instances it starts).
    pub name: String,
    pub lease: Duration,
    pub metrics: Arc<Metrics>,
    /// Bearer tokens that may call the API; empty: no authentication.
    pub tokens: HashSet<String>,
    /// Nudges this node's lease loop to deliver a control request at once.
    pub requests: Arc<Notify>,
    /// Workflow versions known to exist (versions are immutable, so this never goes stale).
    pub known: std::sync::Mutex<HashSet<crate::store::WorkflowKey>>,
    /// Runs by logical date: backfill, ad-hoc runs, run control.
    pub runs: crate::runtime::runs::Runs,
    /// The workflows `run: workflow` tasks of this node may start.
    pub registry: Arc<crate::runtime::registry::Registry>,
    /// Stores incoming CloudEvents (group commit) and nudges this node's inbound loop.
    pub ingest: crate::events::ingest::Ingest,
}

/// The largest request body accepted, by default.
pub const MAX_BODY: usize = 1 << 20;

/// The largest incoming CloudEvent request (or Kafka record), by default.
pub const MAX_EVENT: usize = 1 << 20;

/// The body limit in force on a route and the flag that sets it, so a 413 can say both.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit {
    pub bytes: usize,
    pub flag: &'static str,
}

/// `max_body` bounds every request body (`--max-body`) but the CloudEvents of
/// `POST /api/v1/events`, which `max_event` bounds (`--max-event-bytes`, shared with Kafka
/// records, so an event is refused alike whichever way it comes).
pub fn router(app: Arc<App>, max_body: usize, max_event: usize) -> Router {
    let api = Router::new()
        .route("/workflows", post(workflows::push).get(workflows::list))
        .route(
            "/workflows/{namespace}/{name}/{version}",
            get(workflows::get),
        )
        .route(
            "/workflows/{namespace}/{name}/{version}/instances",
            post(instances::start),
        )
        .route(
            "/workflows/{namespace}/{name}/backfill",
            post(runs::backfill),
        )
        .route(
            "/workflows/{namespace}/{name}/runs",
            get(runs::list).post(runs::trigger),
        )
        .route("/workflows/{namespace}/{name}/runs/{date}", get(runs::get))
        .route("/workflows/{namespace}/{name}/grid", get(grid::grid))
        .route(
            "/workflows/{namespace}/{name}/grid/stream",
            get(grid::stream),
        )
        .route("/workflows/{namespace}/{name}/graph", get(graph::graph))
        .route(
            "/workflows/{namespace}/{name}/runs/{date}/{action}",
            post(runs::act),
        )
        .route("/workflows/{namespace}/{name}/pause", post(runs::pause))
        .route("/workflows/{namespace}/{name}/unpause", post(runs::unpause))
        .route(
            "/workflows/{namespace}/{name}/settings",
            get(runs::settings).patch(runs::patch_settings),
        )
        // The route's own limit replaces the server-wide one (inner layers run later).
        .route(
            "/events",
            post(events::receive)
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(max_event))
                .layer::<_, std::convert::Infallible>(axum::Extension(BodyLimit {
                    bytes: max_event,
                    flag: "--max-event-bytes",
                })),
        )
        .route("/instances", get(instances::list))
        .route("/instances/{id}", get(instances::get))
        .route("/instances/{id}/logs", get(logs::logs))
        .route("/instances/{id}/lifecycle", get(lifecycle::lifecycle))
        .route("/instances/{id}/{action}", post(instances::control))
        .route("/openapi.json", get(openapi))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::check,
        ))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        // The UI's page and assets hold no data (it comes from the API, with the token).
        .merge(crate::ui::router())
        // After every route: it applies to the routes added before it.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(BodyLimit {
            bytes: max_body,
            flag: "--max-body",
        }))
        .with_state(app)
}

/// Liveness: each part's state; 503 once the engine thread has been stuck for a whole lease
/// (restarting the process is then the way out).
async fn health(State(app): State<Arc<App>>) -> impl IntoResponse {
    let (_, body) = app.node.health.report(app.lease / 3);
    let dead = app.node.health.engine_busy().is_some_and(|d| d > app.lease);
    let status = if dead {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// Readiness: 503 while the engine thread cannot step (busy with one batch for a third of
/// the lease), the store does not answer, or the node gave its leases up.
async fn ready(State(app): State<Arc<App>>) -> impl IntoResponse {
    let (ready, body) = app.node.health.report(app.lease / 3);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", "no such route")
}

/// axum keeps the `Allow` header it computed; only the body becomes a problem document.
async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "this route does not take that method (see the Allow header)",
    )
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("api/openapi.json"),
    )
}

async fn metrics(State(app): State<Arc<App>>) -> Result<impl IntoResponse, Problem> {
    let counts = app.store.count_by_status().await?;
    for status in instances::STATUSES {
        let n = counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        app.metrics
            .instances
            .get_or_create(&vec![("status".to_string(), status.to_string())])
            .set(n);
    }
    app.metrics.outbox.set(app.store.outbox_depth().await?);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    ))
}
