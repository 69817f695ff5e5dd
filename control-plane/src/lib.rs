//! Cascade's control plane: the admin API that owns all data in one redb
//! file and publishes snapshots for the edge.
//!
//! # Layout
//!
//! - [`store`] owns the redb database. Every change, its audit record and
//!   a bump of the store revision commit in one write transaction.
//! - [`api`] holds one module per resource, each with a `router()`:
//!   integrators, tenants, flags, overrides, tokens, audit, snapshot and
//!   health. [`app`] merges them, adds the middleware and serves the
//!   OpenAPI document generated from the handlers' annotations.
//! - [`auth`] checks bearer tokens and roles; [`error`] maps every failure
//!   to an RFC 9457 problem document; [`extract`] parses bodies, paths,
//!   queries and `If-Match`.
//! - [`snapshot`] builds the snapshot of the current revision once with
//!   `cascade_shared::SnapshotBuilder` and serves its bytes from memory.
//!
//! # API summary
//!
//! Every route but `/healthz`, `/readyz` and `/openapi.json` needs
//! `Authorization: Bearer <token>`. JSON bodies reject unknown fields; a
//! body is at most 1 MiB, or 32 MiB for bulk PATCH requests.
//!
//! | Route | Methods | Roles that may call it |
//! |---|---|---|
//! | `/v1/integrators` | GET, POST | read: all but edge (integrator-admins see their own); POST: platform-admin |
//! | `/v1/integrators/{id}` | GET, PATCH, DELETE | PATCH: platform-admin or its integrator-admin; DELETE: platform-admin |
//! | `/v1/integrators/{id}/status` | POST | platform-admin |
//! | `/v1/tenants` | GET (`?integrator=`), POST | POST: platform-admin, integrator-admin for its own integrator |
//! | `/v1/tenants/{id}` | GET, PATCH, DELETE | platform-admin, integrator-admin of the owner |
//! | `/v1/tenants/{id}/integrator` | PUT (associate or move), DELETE (detach) | platform-admin |
//! | `/v1/flags`, `/v1/flags/{key}` | GET, POST, PATCH, DELETE | writes: platform-admin |
//! | `/v1/integrators/{id}/flags[/{key}]` | GET, PATCH (bulk), PUT, DELETE | writes: platform-admin |
//! | `/v1/tenants/{id}/flags[/{key}]` | GET, PATCH (bulk), PUT, DELETE | writes: platform-admin, integrator-admin of the owner |
//! | `/v1/tenants/{id}/users` | GET (paginated), PATCH (bulk) | as tenant overrides |
//! | `/v1/tenants/{id}/users/{user}/flags[/{key}]` | GET, PUT, DELETE | as tenant overrides |
//! | `/v1/tenants/{id}/users/{user}/evaluation` | GET | all but edge, in scope |
//! | `/v1/tokens`, `/v1/tokens/{id}` | GET, POST, DELETE | platform-admin; auditors may list |
//! | `/v1/audit` | GET (`target`, `actor`, `since`, `until`) | all but edge; integrator-admins see their scope |
//! | `/v1/snapshot` | GET (`If-None-Match`, `?wait=`) | platform-admin, auditor, edge |
//!
//! "All but edge" means platform-admin, auditor and integrator-admin; an
//! integrator-admin reaches only its own integrator, its tenants and
//! their overrides. Integrator, tenant and flag responses carry an `ETag`
//! (`"v<version>"`); updates and deletes honour `If-Match` and answer 412
//! on a mismatch. Overrides carry no `ETag`: on their PUT and DELETE,
//! `If-Match: *` needs the override to exist and any list of tags answers
//! 412. Tokens: revoking the last live platform-admin token answers 409;
//! create another first. Snapshot responses carry
//! `ETag: "r<revision>"`; a matching `If-None-Match` answers 304, and with
//! `?wait=SECONDS` (at most 60) the request is held until a newer revision
//! commits. Lists take `cursor` and `limit` (1 to 1000) and return
//! `next_cursor`. User ids in paths are percent-encoded UTF-8.
//!
//! Override bodies: `PUT` takes `{"value": <JSON of the flag's type>}`.
//! `PATCH` on `/v1/integrators/{id}/flags` or `/v1/tenants/{id}/flags`
//! takes `{"set": [{"flag": "beta", "value": true}], "remove": ["old"]}`,
//! and on `/v1/tenants/{id}/users` takes `{"set": [{"user": "u1", "flag":
//! "beta", "value": true}], "remove": [{"user": "u2", "flag": "beta"}]}`,
//! with at most 100,000 items, applied in one transaction or not at all.
//! `POST /v1/tokens` takes `{"name", "role", "integrator"}` and returns the
//! token's `secret` once.
//!
//! Integrator status is informational: it is kept with its history and
//! does not change evaluation.
//!
//! Errors are `application/problem+json` documents whose `type` is
//! `urn:cascade:problem:<slug>`, with slugs such as `unauthorized`,
//! `forbidden`, `not-found`, `invalid-id`, `invalid-json`, `invalid-body`,
//! `invalid-field`, `invalid-value`, `invalid-reference`, `invalid-query`,
//! `invalid-cursor`, `body-too-large`, `already-exists`,
//! `invalid-transition`, `integrator-has-tenants`, `flag-has-overrides`,
//! `precondition-failed` and `last-platform-admin`; [`error::ApiError`]
//! lists them all.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod snapshot;
pub mod store;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::TokenCache;
use crate::error::{ApiError, Problem};
use crate::snapshot::SnapshotCache;
use crate::store::Store;

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    pub store: Store,
    pub tokens: TokenCache,
    pub snapshots: SnapshotCache,
    shutdown: watch::Sender<bool>,
}

