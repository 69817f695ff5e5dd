//! Query errors that name the parameter and its allowed values, audit
//! time ranges, error wording, and tenant creation outside a scope.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{Fixture, Reply};

fn detail(reply: &Reply) -> String {
    reply.json()["detail"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn query_errors_name_parameter_range() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let cases = [
        ("/v1/tenants?limit=-1", &app.admin, "limit", "1 to 1000"),
        ("/v1/audit?limit=abc", &app.admin, "limit", "1 to 1000"),
        ("/v1/tenants?limit=5000", &app.admin, "limit", "1 to 1000"),
        ("/v1/snapshot?wait=abc", &fixture.edge, "wait", "0 to 60"),
        ("/v1/snapshot?wait=-1", &fixture.edge, "wait", "0 to 60"),
    ];
    for (path, token, param, range) in cases {
        let reply = app.send(Method::GET, path, Some(token), None, &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.problem_slug(), "invalid-query", "{path}");
        let text = detail(&reply);
        assert!(text.contains(param), "{path}: {text}");
        assert!(text.contains(range), "{path}: {text}");
    }
}

#[tokio::test]
async fn audit_since_after_until_rejected() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let path = "/v1/audit?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z";
    let reply = app
        .send(Method::GET, path, Some(&app.admin), None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.problem_slug(), "invalid-query");
    assert!(detail(&reply).contains("since"), "{}", detail(&reply));
    let equal = "/v1/audit?since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z";
    let reply = app
        .send(Method::GET, equal, Some(&app.admin), None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn forbidden_message_uses_an_article() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let cases = [
        (&fixture.integrator_admin, "an integrator-admin token"),
        (&fixture.auditor, "an auditor token"),
        (&fixture.edge, "an edge token"),
    ];
    for (token, start) in cases {
        let reply = app
            .send(
                Method::POST,
                "/v1/tokens",
                Some(token),
                Some(json!({})),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(detail(&reply).starts_with(start), "{}", detail(&reply));
    }
}

#[tokio::test]
async fn tenant_create_foreign_id_forbidden() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let body = |id: &str| Some(json!({ "id": id, "display_name": id }));
    let foreign = app
        .send(
            Method::POST,
            "/v1/tenants",
            Some(&fixture.integrator_admin),
            body("t2"),
            &[],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(foreign.problem_slug(), "forbidden");
    let own = app
        .send(
            Method::POST,
            "/v1/tenants",
            Some(&fixture.integrator_admin),
            body("t1"),
            &[],
        )
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert_eq!(own.problem_slug(), "already-exists");
}
