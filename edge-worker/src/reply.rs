//! Responses as plain data, and the headers every response gets: CORS,
//! snapshot revision and age, caching.

use serde::Serialize;

use crate::config::{AllowedOrigins, Config};

/// Header with the revision of the snapshot that produced the response.
pub const REVISION_HEADER: &str = "x-cascade-revision";
/// Header with the snapshot age in whole seconds: the time since the
/// worker last confirmed with the control plane that the snapshot is the
/// newest.
pub const AGE_HEADER: &str = "x-cascade-snapshot-age";

const PROBLEM_JSON: &str = "application/problem+json";
const JSON: &str = "application/json";

/// A response before it becomes a runtime object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// Builds a JSON response.
    pub fn json(status: u16, body: &impl Serialize) -> Reply {
        // The worker's body types have only string map keys, and their one
        // fallible part, embedding an object value, reads text that snapshot
        // decoding has checked to be JSON. An empty body is the fallback.
        let body = serde_json::to_vec(body).unwrap_or_default();
        Reply {
            status,
            headers: vec![("content-type", JSON.to_owned())],
            body,
        }
    }

    /// Builds a JSON response from a body already written.
    pub fn json_bytes(status: u16, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", JSON.to_owned())],
            body,
        }
    }

    /// Builds an empty response, such as 204 or 304.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// Returns the first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Kinds of RFC 9457 problem documents that the worker returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    NotFound,
    MethodNotAllowed,
    InvalidPath,
    InvalidTenant,
    InvalidUser,
    FlagNotFound,
    Unauthorized,
    Forbidden,
    SnapshotUnavailable,
    Misconfigured,
}

impl ProblemKind {
    fn slug_status_title(self) -> (&'static str, u16, &'static str) {
        match self {
            ProblemKind::NotFound => ("not-found", 404, "Not found"),
            ProblemKind::MethodNotAllowed => ("method-not-allowed", 405, "Method not allowed"),
            ProblemKind::InvalidPath => ("invalid-path", 400, "Invalid path"),
            ProblemKind::InvalidTenant => ("invalid-tenant", 400, "Invalid tenant id"),
            ProblemKind::InvalidUser => ("invalid-user", 400, "Invalid user id"),
            ProblemKind::FlagNotFound => ("flag-not-found", 404, "Flag not found"),
            ProblemKind::Unauthorized => ("unauthorized", 401, "Client key required"),
            ProblemKind::Forbidden => ("forbidden", 403, "Client key not allowed"),
            ProblemKind::SnapshotUnavailable => {
                ("snapshot-unavailable", 503, "No snapshot loaded yet")
            }
            ProblemKind::Misconfigured => ("misconfigured", 500, "Worker misconfigured"),
        }
    }

    /// Returns the stable `type` URI of this problem.
    pub fn type_uri(self) -> String {
        format!("urn:cascade:problem:{}", self.slug_status_title().0)
    }

