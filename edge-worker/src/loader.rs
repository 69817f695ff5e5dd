//! The snapshot held in isolate memory and the rules for refreshing it.
//!
//! [`SnapshotCache`] is plain state: the worker glue asks it for a
//! [`Plan`] on each request, performs the fetch the plan calls for, and
//! hands the outcome back to [`SnapshotCache::apply`]. Keeping the rules
//! here lets host tests cover them without a runtime.

use std::rc::Rc;
use std::time::Duration;

use cascade_shared::{DecodeError, Snapshot};

/// What a request should do about the snapshot before it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Answer from the current snapshot.
    Serve,
    /// Answer from the current snapshot and refresh it in the background.
    // TODO: refreshes start only on requests, so the first request after an
    // idle period answers from the old snapshot; the control plane's
    // `?wait=` long-poll, held open in `wait_until`, would close that gap.
    ServeAndRefresh,
    /// No snapshot yet: fetch one and wait for it, up to the timeout.
    LoadFirst,
    /// No snapshot yet, and another request of this isolate is fetching
    /// the first one: wait for that fetch instead of starting another.
    AwaitFirst,
    /// No snapshot, and the last attempt failed less than one refresh
    /// interval ago: answer 503 at once instead of waiting again.
    Unavailable,
}

/// The result of one request to the snapshot endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// 304: the held revision is still the newest.
    NotModified,
    /// 200 with snapshot bytes.
    Body(Vec<u8>),
    /// Any other status.
    Status(u16),
    /// The request failed before a response arrived.
    Network(String),
    /// No response within the timeout.
    TimedOut(Duration),
}

/// Why a refresh kept the old snapshot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    #[error("snapshot request failed: {0}")]
    Network(String),
    #[error("snapshot request timed out after {} ms", .0.as_millis())]
    TimedOut(Duration),
    #[error("snapshot request returned HTTP {status}{hint}")]
    Status { status: u16, hint: &'static str },
    #[error("snapshot bytes rejected: {0}")]
    Decode(#[from] DecodeError),
    #[error("control plane offered revision {offered}, older than the held revision {held}")]
    Older { offered: u64, held: u64 },
    #[error("control plane returned 304 but no snapshot is held")]
    UnexpectedNotModified,
}

/// What [`SnapshotCache::apply`] did, so that the glue can log it.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// A newer snapshot replaced the held one (`from` is `None` at first load).
    Replaced {
        from: Option<u64>,
        to: u64,
        recovered_after: u32,
    },
    /// The held snapshot is confirmed as the newest.
    Confirmed { recovered_after: u32 },
    /// The old snapshot stays. `first_in_streak` is true for the first
    /// failure after a success, which is the one to log.
    Failed {
        error: RefreshError,
        first_in_streak: bool,
    },
}

/// The snapshot in isolate memory, with its freshness bookkeeping.
/// Times are milliseconds since the Unix epoch, as `Date.now()` returns.
#[derive(Debug, Default)]
pub struct SnapshotCache {
    current: Option<Rc<Snapshot>>,
    /// When the control plane last confirmed the held snapshot as newest.
    verified_at_ms: f64,
    /// When the last fetch started, successful or not.
    attempted_at_ms: Option<f64>,
    /// When the running background refresh started, if one runs.
    refreshing_since_ms: Option<f64>,
    /// When the running first load started, if one runs.
    loading_since_ms: Option<f64>,
    /// Failures since the last success.
    failures: u32,
}

impl SnapshotCache {
    /// Decides what a request arriving at `now_ms` does, and records a
    /// background refresh as started when the plan includes one.
    pub fn plan(&mut self, now_ms: f64, interval: Duration, timeout: Duration) -> Plan {
        let interval_ms = interval.as_secs_f64() * 1000.0;
        let since_attempt = self.attempted_at_ms.map(|at| now_ms - at);
        // A fetch whose task the runtime dropped never reports back; after
        // twice the timeout, a new one may start.
        let stuck_after_ms = timeout.as_secs_f64() * 2000.0;
        if self.current.is_none() {
            let loading = self
                .loading_since_ms
                .is_some_and(|since| now_ms - since < stuck_after_ms);
            return match since_attempt {
                _ if loading => Plan::AwaitFirst,
                Some(elapsed) if self.failures > 0 && elapsed < interval_ms => Plan::Unavailable,
                _ => {
                    self.attempted_at_ms = Some(now_ms);
                    self.loading_since_ms = Some(now_ms);
                    Plan::LoadFirst
                }
            };
        }

        let refreshing = self
            .refreshing_since_ms
            .is_some_and(|since| now_ms - since < stuck_after_ms);
        let stale = now_ms - self.verified_at_ms >= interval_ms
            && since_attempt.is_none_or(|elapsed| elapsed >= interval_ms);
        if stale && !refreshing {
            self.refreshing_since_ms = Some(now_ms);
            self.attempted_at_ms = Some(now_ms);
            Plan::ServeAndRefresh
        } else {
            Plan::Serve
        }
    }

