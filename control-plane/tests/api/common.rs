//! Shared helpers: an in-process app on a temporary redb file, request
//! shortcuts, and a fixture with one token per role.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

use cascade_control_plane::{AppState, app};

/// A service on its own temporary data file.
pub struct TestApp {
    pub state: Arc<AppState>,
    pub router: Router,
    pub admin: String,
    pub dir: TempDir,
}

/// A response with its body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// Parses the body as JSON, or returns `null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// Returns the `type` slug of a problem document.
    pub fn problem_slug(&self) -> String {
        let body = self.json();
        body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:cascade:problem:"))
            .unwrap_or("")
            .to_owned()
    }

    /// Returns a response header as a string.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
    }
}

impl TestApp {
    /// Opens a new store and creates the bootstrap platform-admin token.
    pub fn new() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = AppState::open(&dir.path().join("cascade.redb")).expect("open store");
        let admin = state
            .bootstrap_token()
            .expect("bootstrap")
            .expect("new store has no token");
        let router = app(state.clone());
        TestApp {
            state,
            router,
            admin,
            dir,
        }
    }

    /// Sends a request with an optional token, JSON body and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if bytes.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            all.push(("content-type", "application/json"));
        }
        self.send_raw(method, path, token, bytes.unwrap_or_default(), &all)
            .await
    }

    /// Sends a request with a raw body and exactly the given headers.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Body::from(body)).expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    /// Sends as the platform admin and expects a 2xx status.
    pub async fn admin_ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let reply = self
            .send(method.clone(), path, Some(&self.admin), body, &[])
            .await;
        assert!(
            reply.status.is_success(),
            "{method} {path}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.bytes)
        );
        reply.json()
    }

    /// Creates a token of `role` (bound to `integrator` for
    /// integrator-admins); returns (id, secret).
    pub async fn token(&self, role: &str, integrator: Option<&str>) -> (String, String) {
        let mut body = json!({ "name": format!("{role} token"), "role": role });
        if let Some(integrator) = integrator {
            body["integrator"] = json!(integrator);
        }
        let created = self.admin_ok(Method::POST, "/v1/tokens", Some(body)).await;
        (
            created["id"].as_str().expect("id").to_owned(),
            created["secret"].as_str().expect("secret").to_owned(),
        )
    }
}

/// Tokens of every role over a small hierarchy.
pub struct Fixture {
    pub app: TestApp,
    pub integrator_admin: String,
    pub auditor: String,
    pub edge: String,
    /// The id of a spare auditor token that routes may revoke.
    pub spare_token_id: String,
}

impl Fixture {
    /// Integrators `acme` (with tenant `t1`), `other` (with tenant `t2`)
    /// and `empty`; boolean flag `beta` with an override at each level
    /// for `acme`, `t1` and user `u1`; one token per role, the
    /// integrator-admin bound to `acme`.
    pub async fn new() -> Fixture {
        let app = TestApp::new();
        for id in ["acme", "other", "empty"] {
            app.admin_ok(
                Method::POST,
                "/v1/integrators",
                Some(json!({ "id": id, "display_name": id })),
            )
            .await;
        }
        for (id, integrator) in [("t1", "acme"), ("t2", "other")] {
            app.admin_ok(
                Method::POST,
                "/v1/tenants",
                Some(json!({ "id": id, "display_name": id, "integrator": integrator })),
            )
            .await;
        }
        app.admin_ok(
            Method::POST,
            "/v1/flags",
            Some(json!({ "key": "beta", "type": "boolean", "default": false })),
        )
        .await;
        let value = Some(json!({ "value": true }));
        app.admin_ok(
            Method::PUT,
            "/v1/integrators/acme/flags/beta",
            value.clone(),
        )
        .await;
        app.admin_ok(Method::PUT, "/v1/tenants/t1/flags/beta", value.clone())
            .await;
        app.admin_ok(Method::PUT, "/v1/tenants/t1/users/u1/flags/beta", value)
            .await;
        let (_, integrator_admin) = app.token("integrator-admin", Some("acme")).await;
        let (_, auditor) = app.token("auditor", None).await;
        let (_, edge) = app.token("edge", None).await;
        let (spare_token_id, _) = app.token("auditor", None).await;
        Fixture {
            app,
            integrator_admin,
            auditor,
            edge,
            spare_token_id,
        }
    }

    /// Closes the store so that its file can be copied.
    pub fn into_template(self) -> FixtureTemplate {
        let Fixture {
            app,
            integrator_admin,
            auditor,
            edge,
            spare_token_id,
        } = self;
        let TestApp {
            state,
            router,
            admin,
            dir,
        } = app;
        drop(router);
        assert_eq!(Arc::strong_count(&state), 1, "the store is still in use");
        drop(state);
        FixtureTemplate {
            dir,
            admin,
            integrator_admin,
            auditor,
            edge,
            spare_token_id,
        }
    }
}

/// A closed fixture store, copied for each test case: a copy costs one
/// file copy instead of the fixture's dozen durable commits.
pub struct FixtureTemplate {
    dir: TempDir,
    admin: String,
    integrator_admin: String,
    auditor: String,
    edge: String,
    spare_token_id: String,
}

impl FixtureTemplate {
    /// Opens a private copy of the fixture store.
    pub fn instance(&self) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cascade.redb");
        std::fs::copy(self.dir.path().join("cascade.redb"), &path).expect("copy store");
        let state = AppState::open(&path).expect("open copy");
        let router = app(state.clone());
        Fixture {
            app: TestApp {
                state,
                router,
                admin: self.admin.clone(),
                dir,
            },
            integrator_admin: self.integrator_admin.clone(),
            auditor: self.auditor.clone(),
            edge: self.edge.clone(),
            spare_token_id: self.spare_token_id.clone(),
        }
    }
}
