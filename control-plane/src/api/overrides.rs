//! Overrides at the integrator, tenant and user levels: one at a time with
//! PUT and DELETE, many at once with PATCH on the scope's collection.
//!
//! Removing an override makes the level inherit again. A PATCH applies all
//! of its items in one transaction, or none of them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::scope::{Scope, authorize, owner_in_read, owner_in_write};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{BULK_BODY_LIMIT, Body, BodyLimit, PathParams, RequestId};
use crate::store::{
    self, ChangeContext, FLAGS, FlagRecord, INTEGRATOR_OVERRIDES, StoredValue, TENANT_OVERRIDES,
    USER_OVERRIDES, Writer, get_record,
};

/// The most items one PATCH may set or remove.
pub const MAX_BULK_ITEMS: usize = 100_000;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    let bulk = OpenApiRouter::new()
        .routes(routes!(
            list_integrator_overrides,
            bulk_integrator_overrides
        ))
        .routes(routes!(list_tenant_overrides, bulk_tenant_overrides))
        .routes(routes!(list_user_overrides, bulk_user_overrides))
        .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT))
        .layer(axum::Extension(BodyLimit(BULK_BODY_LIMIT)));
    OpenApiRouter::new()
        .routes(routes!(
            get_integrator_override,
            put_integrator_override,
            delete_integrator_override
        ))
        .routes(routes!(
            get_tenant_override,
            put_tenant_override,
            delete_tenant_override
        ))
        .routes(routes!(
            get_user_override,
            put_user_override,
            delete_user_override
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

#[utoipa::path(put, path = "/v1/integrators/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id"),
        ("key" = String, Path, description = "Flag key")),
    request_body = SetValue,
    responses((status = 200, body = FlagOverride, description = "Replaced"),
        (status = 201, body = FlagOverride, description = "Created"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn put_integrator_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, key)): PathParams<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    put_one(
        &state,
        principal,
        request_id,
        Scope::integrator(id)?,
        key,
        &headers,
        &body,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("key" = String, Path, description = "Flag key")),
    request_body = SetValue,
    responses((status = 200, body = FlagOverride, description = "Replaced"),
        (status = 201, body = FlagOverride, description = "Created"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn put_tenant_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, key)): PathParams<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    put_one(
        &state,
        principal,
        request_id,
        Scope::tenant(id)?,
        key,
        &headers,
        &body,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{id}/users/{user}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("user" = String, Path, description = "User id, percent-encoded"),
        ("key" = String, Path, description = "Flag key")),
    request_body = SetValue,
    responses((status = 200, body = FlagOverride, description = "Replaced"),
        (status = 201, body = FlagOverride, description = "Created"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn put_user_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, user, key)): PathParams<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    put_one(
        &state,
        principal,
        request_id,
        Scope::user(id, user)?,
        key,
        &headers,
        &body,
    )
    .await
}

#[utoipa::path(delete, path = "/v1/integrators/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 204, description = "Removed, or there was none: the level inherits"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn delete_integrator_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, key)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_one(&state, principal, request_id, Scope::integrator(id)?, key).await
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 204, description = "Removed, or there was none: the level inherits"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn delete_tenant_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, key)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_one(&state, principal, request_id, Scope::tenant(id)?, key).await
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/users/{user}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("user" = String, Path, description = "User id, percent-encoded"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 204, description = "Removed, or there was none: the level inherits"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn delete_user_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, user, key)): PathParams<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_one(&state, principal, request_id, Scope::user(id, user)?, key).await
}

