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

/// The body limit in force (`--max-body`), so a 413 can say what it is.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

pub fn router(app: Arc<App>, max_body: usize) -> Router {
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
        .route("/events", post(events::receive))
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
        // The UI's page and assets hold no data (it comes from the API, with the token).
        .merge(crate::ui::router())
        // After every route: it applies to the routes added before it.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::Extension(BodyLimit(max_body)))
        .with_state(app)
}

async fn health() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
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
