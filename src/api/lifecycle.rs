//! `GET /api/v1/instances/{id}/lifecycle`: the spec's lifecycle CloudEvents of an instance
//! (workflow and task started, completed, faulted, retried, ...), rebuilt from its history by
//! the engine thread (`runtime::node::lifecycle`). Event ids are assigned when an event is
//! published and are not kept, so none is shown.

use super::instances::row;
use super::{App, Problem};
use crate::runtime::node::{Message, Refused};
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn lifecycle(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    row(&app, &id).await?;
    let (reply, done) = tokio::sync::oneshot::channel();
    app.node.send(Message::Lifecycle {
        id: id.clone(),
        reply,
    });
    match done.await {
        Ok(Ok(events)) => Ok(Json(json!({"instance": id, "events": events}))),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(Refused::Stopped.into()),
    }
}
