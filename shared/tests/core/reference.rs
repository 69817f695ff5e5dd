//! An obviously correct reference for the cascade, on plain nested maps,
//! and a proptest strategy for random hierarchies.
//!
//! Ids come from small pools so that random hierarchies share ids often.
//! The pools include flag keys and user ids that differ only by case, user
//! ids that are prefixes of each other, and ids a hierarchy may not declare.

use std::collections::BTreeMap;

use cascade_shared::{FlagType, FlagValue, Level, Reason, Snapshot, SnapshotBuilder};
use proptest::prelude::*;

pub const FLAG_KEYS: [&str; 8] = ["A", "Beta", "Zeta", "a", "b-1", "beta", "beta.x", "z_z"];
pub const INTEGRATORS: [&str; 3] = ["acme", "globex", "initech"];
pub const TENANTS: [&str; 5] = ["a", "t1", "t2", "t3", "tenant-a"];
pub const USERS: [&str; 8] = [
    "Alice",
    "a",
    "aa",
    "alice",
    "zoe\u{308}",
    "zoë",
    "🦀",
    "用户",
];

/// Returns a 256-byte user id, the longest allowed.
pub fn long_user() -> String {
    "x".repeat(256)
}

/// One tenant of the reference: its integrator and overrides.
#[derive(Debug, Clone, Default)]
pub struct RefTenant {
    pub integrator: Option<String>,
    pub overrides: BTreeMap<String, FlagValue>,
    pub users: BTreeMap<String, BTreeMap<String, FlagValue>>,
}

/// The whole hierarchy as nested maps. `BTreeMap<String, _>` orders keys by
/// bytes, which is the order the snapshot promises for flags.
#[derive(Debug, Clone, Default)]
pub struct Hierarchy {
    pub revision: u64,
    pub flags: BTreeMap<String, FlagValue>,
    pub integrators: BTreeMap<String, BTreeMap<String, FlagValue>>,
    pub tenants: BTreeMap<String, RefTenant>,
}

/// The reference result of one evaluation, or an error code.
pub type RefResult = Result<(FlagValue, Level, Reason), &'static str>;

impl Hierarchy {
    /// Evaluates by walking the maps: user, tenant, integrator, platform.
    pub fn evaluate(&self, tenant: &str, user: Option<&str>, flag: &str) -> RefResult {
        self.check_context(tenant, user)?;
        let default = self.flags.get(flag).ok_or("FLAG_NOT_FOUND")?;
        let Some(scope) = self.tenants.get(tenant) else {
            return Ok((default.clone(), Level::Platform, Reason::UnknownTenant));
        };

        let user_value = user
            .and_then(|u| scope.users.get(u))
            .and_then(|o| o.get(flag));
        if let Some(value) = user_value {
            return Ok((value.clone(), Level::User, Reason::TargetingMatch));
        }
        if let Some(value) = scope.overrides.get(flag) {
            return Ok((value.clone(), Level::Tenant, Reason::TargetingMatch));
        }
        let integrator_value = scope
            .integrator
            .as_ref()
            .and_then(|i| self.integrators.get(i))
            .and_then(|o| o.get(flag));
        if let Some(value) = integrator_value {
            return Ok((value.clone(), Level::Integrator, Reason::TargetingMatch));
        }
        Ok((default.clone(), Level::Platform, Reason::Default))
    }

    /// Checks ids the way every evaluator entry point does, before it
    /// looks anything up.
    pub fn check_context(&self, tenant: &str, user: Option<&str>) -> Result<(), &'static str> {
        let tenant_ok = cascade_shared::TenantId::new(tenant).is_ok();
        let user_ok = user.is_none_or(|u| cascade_shared::UserId::new(u).is_ok());
        if tenant_ok && user_ok {
            Ok(())
        } else {
            Err("INVALID_CONTEXT")
        }
    }
}

/// One change to apply, in order, to both the builder and the reference.
#[derive(Debug, Clone)]
pub enum Change {
    Integrator {
        integrator: usize,
        flag: usize,
        seed: u64,
    },
    Tenant {
        tenant: usize,
        flag: usize,
        seed: u64,
    },
    User {
        tenant: usize,
        user: usize,
        flag: usize,
        seed: u64,
    },
}

/// The generated input: declarations, then changes in order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub revision: u64,
    /// Flag key index and (type, seed) of the default.
    pub flags: Vec<(usize, u8, u64)>,
    pub integrators: Vec<usize>,
    /// Tenant index and optional integrator position in `integrators`.
    pub tenants: Vec<(usize, Option<usize>)>,
    pub changes: Vec<Change>,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..8usize, 0..8usize, any::<u64>()).prop_map(|(integrator, flag, seed)| {
            Change::Integrator {
                integrator,
                flag,
                seed,
            }
        }),
        (0..8usize, 0..8usize, any::<u64>()).prop_map(|(tenant, flag, seed)| Change::Tenant {
            tenant,
            flag,
            seed
        }),
        (0..8usize, 0..10usize, 0..8usize, any::<u64>()).prop_map(|(tenant, user, flag, seed)| {
            Change::User {
                tenant,
                user,
                flag,
                seed,
            }
        }),
    ]
}

