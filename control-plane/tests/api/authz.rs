//! The authorization matrix: every route with every role and with no
//! token, against the expected status.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::Fixture;

/// One route of the API with a request that succeeds for a platform
/// admin, and the expected status for each role.
pub struct RouteCase {
    pub method: Method,
    /// The path as the OpenAPI document names it.
    pub template: &'static str,
    /// The concrete path; `{spare}` is replaced by a spare token id.
    pub path: &'static str,
    pub body: Option<fn() -> Value>,
    /// Platform admin, integrator-admin of `acme`, auditor, edge.
    pub expected: [u16; 4],
    /// Whether the route answers without a token.
    pub public: bool,
}

const fn case(
    method: Method,
    template: &'static str,
    path: &'static str,
    body: Option<fn() -> Value>,
    expected: [u16; 4],
) -> RouteCase {
    RouteCase {
        method,
        template,
        path,
        body,
        expected,
        public: false,
    }
}

/// Every route but `/openapi.json`, which documents the others.
pub fn routes() -> Vec<RouteCase> {
    use Method as M;
    let public = |template: &'static str| RouteCase {
        method: M::GET,
        template,
        path: template,
        body: None,
        expected: [200; 4],
        public: true,
    };
    vec![
        public("/healthz"),
        public("/readyz"),
        case(
            M::POST,
            "/v1/integrators",
            "/v1/integrators",
            Some(|| json!({"id": "new", "display_name": "New"})),
            [201, 403, 403, 403],
        ),
        case(
            M::GET,
            "/v1/integrators",
            "/v1/integrators",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::GET,
            "/v1/integrators/{id}",
            "/v1/integrators/acme",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/integrators/{id}",
            "/v1/integrators/acme",
            Some(|| json!({"region": "eu"})),
            [200, 200, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/integrators/{id}",
            "/v1/integrators/empty",
            None,
            [204, 403, 403, 403],
        ),
        case(
            M::POST,
            "/v1/integrators/{id}/status",
            "/v1/integrators/acme/status",
            Some(|| json!({"status": "active"})),
            [200, 403, 403, 403],
        ),
        case(
            M::POST,
            "/v1/tenants",
            "/v1/tenants",
            Some(|| json!({"id": "t9", "display_name": "T9"})),
            [201, 201, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tenants",
            "/v1/tenants",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}",
            "/v1/tenants/t1",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/tenants/{id}",
            "/v1/tenants/t1",
            Some(|| json!({"display_name": "T one"})),
            [200, 200, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/tenants/{id}",
            "/v1/tenants/t1",
            None,
            [204, 204, 403, 403],
        ),
        case(
            M::PUT,
            "/v1/tenants/{id}/integrator",
            "/v1/tenants/t1/integrator",
            Some(|| json!({"integrator": "other"})),
            [200, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/tenants/{id}/integrator",
            "/v1/tenants/t1/integrator",
            None,
            [200, 403, 403, 403],
        ),
        case(
            M::POST,
            "/v1/flags",
            "/v1/flags",
            Some(|| json!({"key": "new", "type": "integer", "default": 3})),
            [201, 403, 403, 403],
        ),
        case(M::GET, "/v1/flags", "/v1/flags", None, [200, 200, 200, 403]),
        case(
            M::GET,
            "/v1/flags/{key}",
            "/v1/flags/beta",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/flags/{key}",
            "/v1/flags/beta",
            Some(|| json!({"description": "Beta UI"})),
            [200, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/flags/{key}",
            "/v1/flags/beta",
            None,
            [204, 403, 403, 403],
        ),
        case(
            M::GET,
            "/v1/integrators/{id}/flags",
            "/v1/integrators/acme/flags",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/integrators/{id}/flags",
            "/v1/integrators/acme/flags",
            Some(|| json!({"set": [{"flag": "beta", "value": false}]})),
            [200, 403, 403, 403],
        ),
        case(
            M::GET,
            "/v1/integrators/{id}/flags/{key}",
            "/v1/integrators/acme/flags/beta",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PUT,
            "/v1/integrators/{id}/flags/{key}",
            "/v1/integrators/acme/flags/beta",
            Some(|| json!({"value": false})),
            [200, 403, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/integrators/{id}/flags/{key}",
            "/v1/integrators/acme/flags/beta",
            None,
            [204, 403, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}/flags",
            "/v1/tenants/t1/flags",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/tenants/{id}/flags",
            "/v1/tenants/t1/flags",
            Some(|| json!({"remove": ["beta"]})),
            [200, 200, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}/flags/{key}",
            "/v1/tenants/t1/flags/beta",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PUT,
            "/v1/tenants/{id}/flags/{key}",
            "/v1/tenants/t1/flags/beta",
            Some(|| json!({"value": false})),
            [200, 200, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/tenants/{id}/flags/{key}",
            "/v1/tenants/t1/flags/beta",
            None,
            [204, 204, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}/users",
            "/v1/tenants/t1/users",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PATCH,
            "/v1/tenants/{id}/users",
            "/v1/tenants/t1/users",
            Some(|| json!({"set": [{"user": "u2", "flag": "beta", "value": true}]})),
            [200, 200, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}/users/{user}/flags",
            "/v1/tenants/t1/users/u1/flags",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}/users/{user}/flags/{key}",
            "/v1/tenants/t1/users/u1/flags/beta",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::PUT,
            "/v1/tenants/{id}/users/{user}/flags/{key}",
            "/v1/tenants/t1/users/u1/flags/beta",
            Some(|| json!({"value": false})),
            [200, 200, 403, 403],
        ),
        case(
            M::DELETE,
            "/v1/tenants/{id}/users/{user}/flags/{key}",
            "/v1/tenants/t1/users/u1/flags/beta",
            None,
            [204, 204, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tenants/{id}/users/{user}/evaluation",
            "/v1/tenants/t1/users/u1/evaluation",
            None,
            [200, 200, 200, 403],
        ),
        case(
            M::POST,
            "/v1/tokens",
            "/v1/tokens",
            Some(|| json!({"name": "ci", "role": "edge"})),
            [201, 403, 403, 403],
        ),
        case(
            M::GET,
            "/v1/tokens",
            "/v1/tokens",
            None,
            [200, 403, 200, 403],
        ),
        case(
            M::GET,
            "/v1/tokens/{id}",
            "/v1/tokens/{spare}",
            None,
            [200, 403, 200, 403],
        ),
        case(
            M::DELETE,
            "/v1/tokens/{id}",
            "/v1/tokens/{spare}",
            None,
            [204, 403, 403, 403],
        ),
        case(M::GET, "/v1/audit", "/v1/audit", None, [200, 200, 200, 403]),
        case(
            M::GET,
            "/v1/snapshot",
            "/v1/snapshot",
            None,
            [200, 403, 200, 200],
        ),
    ]
}

/// Each route runs on its own copy of the fixture. Roles go from no token
/// to platform admin, so that rejected requests come first; they must
/// leave the revision unchanged. The platform admin gets a fresh copy when
/// the integrator-admin's request was expected to change data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_every_route_and_role() {
    let template = Fixture::new().await.into_template();
    let mut closing = Vec::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for route in routes() {
        let mut fixture = template.instance();
        for role in [4, 3, 2, 1, 0] {
            if role == 0 && route.expected[1] < 300 {
                closing.push(retire(fixture));
                fixture = template.instance();
            }
            let token = match role {
                0 => Some(fixture.app.admin.clone()),
                1 => Some(fixture.integrator_admin.clone()),
                2 => Some(fixture.auditor.clone()),
                3 => Some(fixture.edge.clone()),
                _ => None,
            };
            let expected = match (role, route.public) {
                (4, true) => 200,
                (4, false) => 401,
                (r, _) => route.expected[r],
            };
            let path = route.path.replace("{spare}", &fixture.spare_token_id);
            let revision = fixture.app.state.store.revision();
            let reply = fixture
                .app
                .send(
                    route.method.clone(),
                    &path,
                    token.as_deref(),
                    route.body.map(|b| b()),
                    &[],
                )
                .await;
            checked += 1;
            if reply.status != StatusCode::from_u16(expected).expect("status") {
                failures.push(format!(
                    "{} {path} as role #{role}: expected {expected}, got {} {}",
                    route.method,
                    reply.status,
                    String::from_utf8_lossy(&reply.bytes)
                ));
            }
            if expected >= 400 && fixture.app.state.store.revision() != revision {
                failures.push(format!(
                    "{} {path} as role #{role}: rejected but changed data",
                    route.method
                ));
            }
        }
        closing.push(retire(fixture));
    }
    for handle in closing {
        handle.join().expect("close fixture");
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Closes a fixture on another thread: redb persists its allocator state
/// when a database closes, which takes longer than the requests here.
fn retire(fixture: Fixture) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || drop(fixture))
}

#[tokio::test]
async fn integrator_admin_rejected_outside_scope() {
    let fixture = Fixture::new().await;
    let token = Some(fixture.integrator_admin.as_str());
    let cases = [
        (Method::GET, "/v1/integrators/other", None),
        (
            Method::PATCH,
            "/v1/integrators/other",
            Some(json!({"region": "us"})),
        ),
        (Method::GET, "/v1/tenants/t2", None),
        (Method::GET, "/v1/tenants?integrator=other", None),
        (
            Method::PUT,
            "/v1/tenants/t2/flags/beta",
            Some(json!({"value": true})),
        ),
        (
            Method::PUT,
            "/v1/tenants/t2/users/u1/flags/beta",
            Some(json!({"value": true})),
        ),
        (Method::GET, "/v1/tenants/t2/users/u1/evaluation", None),
        (
            Method::POST,
            "/v1/tenants",
            Some(json!({"id": "t8", "display_name": "T", "integrator": "other"})),
        ),
        (Method::DELETE, "/v1/tenants/t2", None),
    ];
    for (method, path, body) in cases {
        let reply = fixture
            .app
            .send(method.clone(), path, token, body, &[])
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(reply.problem_slug(), "forbidden", "{method} {path}");
    }
}

#[tokio::test]
async fn integrator_admin_lists_only_own_scope() {
    let fixture = Fixture::new().await;
    let token = Some(fixture.integrator_admin.as_str());
    let integrators = fixture
        .app
        .send(Method::GET, "/v1/integrators", token, None, &[])
        .await
        .json();
    let ids: Vec<&str> = integrators["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["acme"]);

    let tenants = fixture
        .app
        .send(Method::GET, "/v1/tenants", token, None, &[])
        .await
        .json();
    let ids: Vec<&str> = tenants["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["t1"]);

    let audit = fixture
        .app
        .send(Method::GET, "/v1/audit", token, None, &[])
        .await
        .json();
    let records = audit["items"].as_array().expect("items");
    assert!(!records.is_empty());
    for record in records {
        let scopes = record["integrators"].as_array().expect("integrators");
        assert!(scopes.contains(&json!("acme")), "{record}");
    }
}

#[tokio::test]
async fn revoked_token_is_rejected_at_once() {
    let fixture = Fixture::new().await;
    let (id, secret) = fixture.app.token("auditor", None).await;
    let before = fixture
        .app
        .send(Method::GET, "/v1/flags", Some(&secret), None, &[])
        .await;
    assert_eq!(before.status, StatusCode::OK);
    fixture
        .app
        .admin_ok(Method::DELETE, &format!("/v1/tokens/{id}"), None)
        .await;
    let after = fixture
        .app
        .send(Method::GET, "/v1/flags", Some(&secret), None, &[])
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.header("www-authenticate").as_deref(), Some("Bearer"));
}
