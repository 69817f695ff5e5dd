//! A table of bad inputs, each with the status and problem type it must
//! get. None may answer 500.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::Fixture;

struct Bad {
    name: &'static str,
    method: Method,
    path: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    slug: &'static str,
}

fn bad(
    name: &'static str,
    method: Method,
    path: &str,
    body: &str,
    status: u16,
    slug: &'static str,
) -> Bad {
    Bad {
        name,
        method,
        path: path.to_owned(),
        body: body.as_bytes().to_vec(),
        headers: vec![("content-type", "application/json".to_owned())],
        status,
        slug,
    }
}

fn cases() -> Vec<Bad> {
    use Method as M;
    let long_name = format!(r#"{{"id":"x","display_name":"{}"}}"#, "n".repeat(201));
    let long_id = format!(r#"{{"id":"{}","display_name":"x"}}"#, "a".repeat(65));
    let long_user = format!("/v1/tenants/t1/users/{}/flags/beta", "u".repeat(257));
    let oversized = format!(
        r#"{{"id":"x","display_name":"x","description":"{}"}}"#,
        "d".repeat(2 << 20)
    );
    let too_many: Vec<_> = (0..100_001)
        .map(|i| json!({"user": format!("u{i}"), "flag": "beta", "value": true}))
        .collect();
    let too_many = json!({ "set": too_many }).to_string();

    let mut cases = vec![
        // Identifiers.
        bad(
            "integrator id with space and capital",
            M::POST,
            "/v1/integrators",
            r#"{"id":"Bad Id","display_name":"x"}"#,
            400,
            "invalid-id",
        ),
        bad(
            "empty integrator id",
            M::POST,
            "/v1/integrators",
            r#"{"id":"","display_name":"x"}"#,
            400,
            "invalid-id",
        ),
        bad(
            "integrator id of 65 characters",
            M::POST,
            "/v1/integrators",
            &long_id,
            400,
            "invalid-id",
        ),
        bad(
            "integrator id with non-ASCII letter",
            M::POST,
            "/v1/integrators",
            r#"{"id":"café","display_name":"x"}"#,
            400,
            "invalid-id",
        ),
        bad(
            "tenant id in capitals",
            M::POST,
            "/v1/tenants",
            r#"{"id":"T1","display_name":"x"}"#,
            400,
            "invalid-id",
        ),
        bad(
            "tenant path id in capitals",
            M::GET,
            "/v1/tenants/UPPER",
            "",
            400,
            "invalid-id",
        ),
        bad(
            "flag key starting with digit",
            M::POST,
            "/v1/flags",
            r#"{"key":"1beta","type":"boolean","default":true}"#,
            400,
            "invalid-id",
        ),
        bad(
            "flag key with slash in path",
            M::GET,
            "/v1/flags/be%2Fta",
            "",
            400,
            "invalid-id",
        ),
        bad(
            "user id of 257 bytes",
            M::PUT,
            &long_user,
            r#"{"value":true}"#,
            400,
            "invalid-id",
        ),
        bad(
            "user id with invalid percent-encoding",
            M::PUT,
            "/v1/tenants/t1/users/%FF%FE/flags/beta",
            r#"{"value":true}"#,
            422,
            "invalid-field",
        ),
        // Text fields and unicode.
        bad(
            "empty display name",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":""}"#,
            422,
            "invalid-field",
        ),
        bad(
            "display name of spaces",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"   "}"#,
            422,
            "invalid-field",
        ),
        bad(
            "display name with NUL",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"a\u0000b"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "display name with bidi override",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"abc\u202Egpj.exe"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "display name of 201 characters",
            M::POST,
            "/v1/integrators",
            &long_name,
            422,
            "invalid-field",
        ),
        bad(
            "lone surrogate escape",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"\ud800"}"#,
            400,
            "invalid-json",
        ),
        bad(
            "website without http scheme",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x","website":"ftp://x.example"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "contact email without at sign",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x","contacts":[{"name":"A","email":"nope","role":"technical"}]}"#,
            422,
            "invalid-field",
        ),
        bad(
            "contact phone with letters",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x","contacts":[{"name":"A","email":"a@b.io","phone":"call me","role":"technical"}]}"#,
            422,
            "invalid-field",
        ),
        bad(
            "contact role unknown",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x","contacts":[{"name":"A","email":"a@b.io","role":"boss"}]}"#,
            422,
            "invalid-body",
        ),
        // Body shape.
        bad(
            "unknown field",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x","colour":"red"}"#,
            422,
            "invalid-body",
        ),
        bad(
            "unknown field in override",
            M::PUT,
            "/v1/tenants/t1/flags/beta",
            r#"{"value":true,"ttl":5}"#,
            422,
            "invalid-body",
        ),
        bad(
            "truncated JSON",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x""#,
            400,
            "invalid-json",
        ),
        bad(
            "trailing garbage",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x"}x"#,
            400,
            "invalid-json",
        ),
        bad(
            "array instead of object",
            M::POST,
            "/v1/integrators",
            "[]",
            422,
            "invalid-body",
        ),
        bad("empty body", M::POST, "/v1/flags", "", 400, "invalid-json"),
        bad(
            "missing override value",
            M::PUT,
            "/v1/tenants/t1/flags/beta",
            "{}",
            422,
            "invalid-body",
        ),
        bad(
            "oversized body",
            M::POST,
            "/v1/integrators",
            &oversized,
            413,
            "body-too-large",
        ),
        bad(
            "bulk of 100001 items",
            M::PATCH,
            "/v1/tenants/t1/users",
            &too_many,
            422,
            "too-many-items",
        ),
        // Values.
        bad(
            "string for boolean override",
            M::PUT,
            "/v1/tenants/t1/flags/beta",
            r#"{"value":"true"}"#,
            422,
            "invalid-value",
        ),
        bad(
            "null override value",
            M::PUT,
            "/v1/integrators/acme/flags/beta",
            r#"{"value":null}"#,
            422,
            "invalid-value",
        ),
        bad(
            "string for boolean default",
            M::POST,
            "/v1/flags",
            r#"{"key":"k","type":"boolean","default":"yes"}"#,
            422,
            "invalid-value",
        ),
        bad(
            "fraction for integer default",
            M::POST,
            "/v1/flags",
            r#"{"key":"k","type":"integer","default":1.5}"#,
            422,
            "invalid-value",
        ),
        bad(
            "integer beyond i64",
            M::POST,
            "/v1/flags",
            r#"{"key":"k","type":"integer","default":9223372036854775808}"#,
            422,
            "invalid-value",
        ),
        bad(
            "array for object default",
            M::POST,
            "/v1/flags",
            r#"{"key":"k","type":"object","default":[1]}"#,
            422,
            "invalid-value",
        ),
        bad(
            "unknown flag type",
            M::POST,
            "/v1/flags",
            r#"{"key":"k","type":"bool","default":true}"#,
            422,
            "invalid-body",
        ),
        bad(
            "override of unknown flag",
            M::PUT,
            "/v1/tenants/t1/flags/nope",
            r#"{"value":true}"#,
            422,
            "invalid-reference",
        ),
        bad(
            "bulk with one wrong type",
            M::PATCH,
            "/v1/tenants/t1/users",
            r#"{"set":[{"user":"a","flag":"beta","value":true},{"user":"b","flag":"beta","value":1}]}"#,
            422,
            "invalid-value",
        ),
        // State and transitions.
        bad(
            "duplicate integrator",
            M::POST,
            "/v1/integrators",
            r#"{"id":"acme","display_name":"x"}"#,
            409,
            "already-exists",
        ),
        bad(
            "onboarding to suspended",
            M::POST,
            "/v1/integrators/acme/status",
            r#"{"status":"suspended"}"#,
            409,
            "invalid-transition",
        ),
        bad(
            "onboarding to onboarding",
            M::POST,
            "/v1/integrators/acme/status",
            r#"{"status":"onboarding"}"#,
            409,
            "invalid-transition",
        ),
        bad(
            "unknown status",
            M::POST,
            "/v1/integrators/acme/status",
            r#"{"status":"sleeping"}"#,
            422,
            "invalid-body",
        ),
        bad(
            "new integrator already offboarded",
            M::POST,
            "/v1/integrators",
            r#"{"id":"x","display_name":"x","status":"offboarded"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "delete integrator with tenants",
            M::DELETE,
            "/v1/integrators/acme",
            "",
            409,
            "integrator-has-tenants",
        ),
        bad(
            "tenant under unknown integrator",
            M::POST,
            "/v1/tenants",
            r#"{"id":"t5","display_name":"x","integrator":"ghost"}"#,
            422,
            "invalid-reference",
        ),
        bad(
            "move tenant to unknown integrator",
            M::PUT,
            "/v1/tenants/t1/integrator",
            r#"{"integrator":"ghost"}"#,
            422,
            "invalid-reference",
        ),
        bad(
            "flag type change with overrides",
            M::PATCH,
            "/v1/flags/beta",
            r#"{"type":"string","default":"on"}"#,
            409,
            "flag-has-overrides",
        ),
        bad(
            "flag type change without default",
            M::PATCH,
            "/v1/flags/beta",
            r#"{"type":"string"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "missing tenant",
            M::GET,
            "/v1/tenants/missing",
            "",
            404,
            "not-found",
        ),
        bad(
            "missing override",
            M::GET,
            "/v1/tenants/t2/flags/beta",
            "",
            404,
            "not-found",
        ),
        bad(
            "integrator-admin token without integrator",
            M::POST,
            "/v1/tokens",
            r#"{"name":"x","role":"integrator-admin"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "edge token bound to integrator",
            M::POST,
            "/v1/tokens",
            r#"{"name":"x","role":"edge","integrator":"acme"}"#,
            422,
            "invalid-field",
        ),
        bad(
            "unknown role",
            M::POST,
            "/v1/tokens",
            r#"{"name":"x","role":"root"}"#,
            422,
            "invalid-body",
        ),
        bad(
            "malformed token id",
            M::DELETE,
            "/v1/tokens/nonsense",
            "",
            422,
            "invalid-field",
        ),
        // Queries.
        bad(
            "limit zero",
            M::GET,
            "/v1/tenants?limit=0",
            "",
            400,
            "invalid-query",
        ),
        bad(
            "limit not a number",
            M::GET,
            "/v1/tenants?limit=ten",
            "",
            400,
            "invalid-query",
        ),
        bad(
            "unknown query parameter",
            M::GET,
            "/v1/flags?sort=key",
            "",
            400,
            "invalid-query",
        ),
        bad(
            "cursor not base64",
            M::GET,
            "/v1/tenants?cursor=!!!",
            "",
            400,
            "invalid-cursor",
        ),
        bad(
            "audit since not a time",
            M::GET,
            "/v1/audit?since=yesterday",
            "",
            400,
            "invalid-query",
        ),
        bad(
            "snapshot wait above bound",
            M::GET,
            "/v1/snapshot?wait=61",
            "",
            400,
            "invalid-query",
        ),
        // Routing.
        bad(
            "unknown route",
            M::GET,
            "/v1/nothing",
            "",
            404,
            "route-not-found",
        ),
        bad(
            "method not allowed",
            M::DELETE,
            "/v1/flags",
            "",
            405,
            "method-not-allowed",
        ),
    ];

    let mut no_type = bad(
        "missing content type",
        M::POST,
        "/v1/flags",
        r#"{"key":"k","type":"boolean","default":true}"#,
        415,
        "unsupported-media-type",
    );
    no_type.headers.clear();
    cases.push(no_type);
    let mut text = bad(
        "text content type",
        M::POST,
        "/v1/flags",
        r#"{"key":"k","type":"boolean","default":true}"#,
        415,
        "unsupported-media-type",
    );
    text.headers = vec![("content-type", "text/plain".to_owned())];
    cases.push(text);
    let mut stale = bad(
        "stale If-Match",
        M::PATCH,
        "/v1/tenants/t1",
        r#"{"display_name":"x"}"#,
        412,
        "precondition-failed",
    );
    stale.headers.push(("if-match", "\"v1\"".to_owned()));
    cases.push(stale);
    let mut malformed = bad(
        "unquoted If-Match",
        M::PATCH,
        "/v1/tenants/t1",
        r#"{"display_name":"x"}"#,
        400,
        "invalid-header",
    );
    malformed.headers.push(("if-match", "v1".to_owned()));
    cases.push(malformed);
    let mut invalid_utf8 = bad(
        "invalid UTF-8 in body",
        M::POST,
        "/v1/integrators",
        "",
        400,
        "invalid-json",
    );
    invalid_utf8.body = b"{\"id\":\"x\",\"display_name\":\"\xff\"}".to_vec();
    cases.push(invalid_utf8);
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_expected_problem() {
    let fixture = Fixture::new().await;
    let app = &fixture.app;
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let revision_before = app.state.store.revision();
    let mut failures = Vec::new();
    for case in &cases {
        let headers: Vec<(&str, &str)> =
            case.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = app
            .send_raw(
                case.method.clone(),
                &case.path,
                Some(&app.admin),
                case.body.clone(),
                &headers,
            )
            .await;
        let body = reply.json();
        let ok = reply.status == StatusCode::from_u16(case.status).expect("status")
            && reply.problem_slug() == case.slug
            && reply.header("content-type").as_deref() == Some("application/problem+json")
            && body["detail"].as_str().is_some_and(|d| !d.is_empty())
            && body["status"] == json!(case.status);
        if !ok {
            failures.push(format!(
                "{}: expected {} {}, got {} {}",
                case.name,
                case.status,
                case.slug,
                reply.status,
                String::from_utf8_lossy(&reply.bytes)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        app.state.store.revision(),
        revision_before,
        "a rejected request changed data"
    );
}

#[tokio::test]
async fn problem_names_offending_value() {
    let fixture = Fixture::new().await;
    let reply = fixture
        .app
        .send(
            Method::POST,
            "/v1/integrators",
            Some(&fixture.app.admin),
            Some(json!({"id": "Bad Id", "display_name": "x"})),
            &[],
        )
        .await;
    let body = reply.json();
    assert_eq!(body["value"], json!("Bad Id"));
    let detail = body["detail"].as_str().unwrap_or("");
    assert!(detail.contains("a-z"), "{detail}");
    assert!(detail.contains("\"Bad Id\""), "{detail}");
}