    /// Returns true while a first load that has not hung runs.
    pub fn first_load_running(&self, now_ms: f64, timeout: Duration) -> bool {
        let stuck_after_ms = timeout.as_secs_f64() * 2000.0;
        self.current.is_none()
            && self
                .loading_since_ms
                .is_some_and(|since| now_ms - since < stuck_after_ms)
    }

    /// The held snapshot, if any.
    pub fn current(&self) -> Option<Rc<Snapshot>> {
        self.current.clone()
    }

    /// Whole seconds since the control plane last confirmed the held
    /// snapshot as the newest.
    pub fn age_seconds(&self, now_ms: f64) -> u64 {
        ((now_ms - self.verified_at_ms).max(0.0) / 1000.0) as u64
    }

    /// The `If-None-Match` value for the next fetch: the control plane tags
    /// snapshots `"r<revision>"`.
    pub fn if_none_match(&self) -> Option<String> {
        self.current
            .as_ref()
            .map(|snapshot| format!("\"r{}\"", snapshot.revision()))
    }

    /// Returns the revision of the held snapshot, if any.
    pub fn held_revision(&self) -> Option<u64> {
        self.current.as_ref().map(|snapshot| snapshot.revision())
    }

    /// Applies the outcome of a fetch that finished at `now_ms`: checks it
    /// with [`check`] and installs the result.
    pub fn apply(&mut self, now_ms: f64, outcome: FetchOutcome, background: bool) -> Applied {
        let checked = check(self.held_revision(), outcome);
        self.install(now_ms, checked, background)
    }

    /// Installs a checked fetch outcome. The held snapshot is replaced only
    /// by a valid snapshot of a newer revision.
    pub fn install(&mut self, now_ms: f64, checked: Checked, background: bool) -> Applied {
        if background {
            self.refreshing_since_ms = None;
        } else {
            self.loading_since_ms = None;
        }
        let held = self.held_revision();
        let result = match checked.0 {
            // Another fetch may have installed this revision or a newer
            // one since the check.
            Ok(Some(snapshot)) if held.is_some_and(|h| h >= snapshot.revision()) => Ok(None),
            other => other,
        };

        match result {
            Ok(replacement) => {
                let recovered_after = std::mem::take(&mut self.failures);
                self.verified_at_ms = now_ms;
                match replacement {
                    Some(snapshot) => {
                        let to = snapshot.revision();
                        self.current = Some(Rc::new(snapshot));
                        Applied::Replaced {
                            from: held,
                            to,
                            recovered_after,
                        }
                    }
                    None => Applied::Confirmed { recovered_after },
                }
            }
            Err(error) => {
                self.failures = self.failures.saturating_add(1);
                Applied::Failed {
                    error,
                    first_in_streak: self.failures == 1,
                }
            }
        }
    }
}

/// A fetch outcome checked against the held revision, with a newer
/// snapshot decoded: `Ok(None)` confirms the held one.
#[derive(Debug)]
pub struct Checked(Result<Option<Snapshot>, RefreshError>);

/// Checks a fetch outcome against the held revision and decodes a newer
/// snapshot. It needs no access to the cache, so the glue decodes, the
/// step that allocates the most, without holding the cache borrowed.
pub fn check(held: Option<u64>, outcome: FetchOutcome) -> Checked {
    let result = match outcome {
        FetchOutcome::NotModified if held.is_some() => Ok(None),
        FetchOutcome::NotModified => Err(RefreshError::UnexpectedNotModified),
        FetchOutcome::Body(bytes) => accept(held, &bytes),
        FetchOutcome::Status(status) => Err(RefreshError::Status {
            status,
            hint: status_hint(status),
        }),
        FetchOutcome::Network(reason) => Err(RefreshError::Network(reason)),
        FetchOutcome::TimedOut(after) => Err(RefreshError::TimedOut(after)),
    };
    Checked(result)
}

