//! The redb store: every table, and the one way to change them.
//!
//! redb is a synchronous, file-backed B-tree: a commit waits for `fsync`,
//! and a second writer blocks until the first commits. Both would stall a
//! tokio worker thread, so [`Store::read`] and [`Store::write`] run their
//! closures on the blocking thread pool (`spawn_blocking`).
//!
//! [`Store::write`] is the only path that changes data. Its closure makes
//! the change and records one or more audit entries through [`Writer`];
//! the store then bumps the revision, appends the audit records and commits
//! all of it in one write transaction, or nothing at all.
//!
//! Tables are keyed so that iteration order is snapshot order: flags by
//! key, integrators and tenants by id, overrides by (scope, flag) and user
//! overrides by (tenant, user, flag). redb compares `&str` tuple elements
//! byte by byte, which is the order the snapshot uses.

mod records;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use tokio::sync::watch;

use crate::auth::Principal;
use crate::error::ApiError;

pub use records::{
    AuditRecord, Contact, ContactRole, FlagRecord, IntegratorRecord, IntegratorStatus,
    StatusChange, StoredValue, TenantRecord, TokenRecord,
};

/// Counters: the store revision and the last audit record id.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Integrator id -> JSON [`IntegratorRecord`].
pub const INTEGRATORS: TableDefinition<&str, &[u8]> = TableDefinition::new("integrators");
/// Tenant id -> JSON [`TenantRecord`].
pub const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
/// (integrator id, tenant id) for every associated tenant.
pub const TENANTS_BY_INTEGRATOR: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("tenants_by_integrator");
/// Flag key -> JSON [`FlagRecord`].
pub const FLAGS: TableDefinition<&str, &[u8]> = TableDefinition::new("flags");
/// Flag key -> number of overrides of that flag at every level.
pub const FLAG_OVERRIDE_COUNTS: TableDefinition<&str, u64> =
    TableDefinition::new("flag_override_counts");
/// (integrator id, flag key) -> postcard [`StoredValue`].
pub const INTEGRATOR_OVERRIDES: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("integrator_overrides");
/// (tenant id, flag key) -> postcard [`StoredValue`].
pub const TENANT_OVERRIDES: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("tenant_overrides");
/// (tenant id, user id, flag key) -> postcard [`StoredValue`].
pub const USER_OVERRIDES: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("user_overrides");
/// Token id -> JSON [`TokenRecord`].
pub const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");
/// Audit record id -> JSON [`AuditRecord`].
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

const REVISION_KEY: &str = "revision";
const AUDIT_SEQ_KEY: &str = "audit_seq";

/// The database and the revision watch that long-polls wait on.
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<Database>,
    revision: Arc<watch::Sender<u64>>,
}

/// Who makes a change and under which request id, for the audit record.
#[derive(Debug, Clone)]
pub struct ChangeContext {
    pub actor: String,
    pub request_id: String,
}

impl ChangeContext {
    /// The context of a change made by `principal` in request `request_id`.
    pub fn new(principal: &Principal, request_id: &str) -> Self {
        ChangeContext {
            actor: principal.token_id.clone(),
            request_id: request_id.to_owned(),
        }
    }
}

/// A change in progress: the open write transaction plus the audit
/// entries that will commit with it.
#[allow(missing_debug_implementations)]
pub struct Writer<'a> {
    pub txn: &'a WriteTransaction,
    actor: &'a str,
    revision: u64,
    now: jiff::Timestamp,
    entries: Vec<AuditEntry>,
}

/// One audit entry before it gets its id, time and request id.
#[derive(Debug)]
pub struct AuditEntry {
    pub action: &'static str,
    pub target: String,
    pub integrators: Vec<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Writer<'_> {
    /// The revision this change commits as; records use it as their version.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The id of the token that makes this change.
    pub fn actor(&self) -> &str {
        self.actor
    }

    /// The time of this change.
    pub fn now(&self) -> jiff::Timestamp {
        self.now
    }

    /// Records an audit entry. `integrators` lists the integrators whose
    /// admins may read the entry.
    pub fn audit(
        &mut self,
        action: &'static str,
        target: impl Into<String>,
        integrators: Vec<String>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) {
        self.entries.push(AuditEntry {
            action,
            target: target.into(),
            integrators,
            before,
            after,
        });
    }
}

