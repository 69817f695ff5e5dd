//! Snapshot publishing: build the snapshot of the current revision once,
//! then serve its bytes from memory.
//!
//! A build runs when a request finds the cached snapshot older than the
//! store revision, so a burst of writes costs one build, not one per
//! write. One build runs at a time; requests that arrive meanwhile wait
//! for it and reuse its result.

use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use redb::{ReadTransaction, ReadableTable};

use cascade_shared::{Snapshot, SnapshotBuilder};

use crate::error::ApiError;
use crate::store::{
    FLAGS, FlagRecord, INTEGRATOR_OVERRIDES, INTEGRATORS, Store, StoredValue, TENANT_OVERRIDES,
    TENANTS, TenantRecord, USER_OVERRIDES, from_json, read_revision,
};

/// A built snapshot: its bytes for the edge and the decoded form for
/// previews.
#[derive(Debug)]
pub struct Published {
    pub revision: u64,
    pub bytes: Bytes,
    pub snapshot: Snapshot,
}

impl Published {
    /// The entity tag of this snapshot, such as `"r42"`.
    pub fn etag(&self) -> String {
        revision_etag(self.revision)
    }
}

/// The entity tag of the snapshot at `revision`.
pub fn revision_etag(revision: u64) -> String {
    format!("\"r{revision}\"")
}

/// The latest built snapshot.
#[derive(Debug, Default)]
pub struct SnapshotCache {
    current: RwLock<Option<Arc<Published>>>,
    build_lock: tokio::sync::Mutex<()>,
}

impl SnapshotCache {
    /// Returns the snapshot of the store's current revision, building it
    /// first when the cached one is older.
    pub async fn current(&self, store: &Store) -> Result<Arc<Published>, ApiError> {
        if let Some(published) = self.cached_at_least(store.revision()) {
            return Ok(published);
        }
        let _guard = self.build_lock.lock().await;
        if let Some(published) = self.cached_at_least(store.revision()) {
            return Ok(published);
        }
        let store_for_build = store.clone();
        let published = tokio::task::spawn_blocking(move || build(&store_for_build))
            .await
            .map_err(|err| ApiError::Internal(format!("snapshot build task failed: {err}")))??;
        let published = Arc::new(published);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let newer = current
            .as_ref()
            .is_none_or(|c| c.revision < published.revision);
        if newer {
            *current = Some(published.clone());
        }
        tracing::info!(
            revision = published.revision,
            bytes = published.bytes.len(),
            "snapshot built"
        );
        Ok(published)
    }

    fn cached_at_least(&self, revision: u64) -> Option<Arc<Published>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().filter(|c| c.revision >= revision).cloned()
    }
}

/// Builds and encodes the snapshot of the store's committed state.
pub fn build(store: &Store) -> Result<Published, ApiError> {
    store.read_blocking(|txn| {
        let snapshot = build_snapshot(txn)?;
        let bytes = snapshot
            .encode()
            .map_err(|err| ApiError::Internal(format!("snapshot encoding failed: {err}")))?;
        Ok(Published {
            revision: snapshot.revision(),
            bytes: Bytes::from(bytes),
            snapshot,
        })
    })
}

/// Feeds every table, in key order, to a [`SnapshotBuilder`].
pub fn build_snapshot(txn: &ReadTransaction) -> Result<Snapshot, ApiError> {
    let revision = read_revision(txn)?;
    let mut builder = SnapshotBuilder::new(revision);
    let invalid = |err: cascade_shared::BuildError| {
        ApiError::Storage(format!("stored data does not form a valid snapshot: {err}"))
    };

    for row in txn.open_table(FLAGS)?.iter()? {
        let (_, value) = row?;
        let flag: FlagRecord = from_json(value.value())?;
        let default = flag
            .default_value()
            .map_err(|err| ApiError::Storage(format!("stored default is invalid: {err}")))?;
        builder.flag(&flag.key, default).map_err(invalid)?;
    }
    for row in txn.open_table(INTEGRATORS)?.iter()? {
        let (key, _) = row?;
        builder.integrator(key.value()).map_err(invalid)?;
    }
    for row in txn.open_table(TENANTS)?.iter()? {
        let (_, value) = row?;
        let tenant: TenantRecord = from_json(value.value())?;
        builder
            .tenant(&tenant.id, tenant.integrator.as_deref())
            .map_err(invalid)?;
    }
    for row in txn.open_table(INTEGRATOR_OVERRIDES)?.iter()? {
        let (key, value) = row?;
        let (integrator, flag) = key.value();
        let value = StoredValue::decode(value.value())?.into_flag_value();
        builder
            .integrator_override(integrator, flag, value)
            .map_err(invalid)?;
    }
    for row in txn.open_table(TENANT_OVERRIDES)?.iter()? {
        let (key, value) = row?;
        let (tenant, flag) = key.value();
        let value = StoredValue::decode(value.value())?.into_flag_value();
        builder
            .tenant_override(tenant, flag, value)
            .map_err(invalid)?;
    }
    for row in txn.open_table(USER_OVERRIDES)?.iter()? {
        let (key, value) = row?;
        let (tenant, user, flag) = key.value();
        let value = StoredValue::decode(value.value())?.into_flag_value();
        builder
            .user_override(tenant, user, flag, value)
            .map_err(invalid)?;
    }
    builder.build().map_err(invalid)
}
