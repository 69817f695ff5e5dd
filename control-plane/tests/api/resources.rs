//! Behaviour of the resources: the cascade through the preview, tenant
//! moves, bulk atomicity, pagination, audit filters, deletes and restart.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use cascade_control_plane::{AppState, app};

use crate::common::{Fixture, TestApp};

/// Finds the preview entry of `flag`.
fn preview_of(preview: &Value, flag: &str) -> Value {
    preview["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["key"] == json!(flag))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn preview_follows_cascade_levels() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let path = "/v1/tenants/t1/users/u1/evaluation";

    let beta = preview_of(&app.admin_ok(Method::GET, path, None).await, "beta");
    assert_eq!(beta["level"], "user");
    assert_eq!(beta["value"], true);
    let levels: Vec<&str> = beta["explain"]
        .as_array()
        .expect("explain")
        .iter()
        .map(|s| s["level"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(levels, ["user", "tenant", "integrator", "platform"]);

    app.admin_ok(Method::DELETE, "/v1/tenants/t1/users/u1/flags/beta", None)
        .await;
    let beta = preview_of(&app.admin_ok(Method::GET, path, None).await, "beta");
    assert_eq!(beta["level"], "tenant");

    app.admin_ok(Method::DELETE, "/v1/tenants/t1/flags/beta", None)
        .await;
    let beta = preview_of(&app.admin_ok(Method::GET, path, None).await, "beta");
    assert_eq!(beta["level"], "integrator");
    assert_eq!(beta["value"], true);

    app.admin_ok(Method::DELETE, "/v1/tenants/t1/integrator", None)
        .await;
    let beta = preview_of(&app.admin_ok(Method::GET, path, None).await, "beta");
    assert_eq!(beta["level"], "platform");
    assert_eq!(beta["value"], false);
    assert_eq!(beta["reason"], "DEFAULT");
}

#[tokio::test]
async fn tenant_move_changes_evaluation_at_once() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    app.admin_ok(
        Method::PUT,
        "/v1/integrators/other/flags/beta",
        Some(json!({"value": false})),
    )
    .await;
    app.admin_ok(Method::DELETE, "/v1/tenants/t1/flags/beta", None)
        .await;
    app.admin_ok(
        Method::PUT,
        "/v1/tenants/t1/integrator",
        Some(json!({"integrator": "other"})),
    )
    .await;
    let beta = preview_of(
        &app.admin_ok(Method::GET, "/v1/tenants/t1/users/u9/evaluation", None)
            .await,
        "beta",
    );
    assert_eq!(beta["level"], "integrator");
    assert_eq!(beta["value"], false);
    let tenants = app
        .admin_ok(Method::GET, "/v1/tenants?integrator=other", None)
        .await;
    let ids: Vec<&str> = tenants["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["t1", "t2"]);
}

#[tokio::test]
async fn bulk_patch_is_atomic() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let revision = app.state.store.revision();
    let body = json!({"set": [
        {"user": "a", "flag": "beta", "value": true},
        {"user": "b", "flag": "beta", "value": "no"},
    ]});
    let reply = app
        .send(
            Method::PATCH,
            "/v1/tenants/t1/users",
            Some(&app.admin),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.state.store.revision(), revision);
    let missing = app
        .send(
            Method::GET,
            "/v1/tenants/t1/users/a/flags/beta",
            Some(&app.admin),
            None,
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let body = json!({"set": [{"user": "a", "flag": "beta", "value": true}], "remove": [{"user": "u1", "flag": "beta"}]});
    let result = app
        .admin_ok(Method::PATCH, "/v1/tenants/t1/users", Some(body))
        .await;
    assert_eq!(result["set"], 1);
    assert_eq!(result["removed"], 1);
    assert_eq!(result["revision"], json!(revision + 1));
}

#[tokio::test]
async fn user_overrides_paginate_without_gaps() {
    let app = TestApp::new();
    app.admin_ok(
        Method::POST,
        "/v1/tenants",
        Some(json!({"id": "t", "display_name": "T"})),
    )
    .await;
    app.admin_ok(
        Method::POST,
        "/v1/flags",
        Some(json!({"key": "a", "type": "integer", "default": 0})),
    )
    .await;
    let users: Vec<String> = (0..25).map(|i| format!("user/{i:02} é")).collect();
    let set: Vec<Value> = users
        .iter()
        .map(|u| json!({"user": u, "flag": "a", "value": 1}))
        .collect();
    app.admin_ok(
        Method::PATCH,
        "/v1/tenants/t/users",
        Some(json!({"set": set})),
    )
    .await;

    let mut seen = Vec::new();
    let mut path = "/v1/tenants/t/users?limit=7".to_owned();
    loop {
        let page = app.admin_ok(Method::GET, &path, None).await;
        for item in page["items"].as_array().expect("items") {
            seen.push(item["user"].as_str().expect("user").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/tenants/t/users?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, users);

    let one = app
        .admin_ok(
            Method::GET,
            "/v1/tenants/t/users/user%2F03%20%C3%A9/flags/a",
            None,
        )
        .await;
    assert_eq!(one["value"], 1);
}

#[tokio::test]
async fn flag_delete_removes_its_overrides() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    app.admin_ok(Method::DELETE, "/v1/flags/beta", None).await;
    for path in [
        "/v1/integrators/acme/flags",
        "/v1/tenants/t1/flags",
        "/v1/tenants/t1/users",
    ] {
        let list = app.admin_ok(Method::GET, path, None).await;
        assert_eq!(list["items"], json!([]), "{path}");
    }
    let audit = app
        .admin_ok(Method::GET, "/v1/audit?target=flags/beta", None)
        .await;
    let delete = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["action"] == "flag.delete")
        .cloned()
        .expect("delete record");
    assert_eq!(delete["before"]["overrides"]["users"][0]["user"], "u1");
    assert_eq!(delete["after"], Value::Null);

    app.admin_ok(
        Method::POST,
        "/v1/flags",
        Some(json!({"key": "beta", "type": "string", "default": "x"})),
    )
    .await;
    app.admin_ok(
        Method::PATCH,
        "/v1/flags/beta",
        Some(json!({"type": "integer", "default": 2})),
    )
    .await;
}

#[tokio::test]
async fn integrator_lifecycle_keeps_history() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    for status in ["active", "suspended", "active", "offboarded"] {
        app.admin_ok(
            Method::POST,
            "/v1/integrators/acme/status",
            Some(json!({"status": status, "reason": "contract"})),
        )
        .await;
    }
    let record = app
        .admin_ok(Method::GET, "/v1/integrators/acme", None)
        .await;
    let history = record["status_history"].as_array().expect("history");
    assert_eq!(history.len(), 5);
    assert_eq!(history[4]["from"], "active");
    assert_eq!(history[4]["to"], "offboarded");
    assert!(
        history[4]["by"]
            .as_str()
            .is_some_and(|b| b.starts_with("tok_"))
    );
    let reply = app
        .send(
            Method::POST,
            "/v1/integrators/acme/status",
            Some(&app.admin),
            Some(json!({"status": "active"})),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let detail = reply.json()["detail"].as_str().unwrap_or("").to_owned();
    assert!(
        detail.contains("offboarded") && detail.contains("active"),
        "{detail}"
    );
}

#[tokio::test]
async fn integrator_delete_revokes_bound_tokens() {
    let app = TestApp::new();
    app.admin_ok(
        Method::POST,
        "/v1/integrators",
        Some(json!({"id": "gone", "display_name": "G"})),
    )
    .await;
    let (_, secret) = app.token("integrator-admin", Some("gone")).await;
    let ok = app
        .send(
            Method::GET,
            "/v1/integrators/gone",
            Some(&secret),
            None,
            &[],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    app.admin_ok(Method::DELETE, "/v1/integrators/gone", None)
        .await;
    app.admin_ok(
        Method::POST,
        "/v1/integrators",
        Some(json!({"id": "gone", "display_name": "G2"})),
    )
    .await;
    let reply = app
        .send(
            Method::GET,
            "/v1/integrators/gone",
            Some(&secret),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn update_honours_if_match() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let read = app
        .send(Method::GET, "/v1/flags/beta", Some(&app.admin), None, &[])
        .await;
    let etag = read.header("etag").expect("etag");
    let body = Some(json!({"description": "first"}));
    let first = app
        .send(
            Method::PATCH,
            "/v1/flags/beta",
            Some(&app.admin),
            body,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let new_etag = first.header("etag").expect("etag");
    assert_ne!(new_etag, etag);
    let body = Some(json!({"description": "second"}));
    let second = app
        .send(
            Method::PATCH,
            "/v1/flags/beta",
            Some(&app.admin),
            body,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(second.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(second.json()["value"], json!(etag));
}

#[tokio::test]
async fn audit_filters_by_target_actor_and_time() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let (ia_id, ia) = app.token("integrator-admin", Some("acme")).await;
    let reply = app
        .send(
            Method::PUT,
            "/v1/tenants/t1/users/zed/flags/beta",
            Some(&ia),
            Some(json!({"value": false})),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let request_id = reply.header("x-request-id").expect("request id");

    let by_actor = app
        .admin_ok(Method::GET, &format!("/v1/audit?actor={ia_id}"), None)
        .await;
    let items = by_actor["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "user_override.put");
    assert_eq!(items[0]["target"], "tenants/t1/users/zed/flags/beta");
    assert_eq!(items[0]["before"], Value::Null);
    assert_eq!(items[0]["after"], false);
    assert_eq!(items[0]["request_id"], json!(request_id));

    let by_target = app
        .admin_ok(Method::GET, "/v1/audit?target=tenants/t1/users", None)
        .await;
    assert_eq!(by_target["items"].as_array().expect("items").len(), 2);

    let future = app
        .admin_ok(Method::GET, "/v1/audit?since=2999-01-01T00:00:00Z", None)
        .await;
    assert_eq!(future["items"], json!([]));
    let past = app
        .admin_ok(Method::GET, "/v1/audit?until=2000-01-01T00:00:00Z", None)
        .await;
    assert_eq!(past["items"], json!([]));

    let mut ids = Vec::new();
    let mut path = "/v1/audit?limit=3".to_owned();
    loop {
        let page = app.admin_ok(Method::GET, &path, None).await;
        ids.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|r| r["id"].as_u64().expect("id")),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn reopened_store_keeps_data_and_revision() {
    let first = TestApp::new();
    first
        .admin_ok(
            Method::POST,
            "/v1/flags",
            Some(json!({"key": "k", "type": "string", "default": "a"})),
        )
        .await;
    let revision = first.state.store.revision();
    let path = first.dir.path().join("cascade.redb");
    let TestApp {
        state,
        router,
        dir,
        admin,
    } = first;
    drop(router);
    drop(state);

    let state = AppState::open(&path).expect("reopen");
    assert_eq!(state.store.revision(), revision);
    assert_eq!(state.bootstrap_token().expect("bootstrap"), None);
    let reopened = TestApp {
        router: app(state.clone()),
        state,
        dir,
        admin,
    };
    let flag = reopened.admin_ok(Method::GET, "/v1/flags/k", None).await;
    assert_eq!(flag["default"], "a");
    reopened
        .admin_ok(Method::PATCH, "/v1/flags/k", Some(json!({"default": "b"})))
        .await;
    assert_eq!(reopened.state.store.revision(), revision + 1);
}