impl Store {
    /// Opens the database at `path`, creating it, its parent directory and
    /// every table on first start.
    pub fn open(path: &Path) -> Result<Store, ApiError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|err| {
                ApiError::Storage(format!(
                    "cannot create data directory {}: {err}",
                    parent.display()
                ))
            })?;
        }
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        {
            txn.open_table(META)?;
            txn.open_table(INTEGRATORS)?;
            txn.open_table(TENANTS)?;
            txn.open_table(TENANTS_BY_INTEGRATOR)?;
            txn.open_table(FLAGS)?;
            txn.open_table(FLAG_OVERRIDE_COUNTS)?;
            txn.open_table(INTEGRATOR_OVERRIDES)?;
            txn.open_table(TENANT_OVERRIDES)?;
            txn.open_table(USER_OVERRIDES)?;
            txn.open_table(TOKENS)?;
            txn.open_table(AUDIT)?;
        }
        txn.commit()?;
        let revision = read_revision(&db.begin_read()?)?;
        let (sender, _) = watch::channel(revision);
        Ok(Store {
            db: Arc::new(db),
            revision: Arc::new(sender),
        })
    }

    /// The revision of the last committed change.
    pub fn revision(&self) -> u64 {
        *self.revision.borrow()
    }

    /// A receiver that changes whenever a change commits.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }

    /// Counts the live receivers of [`Store::subscribe`], such as snapshot
    /// requests that are being held.
    pub fn subscriber_count(&self) -> usize {
        self.revision.receiver_count()
    }

    /// Runs `f` in a read transaction on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, ApiError> + Send + 'static,
    {
        let db = self.db.clone();
        run_blocking(move || {
            let txn = db.begin_read()?;
            f(&txn)
        })
        .await
    }

    /// Runs `f` in a write transaction on the blocking pool. When `f`
    /// succeeds and recorded at least one audit entry, the revision is
    /// bumped, the audit records appended and everything committed
    /// durably; when `f` records nothing, the transaction is dropped and
    /// the revision stays. Returns `f`'s value and the committed revision.
    pub async fn write<T, F>(&self, context: ChangeContext, f: F) -> Result<(T, u64), ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Writer<'_>) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.clone();
        run_blocking(move || store.write_blocking(&context, f)).await
    }

    /// The synchronous body of [`Store::write`], for startup code.
    pub fn write_blocking<T, F>(&self, context: &ChangeContext, f: F) -> Result<(T, u64), ApiError>
    where
        F: FnOnce(&mut Writer<'_>) -> Result<T, ApiError>,
    {
        let txn = self.db.begin_write()?;
        let (revision, audit_seq) = {
            let meta = txn.open_table(META)?;
            let revision = meta.get(REVISION_KEY)?.map_or(0, |v| v.value());
            let audit_seq = meta.get(AUDIT_SEQ_KEY)?.map_or(0, |v| v.value());
            (revision, audit_seq)
        };
        let mut writer = Writer {
            txn: &txn,
            actor: &context.actor,
            revision: revision + 1,
            now: jiff::Timestamp::now(),
            entries: Vec::new(),
        };
        let value = f(&mut writer)?;
        if writer.entries.is_empty() {
            txn.abort()?;
            return Ok((value, revision));
        }
        let new_revision = writer.revision;
        let now = writer.now;
        let entries = std::mem::take(&mut writer.entries);
        let mut next_seq = audit_seq;
        {
            let mut audit = txn.open_table(AUDIT)?;
            for entry in entries {
                next_seq += 1;
                let record = AuditRecord {
                    id: next_seq,
                    at: now,
                    actor: context.actor.clone(),
                    action: entry.action.to_owned(),
                    target: entry.target,
                    integrators: entry.integrators,
                    before: entry.before,
                    after: entry.after,
                    request_id: context.request_id.clone(),
                    revision: new_revision,
                };
                audit.insert(next_seq, to_json(&record)?.as_slice())?;
            }
            let mut meta = txn.open_table(META)?;
            meta.insert(REVISION_KEY, new_revision)?;
            meta.insert(AUDIT_SEQ_KEY, next_seq)?;
        }
        txn.commit()?;
        self.revision.send_if_modified(|current| {
            let newer = new_revision > *current;
            if newer {
                *current = new_revision;
            }
            newer
        });
        Ok((value, new_revision))
    }

    /// Runs `f` in a read transaction on the calling thread, for startup
    /// code and benchmarks that are already off the async runtime.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let txn = self.db.begin_read()?;
        f(&txn)
    }
}

/// Reads the committed revision, 0 for a new store.
pub fn read_revision(txn: &ReadTransaction) -> Result<u64, ApiError> {
    let meta = txn.open_table(META)?;
    Ok(meta.get(REVISION_KEY)?.map_or(0, |v| v.value()))
}

/// Runs `f` on the blocking pool and flattens a join failure into an
/// internal error.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|err| ApiError::Internal(format!("storage task failed: {err}")))?
}

/// Serializes a record to JSON bytes.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|err| ApiError::Internal(format!("encoding failed: {err}")))
}

/// Deserializes a record from JSON bytes.
pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::Storage(format!("stored record is corrupt: {err}")))
}

/// Reads one JSON record from a string-keyed table.
pub fn get_record<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match table.get(key)? {
        Some(bytes) => Ok(Some(from_json(bytes.value())?)),
        None => Ok(None),
    }
}

/// Adds `delta` to the override count of `flag`.
pub fn adjust_override_count(writer: &Writer<'_>, flag: &str, delta: i64) -> Result<(), ApiError> {
    if delta == 0 {
        return Ok(());
    }
    let mut counts = writer.txn.open_table(FLAG_OVERRIDE_COUNTS)?;
    let current = counts.get(flag)?.map_or(0, |v| v.value());
    let next = current.saturating_add_signed(delta);
    if next == 0 {
        counts.remove(flag)?;
    } else {
        counts.insert(flag, next)?;
    }
    Ok(())
}
