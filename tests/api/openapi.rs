//! The OpenAPI document (`/openapi.json`) and the API reference page (`/api-docs`): the document is
//! valid OpenAPI 3.1, it and the server's router cannot drift (ADR 020), and the page works in
//! Chromium.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{web, App, HttpRequest, HttpResponse};
use reqwest::Method;
use serde_json::Value;

use crate::browser::Browser;
use crate::helpers::spawn_app;

/// The route groups the document must cover: every route the server registers under these prefixes
/// is documented. (The account *pages* live under `/realms/{realm}/account` too, hence the narrower
/// prefix for the account API.)
const COVERED: &[&str] = &[
    "/admin/realms",
    "/realms/{realm}/api/",
    "/realms/{realm}/account/applications",
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn covered(path: &str) -> bool {
    COVERED.iter().any(|prefix| path.starts_with(prefix))
}

async fn served_document(app: &crate::helpers::TestApp) -> Value {
    let response = app
        .http
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(cache.contains("max-age"), "cacheable: {cache}");
    response.json().await.expect("JSON document")
}

/// `(METHOD, path)` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The path patterns actix actually registered, read from the router's resource map (actix has no
/// listing API; its `Debug` shows each resource's pattern as `patterns: Single("…")`).
async fn router_patterns() -> BTreeSet<String> {
    let app = actix_web::test::init_service(App::new().configure(nexus::http::routes).default_service(web::to(
        |req: HttpRequest| async move { HttpResponse::Ok().body(format!("{:?}", req.resource_map())) },
    )))
    .await;
    let request = actix_web::test::TestRequest::get().uri("/no-such-route").to_request();
    let dump = String::from_utf8(actix_web::test::call_and_read_body(&app, request).await.to_vec()).expect("utf-8");
    let mut patterns = BTreeSet::new();
    let marker = "patterns: Single(\"";
    let mut rest = dump.as_str();
    while let Some(start) = rest.find(marker) {
        rest = &rest[start + marker.len()..];
        let end = rest.find("\")").expect("end of pattern");
        patterns.insert(nexus::http::openapi::openapi_path(&rest[..end].replace("\\\\", "\\")));
        rest = &rest[end..];
    }
    assert!(
        patterns.len() > 100,
        "the router's Debug output changed shape (found {} patterns); update router_patterns()",
        patterns.len()
    );
    patterns
}

/// Whether a concrete path matches an OpenAPI template (`{path}` of group-by-path spans segments).
fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    for (i, segment) in t.iter().enumerate() {
        if *segment == "{path}" && i == t.len() - 1 {
            return p.len() >= t.len();
        }
        match p.get(i) {
            Some(s) if segment.starts_with('{') || s == segment => {}
            _ => return false,
        }
    }
    t.len() == p.len()
}

