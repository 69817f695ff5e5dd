//! The OpenFeature Remote Evaluation Protocol (OFREP) endpoints: request
//! parsing and response bodies, following the protocol's OpenAPI
//! description (`service/openapi.yaml` of open-feature/protocol, 0.3.0).
//!
//! The evaluation context carries the user as `targetingKey` and the tenant
//! as `tenantId`; other context fields are accepted and ignored.
//!
//! OFREP's reason list has no `DEFAULT`, so a platform default, for a known
//! or an unknown tenant, is reported as `STATIC`. The evaluator's own reason
//! (`DEFAULT`, `TARGETING_MATCH` or `UNKNOWN_TENANT`) is in the metadata as
//! `cascadeReason`, next to `level`, `revision` and `snapshotAgeSeconds`.

use cascade_shared::{EvalError, Evaluation, Reason, Snapshot, id};
use serde::Serialize;
use serde_json::Value;

use crate::evaluate;
use crate::json;
use crate::reply::Reply;

/// Largest request body the OFREP endpoints read, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The context of an OFREP request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfrepContext {
    pub tenant: String,
    pub user: String,
}

/// Why an OFREP request could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfrepError {
    #[error("content type {found:?} is not supported; send the body as application/json")]
    UnsupportedContentType { found: String },
    #[error("request body has more than {MAX_BODY_BYTES} bytes; send only the context")]
    BodyTooLarge,
    #[error("request body is not valid JSON ({reason}); send {{\"context\": {{...}}}}")]
    Malformed { reason: String },
    #[error(
        "request body has no \"context\" object; send {{\"context\": {{\"targetingKey\": ..., \"tenantId\": ...}}}}"
    )]
    MissingContext,
    #[error("context has no targetingKey; set it to the user id")]
    TargetingKeyMissing,
    #[error("context targetingKey must be a string of 1 to 256 bytes, got {found}")]
    InvalidTargetingKey { found: String },
    #[error("context has no tenantId; set it to the tenant's slug")]
    TenantMissing,
    #[error("context tenantId {found} is invalid: expected {rule}")]
    InvalidTenant { found: String, rule: &'static str },
    #[error("flag {key:?} not found; check the key (keys are case-sensitive)")]
    FlagNotFound { key: String },
}

impl OfrepError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            OfrepError::UnsupportedContentType { .. } => 415,
            OfrepError::BodyTooLarge => 413,
            OfrepError::FlagNotFound { .. } => 404,
            _ => 400,
        }
    }

    /// The OpenFeature error code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            OfrepError::UnsupportedContentType { .. } | OfrepError::Malformed { .. } => {
                "PARSE_ERROR"
            }
            OfrepError::BodyTooLarge => "GENERAL",
            OfrepError::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            OfrepError::FlagNotFound { .. } => "FLAG_NOT_FOUND",
            OfrepError::MissingContext
            | OfrepError::InvalidTargetingKey { .. }
            | OfrepError::TenantMissing
            | OfrepError::InvalidTenant { .. } => "INVALID_CONTEXT",
        }
    }
}

/// Checks the content type and reads the context from a request body.
pub fn parse_request(content_type: Option<&str>, body: &[u8]) -> Result<OfrepContext, OfrepError> {
    let media_type = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    if media_type.as_deref() != Some("application/json") {
        return Err(OfrepError::UnsupportedContentType {
            found: content_type.unwrap_or("").to_owned(),
        });
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(OfrepError::BodyTooLarge);
    }

    let document: Value = serde_json::from_slice(body).map_err(|err| OfrepError::Malformed {
        reason: err.to_string(),
    })?;
    let context = document
        .get("context")
        .and_then(Value::as_object)
        .ok_or(OfrepError::MissingContext)?;

    let user = match context.get("targetingKey") {
        None | Some(Value::Null) => return Err(OfrepError::TargetingKeyMissing),
        Some(Value::String(user)) if user.is_empty() => {
            return Err(OfrepError::TargetingKeyMissing);
        }
        Some(Value::String(user)) if id::validate_user_id(user).is_ok() => user.clone(),
        Some(other) => {
            return Err(OfrepError::InvalidTargetingKey {
                found: describe(other),
            });
        }
    };
    let tenant = match context.get("tenantId") {
        None | Some(Value::Null) => return Err(OfrepError::TenantMissing),
        Some(Value::String(tenant)) if id::validate_slug(id::IdKind::Tenant, tenant).is_ok() => {
            tenant.clone()
        }
        Some(other) => {
            return Err(OfrepError::InvalidTenant {
                found: describe(other),
                rule: id::IdKind::Tenant.rule(),
            });
        }
    };
    Ok(OfrepContext { tenant, user })
}

