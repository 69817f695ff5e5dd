//! Every error the API returns, mapped in one place to an RFC 9457 problem
//! document (`application/problem+json`).
//!
//! Each variant has a stable `type` URI (`urn:cascade:problem:<slug>`), the
//! HTTP status, a `detail` sentence that names the offending value and the
//! fix, and, where one exists, the offending value in a `value` member.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cascade_shared::{IdError, ValueError};
use serde::Serialize;
use utoipa::ToSchema;

/// The prefix of every problem `type` URI.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:cascade:problem:";

/// A failed request, as the API reports it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error(
        "no route matches {method} {path}; the OpenAPI document at /openapi.json lists every route"
    )]
    RouteNotFound { method: String, path: String },
    #[error(
        "method {method} is not allowed on {path}; the OpenAPI document at /openapi.json lists the methods of each route"
    )]
    MethodNotAllowed { method: String, path: String },
    #[error("{0}; fix the id and retry")]
    InvalidId(IdError),
    #[error("invalid JSON body: {0}; send one well-formed JSON document")]
    InvalidJson(String),
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    #[error("invalid {field} {value:?}: {fix}")]
    InvalidField {
        field: String,
        value: String,
        fix: String,
    },
    #[error("flag {flag:?}: {source}")]
    InvalidValue { flag: String, source: ValueError },
    #[error("{what} {id:?} does not exist; create it first or name an existing one")]
    InvalidReference { what: &'static str, id: String },
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("invalid cursor {0:?}: pass the next_cursor value of the previous page unchanged")]
    InvalidCursor(String),
    #[error("invalid {header} header {value:?}: {fix}")]
    InvalidHeader {
        header: &'static str,
        value: String,
        fix: &'static str,
    },
    #[error(
        "request body is larger than the limit of {limit} bytes; split the change into smaller requests"
    )]
    BodyTooLarge { limit: usize },
    #[error("content type {0:?} is not supported; send Content-Type: application/json")]
    UnsupportedMediaType(String),
    #[error("{what} {id:?} already exists; choose another id or update the existing one")]
    AlreadyExists { what: &'static str, id: String },
    #[error("integrator status cannot change from {from} to {to}; allowed from {from}: {allowed}")]
    InvalidTransition {
        from: &'static str,
        to: &'static str,
        allowed: String,
    },
    #[error("integrator {id:?} still has {count} tenant(s); move, detach or delete them first")]
    IntegratorHasTenants { id: String, count: u64 },
    #[error(
        "flag {key:?} has {count} override(s), so its type cannot change; delete the overrides first or create a new flag"
    )]
    FlagHasOverrides { key: String, count: u64 },
    #[error(
        "If-Match {given} does not match the current ETag {current}; GET the resource again, reapply the change and retry with the new ETag"
    )]
    PreconditionFailed { given: String, current: String },
    #[error("If-Match {given} cannot be met: {reason}")]
    OverridePrecondition { given: String, reason: &'static str },
    #[error(
        "token {id:?} is the last live platform-admin token, and revoking it would leave no way to administer the service; create another platform-admin token first, then revoke this one"
    )]
    LastPlatformAdmin { id: String },
    #[error("too many items: {count}; the maximum per request is {max}, so split the change")]
    TooManyItems { count: usize, max: usize },
    #[error("the service is shutting down; retry against a running instance")]
    ShuttingDown,
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Builds an [`ApiError::InvalidField`].
    pub fn field(
        field: impl Into<String>,
        value: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            value: truncate(value.into()),
            fix: fix.into(),
        }
    }

    /// Builds an [`ApiError::NotFound`].
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        ApiError::NotFound {
            what,
            id: truncate(id.into()),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } | ApiError::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::InvalidId(_)
            | ApiError::InvalidJson(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidCursor(_)
            | ApiError::InvalidHeader { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody(_)
            | ApiError::InvalidField { .. }
            | ApiError::InvalidValue { .. }
            | ApiError::InvalidReference { .. }
            | ApiError::TooManyItems { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::AlreadyExists { .. }
            | ApiError::InvalidTransition { .. }
            | ApiError::IntegratorHasTenants { .. }
            | ApiError::FlagHasOverrides { .. }
            | ApiError::LastPlatformAdmin { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } | ApiError::OverridePrecondition { .. } => {
                StatusCode::PRECONDITION_FAILED
            }
            ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Storage(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable slug of the problem type.
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { .. } => "not-found",
            ApiError::RouteNotFound { .. } => "route-not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::InvalidId(_) => "invalid-id",
            ApiError::InvalidJson(_) => "invalid-json",
            ApiError::InvalidBody(_) => "invalid-body",
            ApiError::InvalidField { .. } => "invalid-field",
            ApiError::InvalidValue { .. } => "invalid-value",
            ApiError::InvalidReference { .. } => "invalid-reference",
            ApiError::InvalidQuery(_) => "invalid-query",
            ApiError::InvalidCursor(_) => "invalid-cursor",
            ApiError::InvalidHeader { .. } => "invalid-header",
            ApiError::BodyTooLarge { .. } => "body-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::AlreadyExists { .. } => "already-exists",
            ApiError::InvalidTransition { .. } => "invalid-transition",
            ApiError::IntegratorHasTenants { .. } => "integrator-has-tenants",
            ApiError::FlagHasOverrides { .. } => "flag-has-overrides",
            ApiError::PreconditionFailed { .. } | ApiError::OverridePrecondition { .. } => {
                "precondition-failed"
            }
            ApiError::LastPlatformAdmin { .. } => "last-platform-admin",
            ApiError::TooManyItems { .. } => "too-many-items",
            ApiError::ShuttingDown => "shutting-down",
            ApiError::Storage(_) => "storage-failure",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "Missing or unknown token",
            ApiError::Forbidden(_) => "Not allowed for this token",
            ApiError::NotFound { .. } => "Resource not found",
            ApiError::RouteNotFound { .. } => "Route not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::InvalidId(_) => "Invalid identifier",
            ApiError::InvalidJson(_) => "Invalid JSON",
            ApiError::InvalidBody(_) => "Invalid request body",
            ApiError::InvalidField { .. } => "Invalid field value",
            ApiError::InvalidValue { .. } => "Value does not match the flag type",
            ApiError::InvalidReference { .. } => "Referenced resource does not exist",
            ApiError::InvalidQuery(_) => "Invalid query parameters",
            ApiError::InvalidCursor(_) => "Invalid pagination cursor",
            ApiError::InvalidHeader { .. } => "Invalid header",
            ApiError::BodyTooLarge { .. } => "Request body too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::AlreadyExists { .. } => "Resource already exists",
            ApiError::InvalidTransition { .. } => "Invalid status transition",
            ApiError::IntegratorHasTenants { .. } => "Integrator still has tenants",
            ApiError::FlagHasOverrides { .. } => "Flag has overrides",
            ApiError::PreconditionFailed { .. } => "ETag mismatch",
            ApiError::OverridePrecondition { .. } => "Precondition failed",
            ApiError::LastPlatformAdmin { .. } => "Last platform-admin token",
            ApiError::TooManyItems { .. } => "Too many items",
            ApiError::ShuttingDown => "Shutting down",
            ApiError::Storage(_) => "Storage failure",
            ApiError::Internal(_) => "Internal error",
        }
    }

    /// The offending value, when the error has one.
    fn value(&self) -> Option<String> {
        match self {
            ApiError::NotFound { id, .. }
            | ApiError::InvalidReference { id, .. }
            | ApiError::AlreadyExists { id, .. }
            | ApiError::IntegratorHasTenants { id, .. }
            | ApiError::LastPlatformAdmin { id } => Some(id.clone()),
            ApiError::RouteNotFound { path, .. } | ApiError::MethodNotAllowed { path, .. } => {
                Some(path.clone())
            }
            ApiError::InvalidId(err) => Some(err.value.clone()),
            ApiError::InvalidField { value, .. } => Some(value.clone()),
            ApiError::InvalidValue { source, .. } => Some(source.value.clone()),
            ApiError::InvalidCursor(value) => Some(value.clone()),
            ApiError::InvalidHeader { value, .. } => Some(value.clone()),
            ApiError::UnsupportedMediaType(value) => Some(value.clone()),
            ApiError::InvalidTransition { to, .. } => Some((*to).to_owned()),
            ApiError::FlagHasOverrides { key, .. } => Some(key.clone()),
            ApiError::PreconditionFailed { given, .. }
            | ApiError::OverridePrecondition { given, .. } => Some(given.clone()),
            _ => None,
        }
    }

    /// Builds the problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = if status.is_server_error() {
            // Storage details can name file paths: they go to the log only.
            "the request failed inside the service; retry, and report the request id if it persists"
                .to_owned()
        } else {
            self.to_string()
        };
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{}", self.slug()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail,
            value: self.value(),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the problem type, such as
    /// `urn:cascade:problem:invalid-id`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What failed, on which value, and what to do.
    pub detail: String,
    /// The offending value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, problem = self.slug(), "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<IdError> for ApiError {
    fn from(err: IdError) -> Self {
        ApiError::InvalidId(err)
    }
}

impl From<redb::Error> for ApiError {
    fn from(err: redb::Error) -> Self {
        ApiError::Storage(err.to_string())
    }
}

macro_rules! storage_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for ApiError {
            fn from(err: $ty) -> Self {
                ApiError::Storage(err.to_string())
            }
        }
    )*};
}

storage_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Cuts a value echoed in an error to 300 bytes, on a character boundary.
pub fn truncate(mut value: String) -> String {
    if value.len() > 300 {
        let mut end = 300;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_storage_detail() {
        let problem = ApiError::Storage("disk at /secret/path failed".into()).problem();
        assert_eq!(problem.status, 500);
        assert!(
            !problem.detail.contains("/secret/path"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn problem_type_uses_stable_urn() {
        let problem = ApiError::not_found("tenant", "acme").problem();
        assert_eq!(problem.problem_type, "urn:cascade:problem:not-found");
        assert_eq!(problem.value.as_deref(), Some("acme"));
        assert_eq!(problem.status, 404);
    }

    #[test]
    fn truncate_keeps_char_boundary() {
        let cut = truncate("é".repeat(200));
        assert!(cut.len() <= 300);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
