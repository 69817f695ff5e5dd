//! The benchmark baseline: the cascade as a plain chain of `std` hash map
//! lookups, built from a workload's raw data.

use std::collections::HashMap;

use crate::eval::Level;
use crate::value::FlagValue;

use super::Workload;

/// The cascade over nested `HashMap`s keyed by `String`, with the default
/// SipHash hasher: what a straightforward implementation would hold in
/// memory. It skips id validation and reasons, so it does less work than
/// the evaluator.
#[derive(Debug, Default)]
pub struct HashMapBaseline {
    /// Flag keys in key order, as `evaluate_all` returns them.
    keys: Vec<String>,
    defaults: HashMap<String, FlagValue>,
    integrators: HashMap<String, HashMap<String, FlagValue>>,
    tenants: HashMap<String, BaselineTenant>,
}

#[derive(Debug, Default)]
struct BaselineTenant {
    integrator: Option<String>,
    overrides: HashMap<String, FlagValue>,
    users: HashMap<String, HashMap<String, FlagValue>>,
}

impl HashMapBaseline {
    /// Copies `workload` into hash maps.
    pub fn new(workload: &Workload) -> Self {
        let mut baseline = HashMapBaseline::default();
        for flag in &workload.flags {
            baseline.keys.push(flag.key.clone());
            baseline
                .defaults
                .insert(flag.key.clone(), flag.default.clone());
        }
        baseline.keys.sort_unstable();

        for row in &workload.integrator_overrides {
            let integrator = workload.integrator(row.scope).to_owned();
            let flag = workload.flag_key(row.flag).to_owned();
            let overrides = baseline.integrators.entry(integrator).or_default();
            overrides.insert(flag, row.value.clone());
        }
        for tenant in &workload.tenants {
            let entry = baseline.tenants.entry(tenant.id.clone()).or_default();
            entry.integrator = tenant.integrator.map(|i| workload.integrator(i).to_owned());
        }
        for row in &workload.tenant_overrides {
            let tenant = workload.tenant_id(row.scope).to_owned();
            let flag = workload.flag_key(row.flag).to_owned();
            let entry = baseline.tenants.entry(tenant).or_default();
            entry.overrides.insert(flag, row.value.clone());
        }
        for row in &workload.user_overrides {
            let Some(user) = workload.users.get(row.scope as usize) else {
                continue;
            };
            let tenant = workload.tenant_id(user.tenant).to_owned();
            let flag = workload.flag_key(row.flag).to_owned();
            let entry = baseline.tenants.entry(tenant).or_default();
            let overrides = entry.users.entry(user.id.clone()).or_default();
            overrides.insert(flag, row.value.clone());
        }
        baseline
    }

    /// Returns the value of `flag` and the level that decided it, or `None`
    /// for an unknown flag.
    pub fn evaluate(
        &self,
        tenant: &str,
        user: Option<&str>,
        flag: &str,
    ) -> Option<(&FlagValue, Level)> {
        let default = self.defaults.get(flag)?;
        let Some(tenant) = self.tenants.get(tenant) else {
            return Some((default, Level::Platform));
        };
        let user_value = user
            .and_then(|user| tenant.users.get(user))
            .and_then(|overrides| overrides.get(flag));
        if let Some(value) = user_value {
            return Some((value, Level::User));
        }
        if let Some(value) = tenant.overrides.get(flag) {
            return Some((value, Level::Tenant));
        }
        let integrator_value = tenant
            .integrator
            .as_ref()
            .and_then(|integrator| self.integrators.get(integrator))
            .and_then(|overrides| overrides.get(flag));
        match integrator_value {
            Some(value) => Some((value, Level::Integrator)),
            None => Some((default, Level::Platform)),
        }
    }

    /// Evaluates every flag in key order: one [`evaluate`](Self::evaluate)
    /// per flag.
    pub fn evaluate_all(&self, tenant: &str, user: Option<&str>) -> Vec<(&FlagValue, Level)> {
        self.keys
            .iter()
            .filter_map(|key| self.evaluate(tenant, user, key))
            .collect()
    }
}
