//! `/v1/tokens`: create, list and revoke API tokens.

use std::ops::Bound;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cascade_shared::IntegratorId;

use crate::AppState;
use crate::api::ListQuery;
use crate::auth::{Principal, Role, generate_token, hash_token};
use crate::error::{ApiError, Problem};
use crate::extract::{
    Body, PathParams, QueryParams, RequestId, check_text, decode_cursor, encode_cursor, page_size,
};
use crate::store::{self, ChangeContext, INTEGRATORS, Store, TOKENS, TokenRecord, Writer};

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(get_token, revoke_token))
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, such as `edge-eu`.
    pub name: String,
    pub role: Role,
    /// Required for integrator-admin tokens, and only for them.
    pub integrator: Option<String>,
}

/// A token as listed: everything but the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub integrator: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    pub created_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<jiff::Timestamp>,
}

/// A created token with its secret, which is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// Send as `Authorization: Bearer <secret>`. The service stores only
    /// its hash and cannot show it again.
    pub secret: String,
}

/// One page of tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPage {
    pub items: Vec<TokenView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<&TokenRecord> for TokenView {
    fn from(record: &TokenRecord) -> Self {
        TokenView {
            id: record.id.clone(),
            name: record.name.clone(),
            role: record.role,
            integrator: record.integrator.clone(),
            created_at: record.created_at,
            created_by: record.created_by.clone(),
            revoked_at: record.revoked_at,
        }
    }
}

