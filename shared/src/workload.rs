//! A deterministic benchmark workload: a hierarchy of realistic shape and
//! size, generated from a seed.
//!
//! Compiled only with the `workload` feature, so hosts never carry it.
//! [`Workload::generate`] returns the raw data, [`Workload::fill`] declares
//! it in a [`SnapshotBuilder`], [`Workload::sample_lookups`] picks requests
//! to evaluate, and [`HashMapBaseline`] evaluates the same requests with plain
//! `std` hash maps so that benchmarks can compare against it. Randomness
//! comes from an inline splitmix64, so the feature adds no dependency.

mod baseline;
mod names;

use std::collections::HashSet;

use crate::snapshot::{BuildError, Snapshot, SnapshotBuilder};
use crate::value::{FlagType, FlagValue};

pub use baseline::HashMapBaseline;

/// The seed of [`Workload::small`] and [`Workload::large`].
pub const DEFAULT_SEED: u64 = 0x00c0_ffee_cafe_f00d;

/// The dimensions of a generated hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadSize {
    pub flags: u32,
    pub integrators: u32,
    pub tenants: u32,
    /// Total user overrides. Each user gets 1 to 5 of them (3 on average),
    /// so there are about a third as many users.
    pub user_overrides: u32,
    /// Flags each integrator overrides, in percent of all flags.
    pub integrator_override_percent: u32,
    /// Flags each tenant overrides, in percent of all flags.
    pub tenant_override_percent: u32,
}

impl WorkloadSize {
    /// Size S: 200 flags, 50 integrators, 2,000 tenants, 100,000 user
    /// overrides.
    pub const SMALL: WorkloadSize = WorkloadSize {
        flags: 200,
        integrators: 50,
        tenants: 2_000,
        user_overrides: 100_000,
        integrator_override_percent: 10,
        tenant_override_percent: 5,
    };

    /// Size L: size S with 1,000,000 user overrides.
    pub const LARGE: WorkloadSize = WorkloadSize {
        user_overrides: 1_000_000,
        ..WorkloadSize::SMALL
    };
}

/// A flag and its platform default.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadFlag {
    pub key: String,
    pub default: FlagValue,
}

/// A tenant and the index of its integrator in [`Workload::integrators`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadTenant {
    pub id: String,
    pub integrator: Option<u32>,
}

/// A user with overrides, and the index of its tenant in
/// [`Workload::tenants`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadUser {
    pub tenant: u32,
    pub id: String,
}

/// An override of flag `flag` (index into [`Workload::flags`]) at scope
/// `scope`: an integrator, tenant or user index, depending on the list.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadOverride {
    pub scope: u32,
    pub flag: u32,
    pub value: FlagValue,
}

/// One evaluation request: tenant id, user id and flag key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub tenant: String,
    pub user: Option<String>,
    pub flag: String,
}

/// The raw data of a generated hierarchy. Every id is valid, no id repeats
/// in its scope and no override repeats, so a snapshot built from it contains
/// exactly these rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub size: WorkloadSize,
    pub seed: u64,
    pub flags: Vec<WorkloadFlag>,
    pub integrators: Vec<String>,
    pub tenants: Vec<WorkloadTenant>,
    pub integrator_overrides: Vec<WorkloadOverride>,
    pub tenant_overrides: Vec<WorkloadOverride>,
    pub users: Vec<WorkloadUser>,
    /// Overrides whose scope is an index into `users`.
    pub user_overrides: Vec<WorkloadOverride>,
}

impl Workload {
    /// Size S from [`DEFAULT_SEED`].
    pub fn small() -> Self {
        Workload::generate(WorkloadSize::SMALL, DEFAULT_SEED)
    }

    /// Size L from [`DEFAULT_SEED`].
    pub fn large() -> Self {
        Workload::generate(WorkloadSize::LARGE, DEFAULT_SEED)
    }

