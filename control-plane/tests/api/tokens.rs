//! Token life cycle: the last platform-admin token and the bearer scheme.

use axum::http::{Method, StatusCode};

use crate::common::TestApp;

/// The id of the bootstrap platform-admin token.
async fn bootstrap_token_id(app: &TestApp) -> String {
    let list = app.admin_ok(Method::GET, "/v1/tokens", None).await;
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["role"] == "platform-admin")
        .and_then(|t| t["id"].as_str())
        .expect("bootstrap token")
        .to_owned()
}

#[tokio::test]
async fn revoke_last_platform_admin_conflicts() {
    let app = TestApp::new();
    let id = bootstrap_token_id(&app).await;
    let reply = app
        .send(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&app.admin),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(reply.problem_slug(), "last-platform-admin");
    let detail = reply.json()["detail"].as_str().unwrap_or("").to_owned();
    assert!(
        detail.contains("create another platform-admin token first"),
        "{detail}"
    );
    let still = app
        .send(Method::GET, "/v1/flags", Some(&app.admin), None, &[])
        .await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_platform_admin_with_spare_succeeds() {
    let app = TestApp::new();
    let id = bootstrap_token_id(&app).await;
    let (spare_id, spare) = app.token("platform-admin", None).await;
    let revoked = app
        .send(
            Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&spare),
            None,
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let last = app
        .send(
            Method::DELETE,
            &format!("/v1/tokens/{spare_id}"),
            Some(&spare),
            None,
            &[],
        )
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let app = TestApp::new();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {}", app.admin);
        let reply = app
            .send_raw(
                Method::GET,
                "/v1/flags",
                None,
                Vec::new(),
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "scheme {scheme}");
    }
    let basic = format!("Basic {}", app.admin);
    let reply = app
        .send_raw(
            Method::GET,
            "/v1/flags",
            None,
            Vec::new(),
            &[("authorization", &basic)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