#[utoipa::path(post, path = "/v1/tokens", tag = "tokens",
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn create_token(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    principal.require_platform_admin("create tokens")?;
    let input: CreateToken = body.json(&headers)?;
    check_text("name", &input.name, 200, true)?;
    let integrator = match (input.role, input.integrator) {
        (Role::IntegratorAdmin, Some(id)) => Some(IntegratorId::new(id)?.into_string()),
        (Role::IntegratorAdmin, None) => {
            return Err(ApiError::field(
                "integrator",
                "",
                "an integrator-admin token needs the id of the integrator it is bound to",
            ));
        }
        (role, Some(id)) => {
            return Err(ApiError::field(
                "integrator",
                id,
                format!(
                    "only integrator-admin tokens are bound to an integrator, not {}",
                    role.as_str()
                ),
            ));
        }
        (_, None) => None,
    };
    let context = ChangeContext::new(&principal, &request_id);
    let name = input.name;
    let role = input.role;
    let (created, _) = state
        .store
        .write(context, move |w| {
            if let Some(id) = &integrator
                && w.txn.open_table(INTEGRATORS)?.get(id.as_str())?.is_none()
            {
                return Err(ApiError::InvalidReference {
                    what: "integrator",
                    id: id.clone(),
                });
            }
            insert_token(w, &name, role, integrator)
        })
        .await?;
    state.tokens.insert(&created.0);
    let view = TokenView::from(&created.0);
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: view,
            secret: created.1,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/tokens", tag = "tokens",
    params(ListQuery),
    responses((status = 200, body = TokenPage), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_tokens(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    QueryParams(query): QueryParams<ListQuery>,
) -> Result<Json<TokenPage>, ApiError> {
    principal.require(&[Role::PlatformAdmin, Role::Auditor], "list tokens")?;
    let limit = page_size(query.limit)?;
    let after = match &query.cursor {
        Some(cursor) => Some(decode_cursor(cursor, 1)?.remove(0)),
        None => None,
    };
    let page = state
        .store
        .read(move |txn| {
            let table = txn.open_table(TOKENS)?;
            let lower = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let mut items = Vec::new();
            let mut more = false;
            for row in table.range::<&str>((lower, Bound::Unbounded))? {
                let (_, value) = row?;
                if items.len() == limit {
                    more = true;
                    break;
                }
                let record: TokenRecord = store::from_json(value.value())?;
                items.push(TokenView::from(&record));
            }
            let next_cursor = match (more, items.last()) {
                (true, Some(last)) => Some(encode_cursor(&[&last.id])),
                _ => None,
            };
            Ok(TokenPage { items, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id, such as tok_0123456789abcdef")),
    responses((status = 200, body = TokenView), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn get_token(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Json<TokenView>, ApiError> {
    principal.require(&[Role::PlatformAdmin, Role::Auditor], "read tokens")?;
    check_token_id(&id)?;
    let record = state
        .store
        .read(move |txn| {
            let table = txn.open_table(TOKENS)?;
            store::get_record::<TokenRecord>(&table, &id)?
                .ok_or_else(|| ApiError::not_found("token", id))
        })
        .await?;
    Ok(Json(TokenView::from(&record)))
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked; the token stops working at once"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    principal.require_platform_admin("revoke tokens")?;
    check_token_id(&id)?;
    let context = ChangeContext::new(&principal, &request_id);
    let (hash, _) = state
        .store
        .write(context, move |w| {
            let mut table = w.txn.open_table(TOKENS)?;
            let mut record: TokenRecord = store::get_record(&table, &id)?
                .ok_or_else(|| ApiError::not_found("token", id.as_str()))?;
            if record.revoked_at.is_some() {
                return Ok(None);
            }
            if record.role == Role::PlatformAdmin && !other_live_platform_admin(&table, &id)? {
                return Err(ApiError::LastPlatformAdmin { id });
            }
            let before = serde_json::to_value(TokenView::from(&record)).ok();
            record.revoked_at = Some(w.now());
            table.insert(id.as_str(), store::to_json(&record)?.as_slice())?;
            drop(table);
            let after = serde_json::to_value(TokenView::from(&record)).ok();
            let scope = record.integrator.iter().cloned().collect();
            w.audit("token.revoke", format!("tokens/{id}"), scope, before, after);
            Ok(Some(record.hash))
        })
        .await?;
    if let Some(hash) = hash {
        state.tokens.remove(&hash);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Whether a live platform-admin token other than `id` exists. The scan
/// reads every token, which stays cheap: tokens number in the dozens.
fn other_live_platform_admin(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<bool, ApiError> {
    for row in table.iter()? {
        let (key, value) = row?;
        if key.value() == id {
            continue;
        }
        let record: TokenRecord = store::from_json(value.value())?;
        if record.role == Role::PlatformAdmin && record.revoked_at.is_none() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn check_token_id(id: &str) -> Result<(), ApiError> {
    let ok =
        id.len() == 20 && id.starts_with("tok_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "token id",
            id,
            "use the id from the token list, such as tok_0123456789abcdef",
        ))
    }
}

/// Stores a new token and audits it; returns the record and the secret.
pub fn insert_token(
    w: &mut Writer<'_>,
    name: &str,
    role: Role,
    integrator: Option<String>,
) -> Result<(TokenRecord, String), ApiError> {
    let token = generate_token();
    let record = TokenRecord {
        id: token.id.clone(),
        name: name.to_owned(),
        role,
        integrator,
        hash: hash_token(&token.secret),
        created_at: w.now(),
        created_by: w.actor().to_owned(),
        revoked_at: None,
    };
    let mut table = w.txn.open_table(TOKENS)?;
    table.insert(record.id.as_str(), store::to_json(&record)?.as_slice())?;
    drop(table);
    let scope = record.integrator.iter().cloned().collect();
    w.audit(
        "token.create",
        format!("tokens/{}", record.id),
        scope,
        None,
        serde_json::to_value(TokenView::from(&record)).ok(),
    );
    Ok((record, token.secret))
}

/// Creates the first platform-admin token when the store has no token at
/// all; returns its secret, which the caller shows once.
pub fn bootstrap(store: &Store) -> Result<Option<(TokenRecord, String)>, ApiError> {
    let empty = store.read_blocking(|txn| Ok(txn.open_table(TOKENS)?.is_empty()?))?;
    if !empty {
        return Ok(None);
    }
    let context = ChangeContext {
        actor: "system".to_owned(),
        request_id: "bootstrap".to_owned(),
    };
    let (created, _) = store.write_blocking(&context, |w| {
        insert_token(w, "bootstrap", Role::PlatformAdmin, None)
    })?;
    Ok(Some(created))
}
