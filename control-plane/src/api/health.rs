//! `/healthz` and `/readyz`, the only routes that need no token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, Problem};

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The service status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// The committed store revision.
    pub revision: u64,
}

/// Liveness: the process runs and serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health)))]
async fn healthz(State(state): State<Arc<AppState>>) -> Json<Health> {
    Json(Health {
        status: "ok",
        revision: state.store.revision(),
    })
}

/// Readiness: the store answers reads and the service is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Problem)))]
async fn readyz(
    State(state): State<Arc<AppState>>,
) -> Result<(StatusCode, Json<Health>), ApiError> {
    if *state.shutdown_signal().borrow() {
        return Err(ApiError::ShuttingDown);
    }
    let revision = state.store.read(crate::store::read_revision).await?;
    Ok((
        StatusCode::OK,
        Json(Health {
            status: "ok",
            revision,
        }),
    ))
}
