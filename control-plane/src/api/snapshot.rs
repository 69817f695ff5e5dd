//! `GET /v1/snapshot` for the edge, and the evaluation preview that runs
//! the shared evaluator on the same snapshot.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cascade_shared::{TenantId, UserId};

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::extract::{PathParams, QueryParams};
use crate::snapshot::revision_etag;
use crate::store::{TOKENS, TokenRecord, get_record};

/// The longest `?wait=` a snapshot request may ask for, in seconds.
pub const MAX_WAIT_SECONDS: u64 = 60;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(get_snapshot))
        .routes(routes!(preview_evaluation))
}

/// Query of the snapshot request.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// With an `If-None-Match` that names the current revision, hold the
    /// request up to this many seconds (0 to 60) until a newer revision
    /// commits; answer 304 if none does.
    pub wait: Option<u64>,
}

#[utoipa::path(get, path = "/v1/snapshot", tag = "snapshot",
    params(SnapshotQuery,
        ("If-None-Match" = Option<String>, Header, description = "ETag of the snapshot the caller holds, such as \"r42\"")),
    responses(
        (status = 200, description = "Snapshot bytes", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String, description = "\"r<revision>\""))),
        (status = 304, description = "The caller's snapshot is current"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_snapshot(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    QueryParams(query): QueryParams<SnapshotQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require(
        &[Role::PlatformAdmin, Role::Auditor, Role::Edge],
        "read snapshots",
    )?;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiError::InvalidQuery(format!(
            "wait={wait} is too long; use 0 to {MAX_WAIT_SECONDS} seconds and repeat the request"
        )));
    }
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    let mut revisions = state.store.subscribe();
    let current = *revisions.borrow_and_update();
    if let Some(tags) = &if_none_match
        && matches_revision(tags, current)
    {
        if wait > 0 {
            let mut shutdown = state.shutdown_signal();
            let newer = async {
                tokio::select! {
                    changed = revisions.wait_for(|r| *r > current) => changed.is_ok(),
                    _ = shutdown.wait_for(|stop| *stop) => false,
                }
            };
            let woke = tokio::time::timeout(Duration::from_secs(wait), newer).await;
            if !matches!(woke, Ok(true)) {
                return Ok(not_modified(current));
            }
        } else {
            return Ok(not_modified(current));
        }
    }

    if wait > 0 {
        // The token may have been revoked while the request was held.
        require_live_token(&state, &principal).await?;
    }

    let published = state.snapshots.current(&state.store).await?;
    let mut response = (StatusCode::OK, published.bytes.clone()).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(etag) = HeaderValue::from_str(&published.etag()) {
        out.insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Checks in the store, which sees every committed revocation, that the
/// caller's token is still live.
async fn require_live_token(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    let id = principal.token_id.clone();
    let record: Option<TokenRecord> = state
        .store
        .read(move |txn| get_record(&txn.open_table(TOKENS)?, &id))
        .await?;
    if record.is_some_and(|r| r.revoked_at.is_none()) {
        return Ok(());
    }
    tracing::info!(token = %principal.token_id, "token revoked during a held snapshot request");
    Err(ApiError::Unauthorized(
        "the token was revoked while the request waited; ask a platform admin for a valid token"
            .to_owned(),
    ))
}

/// Whether an If-None-Match value names the snapshot at `revision`.
fn matches_revision(if_none_match: &str, revision: u64) -> bool {
    let current = revision_etag(revision);
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current || tag.strip_prefix("W/") == Some(current.as_str()))
}

fn not_modified(revision: u64) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(etag) = HeaderValue::from_str(&revision_etag(revision)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Every flag as one user of one tenant gets it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub tenant: String,
    pub user: String,
    /// The snapshot revision evaluated.
    pub revision: u64,
    pub flags: Vec<FlagPreview>,
}

/// One flag's value and how the cascade decided it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagPreview {
    pub key: String,
    #[serde(rename = "type")]
    pub flag_type: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    /// user, tenant, integrator or platform.
    pub level: String,
    /// The OpenFeature reason: DEFAULT or TARGETING_MATCH.
    pub reason: String,
    /// User, tenant, integrator and platform, in that order.
    pub explain: Vec<ExplainLevel>,
}

/// One level of the cascade for one flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainLevel {
    pub level: String,
    /// The user, tenant or integrator id at this level; absent when the
    /// level does not apply, and for the platform.
    pub scope: Option<String>,
    /// The value set at this level, if any.
    #[schema(value_type = Object)]
    pub value: Option<serde_json::Value>,
    /// Whether this level decided the value.
    pub decided: bool,
}

#[utoipa::path(get, path = "/v1/tenants/{id}/users/{user}/evaluation", tag = "snapshot",
    params(("id" = String, Path, description = "Tenant id"),
        ("user" = String, Path, description = "User id, percent-encoded")),
    responses((status = 200, body = Preview), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn preview_evaluation(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams((tenant, user)): PathParams<(String, String)>,
) -> Result<Json<Preview>, ApiError> {
    principal.require_reader("preview evaluations")?;
    let tenant = TenantId::new(tenant)?.into_string();
    let user = UserId::new(user)?.into_string();
    let record = crate::api::tenants::read_tenant(&state, tenant.clone()).await?;
    principal.check_scope(record.integrator.as_deref(), &format!("tenant {tenant:?}"))?;

    let published = state.snapshots.current(&state.store).await?;
    let snapshot = &published.snapshot;
    let mut flags = Vec::with_capacity(snapshot.flags().len());
    for info in snapshot.flags() {
        let explanation = snapshot
            .explain(&tenant, Some(&user), info.key)
            .map_err(|err| ApiError::Internal(format!("evaluation failed: {err}")))?;
        let evaluation = explanation.evaluation;
        let explain = explanation
            .steps
            .iter()
            .map(|step| ExplainLevel {
                level: step.level.as_str().to_owned(),
                scope: step.scope.map(str::to_owned),
                value: step.value.map(|v| v.to_json()),
                decided: step.level == evaluation.level,
            })
            .collect();
        flags.push(FlagPreview {
            key: evaluation.key.to_owned(),
            flag_type: evaluation.flag_type.as_str().to_owned(),
            value: evaluation.value.to_json(),
            level: evaluation.level.as_str().to_owned(),
            reason: evaluation.reason.as_str().to_owned(),
            explain,
        });
    }
    Ok(Json(Preview {
        tenant,
        user,
        revision: published.revision,
        flags,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_matches_current_revision_only() {
        assert!(matches_revision("\"r5\"", 5));
        assert!(matches_revision("\"r4\", \"r5\"", 5));
        assert!(matches_revision("W/\"r5\"", 5));
        assert!(matches_revision("*", 5));
        assert!(!matches_revision("\"r4\"", 5));
        assert!(!matches_revision("r5", 5));
    }
}
