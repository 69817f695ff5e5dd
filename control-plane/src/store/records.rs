//! The records kept in the store. The API returns most of them as they are.

use cascade_shared::{FlagType, FlagValue};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;

/// An integrator's operational status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntegratorStatus {
    Onboarding,
    Active,
    Suspended,
    Offboarded,
}

impl IntegratorStatus {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegratorStatus::Onboarding => "onboarding",
            IntegratorStatus::Active => "active",
            IntegratorStatus::Suspended => "suspended",
            IntegratorStatus::Offboarded => "offboarded",
        }
    }

    /// The statuses reachable from this one. Offboarding is final: a
    /// returning partner is registered again under a new id.
    pub fn next(self) -> &'static [IntegratorStatus] {
        use IntegratorStatus::*;
        match self {
            Onboarding => &[Active, Offboarded],
            Active => &[Suspended, Offboarded],
            Suspended => &[Active, Offboarded],
            Offboarded => &[],
        }
    }
}

/// The role of an integrator contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactRole {
    Technical,
    Commercial,
    Escalation,
    Billing,
    Security,
    Other,
}

/// A person to contact at an integrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub role: ContactRole,
}

/// One entry of an integrator's status history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    /// The previous status; absent for the status given at creation.
    pub from: Option<IntegratorStatus>,
    pub to: IntegratorStatus,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// The id of the token that made the change.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A systems integrator and its profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegratorRecord {
    pub id: String,
    pub display_name: String,
    pub legal_name: Option<String>,
    pub website: Option<String>,
    pub region: Option<String>,
    pub description: Option<String>,
    pub contacts: Vec<Contact>,
    pub status: IntegratorStatus,
    pub status_history: Vec<StatusChange>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    /// The store revision of the last change; the ETag is `"v<version>"`.
    pub version: u64,
}

/// A tenant: one customer organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TenantRecord {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    /// The integrator the tenant belongs to, if any.
    pub integrator: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    /// The store revision of the last change; the ETag is `"v<version>"`.
    pub version: u64,
}

/// A feature flag with its platform default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FlagRecord {
    pub key: String,
    pub description: String,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "boolean")]
    pub flag_type: FlagType,
    /// The platform default, of the flag's type.
    #[schema(value_type = Object)]
    pub default: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    /// The store revision of the last change; the ETag is `"v<version>"`.
    pub version: u64,
}

impl FlagRecord {
    /// The platform default as a typed value.
    pub fn default_value(&self) -> Result<FlagValue, cascade_shared::ValueError> {
        FlagValue::from_json(self.flag_type, &self.default)
    }
}

/// An API token. Only the SHA-256 hash of the secret is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub integrator: Option<String>,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    pub created_at: jiff::Timestamp,
    pub created_by: String,
    pub revoked_at: Option<jiff::Timestamp>,
}

/// One change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// Increasing record id.
    pub id: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// The id of the token that made the change, or `system`.
    pub actor: String,
    /// What was done, such as `tenant.update` or `user_override.put`.
    pub action: String,
    /// The path of the changed resource under `/v1`, such as
    /// `tenants/acme/flags/beta`.
    pub target: String,
    /// The integrators whose admins may read this record.
    pub integrators: Vec<String>,
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
    pub request_id: String,
    /// The store revision this change committed as.
    pub revision: u64,
}

/// An override value as stored: postcard-encoded, so that snapshot builds
/// decode 1,000,000 of them without parsing JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoredValue {
    Boolean(bool),
    String(String),
    Integer(i64),
    Float(f64),
    /// Canonical JSON text of an object.
    Object(String),
}

impl StoredValue {
    /// Encodes this value for the store.
    pub fn encode(&self) -> Vec<u8> {
        // Encoding an enum of plain fields into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes a stored value.
    pub fn decode(bytes: &[u8]) -> Result<StoredValue, crate::error::ApiError> {
        postcard::from_bytes(bytes).map_err(|err| {
            crate::error::ApiError::Storage(format!("stored override value is corrupt: {err}"))
        })
    }

    /// Converts into the shared value type.
    pub fn into_flag_value(self) -> FlagValue {
        match self {
            StoredValue::Boolean(b) => FlagValue::Boolean(b),
            StoredValue::String(s) => FlagValue::String(s),
            StoredValue::Integer(i) => FlagValue::Integer(i),
            StoredValue::Float(f) => FlagValue::Float(f),
            StoredValue::Object(s) => FlagValue::Object(s),
        }
    }

    /// Converts to JSON for API responses and audit records.
    pub fn to_json(&self) -> serde_json::Value {
        self.clone().into_flag_value().to_json()
    }
}

impl From<FlagValue> for StoredValue {
    fn from(value: FlagValue) -> Self {
        match value {
            FlagValue::Boolean(b) => StoredValue::Boolean(b),
            FlagValue::String(s) => StoredValue::String(s),
            FlagValue::Integer(i) => StoredValue::Integer(i),
            FlagValue::Float(f) => StoredValue::Float(f),
            FlagValue::Object(s) => StoredValue::Object(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_transitions_follow_lifecycle() {
        use IntegratorStatus::*;
        assert!(Onboarding.next().contains(&Active));
        assert!(Suspended.next().contains(&Active));
        assert!(!Onboarding.next().contains(&Suspended));
        assert!(Offboarded.next().is_empty());
    }

    #[test]
    fn stored_value_round_trips_every_type() {
        let values = [
            StoredValue::Boolean(true),
            StoredValue::String("ü".into()),
            StoredValue::Integer(i64::MIN),
            StoredValue::Float(0.5),
            StoredValue::Object(r#"{"a":1}"#.into()),
        ];
        for value in values {
            assert_eq!(StoredValue::decode(&value.encode()).unwrap(), value);
        }
    }
}
