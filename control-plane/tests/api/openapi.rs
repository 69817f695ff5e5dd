//! The OpenAPI document lists exactly the routes the router serves.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};

use crate::authz::routes;
use crate::common::TestApp;

#[tokio::test]
async fn openapi_covers_every_route() {
    let app = TestApp::new();
    let reply = app
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let tested: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|r| (r.method.to_string(), r.template.to_owned()))
        .collect();
    let undocumented: Vec<_> = tested.difference(&documented).collect();
    let untested: Vec<_> = documented.difference(&tested).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        untested.is_empty(),
        "documented routes missing from the matrix: {untested:?}"
    );

    // Every documented route is served: none falls through to the 404
    // fallback or to a 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{id}", "x")
            .replace("{key}", "k")
            .replace("{user}", "u");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let reply = app
            .send_raw(method.clone(), &concrete, None, Vec::new(), &[])
            .await;
        assert_ne!(reply.problem_slug(), "route-not-found", "{method} {path}");
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
}

#[test]
fn openapi_names_bearer_scheme_and_problem() {
    let document = serde_json::to_value(cascade_control_plane::openapi()).expect("json");
    let components = &document["components"];
    assert_eq!(components["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(components["schemas"]["Problem"].is_object());
}
