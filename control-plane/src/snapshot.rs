//! Snapshot publishing: build the snapshot of the current revision once,
//! then serve its bytes from memory.
//!
//! A build runs when a request finds the cached snapshot older than the
//! store revision, so a burst of writes costs one build, not one per
//! write. One build runs at a time; requests that arrive meanwhile wait
//! for it and reuse its result.

use std::ops::Range;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable};

use cascade_shared::{FlagValue, Snapshot, SnapshotBuilder};

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
    // Reading the table and feeding the builder take about as long as each
    // other at 1,000,000 rows, so a second thread reads while this one
    // feeds. Both use the same read transaction, so they see one revision.
    let table = txn.open_table(USER_OVERRIDES)?;
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<RowBatch, ApiError>>(8);
        scope.spawn(move || read_user_overrides(&table, &sender));
        for batch in receiver {
            let batch = batch?;
            for (tenant, user, flag, value) in batch.rows {
                let text = |range: std::ops::Range<usize>| &batch.text[range];
                builder
                    .user_override(text(tenant), text(user), text(flag), value)
                    .map_err(invalid)?;
            }
        }
        Ok::<(), ApiError>(())
    })?;
    builder.build().map_err(invalid)
}

/// User override rows passed from the reading thread: the text of every
/// id in one buffer, and each row's ranges into it.
struct RowBatch {
    text: String,
    rows: Vec<BatchRow>,
}

/// Ranges of the tenant id, user id and flag key in [`RowBatch::text`],
/// and the value.
type BatchRow = (Range<usize>, Range<usize>, Range<usize>, FlagValue);

const ROWS_PER_BATCH: usize = 4096;

/// Sends every user override in key order, in batches, then ends. Stops
/// early when the receiving side has gone, which happens on its error.
fn read_user_overrides(
    table: &ReadOnlyTable<(&'static str, &'static str, &'static str), &'static [u8]>,
    sender: &SyncSender<Result<RowBatch, ApiError>>,
) {
    let mut batch = RowBatch::empty();
    let rows = match table.iter() {
        Ok(rows) => rows,
        Err(err) => {
            let _ = sender.send(Err(err.into()));
            return;
        }
    };
    for row in rows {
        let decoded = row.map_err(ApiError::from).and_then(|(key, value)| {
            let (tenant, user, flag) = key.value();
            let value = StoredValue::decode(value.value())?.into_flag_value();
            let tenant = batch.push_text(tenant);
            let user = batch.push_text(user);
            let flag = batch.push_text(flag);
            batch.rows.push((tenant, user, flag, value));
            Ok(())
        });
        if let Err(err) = decoded {
            let _ = sender.send(Err(err));
            return;
        }
        if batch.rows.len() == ROWS_PER_BATCH {
            let full = std::mem::replace(&mut batch, RowBatch::empty());
            if sender.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if !batch.rows.is_empty() {
        let _ = sender.send(Ok(batch));
    }
}

impl RowBatch {
    fn empty() -> RowBatch {
        RowBatch {
            text: String::with_capacity(ROWS_PER_BATCH * 32),
            rows: Vec::with_capacity(ROWS_PER_BATCH),
        }
    }

    fn push_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ChangeContext, FlagRecord, TenantRecord, to_json};

    /// Fills a store directly, with more user overrides than one batch.
    fn filled_store(dir: &std::path::Path, users: usize) -> Store {
        let store = Store::open(&dir.join("s.redb")).expect("open");
        let context = ChangeContext {
            actor: "test".into(),
            request_id: "test".into(),
        };
        store
            .write_blocking(&context, |w| {
                let now = w.now();
                let flag = FlagRecord {
                    key: "beta".into(),
                    description: String::new(),
                    flag_type: cascade_shared::FlagType::Integer,
                    default: serde_json::json!(0),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                w.txn
                    .open_table(FLAGS)?
                    .insert("beta", to_json(&flag)?.as_slice())?;
                let mut tenants = w.txn.open_table(TENANTS)?;
                let mut overrides = w.txn.open_table(USER_OVERRIDES)?;
                for tenant in ["a", "b"] {
                    let record = TenantRecord {
                        id: tenant.into(),
                        display_name: tenant.into(),
                        description: None,
                        integrator: None,
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    };
                    tenants.insert(tenant, to_json(&record)?.as_slice())?;
                    for i in 0..users {
                        let value = StoredValue::Integer(i as i64).encode();
                        let user = format!("user-{i}");
                        overrides.insert((tenant, user.as_str(), "beta"), value.as_slice())?;
                    }
                }
                w.audit("test.fill", "tenants", Vec::new(), None, None);
                Ok(())
            })
            .expect("fill");
        store
    }

    #[test]
    fn build_reads_rows_across_batches() {
        let dir = tempfile::tempdir().expect("temp dir");
        let users = ROWS_PER_BATCH + 7;
        let store = filled_store(dir.path(), users);
        let published = build(&store).expect("build");

        let mut expected = SnapshotBuilder::new(published.revision);
        expected.flag("beta", FlagValue::Integer(0)).expect("flag");
        for tenant in ["a", "b"] {
            expected.tenant(tenant, None).expect("tenant");
            for i in 0..users {
                let user = format!("user-{i}");
                let value = FlagValue::Integer(i as i64);
                expected
                    .user_override(tenant, &user, "beta", value)
                    .expect("override");
            }
        }
        let expected = expected.build().expect("build").encode().expect("encode");
        assert_eq!(published.snapshot.user_override_count(), 2 * users);
        assert_eq!(published.bytes.as_ref(), expected.as_slice());
    }
}