    /// Returns the HTTP status of this problem.
    pub fn status(self) -> u16 {
        self.slug_status_title().1
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

/// Builds an `application/problem+json` response. `detail` names the
/// offending value and the fix.
pub fn problem(kind: ProblemKind, detail: &str) -> Reply {
    let (_, status, title) = kind.slug_status_title();
    let body = ProblemBody {
        type_uri: kind.type_uri(),
        title,
        status,
        detail,
    };
    let mut reply = Reply::json(status, &body);
    reply.headers[0].1 = PROBLEM_JSON.to_owned();
    reply
}

/// Headers that browsers may read from cross-origin responses.
const EXPOSED_HEADERS: &str = "ETag, Retry-After, X-Cascade-Revision, X-Cascade-Snapshot-Age";
/// Request headers that evaluation requests may carry.
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, If-None-Match, X-API-Key";
/// How long browsers may cache a preflight response, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// Adds the CORS headers for `origin` (the request's `Origin` header).
pub fn add_cors(reply: &mut Reply, config: &Config, origin: Option<&str>) {
    match &config.allowed_origins {
        AllowedOrigins::Any => {
            reply
                .headers
                .push(("access-control-allow-origin", "*".to_owned()));
        }
        AllowedOrigins::List(list) => {
            // The response depends on the origin, so shared caches must key on it.
            reply.headers.push(("vary", "Origin".to_owned()));
            let Some(origin) = origin.filter(|o| list.iter().any(|allowed| allowed == o)) else {
                return;
            };
            reply
                .headers
                .push(("access-control-allow-origin", origin.to_owned()));
        }
    }
    reply
        .headers
        .push(("access-control-expose-headers", EXPOSED_HEADERS.to_owned()));
}

/// Builds the response to a CORS preflight. It needs no client key,
/// because browsers send preflights without credentials.
pub fn preflight(config: &Config, origin: Option<&str>) -> Reply {
    let mut reply = Reply::empty(204)
        .with_header("access-control-allow-methods", "GET, HEAD, POST, OPTIONS")
        .with_header("access-control-allow-headers", ALLOWED_HEADERS)
        .with_header("access-control-max-age", PREFLIGHT_MAX_AGE);
    add_cors(&mut reply, config, origin);
    reply
}

/// Adds the revision and age headers.
pub fn add_snapshot_headers(reply: &mut Reply, revision: u64, age_seconds: u64) {
    reply.headers.push((REVISION_HEADER, revision.to_string()));
    reply.headers.push((AGE_HEADER, age_seconds.to_string()));
}

/// The `Cache-Control` of evaluation answers: browsers may reuse an answer
/// for `max_age` seconds, then must revalidate with the ETag. `private`
/// keeps per-user answers out of shared caches.
pub fn cache_control(max_age: u32) -> String {
    format!("private, max-age={max_age}, must-revalidate")
}

/// Returns true when an `If-None-Match` header value matches `etag`.
/// Weak comparison, as RFC 9110 prescribes for `If-None-Match`.
pub fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
    let Some(header) = if_none_match else {
        return false;
    };
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let wanted = strip(etag);
    header
        .split(',')
        .any(|candidate| candidate.trim() == "*" || strip(candidate) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClientKeys, Config};

    fn config(origins: AllowedOrigins) -> Config {
        Config {
            control_plane_url: "http://127.0.0.1:1".into(),
            edge_token: "t".into(),
            refresh_interval: crate::config::DEFAULT_REFRESH_INTERVAL,
            snapshot_timeout: crate::config::DEFAULT_SNAPSHOT_TIMEOUT,
            cache_max_age_seconds: 5,
            allowed_origins: origins,
            client_keys: ClientKeys::default(),
        }
    }

    #[test]
    fn problem_has_type_status_and_detail() {
        let reply = problem(ProblemKind::InvalidUser, "user id \"\" is empty");
        assert_eq!(reply.status, 400);
        assert_eq!(reply.header("content-type"), Some(PROBLEM_JSON));
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["type"], "urn:cascade:problem:invalid-user");
        assert_eq!(body["status"], 400);
        assert_eq!(body["detail"], "user id \"\" is empty");
    }

    #[test]
    fn cors_any_allows_every_origin() {
        let mut reply = Reply::empty(200);
        add_cors(
            &mut reply,
            &config(AllowedOrigins::Any),
            Some("https://x.test"),
        );
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
        assert_eq!(reply.header("vary"), None);
    }

    #[test]
    fn cors_list_echoes_only_listed_origin() {
        let config = config(AllowedOrigins::List(vec!["https://app.test".into()]));
        let mut allowed = Reply::empty(200);
        add_cors(&mut allowed, &config, Some("https://app.test"));
        assert_eq!(
            allowed.header("access-control-allow-origin"),
            Some("https://app.test")
        );
        assert_eq!(allowed.header("vary"), Some("Origin"));

        let mut other = Reply::empty(200);
        add_cors(&mut other, &config, Some("https://evil.test"));
        assert_eq!(other.header("access-control-allow-origin"), None);
        assert_eq!(other.header("vary"), Some("Origin"));
    }

    #[test]
    fn preflight_allows_auth_headers() {
        let reply = preflight(&config(AllowedOrigins::Any), None);
        assert_eq!(reply.status, 204);
        let allowed = reply.header("access-control-allow-headers").unwrap();
        assert!(allowed.contains("Authorization"));
        assert!(allowed.contains("X-API-Key"));
    }

    #[test]
    fn etag_matching_is_weak_and_listwise() {
        assert!(etag_matches(Some("\"a\""), "\"a\""));
        assert!(etag_matches(Some("W/\"a\""), "\"a\""));
        assert!(etag_matches(Some("\"b\", \"a\""), "\"a\""));
        assert!(etag_matches(Some("*"), "\"a\""));
        assert!(!etag_matches(Some("\"b\""), "\"a\""));
        assert!(!etag_matches(None, "\"a\""));
    }
}
