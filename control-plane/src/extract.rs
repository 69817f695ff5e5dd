//! Request extractors that turn every rejection into a problem document,
//! and the shared input checks: JSON bodies, ETags, cursors and text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, truncate};

/// Body limit of ordinary requests, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Body limit of bulk override requests, in bytes.
pub const BULK_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The raw request body, read within the route's body limit.
#[derive(Debug)]
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = request
            .extensions()
            .get::<BodyLimit>()
            .map_or(BODY_LIMIT, |l| l.0);
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::BodyTooLarge { limit })
            }
            Err(rejection) => Err(ApiError::InvalidBody(rejection.body_text())),
        }
    }
}

/// The body limit in force for a route, recorded for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl Body {
    /// Parses the body as JSON after checking the content type. Syntax
    /// errors are `invalid-json` (400); a document of the wrong shape,
    /// such as an unknown field, is `invalid-body` (422).
    pub fn json<T: DeserializeOwned>(&self, headers: &HeaderMap) -> Result<T, ApiError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match content_type.as_deref() {
            Some(value) if is_json(value) => {}
            Some(value) => return Err(ApiError::UnsupportedMediaType(truncate(value.to_owned()))),
            None => return Err(ApiError::UnsupportedMediaType(String::new())),
        }
        serde_json::from_slice(&self.0).map_err(|err| {
            use serde_json::error::Category;
            match err.classify() {
                Category::Syntax | Category::Eof | Category::Io => {
                    ApiError::InvalidJson(err.to_string())
                }
                Category::Data => ApiError::InvalidBody(err.to_string()),
            }
        })
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Path parameters, with decoding failures as problem documents.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|rejection| {
                ApiError::field(
                    "path",
                    parts.uri.path(),
                    format!(
                        "{}; percent-encode each path segment as UTF-8",
                        rejection.body_text()
                    ),
                )
            })
    }
}

/// Query parameters, with decoding failures as problem documents.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|rejection| ApiError::InvalidQuery(query_fix(&rejection.body_text())))
    }
}

/// Appends the allowed values of the parameter that a query decoding
/// error names, such as `limit: invalid digit found in string`.
fn query_fix(message: &str) -> String {
    let text = message
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(message);
    let param = text.split(':').next().unwrap_or("").trim();
    let allowed = match param {
        "limit" => format!("use a whole number from 1 to {MAX_PAGE_SIZE}"),
        "wait" => format!(
            "use a whole number of seconds from 0 to {}",
            crate::api::snapshot::MAX_WAIT_SECONDS
        ),
        _ => "remove unknown parameters and check the value of each one".to_owned(),
    };
    format!("{text}; {allowed}")
}

/// The request id that the request-id layer set.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Ok(RequestId(id))
    }
}

/// The entity tag of a record at `version`.
pub fn etag(version: u64) -> String {
    format!("\"v{version}\"")
}

/// An `ETag` header value.
pub fn etag_header(version: u64) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&etag(version)).unwrap_or(HeaderValue::from_static("\"\""));
    [(header::ETAG, value)]
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: the update applies unconditionally.
    Absent,
    /// `*`: the resource must exist.
    Any,
    /// The strong entity tags given.
    Tags(Vec<String>),
}

impl IfMatch {
    /// Parses the `If-Match` header of a request.
    pub fn from_headers(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
        let Some(value) = headers.get(header::IF_MATCH) else {
            return Ok(IfMatch::Absent);
        };
        let text = value
            .to_str()
            .map_err(|_| invalid_if_match(value.as_bytes()))?;
        if text.trim() == "*" {
            return Ok(IfMatch::Any);
        }
        let mut tags = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let quoted = part.len() >= 2 && part.starts_with('"') && part.ends_with('"');
            if !quoted && !part.starts_with("W/") {
                return Err(invalid_if_match(text.as_bytes()));
            }
            tags.push(part.to_owned());
        }
        Ok(IfMatch::Tags(tags))
    }

    /// Checks the header against a record's current version. Weak tags
    /// never match, as RFC 9110 requires for If-Match.
    pub fn check(&self, version: u64) -> Result<(), ApiError> {
        let current = etag(version);
        match self {
            IfMatch::Absent | IfMatch::Any => Ok(()),
            IfMatch::Tags(tags) if tags.contains(&current) => Ok(()),
            IfMatch::Tags(tags) => Err(ApiError::PreconditionFailed {
                given: truncate(tags.join(", ")),
                current,
            }),
        }
    }
}

impl IfMatch {
    /// Checks the header for a resource that carries no ETag, such as an
    /// override, given whether it exists now. `*` needs it to exist; a
    /// list of tags never matches, since no current representation has a
    /// tag (RFC 9110, section 13.1.1).
    pub fn check_untagged(&self, exists: bool) -> Result<(), ApiError> {
        match self {
            IfMatch::Absent => Ok(()),
            IfMatch::Any if exists => Ok(()),
            IfMatch::Any => Err(ApiError::OverridePrecondition {
                given: "*".to_owned(),
                reason: "there is no override to match; leave If-Match out to create one",
            }),
            IfMatch::Tags(tags) => Err(ApiError::OverridePrecondition {
                given: truncate(tags.join(", ")),
                reason: "overrides carry no ETag, so no tag can match; send If-Match: * to require that the override exists, or leave If-Match out",
            }),
        }
    }
}

