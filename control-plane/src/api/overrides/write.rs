//! PUT and DELETE of single overrides, and the override writes that bulk
//! requests share.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use redb::{ReadableTable, Table, WriteTransaction};

use cascade_shared::{FlagType, FlagValue};

use crate::AppState;
use crate::api::scope::{Scope, authorize, owner_in_write};
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, IfMatch, PathParams, RequestId};
use crate::store::{
    self, ChangeContext, FLAGS, FlagRecord, INTEGRATOR_OVERRIDES, StoredValue, TENANT_OVERRIDES,
    USER_OVERRIDES, Writer, get_record,
};

use super::{FlagOverride, SetValue};

#[utoipa::path(put, path = "/v1/integrators/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Integrator id"),
        ("key" = String, Path, description = "Flag key")),
    request_body = SetValue,
    responses((status = 200, body = FlagOverride, description = "Replaced"),
        (status = 201, body = FlagOverride, description = "Created"),
        (status = 412, body = Problem,
            description = "If-Match is a list of tags, which never match since overrides carry no ETag, or `*` and there is no override"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn put_integrator_override(
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
        (status = 412, body = Problem,
            description = "If-Match is a list of tags, which never match since overrides carry no ETag, or `*` and there is no override"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn put_tenant_override(
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
        (status = 412, body = Problem,
            description = "If-Match is a list of tags, which never match since overrides carry no ETag, or `*` and there is no override"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn put_user_override(
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
        (status = 412, body = Problem,
            description = "If-Match is a list of tags, which never match since overrides carry no ETag, or `*` and there is no override"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn delete_integrator_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, key)): PathParams<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    delete_one(
        &state,
        principal,
        request_id,
        Scope::integrator(id)?,
        key,
        &headers,
    )
    .await
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 204, description = "Removed, or there was none: the level inherits"),
        (status = 412, body = Problem,
            description = "If-Match is a list of tags, which never match since overrides carry no ETag, or `*` and there is no override"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn delete_tenant_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, key)): PathParams<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    delete_one(
        &state,
        principal,
        request_id,
        Scope::tenant(id)?,
        key,
        &headers,
    )
    .await
}

#[utoipa::path(delete, path = "/v1/tenants/{id}/users/{user}/flags/{key}", tag = "overrides",
    params(("id" = String, Path, description = "Tenant id"),
        ("user" = String, Path, description = "User id, percent-encoded"),
        ("key" = String, Path, description = "Flag key")),
    responses((status = 204, description = "Removed, or there was none: the level inherits"),
        (status = 412, body = Problem,
            description = "If-Match is a list of tags, which never match since overrides carry no ETag, or `*` and there is no override"),
        (status = "4XX", body = Problem)),
    security(("bearer" = [])))]
pub(super) async fn delete_user_override(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    RequestId(request_id): RequestId,
    PathParams((id, user, key)): PathParams<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    delete_one(
        &state,
        principal,
        request_id,
        Scope::user(id, user)?,
        key,
        &headers,
    )
    .await
}

pub(super) async fn put_one(
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
    let if_match = IfMatch::from_headers(headers)?;
    let input: SetValue = body.json(headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    let ((created, value), _) = state
        .store
        .write(context, move |w| {
            let owner = owner_in_write(w, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            let mut tables = OverrideTables::open(w.txn)?;
            let (before, value) = tables.set(w, &scope, &owner, &key, &input.value)?;
            // A failed check returns an error, which discards the write.
            if_match.check_untagged(before.is_some())?;
            tables.finish(w)?;
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

pub(super) async fn delete_one(
    state: &AppState,
    principal: Principal,
    request_id: String,
    scope: Scope,
    key: String,
    headers: &HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&principal, &scope, true)?;
    let key = cascade_shared::FlagKey::new(key)?.into_string();
    let if_match = IfMatch::from_headers(headers)?;
    let context = ChangeContext::new(&principal, &request_id);
    state
        .store
        .write(context, move |w| {
            let owner = owner_in_write(w, &scope)?;
            principal.check_scope(owner.as_deref(), &scope.describe())?;
            if w.txn.open_table(FLAGS)?.get(key.as_str())?.is_none() {
                return Err(ApiError::not_found("flag", key));
            }
            let mut tables = OverrideTables::open(w.txn)?;
            let existed = tables.remove(w, &scope, &owner, &key)?;
            if_match.check_untagged(existed)?;
            tables.finish(w)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Flag types read once per write.
#[derive(Default)]
struct FlagTypes(HashMap<String, FlagType>);

impl FlagTypes {
    fn get(&mut self, txn: &WriteTransaction, key: &str) -> Result<FlagType, ApiError> {
        if let Some(flag_type) = self.0.get(key) {
            return Ok(*flag_type);
        }
        let table = txn.open_table(FLAGS)?;
        let record: FlagRecord =
            get_record(&table, key)?.ok_or_else(|| ApiError::InvalidReference {
                what: "flag",
                id: key.to_owned(),
            })?;
        self.0.insert(key.to_owned(), record.flag_type);
        Ok(record.flag_type)
    }
}

type PairTable<'t> = Table<'t, (&'static str, &'static str), &'static [u8]>;
type UserTable<'t> = Table<'t, (&'static str, &'static str, &'static str), &'static [u8]>;

/// The override tables, opened once for all the items of one write, and
/// the change of each flag's override count, applied by
/// [`OverrideTables::finish`].
pub(super) struct OverrideTables<'t> {
    txn: &'t WriteTransaction,
    integrator: PairTable<'t>,
    tenant: PairTable<'t>,
    user: UserTable<'t>,
    flags: FlagTypes,
    count_changes: HashMap<String, i64>,
}

impl<'t> OverrideTables<'t> {
    /// Opens the override tables of `txn`.
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Self, ApiError> {
        Ok(OverrideTables {
            txn,
            integrator: txn.open_table(INTEGRATOR_OVERRIDES)?,
            tenant: txn.open_table(TENANT_OVERRIDES)?,
            user: txn.open_table(USER_OVERRIDES)?,
            flags: FlagTypes::default(),
            count_changes: HashMap::new(),
        })
    }

    /// Fails with 422 when `key` names no flag.
    pub(super) fn require_flag(&mut self, key: &str) -> Result<(), ApiError> {
        self.flags.get(self.txn, key).map(|_| ())
    }

    /// Sets one override and audits it; returns the previous value and
    /// the new override.
    pub(super) fn set(
        &mut self,
        w: &mut Writer<'_>,
        scope: &Scope,
        owner: &Option<String>,
        key: &str,
        json: &serde_json::Value,
    ) -> Result<(Option<serde_json::Value>, FlagOverride), ApiError> {
        let flag_type = self.flags.get(self.txn, key)?;
        let value =
            FlagValue::from_json(flag_type, json).map_err(|source| ApiError::InvalidValue {
                flag: key.to_owned(),
                source,
            })?;
        let stored = StoredValue::from(value);
        let bytes = stored.encode();
        let previous = match scope {
            Scope::Integrator(id) => self
                .integrator
                .insert((id.as_str(), key), bytes.as_slice())?
                .map(|v| v.value().to_vec()),
            Scope::Tenant(id) => self
                .tenant
                .insert((id.as_str(), key), bytes.as_slice())?
                .map(|v| v.value().to_vec()),
            Scope::User(tenant, user) => self
                .user
                .insert((tenant.as_str(), user.as_str(), key), bytes.as_slice())?
                .map(|v| v.value().to_vec()),
        };
        let before = match &previous {
            Some(bytes) => Some(StoredValue::decode(bytes)?.to_json()),
            None => {
                *self.count_changes.entry(key.to_owned()).or_default() += 1;
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
        let created = FlagOverride {
            flag: key.to_owned(),
            value: after,
        };
        Ok((before, created))
    }

    /// Removes one override and audits it; returns whether there was one.
    pub(super) fn remove(
        &mut self,
        w: &mut Writer<'_>,
        scope: &Scope,
        owner: &Option<String>,
        key: &str,
    ) -> Result<bool, ApiError> {
        let previous = match scope {
            Scope::Integrator(id) => self
                .integrator
                .remove((id.as_str(), key))?
                .map(|v| v.value().to_vec()),
            Scope::Tenant(id) => self
                .tenant
                .remove((id.as_str(), key))?
                .map(|v| v.value().to_vec()),
            Scope::User(tenant, user) => self
                .user
                .remove((tenant.as_str(), user.as_str(), key))?
                .map(|v| v.value().to_vec()),
        };
        let Some(bytes) = previous else {
            return Ok(false);
        };
        *self.count_changes.entry(key.to_owned()).or_default() -= 1;
        w.audit(
            scope.delete_action(),
            format!("{}/flags/{key}", scope.target()),
            owner.iter().cloned().collect(),
            Some(StoredValue::decode(&bytes)?.to_json()),
            None,
        );
        Ok(true)
    }

    /// Closes the tables and applies the override count changes.
    pub(super) fn finish(self, w: &Writer<'_>) -> Result<(), ApiError> {
        let OverrideTables {
            integrator,
            tenant,
            user,
            count_changes,
            ..
        } = self;
        drop((integrator, tenant, user));
        for (flag, change) in count_changes {
            store::adjust_override_count(w, &flag, change)?;
        }
        Ok(())
    }
}
