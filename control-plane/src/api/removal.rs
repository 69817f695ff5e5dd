//! Removal of a scope's overrides when the integrator or tenant itself is
//! deleted, in the same transaction. Each returns what it removed, for the
//! audit record.

use redb::ReadableTable;

use crate::error::ApiError;
use crate::store::{
    self, INTEGRATOR_OVERRIDES, StoredValue, TENANT_OVERRIDES, USER_OVERRIDES, Writer,
};

/// Removes every override of an integrator; returns them by flag key.
pub(crate) fn remove_integrator_overrides(
    w: &Writer<'_>,
    id: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let mut table = w.txn.open_table(INTEGRATOR_OVERRIDES)?;
    let mut removed = serde_json::Map::new();
    for row in table.range::<(&str, &str)>((id, "")..)? {
        let (key, value) = row?;
        let (scope, flag) = key.value();
        if scope != id {
            break;
        }
        removed.insert(
            flag.to_owned(),
            StoredValue::decode(value.value())?.to_json(),
        );
    }
    for flag in removed.keys() {
        table.remove((id, flag.as_str()))?;
        store::adjust_override_count(w, flag, -1)?;
    }
    Ok(removed)
}

/// Removes every tenant-level override of a tenant; returns them by flag key.
pub(crate) fn remove_tenant_overrides(
    w: &Writer<'_>,
    id: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let mut table = w.txn.open_table(TENANT_OVERRIDES)?;
    let mut removed = serde_json::Map::new();
    for row in table.range::<(&str, &str)>((id, "")..)? {
        let (key, value) = row?;
        let (scope, flag) = key.value();
        if scope != id {
            break;
        }
        removed.insert(
            flag.to_owned(),
            StoredValue::decode(value.value())?.to_json(),
        );
    }
    for flag in removed.keys() {
        table.remove((id, flag.as_str()))?;
        store::adjust_override_count(w, flag, -1)?;
    }
    Ok(removed)
}

/// Removes every user override in a tenant; returns them as a list.
pub(crate) fn remove_user_overrides(
    w: &Writer<'_>,
    id: &str,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let mut table = w.txn.open_table(USER_OVERRIDES)?;
    let mut removed = Vec::new();
    let mut keys = Vec::new();
    let mut per_flag: std::collections::BTreeMap<String, i64> = Default::default();
    for row in table.range::<(&str, &str, &str)>((id, "", "")..)? {
        let (key, value) = row?;
        let (scope, user, flag) = key.value();
        if scope != id {
            break;
        }
        removed.push(serde_json::json!({
            "user": user,
            "flag": flag,
            "value": StoredValue::decode(value.value())?.to_json(),
        }));
        keys.push((user.to_owned(), flag.to_owned()));
        *per_flag.entry(flag.to_owned()).or_default() -= 1;
    }
    for (user, flag) in &keys {
        table.remove((id, user.as_str(), flag.as_str()))?;
    }
    for (flag, delta) in per_flag {
        store::adjust_override_count(w, &flag, delta)?;
    }
    Ok(removed)
}
