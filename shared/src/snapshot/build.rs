//! Building a snapshot from a hierarchy, as the control plane and tests do.

use std::collections::HashMap;

use crate::id::{self, IdError, IdKind};
use crate::value::{self, FlagType, FlagValue};

use super::Snapshot;
use super::wire::{Body, Override, WireFlag, WireIntegrator, WireTenant, WireUsers, WireValue};

/// Why a hierarchy could not become a snapshot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("{what} {id:?} is declared twice")]
    Duplicate { what: &'static str, id: String },
    #[error("{what} {id:?} is not declared; declare it before its overrides")]
    NotDeclared { what: &'static str, id: String },
    #[error("override of flag {flag:?} for {scope} has type {found}, but the flag is {expected}")]
    TypeMismatch {
        scope: String,
        flag: String,
        expected: FlagType,
        found: FlagType,
    },
    #[error("float value for flag {flag:?} is not finite")]
    NonFiniteFloat { flag: String },
    #[error(
        "object value for flag {flag:?} is not canonical JSON object text; \
         create it with FlagValue::from_json"
    )]
    NonCanonicalObject { flag: String },
    #[error("snapshot is too large: more than {max} {what}", max = u32::MAX)]
    TooLarge { what: &'static str },
}

/// Collects flags, integrators, tenants and overrides in any order, then
/// sorts and indexes them into a [`Snapshot`].
///
/// Flags, integrators and tenants must be declared before the overrides
/// that name them. Setting the same override twice keeps the last value.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    revision: u64,
    values: Vec<String>,
    value_index: HashMap<String, u32>,
    flags: Vec<WireFlag>,
    flag_index: HashMap<String, u32>,
    integrators: Vec<String>,
    integrator_index: HashMap<String, u32>,
    tenants: Vec<(String, Option<u32>)>,
    tenant_index: HashMap<String, u32>,
    integrator_overrides: Vec<(u32, u32, WireValue)>,
    tenant_overrides: Vec<(u32, u32, WireValue)>,
    user_overrides: Vec<(u32, String, u32, WireValue)>,
}

impl SnapshotBuilder {
    /// Starts an empty hierarchy at `revision`.
    pub fn new(revision: u64) -> Self {
        SnapshotBuilder {
            revision,
            ..SnapshotBuilder::default()
        }
    }

    /// Declares a flag with its platform default, which also fixes its type.
    pub fn flag(&mut self, key: &str, default: FlagValue) -> Result<&mut Self, BuildError> {
        id::validate_flag_key(key)?;
        let index = next_index(self.flags.len(), "flags")?;
        if self.flag_index.insert(key.to_owned(), index).is_some() {
            return Err(duplicate("flag", key));
        }
        let flag_type = default.flag_type();
        let default = self.intern(key, default)?;
        self.flags.push(WireFlag {
            key: key.to_owned(),
            flag_type,
            default,
        });
        Ok(self)
    }

    /// Declares an integrator.
    pub fn integrator(&mut self, id: &str) -> Result<&mut Self, BuildError> {
        id::validate_slug(IdKind::Integrator, id)?;
        let index = next_index(self.integrators.len(), "integrators")?;
        if self.integrator_index.insert(id.to_owned(), index).is_some() {
            return Err(duplicate("integrator", id));
        }
        self.integrators.push(id.to_owned());
        Ok(self)
    }

    /// Declares a tenant, optionally under a declared integrator.
    pub fn tenant(&mut self, id: &str, integrator: Option<&str>) -> Result<&mut Self, BuildError> {
        id::validate_slug(IdKind::Tenant, id)?;
        let integrator = match integrator {
            Some(integrator) => Some(lookup(&self.integrator_index, "integrator", integrator)?),
            None => None,
        };
        let index = next_index(self.tenants.len(), "tenants")?;
        if self.tenant_index.insert(id.to_owned(), index).is_some() {
            return Err(duplicate("tenant", id));
        }
        self.tenants.push((id.to_owned(), integrator));
        Ok(self)
    }

    /// Sets an integrator-level override.
    pub fn integrator_override(
        &mut self,
        integrator: &str,
        flag: &str,
        value: FlagValue,
    ) -> Result<&mut Self, BuildError> {
        let scope = lookup(&self.integrator_index, "integrator", integrator)?;
        let (flag, value) = self.typed(|| format!("integrator {integrator}"), flag, value)?;
        self.integrator_overrides.push((scope, flag, value));
        Ok(self)
    }

    /// Sets a tenant-level override.
    pub fn tenant_override(
        &mut self,
        tenant: &str,
        flag: &str,
        value: FlagValue,
    ) -> Result<&mut Self, BuildError> {
        let scope = lookup(&self.tenant_index, "tenant", tenant)?;
        let (flag, value) = self.typed(|| format!("tenant {tenant}"), flag, value)?;
        self.tenant_overrides.push((scope, flag, value));
        Ok(self)
    }

