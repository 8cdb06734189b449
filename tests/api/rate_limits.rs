//! Rate limits on the authentication endpoints (token, key for token, login form): requests per
//! minute and address to each, failed authentications per minute and address across them, 429
//! with `Retry-After` in each endpoint's error shape, the realm's settings through the admin API,
//! and the counters shared by the nodes of one Redis.
//!
//! The nodes here trust loopback as their proxy, so each test client picks its address with
//! `X-Forwarded-For`; the admin calls (no header) come from 127.0.0.1 in realm master.

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::authorization_code::{challenge, code_request, create_web_client, Answer, Browser, VERIFIER};
use crate::helpers::{spawn_on, stack, Storage, TestApp};
use crate::isolation::create_user;
use nexus::clock::{Clock, SettableClock};

const SVC_SECRET: &str = "svc-secret-0123456789abcdefghijklmnop";
const PASSWORD: &str = "alice-password-for-limits";
const WRONG: &str = "not-alices-password";

/// A node behind a trusted proxy on loopback.
async fn node(storage: Storage, clock: SettableClock) -> TestApp {
    spawn_on(storage, clock, |s| {
        s.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a range")];
    })
    .await
}

/// A fresh node whose clock stands 15 s into a minute, so every refusal says `Retry-After: 45`.
async fn spawn_limited() -> TestApp {
    let clock = SettableClock::default();
    clock.set((clock.now() / 60 + 1) * 60 + 15);
    node(Storage::fresh(), clock).await
}

/// An API key of the realm's user alice: (id, secret).
struct Key(String, String);

/// Realm `name` with a confidential client `svc` (service account), the public browser client
/// `web` and alice, who holds an API key.
async fn realm(app: &TestApp, name: &str) -> Key {
    app.create_realm(name).await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{name}/clients"),
            Some(json!({ "clientId": "svc", "secret": SVC_SECRET, "serviceAccountsEnabled": true })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    create_web_client(app, name, "web", json!({})).await;
    create_user(app, name, "alice", PASSWORD, true).await;
    let token = app.password_token(name, "admin-cli", "alice", PASSWORD).await;
    let resp = app
        .http
        .post(app.url(&format!("/realms/{name}/api/v1/api-keys")))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .expect("create key");
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    Key(
        body["id"].as_str().expect("id").to_owned(),
        body["secret"].as_str().expect("secret").to_owned(),
    )
}

/// A browser at `address` (as the proxy forwards it).
fn at(app: &TestApp, address: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(address).expect("header"));
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client");
    Browser {
        http,
        base: app.address.clone(),
    }
}

