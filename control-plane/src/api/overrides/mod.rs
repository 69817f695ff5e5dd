//! Overrides at the integrator, tenant and user levels: one at a time with
//! PUT and DELETE, many at once with PATCH on the scope's collection.
//!
//! Removing an override makes the level inherit again. A PATCH applies all
//! of its items in one transaction, or none of them.
//!
//! Overrides carry no `ETag`. On PUT and DELETE, `If-Match: *` requires
//! that the override exists; any list of tags answers 412, since no
//! current representation has a tag that could match (RFC 9110), and a
//! malformed `If-Match` answers 400 `invalid-header`.

mod bulk;
mod write;

use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::scope::{Scope, authorize, owner_in_read};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{BULK_BODY_LIMIT, BodyLimit, PathParams};
use crate::store::{INTEGRATOR_OVERRIDES, StoredValue, TENANT_OVERRIDES, USER_OVERRIDES};

/// Maximum number of items one PATCH may set or remove.
pub const MAX_BULK_ITEMS: usize = 100_000;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    let bulk = OpenApiRouter::new()
        .routes(routes!(
            list_integrator_overrides,
            bulk::bulk_integrator_overrides
        ))
        .routes(routes!(list_tenant_overrides, bulk::bulk_tenant_overrides))
        .routes(routes!(list_user_overrides, bulk::bulk_user_overrides))
        .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT))
        .layer(axum::Extension(BodyLimit(BULK_BODY_LIMIT)));
    OpenApiRouter::new()
        .routes(routes!(
            get_integrator_override,
            write::put_integrator_override,
            write::delete_integrator_override
        ))
        .routes(routes!(
            get_tenant_override,
            write::put_tenant_override,
            write::delete_tenant_override
        ))
        .routes(routes!(
            get_user_override,
            write::put_user_override,
            write::delete_user_override
        ))
        .routes(routes!(list_overrides_of_user))
        .merge(bulk)
}

/// The body of a PUT: the override value, of the flag's type.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetValue {
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// An override of one flag.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagOverride {
    pub flag: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// An override of one flag for one user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserOverride {
    pub user: String,
    pub flag: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// Identifies a user override to remove.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserFlag {
    pub user: String,
    pub flag: String,
}

/// Many integrator or tenant overrides, applied atomically.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkOverrides {
    #[serde(default)]
    pub set: Vec<FlagOverride>,
    /// Flag keys whose override is removed.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// Many user overrides of one tenant, applied atomically.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUserOverrides {
    #[serde(default)]
    pub set: Vec<UserOverride>,
    #[serde(default)]
    pub remove: Vec<UserFlag>,
}

/// The result of a PATCH.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// The store revision the change committed as.
    pub revision: u64,
    /// Overrides set, new or replaced.
    pub set: usize,
    /// Overrides removed; removing an absent override counts as nothing.
    pub removed: usize,
}

/// Every override of one integrator or tenant, by flag key.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideList {
    pub items: Vec<FlagOverride>,
}

/// One page of user overrides.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOverridePage {
    pub items: Vec<UserOverride>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/integrators/{id}/flags", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id")),
    responses((status = 200, body = OverrideList), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_integrator_overrides(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Json<OverrideList>, ApiError> {
    list_scope(&state, &principal, Scope::integrator(id)?).await
}

#[utoipa::path(get, path = "/v1/tenants/{id}/flags", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = OverrideList), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_tenant_overrides(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Json<OverrideList>, ApiError> {
    list_scope(&state, &principal, Scope::tenant(id)?).await
}

#[utoipa::path(get, path = "/v1/tenants/{id}/users/{user}/flags", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("user" = String, Path, description = "User id, percent-encoded")),
    responses((status = 200, body = OverrideList), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_overrides_of_user(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams((id, user)): PathParams<(String, String)>,
) -> Result<Json<OverrideList>, ApiError> {
    list_scope(&state, &principal, Scope::user(id, user)?).await
}

#[utoipa::path(get, path = "/v1/integrators/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagOverride), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_integrator_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams((id, key)): PathParams<(String, String)>,
) -> Result<Json<FlagOverride>, ApiError> {
    get_one(&state, &principal, Scope::integrator(id)?, key).await
}

#[utoipa::path(get, path = "/v1/tenants/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagOverride), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_tenant_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams((id, key)): PathParams<(String, String)>,
) -> Result<Json<FlagOverride>, ApiError> {
    get_one(&state, &principal, Scope::tenant(id)?, key).await
}

#[utoipa::path(get, path = "/v1/tenants/{id}/users/{user}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("user" = String, Path, description = "User id, percent-encoded"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagOverride), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_user_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams((id, user, key)): PathParams<(String, String, String)>,
) -> Result<Json<FlagOverride>, ApiError> {
    get_one(&state, &principal, Scope::user(id, user)?, key).await
}

