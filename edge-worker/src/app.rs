//! Answers a routed request from a loaded snapshot. Everything here is
//! plain Rust, so host tests drive it without a runtime.

use cascade_shared::Snapshot;
use serde::Serialize;

use crate::auth::{self, Denied};
use crate::config::Config;
use crate::evaluate::{self, Caching, Subject};
use crate::ofrep;
use crate::reply::{self, ProblemKind, Reply};
use crate::route::{Route, Routed};

/// The request headers the worker reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestHeaders<'a> {
    pub origin: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

/// The loaded snapshot and its age in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    pub snapshot: &'a Snapshot,
    pub age_seconds: u64,
}

/// Answers requests that need no snapshot: preflights and routing errors.
/// Returns `None` for an endpoint, which [`answer`] handles.
pub fn answer_without_snapshot(
    routed: &Routed,
    config: &Config,
    origin: Option<&str>,
) -> Option<Reply> {
    let mut reply = match routed {
        Routed::Endpoint(_) => return None,
        Routed::Preflight => return Some(reply::preflight(config, origin)),
        Routed::NotFound => reply::problem(
            ProblemKind::NotFound,
            "no endpoint at this path; evaluation endpoints are \
             /v1/tenants/{tenant}[/users/{user}]/flags[/{key}] and /ofrep/v1/evaluate/flags[/{key}]",
        ),
        Routed::MethodNotAllowed { allow } => {
            let detail = format!("this endpoint accepts {allow}");
            reply::problem(ProblemKind::MethodNotAllowed, &detail).with_header("allow", *allow)
        }
        Routed::BadEncoding { segment } => {
            let detail = format!(
                "path segment {segment:?} is not percent-encoded UTF-8; \
                 encode ids with encodeURIComponent or an equivalent"
            );
            reply::problem(ProblemKind::InvalidPath, &detail)
        }
    };
    reply::add_cors(&mut reply, config, origin);
    Some(reply)
}

/// The 503 answer while no snapshot is loaded.
pub fn unavailable(route: &Route, config: &Config, origin: Option<&str>) -> Reply {
    let retry_after = config.snapshot_timeout.as_secs().max(1);
    let detail = "the worker has not loaded a snapshot from the control plane yet; retry shortly";
    let mut reply = reply::problem(ProblemKind::SnapshotUnavailable, detail)
        .with_header("retry-after", retry_after.to_string())
        .with_header("cache-control", "no-store");
    if route.is_evaluation() {
        reply::add_cors(&mut reply, config, origin);
    }
    reply
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    status: &'static str,
    revision: u64,
    snapshot_age_seconds: u64,
    flags: usize,
    tenants: usize,
}

/// Answers an endpoint from the loaded snapshot. `body` is the request
/// body, read only for the OFREP endpoints.
pub fn answer(
    route: &Route,
    headers: &RequestHeaders<'_>,
    body: &[u8],
    loaded: Loaded<'_>,
    config: &Config,
) -> Reply {
    let mut reply = match route {
        Route::Health => health(loaded),
        _ => evaluation(route, headers, body, loaded, config),
    };
    if route.is_evaluation() {
        reply::add_cors(&mut reply, config, headers.origin);
    }
    reply::add_snapshot_headers(&mut reply, loaded.snapshot.revision(), loaded.age_seconds);
    reply
}

fn health(loaded: Loaded<'_>) -> Reply {
    let body = Health {
        status: "ok",
        revision: loaded.snapshot.revision(),
        snapshot_age_seconds: loaded.age_seconds,
        flags: loaded.snapshot.flags().len(),
        tenants: loaded.snapshot.tenant_count(),
    };
    Reply::json(200, &body).with_header("cache-control", "no-store")
}

fn evaluation(
    route: &Route,
    headers: &RequestHeaders<'_>,
    body: &[u8],
    loaded: Loaded<'_>,
    config: &Config,
) -> Reply {
    let key = auth::presented_key(headers.authorization, headers.api_key);
    let keys = &config.client_keys;
    if let Err(denied) = auth::authorize(keys, key, None) {
        return denied_reply(denied, None);
    }
    let caching = Caching {
        if_none_match: headers.if_none_match,
        max_age: config.cache_max_age_seconds,
    };
    let snapshot = loaded.snapshot;

    match route {
        Route::AllFlags { tenant, user } | Route::OneFlag { tenant, user, .. } => {
            if let Err(denied) = auth::authorize(keys, key, Some(tenant)) {
                return denied_reply(denied, Some(tenant));
            }
            let subject = Subject {
                tenant,
                user: user.as_deref(),
            };
            match route {
                Route::OneFlag { key, .. } => evaluate::one_flag(snapshot, subject, key, caching),
                _ => evaluate::all_flags(snapshot, subject, caching),
            }
        }
        Route::OfrepOne { key: flag } => match ofrep::parse_request(headers.content_type, body) {
            Ok(context) => match auth::authorize(keys, key, Some(&context.tenant)) {
                Ok(()) => ofrep::evaluate_one(snapshot, flag, &context, loaded.age_seconds),
                Err(denied) => denied_reply(denied, Some(&context.tenant)),
            },
            Err(err) => ofrep::failure(Some(flag), &err),
        },
        Route::OfrepBulk => match ofrep::parse_request(headers.content_type, body) {
            Ok(context) => match auth::authorize(keys, key, Some(&context.tenant)) {
                Ok(()) => ofrep::evaluate_bulk(snapshot, &context, loaded.age_seconds, caching),
                Err(denied) => denied_reply(denied, Some(&context.tenant)),
            },
            Err(err) => ofrep::failure(None, &err),
        },
        Route::Health => health(loaded),
    }
}