async fn token(b: &Browser, realm: &str, secret: &str) -> Response {
    b.http
        .post(format!("{}/realms/{realm}/protocol/openid-connect/token", b.base))
        .basic_auth("svc", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
}

async fn key_for_token(b: &Browser, realm: &str, key: &Key, secret: &str) -> Response {
    b.http
        .post(format!("{}/realms/{realm}/api/v1/oauth/tokens", b.base))
        .json(&json!({ "apiKey": key.0, "apiSecret": secret }))
        .send()
        .await
        .expect("key for token")
}

async fn login_page(b: &Browser, realm: &str) -> Answer {
    let page = b.authorize(realm, &code_request("web", &challenge(VERIFIER))).await;
    assert!(page.is_login_page(), "{} {}", page.status, page.body);
    page
}

fn retry_after(headers: &HeaderMap) -> i64 {
    headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

/// The token endpoint's 429.
async fn assert_token_refused(resp: Response) {
    assert_eq!(resp.status(), 429);
    assert_eq!(retry_after(resp.headers()), 45);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "too_many_requests", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

/// Key for token's 429: an RFC 7807 problem.
async fn assert_key_refused(resp: Response, realm: &str) {
    assert_eq!(resp.status(), 429);
    assert_eq!(retry_after(resp.headers()), 45);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], 429, "{body}");
    assert_eq!(body["instance"], format!("/realms/{realm}/api/v1/oauth/tokens"));
    assert!(body["type"].as_str().expect("type").ends_with("too-many-requests"));
}

/// The login form's 429: an HTML page.
fn assert_login_refused(answer: &Answer) {
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(retry_after(&answer.headers), 45);
    let content_type = answer.headers["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(answer.body.contains("try again"), "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_the_101st_request_in_a_minute_is_refused_on_each_endpoint() {
    let app = spawn_limited().await;
    let key = realm(&app, "rl").await;
    let a = at(&app, "198.51.100.1");

    // Token endpoint: 100 tokens, then 429; other endpoints and addresses keep their own counts.
    for _ in 0..100 {
        assert_eq!(token(&a, "rl", SVC_SECRET).await.status(), 200);
    }
    assert_token_refused(token(&a, "rl", SVC_SECRET).await).await;
    assert_eq!(token(&at(&app, "198.51.100.2"), "rl", SVC_SECRET).await.status(), 200);
    assert_eq!(key_for_token(&a, "rl", &key, &key.1).await.status(), 200);

    // Key for token: 99 more from the same address, then 429.
    for _ in 0..99 {
        assert_eq!(key_for_token(&a, "rl", &key, &key.1).await.status(), 200);
    }
    assert_key_refused(key_for_token(&a, "rl", &key, &key.1).await, "rl").await;

    // The login form: every POST counts, whatever its outcome (here a refused CSRF token).
    let page = login_page(&a, "rl").await;
    let action = format!("{}{}", a.base, page.form_action("kc-form-login").expect("action"));
    for _ in 0..100 {
        let answer = a
            .post_form(&action, &[("username", "alice"), ("csrf_token", "x")])
            .await;
        assert_eq!(answer.status, 400);
    }
    assert_login_refused(&a.login(&page, "alice", PASSWORD).await);
    let other = at(&app, "198.51.100.2");
    let answer = other.login(&login_page(&other, "rl").await, "alice", PASSWORD).await;
    assert_eq!(answer.status, 302, "{}", answer.body);

    // The refusals are counted for Prometheus.
    let metrics = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    for endpoint in ["token", "key", "login"] {
        assert!(
            metrics.lines().any(|l| l.starts_with("nexus_rate_limited_total")
                && l.contains(&format!("endpoint=\"{endpoint}\""))
                && l.contains("reason=\"requests\"")
                && l.contains("realm=\"rl\"")),
            "{endpoint}: {metrics}"
        );
    }

    // The next minute admits again.
    app.clock.advance(60);
    assert_eq!(token(&a, "rl", SVC_SECRET).await.status(), 200);
    assert_eq!(key_for_token(&a, "rl", &key, &key.1).await.status(), 200);
    let answer = a.login(&page, "alice", PASSWORD).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_ten_failed_authentications_refuse_the_address_until_the_minute_ends() {
    let app = spawn_limited().await;
    let key = realm(&app, "fails").await;
    let a = at(&app, "203.0.113.7");

    // Ten failures spread over the three endpoints: a wrong client secret, a wrong key secret, a
    // wrong password on the login page.
    for _ in 0..4 {
        let resp = token(&a, "fails", "wrong-secret").await;
        assert_eq!(resp.status(), 401);
    }
    for _ in 0..3 {
        let resp = key_for_token(&a, "fails", &key, "nx_live_wrong").await;
        assert_eq!(resp.status(), 401);
    }
    let mut page = login_page(&a, "fails").await;
    for _ in 0..3 {
        page = a.login(&page, "alice", WRONG).await;
        assert!(page.is_login_page(), "{}", page.body);
    }

    // The 11th attempt is refused even with the right credentials, at every endpoint.
    assert_token_refused(token(&a, "fails", SVC_SECRET).await).await;
    assert_key_refused(key_for_token(&a, "fails", &key, &key.1).await, "fails").await;
    assert_login_refused(&a.login(&page, "alice", PASSWORD).await);

    // Another address is not affected.
    let b = at(&app, "203.0.113.8");
    assert_eq!(token(&b, "fails", SVC_SECRET).await.status(), 200);
    assert_eq!(key_for_token(&b, "fails", &key, &key.1).await.status(), 200);

    // Refusals that guess no secret are not failures.
    let c = at(&app, "203.0.113.9");
    for _ in 0..15 {
        let resp = c
            .http
            .post(app.token_url("fails"))
            .form(&[("grant_type", "urn:example:unknown"), ("client_id", "svc")])
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), 400);
    }
    assert_eq!(token(&c, "fails", SVC_SECRET).await.status(), 200);

    // The next minute admits again.
    app.clock.advance(60);
    assert_eq!(token(&a, "fails", SVC_SECRET).await.status(), 200);
    assert_eq!(key_for_token(&a, "fails", &key, &key.1).await.status(), 200);
    let answer = a.login(&page, "alice", PASSWORD).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
}

async fn realm_repr(app: &TestApp, realm: &str) -> Value {
    let resp = app.admin(Method::GET, &format!("/admin/realms/{realm}"), None).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

async fn put_realm(app: &TestApp, realm: &str, body: Value) -> (u16, Value) {
    let resp = app
        .admin(Method::PUT, &format!("/admin/realms/{realm}"), Some(body))
        .await;
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_realm_settings_of_the_admin_api() {
    let app = spawn_limited().await;
    realm(&app, "tuned").await;
    let repr = realm_repr(&app, "tuned").await;
    assert_eq!(repr["rateLimitRequestsPerMinute"], 100, "{repr}");
    assert_eq!(repr["rateLimitFailedAuthPerMinute"], 10, "{repr}");

    // Negative or not whole numbers are refused, on update and on create.
    for bad in [
        json!({ "rateLimitRequestsPerMinute": -1 }),
        json!({ "rateLimitRequestsPerMinute": 2.5 }),
        json!({ "rateLimitFailedAuthPerMinute": "ten" }),
        json!({ "rateLimitFailedAuthPerMinute": true }),
    ] {
        let (status, body) = put_realm(&app, "tuned", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            body["errorMessage"].as_str().is_some_and(|m| m.contains("rateLimit")),
            "{body}"
        );
    }
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms",
            Some(json!({ "realm": "bad", "rateLimitRequestsPerMinute": -5 })),
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(realm_repr(&app, "tuned").await["rateLimitRequestsPerMinute"], 100);

    // Three requests a minute, no failure limit.
    let (status, _) = put_realm(
        &app,
        "tuned",
        json!({ "rateLimitRequestsPerMinute": 3, "rateLimitFailedAuthPerMinute": "0" }),
    )
    .await;
    assert_eq!(status, 204);
    let repr = realm_repr(&app, "tuned").await;
    assert_eq!(repr["rateLimitRequestsPerMinute"], 3, "{repr}");
    assert_eq!(repr["rateLimitFailedAuthPerMinute"], 0, "{repr}");
    let a = at(&app, "192.0.2.10");
    for secret in ["wrong", "wrong", SVC_SECRET] {
        let expected = if secret == SVC_SECRET { 200 } else { 401 };
        assert_eq!(token(&a, "tuned", secret).await.status(), expected);
    }
    assert_token_refused(token(&a, "tuned", SVC_SECRET).await).await;

    // No request limit, two failures.
    let (status, _) = put_realm(
        &app,
        "tuned",
        json!({ "rateLimitRequestsPerMinute": 0, "rateLimitFailedAuthPerMinute": 2 }),
    )
    .await;
    assert_eq!(status, 204);
    let b = at(&app, "192.0.2.11");
    for _ in 0..120 {
        assert_eq!(token(&b, "tuned", SVC_SECRET).await.status(), 200);
    }
    for _ in 0..2 {
        assert_eq!(token(&b, "tuned", "wrong").await.status(), 401);
    }
    assert_token_refused(token(&b, "tuned", SVC_SECRET).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_nodes_sharing_redis() {
    if stack() != "postgres+redis" {
        // Each node has its own in-process store: nothing is shared to test.
        return;
    }
    let app = spawn_limited().await;
    let peer = node(app.storage.clone(), app.clock.clone()).await;
    let key = realm(&app, "shared").await;
    let (on_a, on_b) = (at(&app, "198.51.100.50"), at(&peer, "198.51.100.50"));
    for _ in 0..50 {
        assert_eq!(token(&on_a, "shared", SVC_SECRET).await.status(), 200);
        assert_eq!(token(&on_b, "shared", SVC_SECRET).await.status(), 200);
    }
    assert_token_refused(token(&on_a, "shared", SVC_SECRET).await).await;
    assert_token_refused(token(&on_b, "shared", SVC_SECRET).await).await;

    let (on_a, on_b) = (at(&app, "198.51.100.51"), at(&peer, "198.51.100.51"));
    for _ in 0..5 {
        assert_eq!(
            key_for_token(&on_a, "shared", &key, "nx_live_wrong").await.status(),
            401
        );
        assert_eq!(token(&on_b, "shared", "wrong").await.status(), 401);
    }
    assert_key_refused(key_for_token(&on_b, "shared", &key, &key.1).await, "shared").await;
    assert_token_refused(token(&on_a, "shared", SVC_SECRET).await).await;
}