    /// Sets a user-level override for `user` inside `tenant`.
    pub fn user_override(
        &mut self,
        tenant: &str,
        user: &str,
        flag: &str,
        value: FlagValue,
    ) -> Result<&mut Self, BuildError> {
        let scope = lookup(&self.tenant_index, "tenant", tenant)?;
        id::validate_user_id(user)?;
        let (flag, value) =
            self.typed(|| format!("user {user:?} of tenant {tenant}"), flag, value)?;
        self.user_overrides
            .push((scope, user.to_owned(), flag, value));
        Ok(self)
    }

    /// Sorts and indexes everything into a snapshot.
    pub fn build(mut self) -> Result<Snapshot, BuildError> {
        let flag_order = sort_order(&self.flags, |f| f.key.as_str());
        let integrator_order = sort_order(&self.integrators, String::as_str);
        let tenant_order = sort_order(&self.tenants, |t| t.0.as_str());

        let flags = permute(std::mem::take(&mut self.flags), &flag_order);
        let integrators_sorted = permute(std::mem::take(&mut self.integrators), &integrator_order);
        let tenants_sorted = permute(std::mem::take(&mut self.tenants), &tenant_order);

        let mut integrator_overrides =
            remap(&self.integrator_overrides, &integrator_order, &flag_order);
        let integrator_ends = group_ends(&mut integrator_overrides, integrators_sorted.len());
        let integrators = integrators_sorted
            .into_iter()
            .zip(integrator_ends)
            .map(|(id, overrides_end)| WireIntegrator { id, overrides_end })
            .collect();

        let mut tenant_overrides = remap(&self.tenant_overrides, &tenant_order, &flag_order);
        let tenant_ends = group_ends(&mut tenant_overrides, tenants_sorted.len());

        let (users, user_overrides, users_ends) =
            self.users(&tenant_order, &flag_order, tenants_sorted.len())?;

        let tenants = tenants_sorted
            .into_iter()
            .zip(tenant_ends)
            .zip(users_ends)
            .map(
                |(((id, integrator), overrides_end), users_end)| WireTenant {
                    id,
                    integrator: integrator.map(|i| integrator_order[i as usize]),
                    overrides_end,
                    users_end,
                },
            )
            .collect();

        let body = Body {
            values: self.values,
            flags,
            integrators,
            integrator_overrides: strip(integrator_overrides),
            tenants,
            tenant_overrides: strip(tenant_overrides),
            users,
            user_overrides,
        };
        Ok(Snapshot::from_body(self.revision, body))
    }

    /// Groups user overrides by tenant, then user id bytes, then flag.
    fn users(
        &mut self,
        tenant_order: &[u32],
        flag_order: &[u32],
        tenant_count: usize,
    ) -> Result<(WireUsers, Vec<Override>, Vec<u32>), BuildError> {
        let mut rows = std::mem::take(&mut self.user_overrides);
        for row in &mut rows {
            row.0 = tenant_order[row.0 as usize];
            row.2 = flag_order[row.2 as usize];
        }
        // A stable sort keeps insertion order among equal keys, so the
        // dedup below can keep the last value set.
        rows.sort_by(|a, b| (a.0, a.1.as_bytes(), a.2).cmp(&(b.0, b.1.as_bytes(), b.2)));
        dedup_keep_last(&mut rows, |a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);

        let mut users = WireUsers::default();
        let mut overrides = Vec::with_capacity(rows.len());
        let mut users_ends = vec![0u32; tenant_count];
        let mut previous: Option<(u32, &str)> = None;
        for (tenant, user, flag, value) in &rows {
            if previous != Some((*tenant, user.as_str())) {
                if previous.is_some() {
                    users
                        .overrides_ends
                        .push(to_u32(overrides.len(), "user overrides")?);
                }
                users.ids.push_str(user);
                users
                    .id_ends
                    .push(to_u32(users.ids.len(), "user id bytes")?);
                users_ends[*tenant as usize] = to_u32(users.id_ends.len(), "users")?;
                previous = Some((*tenant, user.as_str()));
            }
            overrides.push(Override {
                flag: *flag,
                value: *value,
            });
        }
        if previous.is_some() {
            users
                .overrides_ends
                .push(to_u32(overrides.len(), "user overrides")?);
        }
        // Tenants without users end where the previous tenant ended.
        for i in 1..users_ends.len() {
            users_ends[i] = users_ends[i].max(users_ends[i - 1]);
        }
        Ok((users, overrides, users_ends))
    }

