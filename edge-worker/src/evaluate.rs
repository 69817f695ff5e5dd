//! The `/v1/tenants/...` evaluation endpoints, and pieces that the OFREP
//! endpoints share with them: value serialization, ETags, error mapping.

use cascade_shared::{EvalError, Evaluation, Snapshot, ValueRef};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::reply::{self, ProblemKind, Reply};

/// A flag value serialized as plain JSON. Object values are the snapshot's
/// canonical JSON text, embedded as is.
#[derive(Debug, Clone, Copy)]
pub struct JsonValue<'a>(pub ValueRef<'a>);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ValueRef::Boolean(b) => serializer.serialize_bool(b),
            ValueRef::String(s) => serializer.serialize_str(s),
            ValueRef::Integer(i) => serializer.serialize_i64(i),
            ValueRef::Float(f) => serializer.serialize_f64(f),
            ValueRef::Object(text) => {
                // Decoding checked that the text is a canonical JSON object.
                let raw: &serde_json::value::RawValue =
                    serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
                raw.serialize(serializer)
            }
        }
    }
}

/// One flag's answer on the `/v1` endpoints.
#[derive(Debug, Serialize)]
struct FlagAnswer<'a> {
    key: &'a str,
    #[serde(rename = "type")]
    flag_type: &'static str,
    value: JsonValue<'a>,
    level: &'static str,
    reason: &'static str,
}

impl<'a> From<&Evaluation<'a>> for FlagAnswer<'a> {
    fn from(evaluation: &Evaluation<'a>) -> Self {
        FlagAnswer {
            key: evaluation.key,
            flag_type: evaluation.flag_type.as_str(),
            value: JsonValue(evaluation.value),
            level: evaluation.level.as_str(),
            reason: evaluation.reason.as_str(),
        }
    }
}

#[derive(Debug, Serialize)]
struct OneAnswer<'a> {
    #[serde(flatten)]
    flag: FlagAnswer<'a>,
    revision: u64,
}

#[derive(Debug, Serialize)]
struct AllAnswer<'a> {
    tenant: &'a str,
    user: Option<&'a str>,
    revision: u64,
    flags: Vec<FlagAnswer<'a>>,
}

/// Which tenant and user a request evaluates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub tenant: &'a str,
    /// `None` stops the cascade at the tenant level.
    pub user: Option<&'a str>,
}

/// Conditional-request and caching settings of one request.
#[derive(Debug, Clone, Copy)]
pub struct Caching<'a> {
    pub if_none_match: Option<&'a str>,
    pub max_age: u32,
}

/// Answers `GET .../flags/{key}`.
pub fn one_flag(
    snapshot: &Snapshot,
    subject: Subject<'_>,
    key: &str,
    caching: Caching<'_>,
) -> Reply {
    let etag = context_etag(
        snapshot.revision(),
        &[Some("one"), Some(subject.tenant), subject.user, Some(key)],
    );
    if reply::etag_matches(caching.if_none_match, &etag) {
        return not_modified(etag, caching.max_age);
    }
    match snapshot.evaluate(subject.tenant, subject.user, key) {
        Ok(evaluation) => {
            let body = OneAnswer {
                flag: FlagAnswer::from(&evaluation),
                revision: snapshot.revision(),
            };
            cacheable(Reply::json(200, &body), etag, caching.max_age)
        }
        Err(err) => eval_problem(&err, snapshot.revision()),
    }
}

/// Answers `GET .../flags`: every flag, in key order.
pub fn all_flags(snapshot: &Snapshot, subject: Subject<'_>, caching: Caching<'_>) -> Reply {
    let etag = context_etag(
        snapshot.revision(),
        &[Some("all"), Some(subject.tenant), subject.user],
    );
    if reply::etag_matches(caching.if_none_match, &etag) {
        return not_modified(etag, caching.max_age);
    }
    match snapshot.evaluate_all(subject.tenant, subject.user) {
        Ok(evaluations) => {
            let body = AllAnswer {
                tenant: subject.tenant,
                user: subject.user,
                revision: snapshot.revision(),
                flags: evaluations.iter().map(FlagAnswer::from).collect(),
            };
            cacheable(Reply::json(200, &body), etag, caching.max_age)
        }
        Err(err) => eval_problem(&err, snapshot.revision()),
    }
}

