//! Single-override writes: `If-Match` on resources without an ETag, and
//! user ids and values the shared checks reject.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{Fixture, Reply};

const PATHS: [&str; 3] = [
    "/v1/integrators/acme/flags/beta",
    "/v1/tenants/t1/flags/beta",
    "/v1/tenants/t1/users/u1/flags/beta",
];

fn assert_problem(reply: &Reply, status: StatusCode, slug: &str) {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(reply.problem_slug(), slug);
}

#[tokio::test]
async fn override_if_match_tag_fails_412() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    for path in PATHS {
        let body = Some(json!({ "value": false }));
        let put = app
            .send(
                Method::PUT,
                path,
                Some(&app.admin),
                body,
                &[("if-match", "\"v1\"")],
            )
            .await;
        assert_problem(&put, StatusCode::PRECONDITION_FAILED, "precondition-failed");
        let delete = app
            .send(
                Method::DELETE,
                path,
                Some(&app.admin),
                None,
                &[("if-match", "\"v1\"")],
            )
            .await;
        assert_problem(
            &delete,
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
        );
        let kept = app.admin_ok(Method::GET, path, None).await;
        assert_eq!(kept["value"], json!(true), "{path} changed");
    }
}

#[tokio::test]
async fn override_if_match_malformed_is_400() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    for path in PATHS {
        let body = Some(json!({ "value": false }));
        let put = app
            .send(
                Method::PUT,
                path,
                Some(&app.admin),
                body,
                &[("if-match", "v1")],
            )
            .await;
        assert_problem(&put, StatusCode::BAD_REQUEST, "invalid-header");
        let delete = app
            .send(
                Method::DELETE,
                path,
                Some(&app.admin),
                None,
                &[("if-match", "v1")],
            )
            .await;
        assert_problem(&delete, StatusCode::BAD_REQUEST, "invalid-header");
    }
}

#[tokio::test]
async fn override_if_match_star_needs_existing() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let star = [("if-match", "*")];
    let replaced = app
        .send(
            Method::PUT,
            PATHS[1],
            Some(&app.admin),
            Some(json!({ "value": false })),
            &star,
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    let missing = "/v1/tenants/t2/flags/beta";
    let create = app
        .send(
            Method::PUT,
            missing,
            Some(&app.admin),
            Some(json!({ "value": true })),
            &star,
        )
        .await;
    assert_problem(
        &create,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    );
    let absent = app
        .send(Method::GET, missing, Some(&app.admin), None, &[])
        .await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND, "the failed PUT wrote");
    let delete_missing = app
        .send(Method::DELETE, missing, Some(&app.admin), None, &star)
        .await;
    assert_problem(
        &delete_missing,
        StatusCode::PRECONDITION_FAILED,
        "precondition-failed",
    );
    let delete = app
        .send(Method::DELETE, PATHS[1], Some(&app.admin), None, &star)
        .await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn override_dot_segment_user_rejected() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    for path in [
        "/v1/tenants/ta/users/%2E%2E/flags/beta",
        "/v1/tenants/t1/users/%2E%2E/flags/beta",
        "/v1/tenants/t1/users/%2E/flags/beta",
    ] {
        let reply = app
            .send(
                Method::PUT,
                path,
                Some(&app.admin),
                Some(json!({ "value": true })),
                &[],
            )
            .await;
        assert!(
            reply.status == StatusCode::BAD_REQUEST
                || reply.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            reply.status
        );
        assert_eq!(
            reply.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn override_value_over_64_kib_rejected() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    app.admin_ok(
        Method::POST,
        "/v1/flags",
        Some(json!({ "key": "banner", "type": "string", "default": "" })),
    )
    .await;
    app.admin_ok(
        Method::POST,
        "/v1/flags",
        Some(json!({ "key": "layout", "type": "object", "default": {} })),
    )
    .await;
    let long = "x".repeat(64 * 1024 + 1);
    for (path, value) in [
        ("/v1/tenants/t1/flags/banner", json!(long)),
        ("/v1/tenants/t1/flags/layout", json!({ "text": long })),
    ] {
        let reply = app
            .send(
                Method::PUT,
                path,
                Some(&app.admin),
                Some(json!({ "value": value })),
                &[],
            )
            .await;
        assert!(
            reply.status == StatusCode::BAD_REQUEST
                || reply.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            reply.status
        );
        assert_eq!(
            reply.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
    }
    let fits = "x".repeat(1024);
    app.admin_ok(
        Method::PUT,
        "/v1/tenants/t1/flags/banner",
        Some(json!({ "value": fits })),
    )
    .await;
}