/// A concrete path for a template: every parameter is `x1` (no literal segment is).
fn sample(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "x1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// What the server answers a path nothing is registered for (`startup::not_found`).
async fn fell_through(response: reqwest::Response) -> bool {
    if response.status() != 404 {
        return false;
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body == serde_json::json!({ "error": "Not Found" })
}

#[tokio::test]
async fn openapi_document_and_router_do_not_drift() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let documented = operations(&doc);

    // 1. The served document is exactly what the API modules registered through `openapi::Api`,
    //    with no (method, path) registered twice.
    let registered: Vec<(String, String)> = nexus::http::openapi::documented()
        .iter()
        .map(|d| (d.method.as_str().to_owned(), d.path.clone()))
        .collect();
    let registered_set: BTreeSet<_> = registered.iter().cloned().collect();
    assert_eq!(registered.len(), registered_set.len(), "a route is registered twice");
    let undocumented: Vec<_> = registered_set.difference(&documented).collect();
    let unregistered: Vec<_> = documented.difference(&registered_set).collect();
    assert!(
        undocumented.is_empty(),
        "registered, not in /openapi.json: {undocumented:?}"
    );
    assert!(
        unregistered.is_empty(),
        "in /openapi.json, not registered: {unregistered:?}"
    );
    assert!(documented.len() > 130, "only {} operations", documented.len());

    // 2. Every path the router really has under the covered prefixes is documented, and every
    //    documented path is in the router: a route added with a plain `cfg.route(…)` fails here.
    let router = router_patterns().await;
    let documented_paths: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    let missing: Vec<_> = router
        .iter()
        .filter(|p| covered(p) && !documented_paths.contains(*p))
        .collect();
    assert!(
        missing.is_empty(),
        "routes registered under {COVERED:?} but not documented (register them through \
         `openapi::Api` with an `op(…)`, see ADR 020): {missing:?}"
    );
    let phantom: Vec<_> = documented_paths.iter().filter(|p| !router.contains(*p)).collect();
    assert!(phantom.is_empty(), "documented but not in the router: {phantom:?}");
    assert!(
        documented_paths.iter().all(|p| covered(p)),
        "a documented path is outside {COVERED:?}: extend COVERED with the new group"
    );

    // 3. Against the live server: each documented operation is answered by a handler (not the
    //    default "no such route"), and a method that is not documented for a path falls through
    //    unless another documented operation matches the same concrete path.
    let mut wrong = Vec::new();
    for path in &documented_paths {
        let url = format!("{}{}", app.address, sample(path));
        for method in METHODS {
            let upper = method.to_uppercase();
            let response = app
                .http
                .request(Method::from_bytes(upper.as_bytes()).expect("method"), &url)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let fell = fell_through(response).await;
            let here = documented.contains(&(upper.clone(), path.clone()));
            let elsewhere = documented
                .iter()
                .any(|(m, p)| *m == upper && p != path && template_matches(p, &sample(path)));
            if here && fell {
                wrong.push(format!("{upper} {path}: documented, but no handler answered"));
            } else if !here && !elsewhere && !fell {
                wrong.push(format!("{upper} {path}: answered {status}, but not documented"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "live server and document disagree:\n{}",
        wrong.join("\n")
    );
}

/// Collects every `$ref` in a JSON value.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_document_is_valid_openapi_3_1() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every reference resolves.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 100, "the document should use component schemas");
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "dangling $ref {r}");
    }

    // Path parameters: declared (in: path, required) exactly as the template names them.
    let mut ids = BTreeMap::new();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let in_template: BTreeSet<&str> = nexus::http::openapi::path_params(path).into_iter().collect();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .inspect(|p| assert_eq!(p["required"], true, "{method} {path}: {p}"))
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, in_template, "{method} {path}: path parameters");
            let id = op["operationId"].as_str().expect("operationId").to_owned();
            assert!(ids.insert(id.clone(), path.clone()).is_none(), "operationId {id} twice");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}: summary"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            let tag = op["tags"][0].as_str().expect("tag");
            assert!(tags.contains(tag), "{method} {path}: tag {tag} not declared");
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    assert!(doc["components"]["securitySchemes"]["apiKey"]["name"] == "Authorization-PSK");
}

#[tokio::test]
async fn api_docs_page_tries_an_operation_in_chromium() {
    let app = spawn_app().await;
    let page = app
        .http
        .get(format!("{}/api-docs", app.address))
        .send()
        .await
        .expect("GET /api-docs");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");

    let token = app.admin_token().await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/api-docs", app.address)).await;
    let op = "#op-get_admin_realms";
    browser
        .click(&format!("{op} > summary"), "the GET /admin/realms operation")
        .await;
    browser.type_into("#token", &token).await;
    browser.click(&format!("{op} button.try"), "Try it").await;
    let status = browser
        .text_of(&format!("{op} .result-status"), "the response status")
        .await;
    assert_eq!(status, "200", "{}", browser.context().await);
    let body = browser
        .text_of(&format!("{op} .result-body"), "the response body")
        .await;
    let realms: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("JSON body ({e}): {body}"));
    assert!(
        realms
            .as_array()
            .is_some_and(|r| r.iter().any(|realm| realm["realm"] == "master")),
        "{body}"
    );
    let shots = crate::browser::screenshot_dir();
    browser.save_screenshot(&shots, "api-docs").await;
    // The page lists every tag's operations, with schemas rendered.
    assert!(browser.has("#tag-api-keys details.op").await);
    assert!(browser.has("#op-post_admin_realms .schema").await);
    // The filter keeps only matching operations.
    browser.type_into("#filter", "oauth/tokens").await;
    let visible = browser
        .eval_async(
            "return Array.from(document.querySelectorAll('details.op'))
                 .filter((op) => op.offsetParent !== null).map((op) => op.id);",
        )
        .await;
    assert_eq!(visible, serde_json::json!(["op-post_realms_realm_api_v1_oauth_tokens"]));
    browser
        .click("#op-post_realms_realm_api_v1_oauth_tokens > summary", "key for token")
        .await;
    browser.save_screenshot(&shots, "api-docs-filtered").await;
    browser.close().await;
}