/// Derives an ETag from the snapshot revision and the parts of a request
/// that decide its answer (endpoint, tenant, user, key). Two requests get
/// the same tag only when the same snapshot answers the same question.
///
/// The tag is the revision and the first 64 bits of a SHA-256 over the
/// worker's version and the parts, each length-prefixed, with `None` (no
/// user) encoded apart from every string.
pub fn context_etag(revision: u64, parts: &[Option<&str>]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(revision.to_le_bytes());
    for part in parts {
        match part {
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"r{revision}-{hex}\"")
}

/// Adds ETag and Cache-Control to a successful evaluation answer.
pub fn cacheable(reply: Reply, etag: String, max_age: u32) -> Reply {
    reply
        .with_header("etag", etag)
        .with_header("cache-control", reply::cache_control(max_age))
}

/// A 304 for a matching `If-None-Match`.
pub fn not_modified(etag: String, max_age: u32) -> Reply {
    cacheable(Reply::empty(304), etag, max_age)
}

/// Maps an evaluation error to a problem response.
pub fn eval_problem(err: &EvalError, revision: u64) -> Reply {
    let reply = match err {
        EvalError::FlagNotFound { key } => {
            let detail = format!(
                "flag {key:?} not found in snapshot revision {revision}; \
                 check the key (keys are case-sensitive) or list the flags with \
                 GET /v1/tenants/{{tenant}}/flags"
            );
            reply::problem(ProblemKind::FlagNotFound, &detail)
        }
        EvalError::InvalidTenant(id) => {
            let detail = format!("{id}; use the tenant's slug as the control plane lists it");
            reply::problem(ProblemKind::InvalidTenant, &detail)
        }
        EvalError::InvalidUser(id) => {
            let detail = format!("{id}; percent-encode the user id in the path");
            reply::problem(ProblemKind::InvalidUser, &detail)
        }
        other => reply::problem(ProblemKind::InvalidPath, &other.to_string()),
    };
    reply.with_header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use cascade_shared::{FlagValue, SnapshotBuilder};
    use serde_json::{Value, json};

    use super::*;

    pub(crate) fn sample() -> Snapshot {
        let mut builder = SnapshotBuilder::new(7);
        builder
            .flag("beta", FlagValue::Boolean(false))
            .unwrap()
            .flag("limits", FlagValue::Object(r#"{"max":3}"#.into()))
            .unwrap()
            .flag("ratio", FlagValue::Float(0.5))
            .unwrap()
            .integrator("partner")
            .unwrap()
            .tenant("acme", Some("partner"))
            .unwrap()
            .integrator_override("partner", "ratio", FlagValue::Float(2.0))
            .unwrap()
            .tenant_override("acme", "beta", FlagValue::Boolean(true))
            .unwrap()
            .user_override("acme", "ann/é", "beta", FlagValue::Boolean(false))
            .unwrap();
        builder.build().unwrap()
    }

    const CACHING: Caching<'static> = Caching {
        if_none_match: None,
        max_age: 5,
    };

    fn body(reply: &Reply) -> Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[test]
    fn one_flag_reports_user_level() {
        let subject = Subject {
            tenant: "acme",
            user: Some("ann/é"),
        };
        let reply = one_flag(&sample(), subject, "beta", CACHING);
        assert_eq!(reply.status, 200);
        let expected = json!({
            "key": "beta", "type": "boolean", "value": false,
            "level": "user", "reason": "TARGETING_MATCH", "revision": 7
        });
        assert_eq!(body(&reply), expected);
        assert!(reply.header("etag").unwrap().starts_with("\"r7-"));
    }

    #[test]
    fn all_flags_without_user_stops_at_tenant() {
        let subject = Subject {
            tenant: "acme",
            user: None,
        };
        let reply = all_flags(&sample(), subject, CACHING);
        let body = body(&reply);
        assert_eq!(body["user"], Value::Null);
        assert_eq!(body["flags"][0]["level"], "tenant");
        assert_eq!(body["flags"][1]["value"], json!({"max": 3}));
        assert_eq!(body["flags"][2]["level"], "integrator");
        assert_eq!(body["flags"][2]["value"], json!(2.0));
    }

    #[test]
    fn matching_etag_returns_304() {
        let subject = Subject {
            tenant: "acme",
            user: None,
        };
        let first = all_flags(&sample(), subject, CACHING);
        let etag = first.header("etag").unwrap().to_owned();
        let caching = Caching {
            if_none_match: Some(&etag),
            max_age: 5,
        };
        let second = all_flags(&sample(), subject, caching);
        assert_eq!(second.status, 304);
        assert!(second.body.is_empty());
    }

    #[test]
    fn etag_differs_by_context_and_revision() {
        let etag =
            |revision, tenant, user| context_etag(revision, &[Some("all"), Some(tenant), user]);
        let base = etag(1, "acme", Some("ann"));
        assert_ne!(base, etag(2, "acme", Some("ann")));
        assert_ne!(base, etag(1, "acme", Some("bob")));
        assert_ne!(base, etag(1, "acm", Some("eann")));
        assert_ne!(etag(1, "acme", None), etag(1, "acme", Some("")));
        assert_eq!(base, etag(1, "acme", Some("ann")));
    }

    #[test]
    fn unknown_flag_is_404_problem() {
        let subject = Subject {
            tenant: "acme",
            user: None,
        };
        let reply = one_flag(&sample(), subject, "Beta", CACHING);
        assert_eq!(reply.status, 404);
        let body = body(&reply);
        assert_eq!(body["type"], "urn:cascade:problem:flag-not-found");
        assert!(body["detail"].as_str().unwrap().contains("\"Beta\""));
    }

    #[test]
    fn bad_ids_are_400_problems() {
        let long = "x".repeat(257);
        let cases = [
            ("", None, "invalid-tenant"),
            ("acme", Some(""), "invalid-user"),
            ("acme", Some(long.as_str()), "invalid-user"),
        ];
        for (tenant, user, kind) in cases {
            let reply = all_flags(&sample(), Subject { tenant, user }, CACHING);
            assert_eq!(reply.status, 400, "{tenant:?} {user:?}");
            let expected = format!("urn:cascade:problem:{kind}");
            assert_eq!(body(&reply)["type"], expected.as_str());
        }
    }
}
