//! Concurrent writers: If-Match keeps every update of 50 writers that
//! race on one tenant.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn if_match_writers_lose_no_update() {
    const WRITERS: usize = 50;
    let app = std::sync::Arc::new(TestApp::new());
    app.admin_ok(
        Method::POST,
        "/v1/tenants",
        Some(json!({"id": "shared", "display_name": "Shared", "description": ""})),
    )
    .await;

    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let marker = format!("[w{writer}]");
            // Each round loses only to a write that committed, so the
            // loop ends after at most WRITERS rounds.
            for _ in 0..=WRITERS {
                let read = app
                    .send(
                        Method::GET,
                        "/v1/tenants/shared",
                        Some(&app.admin),
                        None,
                        &[],
                    )
                    .await;
                let etag = read.header("etag").expect("etag");
                let description = read.json()["description"].as_str().unwrap_or("").to_owned();
                let body = json!({ "description": format!("{description}{marker}") });
                let write = app
                    .send(
                        Method::PATCH,
                        "/v1/tenants/shared",
                        Some(&app.admin),
                        Some(body),
                        &[("if-match", &etag)],
                    )
                    .await;
                match write.status {
                    StatusCode::OK => return true,
                    StatusCode::PRECONDITION_FAILED => continue,
                    other => panic!("writer {writer}: unexpected {other}"),
                }
            }
            false
        }));
    }
    for task in tasks {
        assert!(task.await.expect("writer task"), "a writer never succeeded");
    }

    let tenant = app.admin_ok(Method::GET, "/v1/tenants/shared", None).await;
    let description = tenant["description"].as_str().expect("description");
    for writer in 0..WRITERS {
        let marker = format!("[w{writer}]");
        assert_eq!(
            description.matches(&marker).count(),
            1,
            "{marker} in {description}"
        );
    }
    let audit = app
        .admin_ok(
            Method::GET,
            "/v1/audit?target=tenants/shared&limit=1000",
            None,
        )
        .await;
    let updates = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|r| r["action"] == "tenant.update")
        .count();
    assert_eq!(updates, WRITERS);
}
