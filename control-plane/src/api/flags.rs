//! `/v1/flags`: flag definitions and platform defaults.

use std::ops::Bound;
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

use cascade_shared::{FlagKey, FlagType, FlagValue};

use crate::AppState;
use crate::api::ListQuery;
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{
    Body, IfMatch, PathParams, QueryParams, RequestId, check_text, decode_cursor, encode_cursor,
    etag_header, page_size,
};
use crate::store::{
    self, ChangeContext, FLAG_OVERRIDE_COUNTS, FLAGS, FlagRecord, INTEGRATOR_OVERRIDES,
    StoredValue, TENANT_OVERRIDES, USER_OVERRIDES, Writer, get_record,
};

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_flag, list_flags))
        .routes(routes!(get_flag, update_flag, delete_flag))
}

/// A new flag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFlag {
    /// 1 to 128 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting
    /// with a letter.
    pub key: String,
    #[serde(default)]
    pub description: String,
    /// boolean, string, integer, float or object.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "boolean")]
    pub flag_type: FlagType,
    /// The platform default, of the flag's type.
    #[schema(value_type = Object)]
    pub default: serde_json::Value,
}

/// Flag changes. A new `type` needs a new `default` of that type, and is
/// rejected while the flag has overrides.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFlag {
    pub description: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub flag_type: Option<FlagType>,
    #[schema(value_type = Object)]
    pub default: Option<serde_json::Value>,
}

