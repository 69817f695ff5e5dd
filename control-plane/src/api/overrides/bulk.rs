//! PATCH on an override collection: many overrides of one scope in one
//! transaction.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::AppState;
use crate::api::scope::{Scope, authorize, owner_in_write};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, PathParams, RequestId};
use crate::store::ChangeContext;

use super::write::OverrideTables;
use super::{BulkOverrides, BulkResult, BulkUserOverrides, MAX_BULK_ITEMS};

#[utoipa::path(patch, path = "/v1/integrators/{id}/flags", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id")),
    request_body = BulkOverrides,
    responses((status = 200, body = BulkResult), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn bulk_integrator_overrides(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BulkResult>, ApiError> {
    let scope = Scope::integrator(id)?;
    authorize(&principal, &scope, true)?;
    let input: BulkOverrides = body.json(&headers)?;
    let (set, remove) = scoped_items(&scope, input)?;
    apply_bulk(&state, principal, request_id, scope, set, remove).await
}

#[utoipa::path(patch, path = "/v1/tenants/{id}/flags", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id")),
    request_body = BulkOverrides,
    responses((status = 200, body = BulkResult), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn bulk_tenant_overrides(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BulkResult>, ApiError> {
    let scope = Scope::tenant(id)?;
    authorize(&principal, &scope, true)?;
    let input: BulkOverrides = body.json(&headers)?;
    let (set, remove) = scoped_items(&scope, input)?;
    apply_bulk(&state, principal, request_id, scope, set, remove).await
}

#[utoipa::path(patch, path = "/v1/tenants/{id}/users", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id")),
    request_body = BulkUserOverrides,
    responses((status = 200, body = BulkResult), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn bulk_user_overrides(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BulkResult>, ApiError> {
    let scope = Scope::tenant(id)?;
    authorize(&principal, &scope, true)?;
    let input: BulkUserOverrides = body.json(&headers)?;
    check_bulk_size(input.set.len() + input.remove.len())?;
    let tenant = scope.id().to_owned();
    let mut set = Vec::with_capacity(input.set.len());
    for item in input.set {
        set.push((
            Scope::user(tenant.clone(), item.user)?,
            item.flag,
            item.value,
        ));
    }
    let mut remove = Vec::with_capacity(input.remove.len());
    for item in input.remove {
        remove.push((Scope::user(tenant.clone(), item.user)?, item.flag));
    }
    apply_bulk(&state, principal, request_id, scope, set, remove).await
}

type SetItem = (Scope, String, serde_json::Value);
type RemoveItem = (Scope, String);

fn check_bulk_size(count: usize) -> Result<(), ApiError> {
    if count > MAX_BULK_ITEMS {
        return Err(ApiError::TooManyItems {
            count,
            max: MAX_BULK_ITEMS,
        });
    }
    Ok(())
}

fn scoped_items(
    scope: &Scope,
    input: BulkOverrides,
) -> Result<(Vec<SetItem>, Vec<RemoveItem>), ApiError> {
    check_bulk_size(input.set.len() + input.remove.len())?;
    let set = input
        .set
        .into_iter()
        .map(|item| (scope.clone(), item.flag, item.value))
        .collect();
    let remove = input
        .remove
        .into_iter()
        .map(|flag| (scope.clone(), flag))
        .collect();
    Ok((set, remove))
}

pub(super) async fn apply_bulk(
    state: &AppState,
    principal: Principal,
    request_id: String,
    scope: Scope,
    set: Vec<SetItem>,
    remove: Vec<RemoveItem>,
) -> Result<Json<BulkResult>, ApiError> {
    for (_, flag, _) in &set {
        cascade_shared::FlagKey::new(flag.as_str())?;
    }
    for (_, flag) in &remove {
        cascade_shared::FlagKey::new(flag.as_str())?;
    }
    let context = ChangeContext::new(&principal, &request_id);
    let ((set_count, removed), revision) = state
        .store
        .write(context, move |w| {
            let owner = owner_in_write(w, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            let mut tables = OverrideTables::open(w.txn)?;
            let set_count = set.len();
            for (item_scope, flag, value) in &set {
                tables.set(w, item_scope, &owner, flag, value)?;
            }
            let mut removed = 0;
            for (item_scope, flag) in &remove {
                tables.require_flag(flag)?;
                if tables.remove(w, item_scope, &owner, flag)? {
                    removed += 1;
                }
            }
            tables.finish(w)?;
            Ok((set_count, removed))
        })
        .await?;
    Ok(Json(BulkResult {
        revision,
        set: set_count,
        removed,
    }))
}