fn invalid_if_match(value: &[u8]) -> ApiError {
    ApiError::InvalidHeader {
        header: "If-Match",
        value: truncate(String::from_utf8_lossy(value).into_owned()),
        fix: "send * or a list of quoted ETags such as \"v12\"",
    }
}

/// Page size when a list request gives none.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest page size a list request may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Checks a requested page size.
pub fn page_size(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::InvalidQuery(format!(
            "limit {n} is out of range; use 1 to {MAX_PAGE_SIZE}"
        ))),
    }
}

/// Encodes the key parts of the last item of a page as an opaque cursor.
pub fn encode_cursor(parts: &[&str]) -> String {
    let json = serde_json::to_vec(parts).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`] with `count` key parts.
pub fn decode_cursor(cursor: &str, count: usize) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::InvalidCursor(truncate(cursor.to_owned()));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if parts.len() == count {
        Ok(parts)
    } else {
        Err(invalid())
    }
}

/// Checks a human-readable text field: length in characters, no control
/// characters and no bidirectional overrides, which can make a name
/// display as something else.
pub fn check_text(
    field: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), ApiError> {
    let count = value.chars().count();
    if required && value.trim().is_empty() {
        return Err(ApiError::field(
            field,
            value,
            "must not be empty or only spaces",
        ));
    }
    if count > max_chars {
        return Err(ApiError::field(
            field,
            value,
            format!("is {count} characters long; the maximum is {max_chars}"),
        ));
    }
    let allow_newlines = max_chars > 200;
    let bad = value.chars().find(|c| {
        let control = c.is_control() && !(allow_newlines && matches!(c, '\n' | '\t'));
        let bidi = matches!(*c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        control || bidi
    });
    if let Some(c) = bad {
        return Err(ApiError::field(
            field,
            value,
            format!(
                "contains the control or bidirectional character U+{:04X}; remove it",
                c as u32
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("header value"));
        headers
    }

    #[test]
    fn if_match_parses_star_and_tag_lists() {
        let any = IfMatch::from_headers(&headers_with(header::IF_MATCH, "*")).expect("star");
        assert_eq!(any, IfMatch::Any);
        let tags =
            IfMatch::from_headers(&headers_with(header::IF_MATCH, "\"v1\", \"v2\"")).expect("tags");
        assert_eq!(tags, IfMatch::Tags(vec!["\"v1\"".into(), "\"v2\"".into()]));
        assert!(tags.check(2).is_ok());
        assert!(tags.check(3).is_err());
        assert_eq!(
            IfMatch::from_headers(&HeaderMap::new()).expect("absent"),
            IfMatch::Absent
        );
    }

    #[test]
    fn if_match_weak_tag_never_matches() {
        let weak =
            IfMatch::from_headers(&headers_with(header::IF_MATCH, "W/\"v2\"")).expect("weak");
        assert!(weak.check(2).is_err());
    }

    #[test]
    fn if_match_rejects_unquoted_tag() {
        let err = IfMatch::from_headers(&headers_with(header::IF_MATCH, "v2")).unwrap_err();
        assert_eq!(err.slug(), "invalid-header");
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = encode_cursor(&["user/1 é", "flag"]);
        assert_eq!(
            decode_cursor(&cursor, 2).expect("decode"),
            ["user/1 é", "flag"]
        );
        assert!(decode_cursor(&cursor, 1).is_err());
        assert!(decode_cursor("!!!", 1).is_err());
    }

    #[test]
    fn check_text_rejects_controls_and_bidi() {
        assert!(check_text("name", "Acme GmbH", 200, true).is_ok());
        assert!(check_text("name", "", 200, true).is_err());
        assert!(check_text("name", "a\u{0007}", 200, true).is_err());
        assert!(check_text("name", "a\u{2067}b", 200, true).is_err());
        assert!(check_text("description", "line\nline", 2000, false).is_ok());
        assert!(check_text("name", "line\nline", 200, false).is_err());
        assert!(check_text("name", &"ü".repeat(200), 200, true).is_ok());
        assert!(check_text("name", &"ü".repeat(201), 200, true).is_err());
    }

    #[test]
    fn json_content_type_accepts_suffix_and_charset() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/json"));
        assert!(!is_json("text/plain"));
    }

    #[test]
    fn query_fix_names_parameter_range() {
        let fixed =
            query_fix("Failed to deserialize query string: limit: invalid digit found in string");
        assert_eq!(
            fixed,
            "limit: invalid digit found in string; use a whole number from 1 to 1000"
        );
    }

    #[test]
    fn page_size_bounds() {
        assert_eq!(page_size(None).expect("default"), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(MAX_PAGE_SIZE)).expect("max"), MAX_PAGE_SIZE);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(MAX_PAGE_SIZE + 1)).is_err());
    }
}
