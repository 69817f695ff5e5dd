//! `/v1/integrators`: profiles, contacts, the status lifecycle and delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cascade_shared::IntegratorId;

use crate::AppState;
use crate::api::{ListQuery, profile, removal};
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::extract::{
    Body, IfMatch, PathParams, QueryParams, RequestId, check_text, decode_cursor, encode_cursor,
    etag_header, page_size,
};
use crate::store::{
    self, ChangeContext, Contact, INTEGRATORS, IntegratorRecord, IntegratorStatus, StatusChange,
    TENANTS_BY_INTEGRATOR, TOKENS, TokenRecord, Writer, get_record,
};

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_integrator, list_integrators))
        .routes(routes!(
            get_integrator,
            update_integrator,
            delete_integrator
        ))
        .routes(routes!(change_status))
}

/// A new integrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegrator {
    /// Slug: 1 to 64 characters of a-z, 0-9, '-' and '_'. It never changes.
    pub id: String,
    pub display_name: String,
    pub legal_name: Option<String>,
    pub website: Option<String>,
    pub region: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// `onboarding` (the default) or `active`.
    pub status: Option<IntegratorStatus>,
}

/// Profile changes. Absent fields stay; an empty string clears an optional
/// field; `contacts` replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegrator {
    pub display_name: Option<String>,
    pub legal_name: Option<String>,
    pub website: Option<String>,
    pub region: Option<String>,
    pub description: Option<String>,
    pub contacts: Option<Vec<Contact>>,
}

/// A status transition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatus {
    pub status: IntegratorStatus,
    pub reason: Option<String>,
}

