//! Maps a method and a raw (percent-encoded) path to an endpoint.

use percent_encoding::percent_decode_str;

/// An endpoint of the worker, with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    /// `GET /v1/tenants/{tenant}[/users/{user}]/flags`.
    AllFlags {
        tenant: String,
        user: Option<String>,
    },
    /// `GET /v1/tenants/{tenant}[/users/{user}]/flags/{key}`.
    OneFlag {
        tenant: String,
        user: Option<String>,
        key: String,
    },
    /// `POST /ofrep/v1/evaluate/flags/{key}`.
    OfrepOne {
        key: String,
    },
    /// `POST /ofrep/v1/evaluate/flags`.
    OfrepBulk,
}

impl Route {
    /// Returns true for the evaluation endpoints, which browsers call, so
    /// CORS and client keys apply to them.
    pub fn is_evaluation(&self) -> bool {
        !matches!(self, Route::Health)
    }
}

/// The routing decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// An endpoint and the method it accepts matched.
    Endpoint(Route),
    /// A CORS preflight (`OPTIONS`) for an endpoint.
    Preflight,
    /// No endpoint has this path.
    NotFound,
    /// The path exists, but not for this method.
    MethodNotAllowed { allow: &'static str },
    /// A path segment is not valid percent-encoded UTF-8.
    BadEncoding { segment: String },
}

/// Returns the path of a serialized absolute URL, still percent-encoded,
/// without query and fragment: `http://h:1/a%2Fb?c` gives `/a%2Fb`. The
/// runtime serializes request URLs the WHATWG way, which always writes a
/// path after the authority of an `http` or `https` URL.
pub fn path_of_url(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |at| &url[at + 3..]);
    let Some(start) = after_scheme.find('/') else {
        return "/";
    };
    let path = &after_scheme[start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    &path[..end]
}

/// Routes a request. `path` is the URL path as sent, still percent-encoded,
/// so that an encoded `/` inside a user id stays inside its segment.
///
/// URL parsers (WHATWG URL, as in workerd and browsers) remove the
/// segments `.` and `..`, even percent-encoded as `%2E`, so
/// `/users/../flags` arrives as the tenant-level `/flags`. That is why the
/// model rejects `.` and `..` as user ids everywhere.
pub fn route(method: &str, path: &str) -> Routed {
    let Some(rest) = path.strip_prefix('/') else {
        return Routed::NotFound;
    };
    let raw: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(raw.len());
    for segment in &raw {
        match percent_decode_str(segment).decode_utf8() {
            Ok(text) => segments.push(text.into_owned()),
            Err(_) => {
                return Routed::BadEncoding {
                    segment: (*segment).to_owned(),
                };
            }
        }
    }

    let (endpoint, allow) = match match_path(&segments) {
        Some(found) => found,
        None => return Routed::NotFound,
    };
    let method_ok = if allow == GET_ALLOW {
        method == "GET" || method == "HEAD"
    } else {
        method == "POST"
    };
    if method == "OPTIONS" {
        Routed::Preflight
    } else if method_ok {
        Routed::Endpoint(endpoint)
    } else {
        Routed::MethodNotAllowed { allow }
    }
}

const GET_ALLOW: &str = "GET, HEAD, OPTIONS";
const POST_ALLOW: &str = "POST, OPTIONS";

