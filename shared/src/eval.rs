//! The cascade evaluator: user, then tenant, then integrator, then the
//! platform default.

use std::fmt;

use crate::id::{self, IdError, IdKind};
use crate::snapshot::Snapshot;
use crate::snapshot::wire::{Override, WireValue};
use crate::value::{FlagType, ValueRef};

/// The level of the cascade that decided a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    User,
    Tenant,
    Integrator,
    Platform,
}

impl Level {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::User => "user",
            Level::Tenant => "tenant",
            Level::Integrator => "integrator",
            Level::Platform => "platform",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OpenFeature resolution reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The platform default of a known tenant: no override applied.
    Default,
    /// An integrator, tenant or user override applied.
    TargetingMatch,
    /// The tenant is not in the snapshot (it may be newer than the
    /// snapshot), so the platform default applies.
    UnknownTenant,
}

impl Reason {
    /// The reason string as OpenFeature and OFREP spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Default => "DEFAULT",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::UnknownTenant => "UNKNOWN_TENANT",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an evaluation has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    #[error("flag {key:?} not found")]
    FlagNotFound { key: String },
    #[error(transparent)]
    InvalidTenant(IdError),
    #[error(transparent)]
    InvalidUser(IdError),
}

impl EvalError {
    /// A stable code, matching OpenFeature error codes where one fits.
    pub fn code(&self) -> &'static str {
        match self {
            EvalError::FlagNotFound { .. } => "FLAG_NOT_FOUND",
            EvalError::InvalidTenant(_) | EvalError::InvalidUser(_) => "INVALID_CONTEXT",
        }
    }
}

/// The answer for one flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'a> {
    pub key: &'a str,
    pub flag_type: FlagType,
    pub value: ValueRef<'a>,
    pub level: Level,
    pub reason: Reason,
    pub revision: u64,
}

/// One level of an explanation, from user down to platform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExplainStep<'a> {
    pub level: Level,
    /// The id of the scope at this level (user, tenant or integrator id),
    /// or `None` when the level does not apply: no user given, a user with
    /// no overrides in this tenant, unknown tenant, or a tenant without an
    /// integrator. The platform has none.
    pub scope: Option<&'a str>,
    /// The override held at this level, or the default at platform level.
    pub value: Option<ValueRef<'a>>,
}

/// Every level of the cascade for one flag, and the resulting evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation<'a> {
    pub evaluation: Evaluation<'a>,
    /// User, tenant, integrator and platform, in that order.
    pub steps: [ExplainStep<'a>; 4],
}

/// The scopes that apply to one request, resolved once.
#[derive(Debug, Clone, Copy)]
struct Scopes {
    tenant: Option<u32>,
    integrator: Option<u32>,
    user: Option<u32>,
}