    /// Generates a hierarchy of `size`. The same size and seed always give
    /// the same data.
    ///
    /// About 70% of flags are boolean, 10% string, 8% integer, 6% float and
    /// 6% object, and about 90% of tenants belong to an integrator. Users
    /// are spread unevenly over tenants (in size S the busiest have
    /// hundreds). Their ids are emails, UUIDs, numeric ids and non-ASCII
    /// emails, and about 2% of users reuse the id of a user in another
    /// tenant.
    pub fn generate(size: WorkloadSize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let flags = generate_flags(&mut rng, size.flags);
        let integrators = (0..size.integrators)
            .map(|i| names::integrator_id(&mut rng, i))
            .collect();
        let tenants = (0..size.tenants)
            .map(|i| WorkloadTenant {
                id: names::tenant_id(&mut rng, i),
                integrator: (size.integrators > 0 && !rng.chance(10))
                    .then(|| rng.below(size.integrators)),
            })
            .collect();

        let per_integrator = size.flags * size.integrator_override_percent / 100;
        let integrator_overrides =
            scope_overrides(&mut rng, &flags, size.integrators, per_integrator);
        let per_tenant = size.flags * size.tenant_override_percent / 100;
        let tenant_overrides = scope_overrides(&mut rng, &flags, size.tenants, per_tenant);

        let mut workload = Workload {
            size,
            seed,
            flags,
            integrators,
            tenants,
            integrator_overrides,
            tenant_overrides,
            users: Vec::new(),
            user_overrides: Vec::new(),
        };
        workload.generate_users(&mut rng);
        workload
    }

    /// Declares every flag, integrator, tenant and override in `builder`.
    pub fn fill(&self, builder: &mut SnapshotBuilder) -> Result<(), BuildError> {
        for flag in &self.flags {
            builder.flag(&flag.key, flag.default.clone())?;
        }
        for integrator in &self.integrators {
            builder.integrator(integrator)?;
        }
        for tenant in &self.tenants {
            let integrator = tenant.integrator.map(|i| self.integrator(i));
            builder.tenant(&tenant.id, integrator)?;
        }
        for row in &self.integrator_overrides {
            let integrator = self.integrator(row.scope);
            builder.integrator_override(integrator, self.flag_key(row.flag), row.value.clone())?;
        }
        for row in &self.tenant_overrides {
            let tenant = self.tenant_id(row.scope);
            builder.tenant_override(tenant, self.flag_key(row.flag), row.value.clone())?;
        }
        for row in &self.user_overrides {
            let Some(user) = self.users.get(row.scope as usize) else {
                continue;
            };
            let tenant = self.tenant_id(user.tenant);
            let flag = self.flag_key(row.flag);
            builder.user_override(tenant, &user.id, flag, row.value.clone())?;
        }
        Ok(())
    }

    /// Builds the snapshot of this workload at `revision`.
    pub fn snapshot(&self, revision: u64) -> Result<Snapshot, BuildError> {
        let mut builder = SnapshotBuilder::new(revision);
        self.fill(&mut builder)?;
        builder.build()
    }

    /// Picks `count` evaluation requests from `seed`, in rotation: a user
    /// with a flag it overrides, a user with overrides and any flag, then
    /// two users without overrides in any tenant. So about a quarter of the
    /// values come from the user level.
    pub fn sample_lookups(&self, count: usize, seed: u64) -> Vec<Lookup> {
        let mut rng = SplitMix64::new(seed);
        let flag_count = self.flags.len() as u32;
        let mut lookups = Vec::with_capacity(count);
        if flag_count == 0 || self.tenants.is_empty() {
            return lookups;
        }
        for i in 0..count {
            let random_flag = self.flag_key(rng.below(flag_count)).to_owned();
            let with_overrides = !self.user_overrides.is_empty() && i % 4 < 2;
            let lookup = if with_overrides {
                let row = &self.user_overrides[rng.below_usize(self.user_overrides.len())];
                let user = &self.users[row.scope as usize];
                let flag = match i % 4 {
                    0 => self.flag_key(row.flag).to_owned(),
                    _ => random_flag,
                };
                Lookup {
                    tenant: self.tenant_id(user.tenant).to_owned(),
                    user: Some(user.id.clone()),
                    flag,
                }
            } else {
                let tenant = rng.below(self.tenants.len() as u32);
                Lookup {
                    tenant: self.tenant_id(tenant).to_owned(),
                    // Serials past every generated user make ids that no
                    // user has.
                    user: Some(names::user_id(&mut rng, u64::MAX / 2 + i as u64)),
                    flag: random_flag,
                }
            };
            lookups.push(lookup);
        }
        lookups
    }

