//! The scope of an override (integrator, tenant or user) and who may read
//! or change it.

use redb::{ReadTransaction, ReadableTable};

use cascade_shared::{IntegratorId, TenantId, UserId};

use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::store::{INTEGRATORS, TENANTS, TenantRecord, Writer, get_record};

/// The cascade level and scope id of an override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Integrator(String),
    Tenant(String),
    /// (tenant id, user id).
    User(String, String),
}

impl Scope {
    /// Validates an integrator id.
    pub fn integrator(id: String) -> Result<Scope, ApiError> {
        Ok(Scope::Integrator(IntegratorId::new(id)?.into_string()))
    }

    /// Validates a tenant id.
    pub fn tenant(id: String) -> Result<Scope, ApiError> {
        Ok(Scope::Tenant(TenantId::new(id)?.into_string()))
    }

    /// Validates a tenant id and a user id.
    pub fn user(tenant: String, user: String) -> Result<Scope, ApiError> {
        let tenant = TenantId::new(tenant)?.into_string();
        let user = UserId::new(user)?.into_string();
        Ok(Scope::User(tenant, user))
    }

    /// Returns the integrator or tenant id.
    pub fn id(&self) -> &str {
        match self {
            Scope::Integrator(id) | Scope::Tenant(id) | Scope::User(id, _) => id,
        }
    }

    /// Returns the scope's path under `/v1`, used as the audit target.
    pub fn target(&self) -> String {
        match self {
            Scope::Integrator(id) => format!("integrators/{id}"),
            Scope::Tenant(id) => format!("tenants/{id}"),
            Scope::User(tenant, user) => format!("tenants/{tenant}/users/{}", user_target(user)),
        }
    }

    /// Describes the scope in words, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Scope::Integrator(id) => format!("integrator {id:?}"),
            Scope::Tenant(id) | Scope::User(id, _) => format!("tenant {id:?}"),
        }
    }

    /// Returns the audit action of setting an override in this scope.
    pub fn put_action(&self) -> &'static str {
        match self {
            Scope::Integrator(_) => "integrator_override.put",
            Scope::Tenant(_) => "tenant_override.put",
            Scope::User(..) => "user_override.put",
        }
    }

    /// Returns the audit action of removing an override in this scope.
    pub fn delete_action(&self) -> &'static str {
        match self {
            Scope::Integrator(_) => "integrator_override.delete",
            Scope::Tenant(_) => "tenant_override.delete",
            Scope::User(..) => "user_override.delete",
        }
    }
}

/// Encodes a user id for an audit target, with `%` and `/` percent-encoded so
/// that the target splits on `/` unambiguously.
pub fn user_target(user: &str) -> String {
    user.replace('%', "%25").replace('/', "%2F")
}

/// Checks the role part of access to overrides. Integrator-level overrides
/// follow the partner's contract, so only platform admins change them;
/// integrator-admins change tenant and user overrides of their own tenants.
/// The scope part is checked once the owner is known.
pub fn authorize(principal: &Principal, scope: &Scope, write: bool) -> Result<(), ApiError> {
    match (scope, write) {
        (_, false) => principal.require_reader("read overrides"),
        (Scope::Integrator(_), true) => {
            principal.require_platform_admin("change integrator-level overrides")
        }
        (_, true) => principal.require(
            &[Role::PlatformAdmin, Role::IntegratorAdmin],
            "change tenant or user overrides",
        ),
    }
}

/// Finds the integrator that owns a scope inside a write; fails with 404
/// when the integrator or tenant does not exist.
pub fn owner_in_write(w: &Writer<'_>, scope: &Scope) -> Result<Option<String>, ApiError> {
    match scope {
        Scope::Integrator(id) => {
            if w.txn.open_table(INTEGRATORS)?.get(id.as_str())?.is_none() {
                return Err(ApiError::not_found("integrator", id.as_str()));
            }
            Ok(Some(id.clone()))
        }
        Scope::Tenant(id) | Scope::User(id, _) => {
            let table = w.txn.open_table(TENANTS)?;
            let tenant: TenantRecord = get_record(&table, id)?
                .ok_or_else(|| ApiError::not_found("tenant", id.as_str()))?;
            Ok(tenant.integrator)
        }
    }
}

/// Finds the integrator that owns a scope inside a read.
pub fn owner_in_read(txn: &ReadTransaction, scope: &Scope) -> Result<Option<String>, ApiError> {
    match scope {
        Scope::Integrator(id) => {
            if txn.open_table(INTEGRATORS)?.get(id.as_str())?.is_none() {
                return Err(ApiError::not_found("integrator", id.as_str()));
            }
            Ok(Some(id.clone()))
        }
        Scope::Tenant(id) | Scope::User(id, _) => {
            let table = txn.open_table(TENANTS)?;
            let tenant: TenantRecord = get_record(&table, id)?
                .ok_or_else(|| ApiError::not_found("tenant", id.as_str()))?;
            Ok(tenant.integrator)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_target_escapes_slash_and_percent() {
        assert_eq!(user_target("a/b%c"), "a%2Fb%25c");
    }
}