/// One page of flags.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagPage {
    pub items: Vec<FlagRecord>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/flags", tag = "flags",
    request_body = CreateFlag,
    responses((status = 201, body = FlagRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn create_flag(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("create flags")?;
    let input: CreateFlag = body.json(&headers)?;
    let key = FlagKey::new(input.key)?.into_string();
    check_text("description", &input.description, 2000, false)?;
    let default = typed_default(&key, input.flag_type, &input.default)?;
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            if w.txn.open_table(FLAGS)?.get(key.as_str())?.is_some() {
                return Err(ApiError::AlreadyExists {
                    what: "flag",
                    id: key,
                });
            }
            let record = FlagRecord {
                key: key.clone(),
                description: input.description,
                flag_type: input.flag_type,
                default: default.to_json(),
                created_at: w.now(),
                updated_at: w.now(),
                version: w.revision(),
            };
            save(w, &record)?;
            w.audit(
                "flag.create",
                format!("flags/{key}"),
                Vec::new(),
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

#[utoipa::path(get, path = "/v1/flags", tag = "flags",
    params(ListQuery),
    responses((status = 200, body = FlagPage), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_flags(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<FlagPage>, ApiError> {
    principal.require_reader("list flags")?;
    let limit = page_size(query.limit)?;
    let after = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor, 1)?.remove(0)),
        None => None,
    };
    let page = state
        .store
        .read(move |txn| {
            let table = txn.open_table(FLAGS)?;
            let lower = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let mut items = Vec::new();
            let mut more = false;
            for row in table.range::<&str>((lower, Bound::Unbounded))? {
                let (_, value) = row?;
                if items.len() == limit {
                    more = true;
                    break;
                }
                items.push(store::from_json::<FlagRecord>(value.value())?);
            }
            let next_cursor = match (more, items.last()) {
                (true, Some(last)) => Some(encode_cursor(&[&last.key])),
                _ => None,
            };
            Ok(FlagPage { items, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/flags/{key}", tag = "flags",
    params(("key" = String, Path, description = "Flag key")),
    responses((status = 200, body = FlagRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_flag(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(key): PathParams<String>,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_reader("read flags")?;
    let key = FlagKey::new(key)?.into_string();
    let record = state
        .store
        .read(move |txn| {
            let table = txn.open_table(FLAGS)?;
            get_record::<FlagRecord>(&table, &key)?.ok_or_else(|| ApiError::not_found("flag", key))
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(patch, path = "/v1/flags/{key}", tag = "flags",
    params(("key" = String, Path, description = "Flag key"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    request_body = UpdateFlag,
    responses((status = 200, body = FlagRecord), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn update_flag(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(key): PathParams<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("update flags")?;
    let key = FlagKey::new(key)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let input: UpdateFlag = body.json(&headers)?;
    if let Some(description) = &input.description {
        check_text("description", description, 2000, false)?;
    }
    if input.flag_type.is_some() && input.default.is_none() {
        return Err(ApiError::field(
            "type",
            input.flag_type.map_or("", |t| t.as_str()),
            "a type change needs a default of the new type in the same request",
        ));
    }
    let context = ChangeContext::new(&principal, &request_id);
    let (record, _) = state
        .store
        .write(context, move |w| {
            let before = load(w, &key)?;
            if_match.check(before.version)?;
            let mut record = before.clone();
            if let Some(new_type) = input.flag_type.filter(|t| *t != before.flag_type) {
                let count = override_count(w, &key)?;
                if count > 0 {
                    return Err(ApiError::FlagHasOverrides { key, count });
                }
                record.flag_type = new_type;
            }
            if let Some(default) = &input.default {
                record.default = typed_default(&key, record.flag_type, default)?.to_json();
            }
            if let Some(description) = input.description {
                record.description = description;
            }
            record.updated_at = w.now();
            record.version = w.revision();
            save(w, &record)?;
            w.audit(
                "flag.update",
                format!("flags/{key}"),
                Vec::new(),
                serde_json::to_value(&before).ok(),
                serde_json::to_value(&record).ok(),
            );
            Ok(record)
        })
        .await?;
    Ok((etag_header(record.version), Json(record)))
}

#[utoipa::path(delete, path = "/v1/flags/{key}", tag = "flags",
    params(("key" = String, Path, description = "Flag key"),
        ("If-Match" = Option<String>, Header, description = "ETag from a previous read")),
    responses((status = 204, description = "Deleted with every override of the flag"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn delete_flag(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(key): PathParams<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    principal.require_platform_admin("delete flags")?;
    let key = FlagKey::new(key)?.into_string();
    let if_match = IfMatch::from_headers(&headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    state
        .store
        .write(context, move |w| {
            let before = load(w, &key)?;
            if_match.check(before.version)?;
            let overrides = if override_count(w, &key)? > 0 {
                remove_overrides_of(w, &key)?
            } else {
                serde_json::json!({})
            };
            w.txn.open_table(FLAGS)?.remove(key.as_str())?;
            w.txn
                .open_table(FLAG_OVERRIDE_COUNTS)?
                .remove(key.as_str())?;
            let before_json = serde_json::json!({ "flag": before, "overrides": overrides });
            w.audit(
                "flag.delete",
                format!("flags/{key}"),
                Vec::new(),
                Some(before_json),
                None,
            );
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Converts a JSON default into a value of the flag's type.
fn typed_default(
    key: &str,
    flag_type: FlagType,
    json: &serde_json::Value,
) -> Result<FlagValue, ApiError> {
    FlagValue::from_json(flag_type, json).map_err(|source| ApiError::InvalidValue {
        flag: key.to_owned(),
        source,
    })
}

/// Loads a flag inside a write, or fails with 404.
pub(crate) fn load(w: &Writer<'_>, key: &str) -> Result<FlagRecord, ApiError> {
    let table = w.txn.open_table(FLAGS)?;
    get_record(&table, key)?.ok_or_else(|| ApiError::not_found("flag", key))
}

fn save(w: &Writer<'_>, record: &FlagRecord) -> Result<(), ApiError> {
    w.txn
        .open_table(FLAGS)?
        .insert(record.key.as_str(), store::to_json(record)?.as_slice())?;
    Ok(())
}

fn override_count(w: &Writer<'_>, key: &str) -> Result<u64, ApiError> {
    let counts = w.txn.open_table(FLAG_OVERRIDE_COUNTS)?;
    Ok(counts.get(key)?.map_or(0, |v| v.value()))
}

/// Removes every override of a flag at every level. Overrides are keyed by
/// scope first, so this scans all three tables once.
///
/// NOTE: the scan reads every override of every flag inside the write
/// transaction, so deleting a flag blocks other writes for that long.
fn remove_overrides_of(w: &Writer<'_>, key: &str) -> Result<serde_json::Value, ApiError> {
    let mut integrators = serde_json::Map::new();
    {
        let mut table = w.txn.open_table(INTEGRATOR_OVERRIDES)?;
        let removed = table.extract_if(|(_, flag), _| flag == key)?;
        for row in removed {
            let (k, v) = row?;
            let (scope, _) = k.value();
            integrators.insert(scope.to_owned(), StoredValue::decode(v.value())?.to_json());
        }
    }
    let mut tenants = serde_json::Map::new();
    {
        let mut table = w.txn.open_table(TENANT_OVERRIDES)?;
        let removed = table.extract_if(|(_, flag), _| flag == key)?;
        for row in removed {
            let (k, v) = row?;
            let (scope, _) = k.value();
            tenants.insert(scope.to_owned(), StoredValue::decode(v.value())?.to_json());
        }
    }
    let mut users = Vec::new();
    {
        let mut table = w.txn.open_table(USER_OVERRIDES)?;
        let removed = table.extract_if(|(_, _, flag), _| flag == key)?;
        for row in removed {
            let (k, v) = row?;
            let (tenant, user, _) = k.value();
            users.push(serde_json::json!({
                "tenant": tenant,
                "user": user,
                "value": StoredValue::decode(v.value())?.to_json(),
            }));
        }
    }
    Ok(serde_json::json!({
        "integrators": integrators,
        "tenants": tenants,
        "users": users,
    }))
}