    fn typed(
        &mut self,
        scope: impl FnOnce() -> String,
        flag: &str,
        value: FlagValue,
    ) -> Result<(u32, WireValue), BuildError> {
        let index = lookup(&self.flag_index, "flag", flag)?;
        let expected = self.flags[index as usize].flag_type;
        if value.flag_type() != expected {
            return Err(BuildError::TypeMismatch {
                scope: scope(),
                flag: flag.to_owned(),
                expected,
                found: value.flag_type(),
            });
        }
        Ok((index, self.intern(flag, value)?))
    }

    fn intern(&mut self, flag: &str, value: FlagValue) -> Result<WireValue, BuildError> {
        Ok(match value {
            FlagValue::Boolean(b) => WireValue::Boolean(b),
            FlagValue::Integer(i) => WireValue::integer(i),
            FlagValue::Float(f) if !f.is_finite() => {
                return Err(BuildError::NonFiniteFloat {
                    flag: flag.to_owned(),
                });
            }
            FlagValue::Float(f) => WireValue::float(f),
            FlagValue::Object(s) if !value::is_canonical_object(&s) => {
                return Err(BuildError::NonCanonicalObject {
                    flag: flag.to_owned(),
                });
            }
            FlagValue::String(s) => WireValue::String(self.intern_text(s)?),
            FlagValue::Object(s) => WireValue::Object(self.intern_text(s)?),
        })
    }

    fn intern_text(&mut self, text: String) -> Result<u32, BuildError> {
        if let Some(index) = self.value_index.get(&text) {
            return Ok(*index);
        }
        let index = next_index(self.values.len(), "values")?;
        self.values.push(text.clone());
        self.value_index.insert(text, index);
        Ok(index)
    }
}

fn next_index(len: usize, what: &'static str) -> Result<u32, BuildError> {
    to_u32(len, what)
}

fn to_u32(value: usize, what: &'static str) -> Result<u32, BuildError> {
    u32::try_from(value).map_err(|_| BuildError::TooLarge { what })
}

fn duplicate(what: &'static str, id: &str) -> BuildError {
    BuildError::Duplicate {
        what,
        id: id.to_owned(),
    }
}

fn lookup(index: &HashMap<String, u32>, what: &'static str, id: &str) -> Result<u32, BuildError> {
    index
        .get(id)
        .copied()
        .ok_or_else(|| BuildError::NotDeclared {
            what,
            id: id.to_owned(),
        })
}

/// Returns, for each item's declaration index, its position in key order.
fn sort_order<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<u32> {
    let mut by_key: Vec<u32> = (0..items.len() as u32).collect();
    by_key.sort_unstable_by(|a, b| key(&items[*a as usize]).cmp(key(&items[*b as usize])));
    let mut position = vec![0u32; items.len()];
    for (new, old) in by_key.into_iter().enumerate() {
        position[old as usize] = new as u32;
    }
    position
}

fn permute<T>(items: Vec<T>, position: &[u32]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = Vec::with_capacity(items.len());
    slots.resize_with(items.len(), || None);
    for (old, item) in items.into_iter().enumerate() {
        slots[position[old] as usize] = Some(item);
    }
    slots.into_iter().flatten().collect()
}

fn remap(
    rows: &[(u32, u32, WireValue)],
    scope_order: &[u32],
    flag_order: &[u32],
) -> Vec<(u32, u32, WireValue)> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|(scope, flag, value)| {
            (
                scope_order[*scope as usize],
                flag_order[*flag as usize],
                *value,
            )
        })
        .collect();
    out.sort_by_key(|row| (row.0, row.1));
    dedup_keep_last(&mut out, |a, b| a.0 == b.0 && a.1 == b.1);
    out
}

/// Returns, for each scope, the end of its range in the sorted rows.
fn group_ends(rows: &mut [(u32, u32, WireValue)], scopes: usize) -> Vec<u32> {
    let mut ends = vec![0u32; scopes];
    for (i, row) in rows.iter().enumerate() {
        ends[row.0 as usize] = i as u32 + 1;
    }
    for i in 1..ends.len() {
        ends[i] = ends[i].max(ends[i - 1]);
    }
    ends
}

fn strip(rows: Vec<(u32, u32, WireValue)>) -> Vec<Override> {
    rows.into_iter()
        .map(|(_, flag, value)| Override { flag, value })
        .collect()
}

/// Removes consecutive duplicates, keeping the last of each run.
fn dedup_keep_last<T>(rows: &mut Vec<T>, same: impl Fn(&T, &T) -> bool) {
    let mut write = 0usize;
    for read in 0..rows.len() {
        if write > 0 && same(&rows[write - 1], &rows[read]) {
            rows.swap(write - 1, read);
        } else {
            rows.swap(write, read);
            write += 1;
        }
    }
    rows.truncate(write);
}