#[utoipa::path(patch, path = "/v1/integrators/{id}/flags", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id")),
    request_body = BulkOverrides,
    responses((status = 200, body = BulkResult), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn bulk_integrator_overrides(
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
async fn bulk_tenant_overrides(
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
async fn bulk_user_overrides(
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

async fn put_one(
    state: &AppState,
    principal: Principal,
    request_id: String,
    scope: Scope,
    key: String,
    headers: &HeaderMap,
    body: &Body,
) -> Result<impl IntoResponse + use<>, ApiError> {
    authorize(&principal, &scope, true)?;
    let key = cascade_shared::FlagKey::new(key)?.into_string();
    let input: SetValue = body.json(headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    let ((created, value), _) = state
        .store
        .write(context, move |w| {
            let owner = owner_in_write(w, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            let mut flags = FlagTypes::default();
            let (before, value) = set_override(w, &mut flags, &scope, &owner, &key, &input.value)?;
            Ok((before.is_none(), value))
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(value)))
}

async fn delete_one(
    state: &AppState,
    principal: Principal,
    request_id: String,
    scope: Scope,
    key: String,
) -> Result<StatusCode, ApiError> {
    authorize(&principal, &scope, true)?;
    let key = cascade_shared::FlagKey::new(key)?.into_string();
    let context = ChangeContext::new(&principal, &request_id);
    state
        .store
        .write(context, move |w| {
            let owner = owner_in_write(w, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            if w.txn.open_table(FLAGS)?.get(key.as_str())?.is_none() {
                return Err(ApiError::not_found("flag", key));
            }
            remove_override(w, &scope, &owner, &key)?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
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

async fn apply_bulk(
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
            let mut flags = FlagTypes::default();
            let set_count = set.len();
            for (item_scope, flag, value) in &set {
                set_override(w, &mut flags, item_scope, &owner, flag, value)?;
            }
            let mut removed = 0;
            for (item_scope, flag) in &remove {
                flags.get(w, flag)?;
                if remove_override(w, item_scope, &owner, flag)? {
                    removed += 1;
                }
            }
            Ok((set_count, removed))
        })
        .await?;
    Ok(Json(BulkResult {
        revision,
        set: set_count,
        removed,
    }))
}

/// Flag types read once per write.
#[derive(Default)]
struct FlagTypes(HashMap<String, cascade_shared::FlagType>);

impl FlagTypes {
    fn get(&mut self, w: &Writer<'_>, key: &str) -> Result<cascade_shared::FlagType, ApiError> {
        if let Some(flag_type) = self.0.get(key) {
            return Ok(*flag_type);
        }
        let table = w.txn.open_table(FLAGS)?;
        let record: FlagRecord =
            get_record(&table, key)?.ok_or_else(|| ApiError::InvalidReference {
                what: "flag",
                id: key.to_owned(),
            })?;
        self.0.insert(key.to_owned(), record.flag_type);
        Ok(record.flag_type)
    }
}

/// Sets one override and audits it; returns the previous value and the
/// new override.
fn set_override(
    w: &mut Writer<'_>,
    flags: &mut FlagTypes,
    scope: &Scope,
    owner: &Option<String>,
    key: &str,
    json: &serde_json::Value,
) -> Result<(Option<serde_json::Value>, FlagOverride), ApiError> {
    let flag_type = flags.get(w, key)?;
    let value = cascade_shared::FlagValue::from_json(flag_type, json).map_err(|source| {
        ApiError::InvalidValue {
            flag: key.to_owned(),
            source,
        }
    })?;
    let stored = StoredValue::from(value);
    let bytes = stored.encode();
    let previous = match scope {
        Scope::Integrator(id) => w
            .txn
            .open_table(INTEGRATOR_OVERRIDES)?
            .insert((id.as_str(), key), bytes.as_slice())?
            .map(|v| v.value().to_vec()),
        Scope::Tenant(id) => w
            .txn
            .open_table(TENANT_OVERRIDES)?
            .insert((id.as_str(), key), bytes.as_slice())?
            .map(|v| v.value().to_vec()),
        Scope::User(tenant, user) => w
            .txn
            .open_table(USER_OVERRIDES)?
            .insert((tenant.as_str(), user.as_str(), key), bytes.as_slice())?
            .map(|v| v.value().to_vec()),
    };
    let before = match &previous {
        Some(bytes) => Some(StoredValue::decode(bytes)?.to_json()),
        None => {
            store::adjust_override_count(w, key, 1)?;
            None
        }
    };
    let after = stored.to_json();
    w.audit(
        scope.put_action(),
        format!("{}/flags/{key}", scope.target()),
        owner.iter().cloned().collect(),
        before.clone(),
        Some(after.clone()),
    );
    Ok((
        before,
        FlagOverride {
            flag: key.to_owned(),
            value: after,
        },
    ))
}

/// Removes one override and audits it; returns whether there was one.
fn remove_override(
    w: &mut Writer<'_>,
    scope: &Scope,
    owner: &Option<String>,
    key: &str,
) -> Result<bool, ApiError> {
    let previous = match scope {
        Scope::Integrator(id) => w
            .txn
            .open_table(INTEGRATOR_OVERRIDES)?
            .remove((id.as_str(), key))?
            .map(|v| v.value().to_vec()),
        Scope::Tenant(id) => w
            .txn
            .open_table(TENANT_OVERRIDES)?
            .remove((id.as_str(), key))?
            .map(|v| v.value().to_vec()),
        Scope::User(tenant, user) => w
            .txn
            .open_table(USER_OVERRIDES)?
            .remove((tenant.as_str(), user.as_str(), key))?
            .map(|v| v.value().to_vec()),
    };
    let Some(bytes) = previous else {
        return Ok(false);
    };
    store::adjust_override_count(w, key, -1)?;
    w.audit(
        scope.delete_action(),
        format!("{}/flags/{key}", scope.target()),
        owner.iter().cloned().collect(),
        Some(StoredValue::decode(&bytes)?.to_json()),
        None,
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use crate::api::scope::user_target;

    #[test]
    fn user_target_escapes_slash_and_percent() {
        assert_eq!(user_target("a/b%c"), "a%2Fb%25c");
    }
}
