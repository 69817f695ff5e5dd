//! The `/v1/tenants/...` evaluation endpoints, and pieces that the OFREP
//! endpoints share with them: value serialization, ETags, error mapping.

use cascade_shared::{EvalError, Evaluation, Snapshot};
use xxhash_rust::xxh3::Xxh3;

use crate::json;
use crate::reply::{self, ProblemKind, Reply};

/// Estimated bytes of one flag's object in a body. A buffer reserved for
/// this many per flag seldom grows.
pub(crate) const BYTES_PER_FLAG: usize = 160;

/// Appends one flag's `/v1` fields, from `{` up to, not including,
/// the closing brace: key, type, value, level and reason.
fn push_flag_fields(out: &mut Vec<u8>, evaluation: &Evaluation<'_>) {
    out.extend_from_slice(b"{\"key\":");
    json::push_plain(out, evaluation.key);
    out.extend_from_slice(b",\"type\":");
    json::push_flag_type(out, evaluation.flag_type);
    out.extend_from_slice(b",\"value\":");
    json::push_value(out, evaluation.value);
    out.extend_from_slice(b",\"level\":");
    json::push_level(out, evaluation.level);
    out.extend_from_slice(b",\"reason\":");
    json::push_reason(out, evaluation.reason);
}

/// Writes the body of `GET .../flags/{key}`: the flag's fields and the
/// revision.
fn one_body(evaluation: &Evaluation<'_>, revision: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(BYTES_PER_FLAG + 32);
    push_flag_fields(&mut out, evaluation);
    out.extend_from_slice(b",\"revision\":");
    json::push_u64(&mut out, revision);
    out.push(b'}');
    out
}

/// Writes the body of `GET .../flags`: tenant, user (`null` at tenant level),
/// revision, and every flag in key order.
fn all_body(subject: Subject<'_>, revision: u64, evaluations: &[Evaluation<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BYTES_PER_FLAG * evaluations.len() + 128);
    out.extend_from_slice(b"{\"tenant\":");
    json::push_plain(&mut out, subject.tenant);
    out.extend_from_slice(b",\"user\":");
    match subject.user {
        Some(user) => json::push_str(&mut out, user),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"revision\":");
    json::push_u64(&mut out, revision);
    out.extend_from_slice(b",\"flags\":[");
    for (index, evaluation) in evaluations.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        push_flag_fields(&mut out, evaluation);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
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
            let body = one_body(&evaluation, snapshot.revision());
            cacheable(Reply::json_bytes(200, body), etag, caching.max_age)
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
            let body = all_body(subject, snapshot.revision(), &evaluations);
            cacheable(Reply::json_bytes(200, body), etag, caching.max_age)
        }
        Err(err) => eval_problem(&err, snapshot.revision()),
    }
}

