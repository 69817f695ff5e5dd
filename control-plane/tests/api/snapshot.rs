//! `GET /v1/snapshot`: bytes the shared decoder accepts, ETag, 304 and
//! the long-poll.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;

use cascade_shared::{Level, Snapshot, ValueRef};

use crate::common::Fixture;

#[tokio::test]
async fn snapshot_decodes_and_evaluates() {
    let fixture = Fixture::new().await;
    let reply = fixture
        .app
        .send(Method::GET, "/v1/snapshot", Some(&fixture.edge), None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    let revision = fixture.app.state.store.revision();
    assert_eq!(reply.header("etag"), Some(format!("\"r{revision}\"")));

    let snapshot = Snapshot::decode(&reply.bytes).expect("valid snapshot");
    assert_eq!(snapshot.revision(), revision);
    let user = snapshot
        .evaluate("t1", Some("u1"), "beta")
        .expect("evaluation");
    assert_eq!(user.level, Level::User);
    let other = snapshot.evaluate("t2", None, "beta").expect("evaluation");
    assert_eq!(other.level, Level::Platform);
    assert_eq!(other.value, ValueRef::Boolean(false));
}

#[tokio::test]
async fn snapshot_if_none_match_answers_304() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let first = app
        .send(Method::GET, "/v1/snapshot", Some(&fixture.edge), None, &[])
        .await;
    let etag = first.header("etag").expect("etag");
    let again = app
        .send(
            Method::GET,
            "/v1/snapshot",
            Some(&fixture.edge),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    assert_eq!(again.header("etag"), Some(etag.clone()));

    app.admin_ok(
        Method::PUT,
        "/v1/tenants/t2/flags/beta",
        Some(json!({"value": true})),
    )
    .await;
    let changed = app
        .send(
            Method::GET,
            "/v1/snapshot",
            Some(&fixture.edge),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.header("etag"), Some(etag));
}

#[tokio::test]
async fn snapshot_wait_times_out_with_304() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let etag = format!("\"r{}\"", app.state.store.revision());
    let reply = app
        .send(
            Method::GET,
            "/v1/snapshot?wait=1",
            Some(&fixture.edge),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_wait_wakes_on_new_revision() {
    let fixture = Arc::new(Fixture::new().await);
    let revision = fixture.app.state.store.revision();
    let etag = format!("\"r{revision}\"");
    let mut committed = fixture.app.state.store.subscribe();

    let poller = {
        let fixture = fixture.clone();
        tokio::spawn(async move {
            fixture
                .app
                .send(
                    Method::GET,
                    "/v1/snapshot?wait=30",
                    Some(&fixture.edge),
                    None,
                    &[("if-none-match", &etag)],
                )
                .await
        })
    };
    // The poll waits until a write commits, however long this side takes.
    tokio::task::yield_now().await;
    fixture
        .app
        .admin_ok(
            Method::PUT,
            "/v1/tenants/t2/flags/beta",
            Some(json!({"value": true})),
        )
        .await;
    committed
        .wait_for(|r| *r > revision)
        .await
        .expect("revision watch");

    let reply = poller.await.expect("poller");
    assert_eq!(reply.status, StatusCode::OK);
    let snapshot = Snapshot::decode(&reply.bytes).expect("valid snapshot");
    assert!(snapshot.revision() > revision);
    let tenant = snapshot.evaluate("t2", None, "beta").expect("evaluation");
    assert_eq!(tenant.level, Level::Tenant);
}

#[tokio::test]
async fn snapshot_rejects_integrator_admin() {
    let fixture = Fixture::new().await;
    let reply = fixture
        .app
        .send(
            Method::GET,
            "/v1/snapshot",
            Some(&fixture.integrator_admin),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_wait_rejects_revoked_token() {
    let fixture = Arc::new(Fixture::new().await);
    let (id, secret) = fixture.app.token("edge", None).await;
    let etag = format!("\"r{}\"", fixture.app.state.store.revision());
    let before = fixture.app.state.store.subscriber_count();

    let poller = {
        let fixture = fixture.clone();
        tokio::spawn(async move {
            fixture
                .app
                .send(
                    Method::GET,
                    "/v1/snapshot?wait=30",
                    Some(&secret),
                    None,
                    &[("if-none-match", &etag)],
                )
                .await
        })
    };
    // The request subscribes only after its token was accepted, so a
    // revocation from here on happens while it is held.
    while fixture.app.state.store.subscriber_count() == before {
        tokio::task::yield_now().await;
    }
    fixture
        .app
        .admin_ok(Method::DELETE, &format!("/v1/tokens/{id}"), None)
        .await;

    let reply = poller.await.expect("poller");
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.problem_slug(), "unauthorized");
}