fn denied_reply(denied: Denied, tenant: Option<&str>) -> Reply {
    let reply = match denied {
        Denied::MissingOrUnknown => reply::problem(
            ProblemKind::Unauthorized,
            "send a configured client key as `Authorization: Bearer KEY` or `X-API-Key: KEY`",
        )
        .with_header("www-authenticate", "Bearer"),
        Denied::OtherTenant => {
            let detail = format!(
                "this client key is limited to another tenant than {:?}; use a key for this tenant",
                tenant.unwrap_or("")
            );
            reply::problem(ProblemKind::Forbidden, &detail)
        }
    };
    reply.with_header("cache-control", "no-store")
}

#[cfg(test)]
mod tests {
    use cascade_shared::{FlagValue, SnapshotBuilder};
    use serde_json::Value;

    use super::*;
    use crate::config::{AllowedOrigins, ClientKey, ClientKeys};
    use crate::route::route;

    fn config(keys: Vec<ClientKey>) -> Config {
        Config {
            control_plane_url: "http://127.0.0.1:1".into(),
            edge_token: "t".into(),
            refresh_interval: crate::config::DEFAULT_REFRESH_INTERVAL,
            snapshot_timeout: crate::config::DEFAULT_SNAPSHOT_TIMEOUT,
            cache_max_age_seconds: 5,
            allowed_origins: AllowedOrigins::Any,
            client_keys: ClientKeys { entries: keys },
        }
    }

    fn snapshot() -> Snapshot {
        let mut builder = SnapshotBuilder::new(9);
        builder
            .flag("beta", FlagValue::Boolean(false))
            .unwrap()
            .tenant("acme", None)
            .unwrap()
            .tenant("globex", None)
            .unwrap();
        builder.build().unwrap()
    }

    fn call(
        method: &str,
        path: &str,
        headers: RequestHeaders<'_>,
        body: &str,
        config: &Config,
    ) -> Reply {
        let snapshot = snapshot();
        let loaded = Loaded {
            snapshot: &snapshot,
            age_seconds: 2,
        };
        match route(method, path) {
            Routed::Endpoint(route) => answer(&route, &headers, body.as_bytes(), loaded, config),
            other => answer_without_snapshot(&other, config, headers.origin).unwrap(),
        }
    }

    #[test]
    fn every_answer_has_revision_and_age() {
        let reply = call(
            "GET",
            "/v1/tenants/acme/flags",
            RequestHeaders::default(),
            "",
            &config(vec![]),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header(reply::REVISION_HEADER), Some("9"));
        assert_eq!(reply.header(reply::AGE_HEADER), Some("2"));
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            reply.header("cache-control"),
            Some("private, max-age=5, must-revalidate")
        );
    }

    #[test]
    fn health_reports_revision_and_age() {
        let reply = call(
            "GET",
            "/healthz",
            RequestHeaders::default(),
            "",
            &config(vec![]),
        );
        let body: Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["revision"], 9);
        assert_eq!(body["snapshotAgeSeconds"], 2);
        assert_eq!(body["flags"], 1);
    }

    #[test]
    fn client_keys_give_401_and_403() {
        let keys = vec![ClientKey {
            tenant: Some("acme".into()),
            key: "k".into(),
        }];
        let config = config(keys);
        let none = call(
            "GET",
            "/v1/tenants/acme/flags",
            RequestHeaders::default(),
            "",
            &config,
        );
        assert_eq!(none.status, 401);
        assert_eq!(none.header("www-authenticate"), Some("Bearer"));

        let with_key = RequestHeaders {
            authorization: Some("Bearer k"),
            ..RequestHeaders::default()
        };
        let own = call("GET", "/v1/tenants/acme/flags", with_key, "", &config);
        assert_eq!(own.status, 200);
        let other = call("GET", "/v1/tenants/globex/flags", with_key, "", &config);
        assert_eq!(other.status, 403);

        let ofrep_headers = RequestHeaders {
            api_key: Some("k"),
            content_type: Some("application/json"),
            ..RequestHeaders::default()
        };
        let body = r#"{"context":{"targetingKey":"u","tenantId":"globex"}}"#;
        let ofrep = call(
            "POST",
            "/ofrep/v1/evaluate/flags",
            ofrep_headers,
            body,
            &config,
        );
        assert_eq!(ofrep.status, 403);
    }

    #[test]
    fn preflight_needs_no_key() {
        let keys = vec![ClientKey {
            tenant: None,
            key: "k".into(),
        }];
        let reply = call(
            "OPTIONS",
            "/ofrep/v1/evaluate/flags",
            RequestHeaders::default(),
            "",
            &config(keys),
        );
        assert_eq!(reply.status, 204);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn routing_errors_are_problems() {
        let cases = [
            ("GET", "/nope", 404, "not-found"),
            (
                "DELETE",
                "/v1/tenants/acme/flags",
                405,
                "method-not-allowed",
            ),
            (
                "GET",
                "/v1/tenants/acme/users/%C3/flags",
                400,
                "invalid-path",
            ),
        ];
        for (method, path, status, kind) in cases {
            let reply = call(method, path, RequestHeaders::default(), "", &config(vec![]));
            assert_eq!(reply.status, status, "{method} {path}");
            let body: Value = serde_json::from_slice(&reply.body).unwrap();
            assert_eq!(body["type"], format!("urn:cascade:problem:{kind}"));
        }
    }

    #[test]
    fn unavailable_has_retry_after() {
        let reply = unavailable(&Route::OfrepBulk, &config(vec![]), None);
        assert_eq!(reply.status, 503);
        assert_eq!(reply.header("retry-after"), Some("3"));
        assert_eq!(reply.header(reply::REVISION_HEADER), None);
    }
}