    fn generate_users(&mut self, rng: &mut SplitMix64) {
        let size = self.size;
        if size.tenants == 0 || size.flags == 0 {
            return;
        }
        let mut used_ids: HashSet<(u32, String)> = HashSet::new();
        let mut remaining = size.user_overrides;
        while remaining > 0 {
            let serial = self.users.len() as u64;
            // Squaring a uniform draw skews users towards low tenant indexes.
            let unit = rng.unit();
            let tenant = ((unit * unit * f64::from(size.tenants)) as u32).min(size.tenants - 1);
            let reused = (!self.users.is_empty() && rng.chance(2))
                .then(|| self.users[rng.below_usize(self.users.len())].id.clone());
            let mut id = reused.unwrap_or_else(|| names::user_id(rng, serial));
            while used_ids.contains(&(tenant, id.clone())) {
                id = names::user_id(rng, serial);
            }
            used_ids.insert((tenant, id.clone()));

            let user = self.users.len() as u32;
            self.users.push(WorkloadUser { tenant, id });
            let count = (1 + rng.below(5)).min(remaining).min(size.flags);
            for flag in distinct_indexes(rng, size.flags, count) {
                let value = random_value(rng, self.flags[flag as usize].default.flag_type());
                self.user_overrides.push(WorkloadOverride {
                    scope: user,
                    flag,
                    value,
                });
            }
            remaining -= count;
        }
    }

    fn flag_key(&self, index: u32) -> &str {
        self.flags
            .get(index as usize)
            .map_or("", |f| f.key.as_str())
    }

    fn integrator(&self, index: u32) -> &str {
        self.integrators
            .get(index as usize)
            .map_or("", String::as_str)
    }

    fn tenant_id(&self, index: u32) -> &str {
        self.tenants
            .get(index as usize)
            .map_or("", |t| t.id.as_str())
    }
}

fn generate_flags(rng: &mut SplitMix64, count: u32) -> Vec<WorkloadFlag> {
    (0..count)
        .map(|i| {
            let flag_type = match rng.below(100) {
                0..70 => FlagType::Boolean,
                70..80 => FlagType::String,
                80..88 => FlagType::Integer,
                88..94 => FlagType::Float,
                _ => FlagType::Object,
            };
            WorkloadFlag {
                key: names::flag_key(rng, i),
                default: random_value(rng, flag_type),
            }
        })
        .collect()
}

/// Gives each of `scopes` scopes `per_scope` overrides of distinct flags.
fn scope_overrides(
    rng: &mut SplitMix64,
    flags: &[WorkloadFlag],
    scopes: u32,
    per_scope: u32,
) -> Vec<WorkloadOverride> {
    let mut rows = Vec::with_capacity((scopes * per_scope) as usize);
    for scope in 0..scopes {
        for flag in distinct_indexes(rng, flags.len() as u32, per_scope) {
            let value = random_value(rng, flags[flag as usize].default.flag_type());
            rows.push(WorkloadOverride { scope, flag, value });
        }
    }
    rows
}

/// Draws `count` distinct indexes below `len` (a partial Fisher-Yates
/// shuffle), in draw order.
fn distinct_indexes(rng: &mut SplitMix64, len: u32, count: u32) -> Vec<u32> {
    let mut indexes: Vec<u32> = (0..len).collect();
    let count = count.min(len) as usize;
    for i in 0..count {
        let j = i + rng.below_usize(indexes.len() - i);
        indexes.swap(i, j);
    }
    indexes.truncate(count);
    indexes
}