fn match_path(segments: &[String]) -> Option<(Route, &'static str)> {
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let route = match parts.as_slice() {
        ["healthz"] => (Route::Health, GET_ALLOW),
        ["v1", "tenants", tenant, "flags"] => (
            Route::AllFlags {
                tenant: (*tenant).to_owned(),
                user: None,
            },
            GET_ALLOW,
        ),
        ["v1", "tenants", tenant, "flags", key] => (
            Route::OneFlag {
                tenant: (*tenant).to_owned(),
                user: None,
                key: (*key).to_owned(),
            },
            GET_ALLOW,
        ),
        ["v1", "tenants", tenant, "users", user, "flags"] => (
            Route::AllFlags {
                tenant: (*tenant).to_owned(),
                user: Some((*user).to_owned()),
            },
            GET_ALLOW,
        ),
        ["v1", "tenants", tenant, "users", user, "flags", key] => (
            Route::OneFlag {
                tenant: (*tenant).to_owned(),
                user: Some((*user).to_owned()),
                key: (*key).to_owned(),
            },
            GET_ALLOW,
        ),
        ["ofrep", "v1", "evaluate", "flags"] => (Route::OfrepBulk, POST_ALLOW),
        ["ofrep", "v1", "evaluate", "flags", key] => (
            Route::OfrepOne {
                key: (*key).to_owned(),
            },
            POST_ALLOW,
        ),
        _ => return None,
    };
    Some(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(method: &str, path: &str) -> Route {
        match route(method, path) {
            Routed::Endpoint(route) => route,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn path_of_url_drops_origin_query_and_fragment() {
        let cases = [
            ("http://127.0.0.1:8787/healthz", "/healthz"),
            (
                "https://edge.example/v1/tenants/a/users/x%2Fy/flags?z=1",
                "/v1/tenants/a/users/x%2Fy/flags",
            ),
            (
                "http://h/ofrep/v1/evaluate/flags#top",
                "/ofrep/v1/evaluate/flags",
            ),
            ("http://h/", "/"),
            ("http://h", "/"),
            ("http://user:p%2Fw@h/a?b/c", "/a"),
        ];
        for (url, path) in cases {
            assert_eq!(path_of_url(url), path, "{url}");
        }
    }

    #[test]
    fn user_flags_decodes_user_segment() {
        let route = endpoint("GET", "/v1/tenants/acme/users/a%2Fb%20%C3%BC/flags");
        let expected = Route::AllFlags {
            tenant: "acme".into(),
            user: Some("a/b ü".into()),
        };
        assert_eq!(route, expected);
    }

    #[test]
    fn tenant_flag_has_no_user() {
        let route = endpoint("GET", "/v1/tenants/acme/flags/beta.ui");
        let expected = Route::OneFlag {
            tenant: "acme".into(),
            user: None,
            key: "beta.ui".into(),
        };
        assert_eq!(route, expected);
    }

    #[test]
    fn empty_segments_reach_validation() {
        let route = endpoint("GET", "/v1/tenants//users//flags");
        let expected = Route::AllFlags {
            tenant: String::new(),
            user: Some(String::new()),
        };
        assert_eq!(route, expected);
    }

    #[test]
    fn ofrep_routes_need_post() {
        assert_eq!(
            endpoint("POST", "/ofrep/v1/evaluate/flags"),
            Route::OfrepBulk
        );
        let one = endpoint("POST", "/ofrep/v1/evaluate/flags/beta");
        assert_eq!(one, Route::OfrepOne { key: "beta".into() });
        let wrong = route("GET", "/ofrep/v1/evaluate/flags");
        assert_eq!(wrong, Routed::MethodNotAllowed { allow: POST_ALLOW });
    }

    #[test]
    fn options_is_preflight_on_known_paths() {
        assert_eq!(route("OPTIONS", "/v1/tenants/a/flags"), Routed::Preflight);
        assert_eq!(route("OPTIONS", "/nowhere"), Routed::NotFound);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "/v1",
            "/v1/tenants",
            "/v1/tenants/a/users/b",
            "healthz",
            "/v2/x",
        ] {
            assert_eq!(route("GET", path), Routed::NotFound, "{path}");
        }
    }

    #[test]
    fn invalid_utf8_segment_is_reported() {
        let routed = route("GET", "/v1/tenants/acme/users/%FF/flags");
        let expected = Routed::BadEncoding {
            segment: "%FF".into(),
        };
        assert_eq!(routed, expected);
    }

    #[test]
    fn post_to_get_endpoint_is_rejected() {
        let routed = route("POST", "/healthz");
        assert_eq!(routed, Routed::MethodNotAllowed { allow: GET_ALLOW });
    }
}
