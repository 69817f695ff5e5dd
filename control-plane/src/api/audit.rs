//! `/v1/audit`: the change log, newest last, filtered and paginated.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::extract::{QueryParams, decode_cursor, encode_cursor, page_size};
use crate::store::{AUDIT, AuditRecord, from_json};

/// Records examined per request at most, so that a filter that matches
/// little cannot scan the whole log in one request. A page can therefore
/// hold fewer items than `limit` and still have a `next_cursor`.
const MAX_SCAN: usize = 10_000;

/// Routes of this module.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Audit filters. All given filters must match.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// A target path such as `tenants/acme`; matches it and everything
    /// under it, such as `tenants/acme/flags/beta`.
    pub target: Option<String>,
    /// The token id that made the change.
    pub actor: Option<String>,
    /// RFC 3339 time; records at or after it.
    pub since: Option<String>,
    /// RFC 3339 time; records before it.
    pub until: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000; 100 when absent.
    pub limit: Option<usize>,
}

/// One page of audit records.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `cursor` to continue; absent when the log has no more
    /// records.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    principal.require_reader("read the audit log")?;
    let limit = page_size(query.limit)?;
    let since = parse_time("since", query.since.as_deref())?;
    let until = parse_time("until", query.until.as_deref())?;
    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        return Err(ApiError::InvalidQuery(format!(
            "since={since} is after until={until}, so no record can match; give a since at or before until"
        )));
    }
    let after: u64 = match &query.cursor {
        Some(cursor) => decode_cursor(cursor, 1)?[0]
            .parse()
            .map_err(|_| ApiError::InvalidCursor(cursor.clone()))?,
        None => 0,
    };
    let target = query.target.map(|t| t.trim_matches('/').to_owned());
    let actor = query.actor;
    let scope = match principal.role {
        Role::IntegratorAdmin => principal.integrator.clone(),
        _ => None,
    };
    let page = state
        .store
        .read(move |txn| {
            let table = txn.open_table(AUDIT)?;
            let mut items = Vec::new();
            let mut last_seen = None;
            let mut exhausted = true;
            for (scanned, row) in table.range((after + 1)..)?.enumerate() {
                if items.len() == limit || scanned == MAX_SCAN {
                    exhausted = false;
                    break;
                }
                let (key, value) = row?;
                last_seen = Some(key.value());
                let record: AuditRecord = from_json(value.value())?;
                let keep = scope
                    .as_ref()
                    .is_none_or(|s| record.integrators.contains(s))
                    && target.as_ref().is_none_or(|t| {
                        record.target == *t || record.target.starts_with(&format!("{t}/"))
                    })
                    && actor.as_ref().is_none_or(|a| record.actor == *a)
                    && since.is_none_or(|s| record.at >= s)
                    && until.is_none_or(|u| record.at < u);
                if keep {
                    items.push(record);
                }
            }
            let next_cursor = match (exhausted, last_seen) {
                (false, Some(id)) => Some(encode_cursor(&[&id.to_string()])),
                _ => None,
            };
            Ok(AuditPage { items, next_cursor })
        })
        .await?;
    Ok(Json(page))
}

fn parse_time(name: &str, value: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    match value {
        None => Ok(None),
        Some(text) => text.parse::<jiff::Timestamp>().map(Some).map_err(|_| {
            ApiError::InvalidQuery(format!(
                "{name}={text:?} is not an RFC 3339 time; use a form such as 2025-01-31T12:00:00Z"
            ))
        }),
    }
}