impl Snapshot {
    /// Evaluates one flag for `user` in `tenant`. Without a user, the
    /// cascade stops at the tenant level.
    pub fn evaluate(
        &self,
        tenant: &str,
        user: Option<&str>,
        key: &str,
    ) -> Result<Evaluation<'_>, EvalError> {
        let scopes = self.resolve(tenant, user)?;
        let flag = self.find_flag(key).ok_or_else(|| EvalError::FlagNotFound {
            key: key.to_owned(),
        })?;
        Ok(self.decide(&scopes, flag))
    }

    /// Evaluates every flag, in key order.
    pub fn evaluate_all(
        &self,
        tenant: &str,
        user: Option<&str>,
    ) -> Result<Vec<Evaluation<'_>>, EvalError> {
        let scopes = self.resolve(tenant, user)?;
        // Each override list is sorted by flag, so one pass over the flags
        // with a cursor per level finds every override without a search.
        let mut cursors = self
            .override_lists(&scopes)
            .map(|(level, list)| (level, list.iter().peekable()));
        let flag_count = self.body().flags.len() as u32;
        let mut evaluations = Vec::with_capacity(flag_count as usize);
        for flag in 0..flag_count {
            let mut found = None;
            for (level, cursor) in &mut cursors {
                while cursor.next_if(|item| item.flag < flag).is_some() {}
                if found.is_none() {
                    found = cursor
                        .next_if(|item| item.flag == flag)
                        .map(|item| (*level, item.value));
                }
            }
            evaluations.push(self.evaluation(&scopes, flag, found));
        }
        Ok(evaluations)
    }

    /// Lists each level for one flag: whether it applies, what it holds,
    /// and which level decided.
    pub fn explain(
        &self,
        tenant: &str,
        user: Option<&str>,
        key: &str,
    ) -> Result<Explanation<'_>, EvalError> {
        let scopes = self.resolve(tenant, user)?;
        let flag = self.find_flag(key).ok_or_else(|| EvalError::FlagNotFound {
            key: key.to_owned(),
        })?;
        let evaluation = self.decide(&scopes, flag);
        let default = self
            .body()
            .flags
            .get(flag as usize)
            .map(|f| self.value(f.default));

        let user_step = ExplainStep {
            level: Level::User,
            scope: scopes.user.map(|u| self.user_id(u)),
            value: scopes
                .user
                .and_then(|u| find_override(self.user_overrides(u), flag))
                .map(|v| self.value(v)),
        };
        let tenant_step = ExplainStep {
            level: Level::Tenant,
            scope: scopes.tenant.map(|t| self.tenant_id(t)),
            value: scopes
                .tenant
                .and_then(|t| find_override(self.tenant_overrides(t), flag))
                .map(|v| self.value(v)),
        };
        let integrator_step = ExplainStep {
            level: Level::Integrator,
            scope: scopes.integrator.map(|i| self.integrator_id(i)),
            value: scopes
                .integrator
                .and_then(|i| find_override(self.integrator_overrides(i), flag))
                .map(|v| self.value(v)),
        };
        let platform_step = ExplainStep {
            level: Level::Platform,
            scope: None,
            value: default,
        };
        Ok(Explanation {
            evaluation,
            steps: [user_step, tenant_step, integrator_step, platform_step],
        })
    }

    fn resolve(&self, tenant: &str, user: Option<&str>) -> Result<Scopes, EvalError> {
        id::validate_slug(IdKind::Tenant, tenant).map_err(EvalError::InvalidTenant)?;
        if let Some(user) = user {
            id::validate_user_id(user).map_err(EvalError::InvalidUser)?;
        }
        let tenant = self.find_tenant(tenant);
        let integrator = tenant.and_then(|t| self.tenant_integrator(t));
        let user = match (tenant, user) {
            (Some(t), Some(u)) => self.find_user(t, u),
            _ => None,
        };
        Ok(Scopes {
            tenant,
            integrator,
            user,
        })
    }

    /// Returns the override lists that apply, from the user level up. A
    /// level without a scope gets an empty list.
    fn override_lists(&self, scopes: &Scopes) -> [(Level, &[Override]); 3] {
        [
            (Level::User, scopes.user.map(|u| self.user_overrides(u))),
            (
                Level::Tenant,
                scopes.tenant.map(|t| self.tenant_overrides(t)),
            ),
            (
                Level::Integrator,
                scopes.integrator.map(|i| self.integrator_overrides(i)),
            ),
        ]
        .map(|(level, list)| (level, list.unwrap_or_default()))
    }

    fn decide(&self, scopes: &Scopes, flag: u32) -> Evaluation<'_> {
        let found = self
            .override_lists(scopes)
            .into_iter()
            .find_map(|(level, list)| find_override(list, flag).map(|value| (level, value)));
        self.evaluation(scopes, flag, found)
    }

    /// Builds the evaluation of `flag` from the override that decided it,
    /// if any.
    fn evaluation(
        &self,
        scopes: &Scopes,
        flag: u32,
        found: Option<(Level, WireValue)>,
    ) -> Evaluation<'_> {
        let info = &self.body().flags[flag as usize];
        let (level, value, reason) = match found {
            Some((level, value)) => (level, value, Reason::TargetingMatch),
            None if scopes.tenant.is_none() => {
                (Level::Platform, info.default, Reason::UnknownTenant)
            }
            None => (Level::Platform, info.default, Reason::Default),
        };
        Evaluation {
            key: &info.key,
            flag_type: info.flag_type,
            value: self.value(value),
            level,
            reason,
            revision: self.revision(),
        }
    }
}

fn find_override(overrides: &[Override], flag: u32) -> Option<WireValue> {
    overrides
        .binary_search_by_key(&flag, |o| o.flag)
        .ok()
        .and_then(|i| overrides.get(i))
        .map(|o| o.value)
}