/// Derives an ETag from the snapshot revision and the parts of a request
/// that decide its answer (endpoint, tenant, user, key). Two requests get
/// the same tag only when the same snapshot answers the same question.
///
/// The tag is the revision and the 64-bit XXH3 hash of the worker's
/// version and the parts, each length-prefixed, with `None` (no user)
/// encoded apart from every string. The hash need not resist forgery: a
/// client sends back only tags it was given, so a wrong 304 needs two of
/// its own questions to collide in 64 bits.
pub fn context_etag(revision: u64, parts: &[Option<&str>]) -> String {
    let mut hasher = Xxh3::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(&revision.to_le_bytes());
    for part in parts {
        match part {
            Some(text) => {
                hasher.update(&[1]);
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update(&[0]),
        }
    }
    let digest = hasher.digest().to_be_bytes();
    let mut tag = String::with_capacity(40);
    tag.push_str("\"r");
    tag.push_str(itoa::Buffer::new().format(revision));
    tag.push('-');
    for byte in digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        tag.push(char::from(HEX[usize::from(byte >> 4)]));
        tag.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    tag.push('"');
    tag
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
pub(crate) mod tests {
    use cascade_shared::{FlagValue, SnapshotBuilder, ValueRef};
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

    /// The `/v1` body shapes, derived with serde: the reference that the
    /// hand-written bodies must match byte for byte.
    #[derive(serde::Serialize)]
    struct ReferenceFlag<'a> {
        key: &'a str,
        #[serde(rename = "type")]
        flag_type: &'a str,
        value: Value,
        level: &'a str,
        reason: &'a str,
    }

    #[derive(serde::Serialize)]
    struct ReferenceAll<'a> {
        tenant: &'a str,
        user: Option<&'a str>,
        revision: u64,
        flags: Vec<ReferenceFlag<'a>>,
    }

    #[derive(serde::Serialize)]
    struct ReferenceOne<'a> {
        #[serde(flatten)]
        flag: ReferenceFlag<'a>,
        revision: u64,
    }

    /// Converts a flag value into serde_json's representation.
    pub(crate) fn reference_value(value: ValueRef<'_>) -> Value {
        match value {
            ValueRef::Boolean(flag) => json!(flag),
            ValueRef::String(text) => json!(text),
            ValueRef::Integer(number) => json!(number),
            ValueRef::Float(number) => json!(number),
            ValueRef::Object(text) => serde_json::from_str(text).unwrap(),
        }
    }

    fn reference_flag<'a>(evaluation: &'a Evaluation<'a>) -> ReferenceFlag<'a> {
        ReferenceFlag {
            key: evaluation.key,
            flag_type: evaluation.flag_type.as_str(),
            value: reference_value(evaluation.value),
            level: evaluation.level.as_str(),
            reason: evaluation.reason.as_str(),
        }
    }

    /// A snapshot with every value type and texts that JSON escapes.
    pub(crate) const ESCAPED_USER: &str = "ann \"q\" \u{1}/é";

    pub(crate) fn every_type() -> Snapshot {
        let mut builder = SnapshotBuilder::new(u64::MAX);
        builder
            .flag("a.bool", FlagValue::Boolean(true))
            .unwrap()
            .flag("b-int", FlagValue::Integer(i64::MIN))
            .unwrap()
            .flag("c_float", FlagValue::Float(-0.1))
            .unwrap()
            .flag(
                "d",
                FlagValue::String("quote \" slash \\ tab \t nul \u{0} ✓".into()),
            )
            .unwrap()
            .flag("E", FlagValue::Object(r#"{"a":[1,"\n"],"b":{}}"#.into()))
            .unwrap()
            .tenant("acme", None)
            .unwrap()
            .user_override("acme", ESCAPED_USER, "d", FlagValue::String(String::new()))
            .unwrap();
        builder.build().unwrap()
    }

    #[test]
    fn bodies_match_serde_json_byte_for_byte() {
        let snapshot = every_type();
        for user in [None, Some(ESCAPED_USER), Some("bob")] {
            let subject = Subject {
                tenant: "acme",
                user,
            };
            let evaluations = snapshot.evaluate_all("acme", user).unwrap();
            let reference = ReferenceAll {
                tenant: "acme",
                user,
                revision: u64::MAX,
                flags: evaluations.iter().map(reference_flag).collect(),
            };
            let expected = serde_json::to_string(&reference).unwrap();
            let reply = all_flags(&snapshot, subject, CACHING);
            assert_eq!(String::from_utf8(reply.body).unwrap(), expected, "{user:?}");

            for evaluation in &evaluations {
                let one = ReferenceOne {
                    flag: reference_flag(evaluation),
                    revision: u64::MAX,
                };
                let reply = one_flag(&snapshot, subject, evaluation.key, CACHING);
                let text = String::from_utf8(reply.body).unwrap();
                assert_eq!(text, serde_json::to_string(&one).unwrap(), "{user:?}");
            }
        }
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
    fn context_etag_is_revision_and_16_hex_digits() {
        let tag = context_etag(42, &[Some("all"), Some("acme"), None]);
        let inner = tag
            .strip_prefix("\"r42-")
            .unwrap()
            .strip_suffix('"')
            .unwrap();
        assert_eq!(inner.len(), 16, "{tag}");
        assert!(
            inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let mut input = env!("CARGO_PKG_VERSION").as_bytes().to_vec();
        input.extend_from_slice(&42u64.to_le_bytes());
        input.extend_from_slice(&[1]);
        input.extend_from_slice(&3u64.to_le_bytes());
        input.extend_from_slice(b"all");
        input.extend_from_slice(&[1]);
        input.extend_from_slice(&4u64.to_le_bytes());
        input.extend_from_slice(b"acme");
        input.extend_from_slice(&[0]);
        let expected = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&input));
        assert_eq!(inner, expected);
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