/// Decodes `bytes` if they hold a newer revision. `Ok(None)` means the
/// bytes hold the revision already held.
fn accept(held: Option<u64>, bytes: &[u8]) -> Result<Option<Snapshot>, RefreshError> {
    let offered = Snapshot::peek_revision(bytes)?;
    match held {
        Some(held) if offered < held => Err(RefreshError::Older { offered, held }),
        Some(held) if offered == held => Ok(None),
        _ => Ok(Some(Snapshot::decode(bytes)?)),
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => "; check that EDGE_TOKEN holds an edge token of this control plane",
        404 => "; check that CONTROL_PLANE_URL points at the control plane",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use cascade_shared::{FlagValue, SnapshotBuilder};

    use super::*;

    const INTERVAL: Duration = Duration::from_millis(500);
    const TIMEOUT: Duration = Duration::from_secs(3);

    fn bytes(revision: u64) -> Vec<u8> {
        let mut builder = SnapshotBuilder::new(revision);
        builder.flag("beta", FlagValue::Boolean(true)).unwrap();
        builder.build().unwrap().encode().unwrap()
    }

    fn loaded(revision: u64) -> SnapshotCache {
        let mut cache = SnapshotCache::default();
        assert_eq!(cache.plan(0.0, INTERVAL, TIMEOUT), Plan::LoadFirst);
        cache.apply(0.0, FetchOutcome::Body(bytes(revision)), false);
        cache
    }

    fn revision(cache: &SnapshotCache) -> Option<u64> {
        cache.current().map(|s| s.revision())
    }

    #[test]
    fn cold_cache_loads_then_serves() {
        let mut cache = loaded(5);
        assert_eq!(revision(&cache), Some(5));
        assert_eq!(cache.plan(100.0, INTERVAL, TIMEOUT), Plan::Serve);
        assert_eq!(cache.if_none_match().as_deref(), Some("\"r5\""));
    }

    #[test]
    fn stale_cache_refreshes_once() {
        let mut cache = loaded(5);
        assert_eq!(cache.plan(600.0, INTERVAL, TIMEOUT), Plan::ServeAndRefresh);
        assert_eq!(cache.plan(700.0, INTERVAL, TIMEOUT), Plan::Serve);
        cache.apply(800.0, FetchOutcome::NotModified, true);
        assert_eq!(cache.age_seconds(1799.0), 0);
        assert_eq!(cache.age_seconds(1800.0), 1);
    }

    #[test]
    fn newer_revision_replaces() {
        let mut cache = loaded(5);
        cache.plan(600.0, INTERVAL, TIMEOUT);
        let applied = cache.apply(650.0, FetchOutcome::Body(bytes(6)), true);
        let expected = Applied::Replaced {
            from: Some(5),
            to: 6,
            recovered_after: 0,
        };
        assert_eq!(applied, expected);
        assert_eq!(revision(&cache), Some(6));
    }

    #[test]
    fn checked_snapshot_overtaken_by_newer_install_is_dropped() {
        let mut cache = loaded(5);
        let slow = check(cache.held_revision(), FetchOutcome::Body(bytes(6)));
        cache.apply(20.0, FetchOutcome::Body(bytes(7)), false);
        let applied = cache.install(30.0, slow, true);
        assert_eq!(applied, Applied::Confirmed { recovered_after: 0 });
        assert_eq!(revision(&cache), Some(7));
    }

    #[test]
    fn older_revision_is_rejected() {
        let mut cache = loaded(5);
        let applied = cache.apply(10.0, FetchOutcome::Body(bytes(4)), true);
        let Applied::Failed { error, .. } = applied else {
            panic!("older revision accepted: {applied:?}");
        };
        assert_eq!(
            error,
            RefreshError::Older {
                offered: 4,
                held: 5
            }
        );
        assert_eq!(revision(&cache), Some(5));
    }

    #[test]
    fn corrupt_bytes_keep_good_snapshot() {
        let mut cache = loaded(5);
        let mut corrupt = bytes(6);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let applied = cache.apply(10.0, FetchOutcome::Body(corrupt), true);
        assert!(matches!(
            applied,
            Applied::Failed {
                error: RefreshError::Decode(_),
                ..
            }
        ));
        assert_eq!(revision(&cache), Some(5));
    }

    #[test]
    fn failure_streak_flags_first_only() {
        let mut cache = loaded(5);
        let outcomes = [
            FetchOutcome::Network("refused".into()),
            FetchOutcome::TimedOut(TIMEOUT),
            FetchOutcome::Status(500),
        ];
        let firsts: Vec<bool> = outcomes
            .into_iter()
            .map(|outcome| match cache.apply(10.0, outcome, true) {
                Applied::Failed {
                    first_in_streak, ..
                } => first_in_streak,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(firsts, [true, false, false]);
        let recovered = cache.apply(20.0, FetchOutcome::NotModified, true);
        assert_eq!(recovered, Applied::Confirmed { recovered_after: 3 });
    }

    #[test]
    fn age_grows_while_refreshes_fail() {
        let mut cache = loaded(5);
        assert_eq!(cache.plan(5000.0, INTERVAL, TIMEOUT), Plan::ServeAndRefresh);
        cache.apply(5100.0, FetchOutcome::Status(503), true);
        assert_eq!(cache.age_seconds(5100.0), 5);
        assert_eq!(cache.plan(5200.0, INTERVAL, TIMEOUT), Plan::Serve);
        assert_eq!(cache.plan(5600.0, INTERVAL, TIMEOUT), Plan::ServeAndRefresh);
    }

    #[test]
    fn failed_first_load_answers_unavailable_briefly() {
        let mut cache = SnapshotCache::default();
        assert_eq!(cache.plan(0.0, INTERVAL, TIMEOUT), Plan::LoadFirst);
        cache.apply(100.0, FetchOutcome::Network("refused".into()), false);
        assert_eq!(cache.plan(200.0, INTERVAL, TIMEOUT), Plan::Unavailable);
        assert_eq!(cache.plan(600.0, INTERVAL, TIMEOUT), Plan::LoadFirst);
    }

    #[test]
    fn concurrent_cold_requests_share_first_load() {
        let mut cache = SnapshotCache::default();
        assert_eq!(cache.plan(0.0, INTERVAL, TIMEOUT), Plan::LoadFirst);
        assert_eq!(cache.plan(1.0, INTERVAL, TIMEOUT), Plan::AwaitFirst);
        cache.apply(50.0, FetchOutcome::Body(bytes(5)), false);
        assert_eq!(cache.plan(60.0, INTERVAL, TIMEOUT), Plan::Serve);
    }

    #[test]
    fn failed_first_load_stops_waiting() {
        let mut cache = SnapshotCache::default();
        cache.plan(0.0, INTERVAL, TIMEOUT);
        assert!(cache.first_load_running(10.0, TIMEOUT));
        cache.apply(50.0, FetchOutcome::Status(500), false);
        assert!(!cache.first_load_running(60.0, TIMEOUT));
        assert_eq!(cache.plan(60.0, INTERVAL, TIMEOUT), Plan::Unavailable);
    }

    #[test]
    fn stuck_refresh_is_replaced() {
        let mut cache = loaded(5);
        assert_eq!(cache.plan(600.0, INTERVAL, TIMEOUT), Plan::ServeAndRefresh);
        assert_eq!(cache.plan(5000.0, INTERVAL, TIMEOUT), Plan::Serve);
        assert_eq!(cache.plan(6700.0, INTERVAL, TIMEOUT), Plan::ServeAndRefresh);
    }

    #[test]
    fn not_modified_without_snapshot_fails() {
        let mut cache = SnapshotCache::default();
        cache.plan(0.0, INTERVAL, TIMEOUT);
        let applied = cache.apply(1.0, FetchOutcome::NotModified, false);
        assert!(matches!(
            applied,
            Applied::Failed {
                error: RefreshError::UnexpectedNotModified,
                first_in_streak: true
            }
        ));
    }
}