/// A short description of a rejected JSON value for error details.
fn describe(value: &Value) -> String {
    match value {
        Value::String(text) if text.len() > 64 => {
            let mut end = 64;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!(
                "a string of {} bytes starting {:?}",
                text.len(),
                &text[..end]
            )
        }
        Value::String(text) => format!("{text:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    error_code: &'static str,
    error_details: String,
}

/// The OFREP reason for an evaluator reason.
pub fn ofrep_reason(reason: Reason) -> &'static str {
    match reason {
        Reason::TargetingMatch => "TARGETING_MATCH",
        Reason::Default | Reason::UnknownTenant => "STATIC",
    }
}

/// Writes the metadata fields that every flag of one response shares
/// (revision and snapshot age) once, up to the evaluator's reason.
fn shared_metadata(revision: u64, age_seconds: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    out.extend_from_slice(b",\"revision\":");
    json::push_u64(&mut out, revision);
    out.extend_from_slice(b",\"snapshotAgeSeconds\":");
    json::push_u64(&mut out, age_seconds);
    out.extend_from_slice(b",\"cascadeReason\":");
    out
}

/// Appends one flag's OFREP success object: key, value, reason and the
/// metadata (level, the `shared` revision and age, evaluator reason).
fn push_success(out: &mut Vec<u8>, evaluation: &Evaluation<'_>, shared: &[u8]) {
    out.extend_from_slice(b"{\"key\":");
    json::push_plain(out, evaluation.key);
    out.extend_from_slice(b",\"value\":");
    json::push_value(out, evaluation.value);
    match evaluation.reason {
        Reason::TargetingMatch => out.extend_from_slice(b",\"reason\":\"TARGETING_MATCH\""),
        Reason::Default | Reason::UnknownTenant => out.extend_from_slice(b",\"reason\":\"STATIC\""),
    }
    out.extend_from_slice(b",\"metadata\":{\"level\":");
    json::push_level(out, evaluation.level);
    out.extend_from_slice(shared);
    json::push_reason(out, evaluation.reason);
    out.extend_from_slice(b"}}");
}

/// Writes the bulk body: every flag's success object and the set's metadata.
fn bulk_body(evaluations: &[Evaluation<'_>], revision: u64, age_seconds: u64) -> Vec<u8> {
    let capacity = (evaluate::BYTES_PER_FLAG + 64) * evaluations.len() + 64;
    let mut out = Vec::with_capacity(capacity);
    let shared = shared_metadata(revision, age_seconds);
    out.extend_from_slice(b"{\"flags\":[");
    for (index, evaluation) in evaluations.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        push_success(&mut out, evaluation, &shared);
    }
    out.extend_from_slice(b"],\"metadata\":{\"revision\":");
    json::push_u64(&mut out, revision);
    out.extend_from_slice(b",\"snapshotAgeSeconds\":");
    json::push_u64(&mut out, age_seconds);
    out.extend_from_slice(b"}}");
    out
}

/// An OFREP error response. `key` is set on the single-flag endpoint.
pub fn failure(key: Option<&str>, err: &OfrepError) -> Reply {
    let body = Failure {
        key,
        error_code: err.code(),
        error_details: err.to_string(),
    };
    Reply::json(err.status(), &body).with_header("cache-control", "no-store")
}

/// Answers `POST /ofrep/v1/evaluate/flags/{key}`.
pub fn evaluate_one(
    snapshot: &Snapshot,
    key: &str,
    context: &OfrepContext,
    age_seconds: u64,
) -> Reply {
    match snapshot.evaluate(&context.tenant, Some(&context.user), key) {
        Ok(evaluation) => {
            let mut body = Vec::with_capacity(evaluate::BYTES_PER_FLAG + 64);
            let shared = shared_metadata(evaluation.revision, age_seconds);
            push_success(&mut body, &evaluation, &shared);
            Reply::json_bytes(200, body).with_header("cache-control", "no-store")
        }
        Err(err) => failure(Some(key), &from_eval_error(err)),
    }
}

/// Answers `POST /ofrep/v1/evaluate/flags`, with an ETag derived from the
/// snapshot revision and the context, and 304 when `If-None-Match` holds it.
pub fn evaluate_bulk(
    snapshot: &Snapshot,
    context: &OfrepContext,
    age_seconds: u64,
    caching: evaluate::Caching<'_>,
) -> Reply {
    let etag = bulk_etag(snapshot.revision(), context);
    if crate::reply::etag_matches(caching.if_none_match, &etag) {
        return evaluate::not_modified(etag, caching.max_age);
    }
    match snapshot.evaluate_all(&context.tenant, Some(&context.user)) {
        Ok(evaluations) => {
            let body = bulk_body(&evaluations, snapshot.revision(), age_seconds);
            evaluate::cacheable(Reply::json_bytes(200, body), etag, caching.max_age)
        }
        Err(err) => failure(None, &from_eval_error(err)),
    }
}

/// The bulk ETag: revision plus tenant and user.
pub fn bulk_etag(revision: u64, context: &OfrepContext) -> String {
    let parts = [
        Some("ofrep-bulk"),
        Some(context.tenant.as_str()),
        Some(context.user.as_str()),
    ];
    evaluate::context_etag(revision, &parts)
}

fn from_eval_error(err: EvalError) -> OfrepError {
    match err {
        EvalError::FlagNotFound { key } => OfrepError::FlagNotFound { key },
        EvalError::InvalidTenant(id) => OfrepError::InvalidTenant {
            found: format!("{:?}", id.value),
            rule: id.kind.rule(),
        },
        EvalError::InvalidUser(id) => OfrepError::InvalidTargetingKey {
            found: format!("{:?}", id.value),
        },
        // EvalError is non-exhaustive: a new variant is a context problem
        // until it gets its own mapping.
        other => OfrepError::Malformed {
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::evaluate::Caching;

    fn snapshot() -> Snapshot {
        let mut builder = cascade_shared::SnapshotBuilder::new(3);
        builder
            .flag("beta", cascade_shared::FlagValue::Boolean(false))
            .unwrap()
            .flag("tier", cascade_shared::FlagValue::String("free".into()))
            .unwrap()
            .tenant("acme", None)
            .unwrap()
            .user_override(
                "acme",
                "ann",
                "beta",
                cascade_shared::FlagValue::Boolean(true),
            )
            .unwrap();
        builder.build().unwrap()
    }

    fn context(user: &str) -> OfrepContext {
        OfrepContext {
            tenant: "acme".into(),
            user: user.into(),
        }
    }

    /// The OFREP success shapes, derived with serde: the reference that
    /// the hand-written bodies must match byte for byte.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ReferenceMetadata<'a> {
        level: &'a str,
        revision: u64,
        snapshot_age_seconds: u64,
        cascade_reason: &'a str,
    }

    #[derive(serde::Serialize)]
    struct ReferenceSuccess<'a> {
        key: &'a str,
        value: Value,
        reason: &'a str,
        metadata: ReferenceMetadata<'a>,
    }

    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ReferenceSetMetadata {
        revision: u64,
        snapshot_age_seconds: u64,
    }

    #[derive(serde::Serialize)]
    struct ReferenceBulk<'a> {
        flags: Vec<ReferenceSuccess<'a>>,
        metadata: ReferenceSetMetadata,
    }

    fn reference_success<'a>(evaluation: &'a Evaluation<'a>, age: u64) -> ReferenceSuccess<'a> {
        ReferenceSuccess {
            key: evaluation.key,
            value: crate::evaluate::tests::reference_value(evaluation.value),
            reason: ofrep_reason(evaluation.reason),
            metadata: ReferenceMetadata {
                level: evaluation.level.as_str(),
                revision: evaluation.revision,
                snapshot_age_seconds: age,
                cascade_reason: evaluation.reason.as_str(),
            },
        }
    }

    #[test]
    fn bodies_match_serde_json_byte_for_byte() {
        use crate::evaluate::tests::{ESCAPED_USER, every_type};

        let snapshot = every_type();
        let caching = Caching {
            if_none_match: None,
            max_age: 5,
        };
        for user in [ESCAPED_USER, "bob"] {
            let age = 86_400;
            let evaluations = snapshot.evaluate_all("acme", Some(user)).unwrap();
            let reference = ReferenceBulk {
                flags: evaluations
                    .iter()
                    .map(|e| reference_success(e, age))
                    .collect(),
                metadata: ReferenceSetMetadata {
                    revision: snapshot.revision(),
                    snapshot_age_seconds: age,
                },
            };
            let reply = evaluate_bulk(&snapshot, &context(user), age, caching);
            let expected = serde_json::to_string(&reference).unwrap();
            assert_eq!(String::from_utf8(reply.body).unwrap(), expected, "{user:?}");

            for evaluation in &evaluations {
                let reply = evaluate_one(&snapshot, evaluation.key, &context(user), age);
                let expected = serde_json::to_string(&reference_success(evaluation, age)).unwrap();
                assert_eq!(String::from_utf8(reply.body).unwrap(), expected, "{user:?}");
            }
        }
    }

    fn parse(body: &str) -> Result<OfrepContext, OfrepError> {
        parse_request(Some("application/json; charset=utf-8"), body.as_bytes())
    }

    #[test]
    fn parse_reads_context_and_ignores_extras() {
        let body = r#"{"context": {"targetingKey": "ann", "tenantId": "acme", "plan": "pro"}}"#;
        assert_eq!(parse(body), Ok(context("ann")));
    }

    #[test]
    fn parse_rejects_each_bad_body() {
        let long = "u".repeat(257);
        let cases = [
            ("{", "PARSE_ERROR"),
            ("[]", "INVALID_CONTEXT"),
            (r#"{"context": 3}"#, "INVALID_CONTEXT"),
            (
                r#"{"context": {"tenantId": "acme"}}"#,
                "TARGETING_KEY_MISSING",
            ),
            (
                r#"{"context": {"targetingKey": "", "tenantId": "acme"}}"#,
                "TARGETING_KEY_MISSING",
            ),
            (
                r#"{"context": {"targetingKey": 7, "tenantId": "acme"}}"#,
                "INVALID_CONTEXT",
            ),
            (r#"{"context": {"targetingKey": "ann"}}"#, "INVALID_CONTEXT"),
            (
                r#"{"context": {"targetingKey": "ann", "tenantId": ""}}"#,
                "INVALID_CONTEXT",
            ),
            (
                r#"{"context": {"targetingKey": "ann", "tenantId": "Acme"}}"#,
                "INVALID_CONTEXT",
            ),
        ];
        for (body, code) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!(err.code(), code, "{body}");
            assert_eq!(err.status(), 400, "{body}");
        }
        let body = format!(r#"{{"context": {{"targetingKey": "{long}", "tenantId": "acme"}}}}"#);
        assert_eq!(parse(&body).unwrap_err().code(), "INVALID_CONTEXT");
    }

    #[test]
    fn parse_rejects_wrong_content_type() {
        let err = parse_request(Some("text/plain"), b"{}").unwrap_err();
        assert_eq!(err.status(), 415);
        assert!(err.to_string().contains("text/plain"), "{err}");
        let missing = parse_request(None, b"{}").unwrap_err();
        assert_eq!(missing.status(), 415);
    }

    #[test]
    fn parse_rejects_oversized_body() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        let err = parse_request(Some("application/json"), &body).unwrap_err();
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn single_success_has_metadata() {
        let reply = evaluate_one(&snapshot(), "beta", &context("ann"), 4);
        assert_eq!(reply.status, 200);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        let expected = json!({
            "key": "beta", "value": true, "reason": "TARGETING_MATCH",
            "metadata": {
                "level": "user", "revision": 3, "snapshotAgeSeconds": 4,
                "cascadeReason": "TARGETING_MATCH"
            }
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn platform_default_is_static() {
        let reply = evaluate_one(&snapshot(), "tier", &context("ann"), 0);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["reason"], "STATIC");
        assert_eq!(body["metadata"]["cascadeReason"], "DEFAULT");
    }

    #[test]
    fn single_unknown_flag_is_404_with_key() {
        let reply = evaluate_one(&snapshot(), "gone", &context("ann"), 0);
        assert_eq!(reply.status, 404);
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["key"], "gone");
        assert_eq!(body["errorCode"], "FLAG_NOT_FOUND");
    }

    #[test]
    fn bulk_etag_gives_304_to_same_context_only() {
        let caching = Caching {
            if_none_match: None,
            max_age: 5,
        };
        let first = evaluate_bulk(&snapshot(), &context("ann"), 0, caching);
        assert_eq!(first.status, 200);
        let etag = first.header("etag").unwrap().to_owned();
        let again = Caching {
            if_none_match: Some(&etag),
            max_age: 5,
        };
        assert_eq!(
            evaluate_bulk(&snapshot(), &context("ann"), 0, again).status,
            304
        );
        assert_eq!(
            evaluate_bulk(&snapshot(), &context("bob"), 0, again).status,
            200
        );
    }
}