/// One page of integrators.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegratorPage {
    pub items: Vec<IntegratorRecord>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/integrators", tag = "integrators",
    request_body = CreateIntegrator,
    responses((status = 201, body = IntegratorRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn create_integrator(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("create integrators")?;
    let input: CreateIntegrator = body.json(&headers)?;
    let id = IntegratorId::new(input.id)?.into_string();
    profile::check_profile(
        Some(&input.display_name),
        &[
            ("legal_name", &input.legal_name),
            ("website", &input.website),
            ("region", &input.region),
            ("description", &input.description),
        ],
        Some(&input.contacts),
    )?;
    let status = input.status.unwrap_or(IntegratorStatus::Onboarding);
    if !matches!(
        status,
        IntegratorStatus::Onboarding | IntegratorStatus::Active
    ) {
        return Err(ApiError::field(
            "status",
            status.as_str(),
            "a new integrator starts as onboarding or active",
        ));
    }
    let context = ChangeContext::new(&principal, &request_id);
    let actor = principal.token_id.clone();
    let (record, _) = state
        .store
        .write(context, move |w| {
            let mut table = w.txn.open_table(INTEGRATORS)?;
            if table.get(id.as_str())?.is_some() {
                return Err(ApiError::AlreadyExists {
                    what: "integrator",
                    id,
                });
            }
            let record = IntegratorRecord {
                id: id.clone(),
                display_name: input.display_name,
                legal_name: non_empty(input.legal_name),
                website: non_empty(input.website),
                region: non_empty(input.region),
                description: non_empty(input.description),
                contacts: input.contacts,
                status,
                status_history: vec![StatusChange {
                    from: None,
                    to: status,
                    at: w.now(),
                    by: actor,
                    reason: None,
                }],
                created_at: w.now(),
                updated_at: w.now(),
                version: w.revision(),
            };
            table.insert(id.as_str(), store::to_json(&record)?.as_slice())?;
            drop(table);
            let after = serde_json::to_value(&record).ok();
            w.audit(
                "integrator.create",
                format!("integrators/{id}"),
                vec![id.clone()],
                None,
                after,
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

#[utoipa::path(get, path = "/v1/integrators", tag = "integrators",
    params(ListQuery),
    responses((status = 200, body = IntegratorPage), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_integrators(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<IntegratorPage>, ApiError> {
    principal.require_reader("list integrators")?;
    let limit = page_size(query.limit)?;
    let after = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor, 1)?.remove(0)),
        None => None,
    };
    let only = match principal.role {
        Role::IntegratorAdmin => principal.integrator.clone(),
        _ => None,
    };
    let page = state
        .store
        .read(move |txn| {
            let table = txn.open_table(INTEGRATORS)?;
            let mut items = Vec::new();
            let range = match &after {
                Some(after) => table.range::<&str>((
                    std::ops::Bound::Excluded(after.as_str()),
                    std::ops::Bound::Unbounded,
                ))?,
                None => table.range::<&str>(..)?,
            };
            let mut more = false;
            for row in range {
                let (key, value) = row?;
                if only.as_deref().is_some_and(|o| o != key.value()) {
                    continue;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(store::from_json::<IntegratorRecord>(value.value())?);
            }
            let next_cursor = match (more, items.last()) {
                (true, Some(last)) => Some(encode_cursor(&[&last.id])),
                _ => None,
            };
            Ok(IntegratorPage { items, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/integrators/{id}", tag = "integrators",
    params(("id" = String, Path, description = "Integrator id")),
    responses((status = 200, body = IntegratorRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_integrator(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(id): PathParams<String>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_reader("read integrators")?;
    let id = IntegratorId::new(id)?.into_string();
    principal.check_scope(Some(&id), &format!("integrator {id:?}"))?;
    let record = state
        .store
        .read(move |txn| {
            let table = txn.open_table(INTEGRATORS)?;
            get_record::<IntegratorRecord>(&table, &id)?
                .ok_or_else(|| ApiError::not_found("integrator", id))
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(patch, path = "/v1/integrators/{id}", tag = "integrators",
    params(("id" = String, Path, description = "Integrator id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = UpdateIntegrator,
    responses((status = 200, body = IntegratorRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn update_integrator(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_manager("update integrators")?;
    let id = IntegratorId::new(id)?.into_string();
    principal.check_scope(Some(&id), &format!("integrator {id:?}"))?;
    let if_match = IfMatch::from_headers(&headers)?;
    let input: UpdateIntegrator = body.json(&headers)?;
    profile::check_profile(
        input.display_name.as_ref(),
        &[
            ("legal_name", &input.legal_name),
            ("website", &input.website),
            ("region", &input.region),
            ("description", &input.description),
        ],
        input.contacts.as_ref(),
    )?;
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            if_match.check(before.version)?;
            let mut record = before.clone();
            if let Some(name) = input.display_name {
                record.display_name = name;
            }
            replace(&mut record.legal_name, input.legal_name);
            replace(&mut record.website, input.website);
            replace(&mut record.region, input.region);
            replace(&mut record.description, input.description);
            if let Some(contacts) = input.contacts {
                record.contacts = contacts;
            }
            save(w, record, before, "integrator.update")
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(post, path = "/v1/integrators/{id}/status", tag = "integrators",
    params(("id" = String, Path, description = "Integrator id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = ChangeStatus,
    responses((status = 200, body = IntegratorRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn change_status(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("change integrator status")?;
    let id = IntegratorId::new(id)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let input: ChangeStatus = body.json(&headers)?;
    if let Some(reason) = &input.reason {
        check_text("reason", reason, 2000, false)?;
    }
    let context = ChangeContext::new(&principal, &request_id);
    let actor = principal.token_id.clone();
    let (record, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            if_match.check(before.version)?;
            let from = before.status;
            if !from.next().contains(&input.status) {
                let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
                return Err(ApiError::InvalidTransition {
                    from: from.as_str(),
                    to: input.status.as_str(),
                    allowed: if allowed.is_empty() {
                        "none, because offboarded is final".to_owned()
                    } else {
                        allowed.join(", ")
                    },
                });
            }
            let mut record = before.clone();
            record.status = input.status;
            record.status_history.push(StatusChange {
                from: Some(from),
                to: input.status,
                at: w.now(),
                by: actor,
                reason: non_empty(input.reason),
            });
            save(w, record, before, "integrator.status")
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(delete, path = "/v1/integrators/{id}", tag = "integrators",
    params(("id" = String, Path, description = "Integrator id"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    responses((status = 204, description = "Deleted with its overrides; its integrator-admin tokens are revoked"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn delete_integrator(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    principal.require_platform_admin("delete integrators")?;
    let id = IntegratorId::new(id)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    let (revoked, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &id)?;
            if_match.check(before.version)?;
            let tenants = w.txn.open_table(TENANTS_BY_INTEGRATOR)?;
            let count = tenants
                .range::<(&str, &str)>((id.as_str(), "")..)?
                .take_while(|row| row.as_ref().map_or(true, |(k, _)| k.value().0 == id))
                .count() as u64;
            if count > 0 {
                return Err(ApiError::IntegratorHasTenants { id, count });
            }
            drop(tenants);
            let overrides = removal::remove_integrator_overrides(w, &id)?;
            let revoked = revoke_bound_tokens(w, &id)?;
            w.txn.open_table(INTEGRATORS)?.remove(id.as_str())?;
            let before_json = serde_json::json!({
                "integrator": before,
                "overrides": overrides,
                "revoked_tokens": revoked.iter().map(|t| &t.id).collect::<Vec<_>>(),
            });
            w.audit(
                "integrator.delete",
                format!("integrators/{id}"),
                vec![id.clone()],
                Some(before_json),
                None,
            );
            Ok(revoked)
        })
        .await?;
    for token in revoked {
        state.tokens.remove(&token.hash);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Loads an integrator inside a write, or fails with 404.
pub(crate) fn load(w: &Writer<'_>, id: &str) -> Result<IntegratorRecord, ApiError> {
    let table = w.txn.open_table(INTEGRATORS)?;
    get_record(&table, id)?.ok_or_else(|| ApiError::not_found("integrator", id))
}

fn save(
    w: &mut Writer<'_>,
    mut record: IntegratorRecord,
    before: IntegratorRecord,
    action: &'static str,
) -> Result<IntegratorRecord, ApiError> {
    record.updated_at = w.now();
    record.version = w.revision();
    w.txn
        .open_table(INTEGRATORS)?
        .insert(record.id.as_str(), store::to_json(&record)?.as_slice())?;
    let id = record.id.clone();
    w.audit(
        action,
        format!("integrators/{id}"),
        vec![id],
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&record).ok(),
    );
    Ok(record)
}

/// Revokes the integrator-admin tokens bound to a deleted integrator, so
/// that a later integrator with the same id does not inherit them.
fn revoke_bound_tokens(w: &Writer<'_>, id: &str) -> Result<Vec<TokenRecord>, ApiError> {
    let mut table = w.txn.open_table(TOKENS)?;
    let mut revoked = Vec::new();
    for row in table.iter()? {
        let (_, value) = row?;
        let record: TokenRecord = store::from_json(value.value())?;
        if record.integrator.as_deref() == Some(id) && record.revoked_at.is_none() {
            revoked.push(record);
        }
    }
    for record in &mut revoked {
        record.revoked_at = Some(w.now());
        table.insert(record.id.as_str(), store::to_json(record)?.as_slice())?;
    }
    Ok(revoked)
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn replace(field: &mut Option<String>, update: Option<String>) {
    if let Some(value) = update {
        *field = non_empty(Some(value));
    }
}
