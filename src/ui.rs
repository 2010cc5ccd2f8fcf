//! The web UI at `/`: one page and its script and style, compiled into the binary (no
//! front-end build). The page holds no data: the script reads and acts through the REST API
//! with the token the user gives, so the UI can do nothing the API would not let it do.
//!
//! Views (by the URL's fragment): workflows (`#/`), a workflow's date × task grid
//! (`#/grid/NS/NAME`, live over the grid's server-sent events), its graph
//! (`#/graph/NS/NAME[/DATE]`) and a run's detail (`#/run/NS/NAME/DATE`); those two re-read
//! every second while shown.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(page))
        .route("/ui/app.js", get(script))
        .route("/ui/app.css", get(style))
}

async fn page() -> impl IntoResponse {
    asset("text/html; charset=utf-8", include_str!("ui/index.html"))
}

async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", include_str!("ui/app.js"))
}

async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", include_str!("ui/app.css"))
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