#[utoipa::path(get, path = "/v1/tenants/{id}/users", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"), crate::api::ListQuery),
    responses((status = 200, body = UserOverridePage), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_user_overrides(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(id): PathParams<String>,
    crate::extract::QueryParams(query): crate::extract::QueryParams<crate::api::ListQuery>,
) -> Result<Json<UserOverridePage>, ApiError> {
    let scope = Scope::tenant(id)?;
    authorize(&principal, &scope, false)?;
    let limit = crate::extract::page_size(query.limit)?;
    let after = match &query.cursor {
        Some(cursor) => Some(crate::extract::decode_cursor(cursor, 2)?),
        None => None,
    };
    let page = state
        .store
        .read(move |txn| {
            let owner = owner_in_read(txn, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            let tenant = scope.id();
            let table = txn.open_table(USER_OVERRIDES)?;
            let start = match &after {
                Some(parts) => (tenant, parts[0].as_str(), parts[1].as_str()),
                None => (tenant, "", ""),
            };
            let mut items = Vec::new();
            let mut more = false;
            for row in table.range::<(&str, &str, &str)>(start..)? {
                let (key, value) = row?;
                let (t, user, flag) = key.value();
                if t != tenant {
                    break;
                }
                if after.as_ref().is_some_and(|p| p[0] == user && p[1] == flag) {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(UserOverride {
                    user: user.to_owned(),
                    flag: flag.to_owned(),
                    value: StoredValue::decode(value.value())?.to_json(),
                });
            }
            let next_cursor = match (more, items.last()) {
                (true, Some(last)) => {
                    Some(crate::extract::encode_cursor(&[&last.user, &last.flag]))
                }
                _ => None,
            };
            Ok(UserOverridePage { items, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

async fn list_scope(
    state: &AppState,
    principal: &Principal,
    scope: Scope,
) -> Result<Json<OverrideList>, ApiError> {
    authorize(principal, &scope, false)?;
    let principal = principal.clone();
    let items = state
        .store
        .read(move |txn| {
            let owner = owner_in_read(txn, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            let mut items = Vec::new();
            let mut push = |flag: &str, bytes: &[u8]| -> Result<(), ApiError> {
                items.push(FlagOverride {
                    flag: flag.to_owned(),
                    value: StoredValue::decode(bytes)?.to_json(),
                });
                Ok(())
            };
            match &scope {
                Scope::Integrator(id) | Scope::Tenant(id) => {
                    let table = match scope {
                        Scope::Integrator(_) => txn.open_table(INTEGRATOR_OVERRIDES)?,
                        _ => txn.open_table(TENANT_OVERRIDES)?,
                    };
                    for row in table.range::<(&str, &str)>((id.as_str(), "")..)? {
                        let (key, value) = row?;
                        let (s, flag) = key.value();
                        if s != id {
                            break;
                        }
                        push(flag, value.value())?;
                    }
                }
                Scope::User(tenant, user) => {
                    let table = txn.open_table(USER_OVERRIDES)?;
                    let start = (tenant.as_str(), user.as_str(), "");
                    for row in table.range::<(&str, &str, &str)>(start..)? {
                        let (key, value) = row?;
                        let (t, u, flag) = key.value();
                        if t != tenant || u != user {
                            break;
                        }
                        push(flag, value.value())?;
                    }
                }
            }
            Ok(items)
        })
        .await?;
    Ok(Json(OverrideList { items }))
}

async fn get_one(
    state: &AppState,
    principal: &Principal,
    scope: Scope,
    key: String,
) -> Result<Json<FlagOverride>, ApiError> {
    authorize(principal, &scope, false)?;
    let key = cascade_shared::FlagKey::new(key)?.into_string();
    let principal = principal.clone();
    let value = state
        .store
        .read(move |txn| {
            let owner = owner_in_read(txn, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            let bytes = match &scope {
                Scope::Integrator(id) => txn
                    .open_table(INTEGRATOR_OVERRIDES)?
                    .get((id.as_str(), key.as_str()))?
                    .map(|v| v.value().to_vec()),
                Scope::Tenant(id) => txn
                    .open_table(TENANT_OVERRIDES)?
                    .get((id.as_str(), key.as_str()))?
                    .map(|v| v.value().to_vec()),
                Scope::User(tenant, user) => txn
                    .open_table(USER_OVERRIDES)?
                    .get((tenant.as_str(), user.as_str(), key.as_str()))?
                    .map(|v| v.value().to_vec()),
            };
            let bytes = bytes.ok_or_else(|| {
                ApiError::not_found("override", format!("{}/flags/{key}", scope.target()))
            })?;
            Ok(FlagOverride {
                flag: key,
                value: StoredValue::decode(&bytes)?.to_json(),
            })
        })
        .await?;
    Ok(Json(value))
}