/// Random plans: up to 8 flags, 3 integrators, 5 tenants, 40 changes.
pub fn plan() -> impl Strategy<Value = Plan> {
    (
        any::<u64>(),
        proptest::collection::vec((0..8usize, 0..5u8, any::<u64>()), 0..8),
        proptest::sample::subsequence((0..3usize).collect::<Vec<_>>(), 0..=3),
        proptest::collection::vec((0..5usize, proptest::option::of(0..3usize)), 0..6),
        proptest::collection::vec(change(), 0..40),
    )
        .prop_map(|(revision, flags, integrators, tenants, changes)| Plan {
            revision,
            flags,
            integrators,
            tenants,
            changes,
        })
}

/// Returns the user id for a pool index: the pool, then a 256-byte id.
pub fn user_id(index: usize) -> String {
    USERS
        .get(index)
        .map_or_else(long_user, |user| (*user).to_owned())
}

/// Picks a value of `flag_type` by `seed`, including edge values.
pub fn value(flag_type: FlagType, seed: u64) -> FlagValue {
    match flag_type {
        FlagType::Boolean => FlagValue::Boolean(seed.is_multiple_of(2)),
        FlagType::String => {
            let texts = ["", "on", "off", "ünï 🦀", "\"quoted\" \\"];
            FlagValue::String(texts[(seed % 5) as usize].to_owned())
        }
        FlagType::Integer => FlagValue::Integer(match seed % 4 {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => (seed % 2001) as i64 - 1000,
        }),
        FlagType::Float => {
            let floats = [0.0, -0.0, 1.5, -2.25, 1e300, f64::MIN_POSITIVE, 0.1];
            FlagValue::Float(floats[(seed % 7) as usize])
        }
        FlagType::Object => {
            let objects = [
                "{}".to_owned(),
                format!("{{\"n\":{}}}", seed % 100),
                r#"{"a":[1,"x",null],"b":{"c":true}}"#.to_owned(),
            ];
            FlagValue::Object(objects[(seed % 3) as usize].clone())
        }
    }
}

pub fn flag_type(code: u8) -> FlagType {
    match code % 5 {
        0 => FlagType::Boolean,
        1 => FlagType::String,
        2 => FlagType::Integer,
        3 => FlagType::Float,
        _ => FlagType::Object,
    }
}

impl Plan {
    /// Applies the plan to a builder and to the reference maps. Changes
    /// that name an undeclared scope or flag are skipped in both.
    pub fn realize(&self) -> (Snapshot, Hierarchy) {
        let mut builder = SnapshotBuilder::new(self.revision);
        let mut reference = Hierarchy {
            revision: self.revision,
            ..Hierarchy::default()
        };

        let mut flags: Vec<(&str, FlagType)> = Vec::new();
        for &(key, type_code, seed) in &self.flags {
            let key = FLAG_KEYS[key];
            if flags.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let flag_type = flag_type(type_code);
            builder.flag(key, value(flag_type, seed)).unwrap();
            reference
                .flags
                .insert(key.to_owned(), value(flag_type, seed));
            flags.push((key, flag_type));
        }

        let integrators: Vec<&str> = self.integrators.iter().map(|&i| INTEGRATORS[i]).collect();
        for id in &integrators {
            builder.integrator(id).unwrap();
            reference
                .integrators
                .insert((*id).to_owned(), BTreeMap::new());
        }

        let mut tenants: Vec<&str> = Vec::new();
        for &(tenant, integrator) in &self.tenants {
            let id = TENANTS[tenant];
            if tenants.contains(&id) {
                continue;
            }
            let integrator = integrator.and_then(|i| integrators.get(i).copied());
            builder.tenant(id, integrator).unwrap();
            let entry = RefTenant {
                integrator: integrator.map(str::to_owned),
                ..RefTenant::default()
            };
            reference.tenants.insert(id.to_owned(), entry);
            tenants.push(id);
        }

        for change in &self.changes {
            self.apply(
                change,
                &flags,
                &integrators,
                &tenants,
                &mut builder,
                &mut reference,
            );
        }
        (builder.build().unwrap(), reference)
    }

    fn apply(
        &self,
        change: &Change,
        flags: &[(&str, FlagType)],
        integrators: &[&str],
        tenants: &[&str],
        builder: &mut SnapshotBuilder,
        reference: &mut Hierarchy,
    ) {
        let pick = |flag: usize, seed: u64| {
            flags
                .get(flag)
                .map(|(key, flag_type)| (*key, value(*flag_type, seed)))
        };
        match *change {
            Change::Integrator {
                integrator,
                flag,
                seed,
            } => {
                let (Some(id), Some((key, value))) =
                    (integrators.get(integrator), pick(flag, seed))
                else {
                    return;
                };
                builder.integrator_override(id, key, value.clone()).unwrap();
                let overrides = reference.integrators.get_mut(*id).unwrap();
                overrides.insert(key.to_owned(), value);
            }
            Change::Tenant { tenant, flag, seed } => {
                let (Some(id), Some((key, value))) = (tenants.get(tenant), pick(flag, seed)) else {
                    return;
                };
                builder.tenant_override(id, key, value.clone()).unwrap();
                let scope = reference.tenants.get_mut(*id).unwrap();
                scope.overrides.insert(key.to_owned(), value);
            }
            Change::User {
                tenant,
                user,
                flag,
                seed,
            } => {
                let (Some(id), Some((key, value))) = (tenants.get(tenant), pick(flag, seed)) else {
                    return;
                };
                let user = user_id(user);
                builder
                    .user_override(id, &user, key, value.clone())
                    .unwrap();
                let scope = reference.tenants.get_mut(*id).unwrap();
                let overrides = scope.users.entry(user).or_default();
                overrides.insert(key.to_owned(), value);
            }
        }
    }
}