/// Checks `value` against `schema` (resolving references in `doc`); objects may carry only the
/// properties the schema names, and must carry the required ones. Returns what does not fit.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return mismatches(doc, &doc["components"]["schemas"][name], value, at, out);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return, // any JSON
    };
    let fits = |t: &str| match t {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !types.iter().any(|t| fits(t)) {
        out.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                mismatches(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            let Some(props) = schema["properties"].as_object() else {
                return;
            };
            for (key, v) in map {
                match props.get(key) {
                    Some(prop) => mismatches(doc, prop, v, &format!("{at}.{key}"), out),
                    None if schema["additionalProperties"].is_object() => {}
                    None => out.push(format!("{at}.{key}: not in the schema")),
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap_or_default();
                if !map.contains_key(key) {
                    out.push(format!("{at}.{key}: required, missing"));
                }
            }
        }
        _ => {}
    }
}

/// The answers of the operations whose response schemas are written by hand
/// (`http/openapi/schemas.rs`) carry exactly the documented fields (`json!` bodies can drift from
/// their description otherwise).
#[tokio::test]
async fn openapi_response_schemas_match_real_answers() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    app.create_realm("docs").await;
    let alice = crate::isolation::create_user(&app, "docs", "alice", "alice-password", true).await;
    let keys = format!("/admin/realms/docs/users/{alice}/api-keys");
    let created = app
        .admin(
            Method::POST,
            &keys,
            Some(serde_json::json!({ "id": "k1", "permissions": "email" })),
        )
        .await;
    let mut answers = vec![(
        "POST",
        "/admin/realms/{realm}/users/{user}/api-keys".to_owned(),
        created.status().as_u16(),
        created.json::<Value>().await.expect("json"),
    )];
    let secret = answers[0].3["secret"].as_str().expect("secret").to_owned();
    let token = app
        .http
        .post(format!("{}/realms/docs/api/v1/oauth/tokens", app.address))
        .json(&serde_json::json!({ "apiKey": "k1", "apiSecret": secret }))
        .send()
        .await
        .expect("key for token");
    answers.push((
        "POST",
        "/realms/{realm}/api/v1/oauth/tokens".to_owned(),
        token.status().as_u16(),
        token.json().await.expect("json"),
    ));
    let imported = app
        .admin(
            Method::POST,
            "/admin/realms/docs/partialImport",
            Some(serde_json::json!({ "ifResourceExists": "SKIP", "users": [{ "username": "bob", "enabled": true }] })),
        )
        .await;
    answers.push((
        "POST",
        "/admin/realms/{realm}/partialImport".to_owned(),
        imported.status().as_u16(),
        imported.json().await.expect("json"),
    ));
    // Let the event writer store the key's use before the events are read.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for (template, path) in [
        ("/admin/realms/{realm}/users/{user}/api-keys", keys.clone()),
        ("/admin/realms/{realm}/users/{user}/api-keys/{id}", format!("{keys}/k1")),
        ("/admin/realms/{realm}/events", "/admin/realms/docs/events".to_owned()),
        (
            "/admin/realms/{realm}/events/config",
            "/admin/realms/docs/events/config".to_owned(),
        ),
        (
            "/admin/realms/{realm}/admin-events",
            "/admin/realms/docs/admin-events".to_owned(),
        ),
        ("/admin/realms/{realm}/keys", "/admin/realms/docs/keys".to_owned()),
        (
            "/admin/realms/{realm}/users/count",
            "/admin/realms/docs/users/count".to_owned(),
        ),
        (
            "/admin/realms/{realm}/users/{id}/sessions",
            format!("/admin/realms/docs/users/{alice}/sessions"),
        ),
        (
            "/admin/realms/{realm}/users/{id}/consents",
            format!("/admin/realms/docs/users/{alice}/consents"),
        ),
        (
            "/admin/realms/{realm}/attack-detection/brute-force/users/{id}",
            format!("/admin/realms/docs/attack-detection/brute-force/users/{alice}"),
        ),
        (
            "/admin/realms/{realm}/pending-approvals",
            "/admin/realms/docs/pending-approvals".to_owned(),
        ),
    ] {
        let response = app.admin(Method::GET, &path, None).await;
        answers.push((
            "GET",
            template.to_owned(),
            response.status().as_u16(),
            response.json().await.expect("json"),
        ));
    }
    let mut wrong = Vec::new();
    for (method, template, status, body) in &answers {
        let op = &doc["paths"][template][method.to_lowercase()];
        let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template}: answered {status}, not documented: {body}"
        );
        mismatches(&doc, schema, body, &format!("{method} {template}"), &mut wrong);
    }
    let events = answers
        .iter()
        .find(|a| a.1 == "/admin/realms/{realm}/events")
        .expect("events");
    assert!(
        events.3.as_array().is_some_and(|e| !e.is_empty()),
        "some events to check"
    );
    assert!(
        wrong.is_empty(),
        "answers that do not fit their schema:\n{}",
        wrong.join("\n")
    );
}
