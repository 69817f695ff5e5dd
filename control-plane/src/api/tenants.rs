//! `/v1/tenants`: tenants and their association with an integrator.

use std::ops::Bound;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cascade_shared::{IntegratorId, TenantId};

use crate::AppState;
use crate::api::removal;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::extract::{
    Body, IfMatch, PathParams, QueryParams, RequestId, check_text, decode_cursor, encode_cursor,
    etag_header, page_size,
};
use crate::store::{
    self, ChangeContext, INTEGRATORS, TENANTS, TENANTS_BY_INTEGRATOR, TenantRecord, Writer,
    get_record,
};

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(set_integrator, detach_integrator))
}

/// A new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Slug: 1 to 64 characters of a-z, 0-9, '-' and '_'.
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    /// The owning integrator. An integrator-admin may omit it or name its
    /// own integrator.
    pub integrator: Option<String>,
}

/// Tenant changes. Absent fields stay; an empty description clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub display_name: Option<String>,
    pub description: Option<String>,
}

/// The integrator to associate a tenant with, or to move it to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetIntegrator {
    pub integrator: String,
}

/// Query of the tenant list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    /// Only tenants of this integrator.
    pub integrator: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000; 100 when absent.
    pub limit: Option<usize>,
}

/// One page of tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantRecord>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants",
    request_body = CreateTenant,
    responses((status = 201, body = TenantRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn create_tenant(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_manager("create tenants")?;
    let input: CreateTenant = body.json(&headers)?;
    let id = TenantId::new(input.id)?.into_string();
    check_text("display_name", &input.display_name, 200, true)?;
    if let Some(description) = &input.description {
        check_text("description", description, 2000, false)?;
    }
    let integrator = match input.integrator {
        Some(integrator) => Some(IntegratorId::new(integrator)?.into_string()),
        None if principal.role == Role::IntegratorAdmin => principal.integrator.clone(),
        None => None,
    };
    principal.check_scope(integrator.as_deref(), &format!("new tenant {id:?}"))?;
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            if let Some(integrator) = &integrator {
                require_integrator(w, integrator)?;
            }
            let existing: Option<TenantRecord> = get_record(&w.txn.open_table(TENANTS)?, &id)?;
            if let Some(existing) = existing {
                // A tenant outside the caller's scope is forbidden, as on
                // every other route, rather than reported as existing.
                principal.check_scope(existing.integrator.as_deref(), &format!("tenant {id:?}"))?;
                return Err(ApiError::AlreadyExists { what: "tenant", id });
            }
            let record = TenantRecord {
                id: id.clone(),
                display_name: input.display_name,
                description: input.description.filter(|d| !d.is_empty()),
                integrator,
                created_at: w.now(),
                updated_at: w.now(),
                version: w.revision(),
            };
            save(w, &record)?;
            w.audit(
                "tenant.create",
                format!("tenants/{id}"),
                scopes(&[record.integrator.as_deref()]),
                None,
                serde_json::to_value(&record).ok(),
            );
            Ok(record)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        etag_header(record.version),
        Json(record),
    ))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants",
    params(TenantQuery),
    responses((status = 200, body = TenantPage), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_tenants(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    QueryParams(query): QueryParams<TenantQuery>,
) -> Result<Json<TenantPage>, ApiError> {
    principal.require_reader("list tenants")?;
    let limit = page_size(query.limit)?;
    let after = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor, 1)?.remove(0)),
        None => None,
    };
    let mut filter = match query.integrator {
        Some(integrator) => Some(IntegratorId::new(integrator)?.into_string()),
        None => None,
    };
    if principal.role == Role::IntegratorAdmin {
        principal.check_scope(
            filter.as_deref().or(principal.integrator.as_deref()),
            "the filter",
        )?;
        filter = principal.integrator.clone();
    }
    let page = state
        .store
        .read(move |txn| {
            let tenants = txn.open_table(TENANTS)?;
            let mut items = Vec::new();
            let mut more = false;
            let lower = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            match &filter {
                Some(integrator) => {
                    let index = txn.open_table(TENANTS_BY_INTEGRATOR)?;
                    let start = (integrator.as_str(), after.as_deref().unwrap_or(""));
                    for row in index.range::<(&str, &str)>(start..)? {
                        let (key, _) = row?;
                        let (owner, tenant) = key.value();
                        if owner != integrator {
                            break;
                        }
                        if after.as_deref() == Some(tenant) {
                            continue;
                        }
                        if items.len() == limit {
                            more = true;
                            break;
                        }
                        if let Some(record) = get_record::<TenantRecord>(&tenants, tenant)? {
                            items.push(record);
                        }
                    }
                }
                None => {
                    for row in tenants.range::<&str>((lower, Bound::Unbounded))? {
                        let (_, value) = row?;
                        if items.len() == limit {
                            more = true;
                            break;
                        }
                        items.push(store::from_json::<TenantRecord>(value.value())?);
                    }
                }
            }
            let next_cursor = match (more, items.last()) {
                (true, Some(last)) => Some(encode_cursor(&[&last.id])),
                _ => None,
            };
            Ok(TenantPage { items, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_tenant(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(id): PathParams<String>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_reader("read tenants")?;
    let id = TenantId::new(id)?.into_string();
    let record = read_tenant(&state, id).await?;
    principal.check_scope(
        record.integrator.as_deref(),
        &format!("tenant {:?}", record.id),
    )?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(patch, path = "/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = UpdateTenant,
    responses((status = 200, body = TenantRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn update_tenant(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_manager("update tenants")?;
    let id = TenantId::new(id)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let input: UpdateTenant = body.json(&headers)?;
    if let Some(name) = &input.display_name {
        check_text("display_name", name, 200, true)?;
    }
    if let Some(description) = &input.description {
        check_text("description", description, 2000, false)?;
    }
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            principal.check_scope(before.integrator.as_deref(), &format!("tenant {id:?}"))?;
            if_match.check(before.version)?;
            let mut record = before.clone();
            if let Some(name) = input.display_name {
                record.display_name = name;
            }
            if let Some(description) = input.description {
                record.description = Some(description).filter(|d| !d.is_empty());
            }
            update(w, record, before, "tenant.update")
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(put, path = "/v1/tenants/{id}/integrator", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = SetIntegrator,
    responses((status = 200, body = TenantRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn set_integrator(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("associate tenants with integrators")?;
    let id = TenantId::new(id)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let input: SetIntegrator = body.json(&headers)?;
    let integrator = IntegratorId::new(input.integrator)?.into_string();
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            if_match.check(before.version)?;
            require_integrator(w, &integrator)?;
            let mut record = before.clone();
            record.integrator = Some(integrator);
            let action = match before.integrator {
                Some(_) => "tenant.move",
                None => "tenant.associate",
            };
            update(w, record, before, action)
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/integrator", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    responses((status = 200, body = TenantRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn detach_integrator(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("detach tenants from integrators")?;
    let id = TenantId::new(id)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            if_match.check(before.version)?;
            if before.integrator.is_none() {
                // Nothing changes, so nothing is audited or committed.
                return Ok(before);
            }
            let mut record = before.clone();
            record.integrator = None;
            update(w, record, before, "tenant.detach")
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(delete, path = "/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    responses((status = 204, description = "Deleted with its tenant and user overrides"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn delete_tenant(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    principal.require_manager("delete tenants")?;
    let id = TenantId::new(id)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            principal.check_scope(before.integrator.as_deref(), &format!("tenant {id:?}"))?;
            if_match.check(before.version)?;
            let overrides = removal::remove_tenant_overrides(w, &id)?;
            let users = removal::remove_user_overrides(w, &id)?;
            w.txn.open_table(TENANTS)?.remove(id.as_str())?;
            if let Some(owner) = &before.integrator {
                w.txn
                    .open_table(TENANTS_BY_INTEGRATOR)?
                    .remove((owner.as_str(), id.as_str()))?;
            }
            // NOTE: one audit record lists every removed override, so it grows
            // with the tenant's user overrides.
            let before_json = serde_json::json!({
                "tenant": before,
                "overrides": overrides,
                "user_overrides": users,
            });
            w.audit(
                "tenant.delete",
                format!("tenants/{id}"),
                scopes(&[before.integrator.as_deref()]),
                Some(before_json),
                None,
            );
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads a tenant, or fails with 404.
pub(crate) async fn read_tenant(state: &AppState, id: String) -> Result<TenantRecord, ApiError> {
    state
        .store
        .read(move |txn| {
            let table = txn.open_table(TENANTS)?;
            get_record::<TenantRecord>(&table, &id)?
                .ok_or_else(|| ApiError::not_found("tenant", id))
        })
        .await
}

/// Loads a tenant inside a write, or fails with 404.
pub(crate) fn load(w: &Writer<'_>, id: &str) -> Result<TenantRecord, ApiError> {
    let table = w.txn.open_table(TENANTS)?;
    get_record(&table, id)?.ok_or_else(|| ApiError::not_found("tenant", id))
}

/// Collects the integrator ids of an audit record's scope, without
/// duplicates.
pub(crate) fn scopes(owners: &[Option<&str>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for owner in owners.iter().flatten() {
        if !out.iter().any(|o| o == owner) {
            out.push((*owner).to_owned());
        }
    }
    out
}

fn require_integrator(w: &Writer<'_>, id: &str) -> Result<(), ApiError> {
    if w.txn.open_table(INTEGRATORS)?.get(id)?.is_some() {
        Ok(())
    } else {
        Err(ApiError::InvalidReference {
            what: "integrator",
            id: id.to_owned(),
        })
    }
}

fn save(w: &Writer<'_>, record: &TenantRecord) -> Result<(), ApiError> {
    w.txn
        .open_table(TENANTS)?
        .insert(record.id.as_str(), store::to_json(record)?.as_slice())?;
    if let Some(owner) = &record.integrator {
        w.txn
            .open_table(TENANTS_BY_INTEGRATOR)?
            .insert((owner.as_str(), record.id.as_str()), ())?;
    }
    Ok(())
}

fn update(
    w: &mut Writer<'_>,
    mut record: TenantRecord,
    before: TenantRecord,
    action: &'static str,
) -> Result<TenantRecord, ApiError> {
    record.updated_at = w.now();
    record.version = w.revision();
    if before.integrator != record.integrator
        && let Some(old) = &before.integrator
    {
        w.txn
            .open_table(TENANTS_BY_INTEGRATOR)?
            .remove((old.as_str(), record.id.as_str()))?;
    }
    save(w, &record)?;
    w.audit(
        action,
        format!("tenants/{}", record.id),
        scopes(&[before.integrator.as_deref(), record.integrator.as_deref()]),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&record).ok(),
    );
    Ok(record)
}