impl AppState {
    /// Opens or creates the store at `path` and loads the live tokens.
    pub fn open(path: &Path) -> Result<Arc<AppState>, ApiError> {
        let store = Store::open(path)?;
        AppState::with_store(store)
    }

    /// Wraps an open store.
    pub fn with_store(store: Store) -> Result<Arc<AppState>, ApiError> {
        let tokens = store.read_blocking(TokenCache::load)?;
        let (shutdown, _) = watch::channel(false);
        Ok(Arc::new(AppState {
            store,
            tokens,
            snapshots: SnapshotCache::default(),
            shutdown,
        }))
    }

    /// Creates the first platform-admin token if the store has none;
    /// returns its secret, which exists nowhere else.
    pub fn bootstrap_token(&self) -> Result<Option<String>, ApiError> {
        match api::tokens::bootstrap(&self.store)? {
            Some((record, secret)) => {
                self.tokens.insert(&record);
                Ok(Some(secret))
            }
            None => Ok(None),
        }
    }

    /// A receiver that turns true when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Marks the service as shutting down: `/readyz` fails and held
    /// snapshot requests return at once.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cascade control plane",
        description = "Admin API for integrators, tenants, feature flags and their overrides, \
                       and the snapshot feed for the edge."
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api_router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::health::router())
        .merge(api::integrators::router())
        .merge(api::tenants::router())
        .merge(api::flags::router())
        .merge(api::overrides::router())
        .merge(api::tokens::router())
        .merge(api::audit::router())
        .merge(api::snapshot::router())
}

/// The OpenAPI 3.1 document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

/// Builds the service: every route, the OpenAPI document and the
/// middleware. Used by the binary and by tests.
pub fn app(state: Arc<AppState>) -> Router {
    let (router, openapi) = api_router().split_for_parts();
    let document = Arc::new(openapi.to_json().unwrap_or_default());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        document.as_str().to_owned(),
                    )
                }
            }),
        )
        .fallback(route_not_found)
        .layer(middleware::from_fn(problem_for_rejections))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("handler panicked".to_owned()).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn route_not_found(request: Request) -> ApiError {
    ApiError::RouteNotFound {
        method: request.method().to_string(),
        path: error::truncate(request.uri().path().to_owned()),
    }
}

/// Turns axum's bare 405 into a problem document, and logs every rejected
/// or failed request with its request id.
async fn problem_for_rejections(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = error::truncate(request.uri().path().to_owned());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = ApiError::MethodNotAllowed {
            method: method.to_string(),
            path: path.clone(),
        }
        .into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(%method, %path, status = status.as_u16(), request_id, "request failed");
    } else if status.is_client_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), request_id, "request rejected");
    }
    response
}
