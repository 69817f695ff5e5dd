//! Bearer tokens, roles and the checks every handler makes.
//!
//! A token is `csc_` followed by 32 random bytes in base64url. The store
//! keeps only its SHA-256 hash; [`TokenCache`] maps hashes of live tokens
//! to their [`Principal`] in memory, so that authenticating a request does
//! not touch the database. The cache is loaded at start and updated after
//! each token change commits.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiError;
use crate::store::{TOKENS, TokenRecord, from_json};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything.
    PlatformAdmin,
    /// One integrator, its tenants and their overrides.
    IntegratorAdmin,
    /// Read-only access to everything, the audit log included.
    Auditor,
    /// `GET /v1/snapshot` only.
    Edge,
}

impl Role {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform-admin",
            Role::IntegratorAdmin => "integrator-admin",
            Role::Auditor => "auditor",
            Role::Edge => "edge",
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub role: Role,
    /// The integrator an integrator-admin is bound to.
    pub integrator: Option<String>,
}

impl Principal {
    /// The caller used for changes the service makes itself.
    pub fn system() -> Principal {
        Principal {
            token_id: "system".to_owned(),
            role: Role::PlatformAdmin,
            integrator: None,
        }
    }

    /// Allows only the listed roles.
    pub fn require(&self, allowed: &[Role], action: &str) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
            let role = self.role.as_str();
            let article = if role.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            Err(ApiError::Forbidden(format!(
                "{article} {role} token may not {action}; this needs one of: {}",
                names.join(", ")
            )))
        }
    }

    /// Allows platform admins only.
    pub fn require_platform_admin(&self, action: &str) -> Result<(), ApiError> {
        self.require(&[Role::PlatformAdmin], action)
    }

    /// Allows the roles that may read admin data: everyone but edge.
    pub fn require_reader(&self, action: &str) -> Result<(), ApiError> {
        self.require(
            &[Role::PlatformAdmin, Role::IntegratorAdmin, Role::Auditor],
            action,
        )
    }

    /// Allows the roles that may change tenants and their overrides.
    pub fn require_manager(&self, action: &str) -> Result<(), ApiError> {
        self.require(&[Role::PlatformAdmin, Role::IntegratorAdmin], action)
    }

    /// Checks that a resource owned by `owner` is in this caller's scope:
    /// an integrator-admin reaches only its own integrator's resources.
    pub fn check_scope(&self, owner: Option<&str>, what: &str) -> Result<(), ApiError> {
        if self.role != Role::IntegratorAdmin {
            return Ok(());
        }
        let own = self.integrator.as_deref();
        if own.is_some() && owner == own {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this integrator-admin token is bound to integrator {:?}, and {what} belongs to {}",
                own.unwrap_or(""),
                owner.map_or("no integrator".to_owned(), |o| format!("integrator {o:?}"))
            )))
        }
    }
}

/// Live tokens by hash.
#[derive(Debug, Default)]
pub struct TokenCache {
    by_hash: RwLock<HashMap<String, Principal>>,
}

impl TokenCache {
    /// Loads every unrevoked token from the store.
    pub fn load(txn: &redb::ReadTransaction) -> Result<TokenCache, ApiError> {
        use redb::ReadableTable;
        let table = txn.open_table(TOKENS)?;
        let mut by_hash = HashMap::new();
        for row in table.iter()? {
            let (_, bytes) = row?;
            let record: TokenRecord = from_json(bytes.value())?;
            if record.revoked_at.is_none() {
                by_hash.insert(record.hash.clone(), principal_of(&record));
            }
        }
        Ok(TokenCache {
            by_hash: RwLock::new(by_hash),
        })
    }

    /// Finds the principal of a presented token.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let hash = hash_token(token);
        let map = self.by_hash.read().unwrap_or_else(|e| e.into_inner());
        map.get(&hash).cloned()
    }

    /// Adds a committed token.
    pub fn insert(&self, record: &TokenRecord) {
        let mut map = self.by_hash.write().unwrap_or_else(|e| e.into_inner());
        map.insert(record.hash.clone(), principal_of(record));
    }

    /// Removes a revoked token.
    pub fn remove(&self, hash: &str) {
        let mut map = self.by_hash.write().unwrap_or_else(|e| e.into_inner());
        map.remove(hash);
    }
}

fn principal_of(record: &TokenRecord) -> Principal {
    Principal {
        token_id: record.id.clone(),
        role: record.role,
        integrator: record.integrator.clone(),
    }
}

/// A new token: its public id and its secret, shown once.
#[derive(Debug)]
pub struct NewToken {
    pub id: String,
    pub secret: String,
}

/// Generates a token id and secret from the operating system's RNG.
pub fn generate_token() -> NewToken {
    let mut rng = rand::rngs::OsRng;
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let mut id = [0u8; 8];
    rng.fill_bytes(&mut id);
    NewToken {
        id: format!("tok_{}", hex::encode(id)),
        secret: format!(
            "csc_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        ),
    }
}

/// Hex SHA-256 of a token secret.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The token of an `Authorization` value whose scheme is `Bearer`, in any
/// letter case as RFC 9110 allows.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized(
                "missing Authorization header; send Authorization: Bearer <token>".to_owned(),
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(bearer_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "Authorization header is not of the form Bearer <token>".to_owned(),
                )
            })?;
        state.tokens.authenticate(token).ok_or_else(|| {
            ApiError::Unauthorized(
                "unknown or revoked token; ask a platform admin for a valid token".to_owned(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_differ_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
        assert_eq!(hash_token(&a.secret), hash_token(&a.secret));
        assert_eq!(hash_token(&a.secret).len(), 64);
    }

    #[test]
    fn require_uses_an_before_vowel_roles() {
        for (role, start) in [
            (Role::IntegratorAdmin, "an integrator-admin token"),
            (Role::Auditor, "an auditor token"),
            (Role::Edge, "an edge token"),
        ] {
            let principal = Principal {
                token_id: "tok_1".into(),
                role,
                integrator: None,
            };
            let err = principal.require_platform_admin("do this").unwrap_err();
            assert!(err.to_string().starts_with(start), "{err}");
        }
    }

    #[test]
    fn integrator_admin_scope_rejects_other_owner() {
        let admin = Principal {
            token_id: "tok_1".into(),
            role: Role::IntegratorAdmin,
            integrator: Some("acme".into()),
        };
        assert!(admin.check_scope(Some("acme"), "tenant t").is_ok());
        assert!(admin.check_scope(Some("other"), "tenant t").is_err());
        assert!(admin.check_scope(None, "tenant t").is_err());
    }
}