fn random_value(rng: &mut SplitMix64, flag_type: FlagType) -> FlagValue {
    match flag_type {
        FlagType::Boolean => FlagValue::Boolean(rng.chance(50)),
        FlagType::String => FlagValue::String(names::pick(rng, names::VARIANTS).to_owned()),
        FlagType::Integer => FlagValue::Integer(i64::from(rng.below(1_000))),
        FlagType::Float => FlagValue::Float(f64::from(rng.below(10_000)) / 100.0),
        FlagType::Object => {
            // Keys in sorted order and no spaces: the canonical form that
            // snapshots require for object values.
            let limit = rng.below(100);
            let tier = names::pick(rng, names::TIERS);
            FlagValue::Object(format!(r#"{{"limit":{limit},"tier":"{tier}"}}"#))
        }
    }
}

/// The splitmix64 generator (Steele, Lea and Flood, 2014): tiny, fast and
/// good enough for test data. Not for anything secret.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`, or 0 when `bound` is 0.
    pub(crate) fn below(&mut self, bound: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(bound)) >> 32) as u32
    }

    pub(crate) fn below_usize(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// True with a chance of `percent` in 100.
    pub(crate) fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }

    /// A float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Snapshot;

    fn tiny() -> WorkloadSize {
        WorkloadSize {
            flags: 40,
            integrators: 5,
            tenants: 60,
            user_overrides: 3_000,
            integrator_override_percent: 10,
            tenant_override_percent: 5,
        }
    }

    #[test]
    fn generate_same_seed_same_data() {
        assert_eq!(Workload::generate(tiny(), 7), Workload::generate(tiny(), 7));
        assert_ne!(Workload::generate(tiny(), 7), Workload::generate(tiny(), 8));
    }

    #[test]
    fn generate_small_has_requested_counts() {
        let workload = Workload::small();
        let size = WorkloadSize::SMALL;
        assert_eq!(workload.flags.len(), 200);
        assert_eq!(workload.integrators.len(), 50);
        assert_eq!(workload.tenants.len(), 2_000);
        assert_eq!(workload.user_overrides.len(), 100_000);
        assert_eq!(workload.integrator_overrides.len(), 50 * 20);
        assert_eq!(workload.tenant_overrides.len(), 2_000 * 10);
        assert_eq!(size.user_overrides, 100_000);
        let users = workload.users.len();
        assert!((25_000..=40_000).contains(&users), "{users} users");
        let booleans = workload
            .flags
            .iter()
            .filter(|f| f.default.flag_type() == FlagType::Boolean)
            .count();
        assert!((120..=160).contains(&booleans), "{booleans} boolean flags");
    }

    #[test]
    fn snapshot_keeps_every_override() {
        let workload = Workload::generate(tiny(), 3);
        let snapshot = workload.snapshot(1).unwrap();
        assert_eq!(snapshot.user_override_count(), 3_000);
        assert_eq!(snapshot.tenant_count(), 60);
        assert_eq!(snapshot.integrator_count(), 5);
        let bytes = snapshot.encode().unwrap();
        assert_eq!(Snapshot::decode(&bytes).unwrap(), snapshot);
    }

    #[test]
    fn user_ids_have_mixed_shapes() {
        let workload = Workload::generate(tiny(), 5);
        let ids = || workload.users.iter().map(|u| u.id.as_str());
        assert!(ids().any(|id| id.contains('@') && id.is_ascii()));
        assert!(ids().any(|id| id.len() == 36 && id.matches('-').count() == 4));
        assert!(ids().any(|id| id.bytes().all(|b| b.is_ascii_digit())));
        assert!(ids().any(|id| !id.is_ascii()));
        let mut seen = HashSet::new();
        let reused = ids().filter(|id| !seen.insert(*id)).count();
        assert!(reused > 0, "no user id appears in two tenants");
    }

    #[test]
    fn baseline_agrees_with_evaluator() {
        let workload = Workload::generate(tiny(), 11);
        let snapshot = workload.snapshot(1).unwrap();
        let baseline = HashMapBaseline::new(&workload);
        let lookups = workload.sample_lookups(2_000, 12);
        let mut user_level = 0;
        for lookup in &lookups {
            let user = lookup.user.as_deref();
            let expected = snapshot.evaluate(&lookup.tenant, user, &lookup.flag);
            let expected = expected.unwrap();
            let (value, level) = baseline
                .evaluate(&lookup.tenant, user, &lookup.flag)
                .unwrap();
            assert_eq!(value.as_ref(), expected.value, "{lookup:?}");
            assert_eq!(level, expected.level, "{lookup:?}");
            user_level += usize::from(level == crate::Level::User);
        }
        assert!(
            user_level >= lookups.len() / 5,
            "{user_level} values from the user level"
        );

        let lookup = &lookups[0];
        let user = lookup.user.as_deref();
        let all = snapshot.evaluate_all(&lookup.tenant, user).unwrap();
        let base = baseline.evaluate_all(&lookup.tenant, user);
        assert_eq!(all.len(), base.len());
        for (evaluation, (value, level)) in all.iter().zip(&base) {
            assert_eq!(evaluation.value, value.as_ref(), "{}", evaluation.key);
            assert_eq!(evaluation.level, *level, "{}", evaluation.key);
        }
    }

    #[test]
    fn below_stays_in_bound() {
        let mut rng = SplitMix64::new(1);
        assert!((0..10_000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
        assert!((0..10_000).all(|_| rng.below_usize(3) < 3));
        assert!((0..10_000).all(|_| (0.0..1.0).contains(&rng.unit())));
    }
}
