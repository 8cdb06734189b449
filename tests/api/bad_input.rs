//! Bad input never gets a 500 or a panic: protocol endpoints answer RFC 6749 JSON, admin endpoints
//! Keycloak's shapes, and a refused request changes nothing stored.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::token_endpoint::{split, token_form};

fn assert_oauth(status: u16, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

/// A raw POST to the realm's token endpoint.
async fn raw_token(
    app: &TestApp,
    realm: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let mut req = app.http.post(app.token_url(realm)).body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    let resp = req.send().await.expect("request");
    let (status, headers, body) = split(resp).await;
    if status != 404 {
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{body}"
        );
    }
    (status, body)
}

/// A raw admin request with the bootstrap admin's token.
async fn raw_admin(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let token = app.admin_token().await;
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token).body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// POSTs `chunks` chunks of 8 KiB with `Transfer-Encoding: chunked` (no Content-Length) over a raw
/// connection; returns the status and the body.
fn chunked_post(app: &TestApp, path: &str, content_type: &str, chunks: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    let chunk = format!("2000\r\n{}\r\n", "a".repeat(0x2000));
    for _ in 0..chunks {
        // The server may answer and close before the whole body is sent.
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_400_not_413_or_500() {
    let app = spawn_app().await;
    app.create_realm("big").await;
    let (_, secret) = app.create_service_client("big", "svc").await;

    // Token endpoint: 100 KiB of form.
    let body = format!(
        "grant_type=client_credentials&client_id=svc&client_secret={secret}&scope={}",
        "a".repeat(100 * 1024)
    );
    let (status, body) = raw_token(&app, "big", Some(FORM), body).await;
    assert_oauth(status, &body, 400, "invalid_request");
    // Just over the limit, and just under it (then a normal answer).
    let pad = 64 * 1024 + 1 - "grant_type=client_credentials&x=".len();
    let (status, body) = raw_token(
        &app,
        "big",
        Some(FORM),
        format!("grant_type=client_credentials&x={}", "a".repeat(pad)),
    )
    .await;
    assert_oauth(status, &body, 400, "invalid_request");
    let pad = 60 * 1024;
    let (status, body) = raw_token(
        &app,
        "big",
        Some(FORM),
        format!(
            "grant_type=client_credentials&client_id=svc&client_secret={secret}&x={}",
            "a".repeat(pad)
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A streamed (chunked) oversized body, without Content-Length.
    let (status, body) =
        tokio::task::block_in_place(|| chunked_post(&app, "/realms/big/protocol/openid-connect/token", FORM, 20));
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["error"], "invalid_request");

    // Admin API: 100 KiB of JSON.
    let big = json!({ "realm": "huge", "displayName": "x".repeat(100 * 1024) }).to_string();
    let (status, body) = raw_admin(&app, Method::POST, "/admin/realms", Some(JSON), big).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errorMessage"].is_string(), "{body}");
    let big = json!({ "clientId": "huge", "description": "x".repeat(100 * 1024) }).to_string();
    let (status, body) = raw_admin(&app, Method::POST, "/admin/realms/big/clients", Some(JSON), big).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errorMessage"].is_string(), "{body}");
    // Nothing was created.
    assert_eq!(app.admin(Method::GET, "/admin/realms/huge", None).await.status(), 404);
    let list: Value = app
        .admin(Method::GET, "/admin/realms/big/clients?clientId=huge", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list, json!([]));
    // The server is fine afterwards.
    let (status, _, _) = split(app.client_credentials("big", "svc", &secret).await).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_or_mistyped_token_requests_are_invalid_request() {
    let app = spawn_app().await;
    app.create_realm("bad").await;
    let (_, secret) = app.create_service_client("bad", "svc").await;

    // Bodies that are not a sensible form.
    for body in [
        &b"\xff\xfe\x00\x01garbage"[..],
        b"===&&&==",
        b"%zz%",
        b"grant_type",
        b"",
    ] {
        let (status, resp) = raw_token(&app, "bad", Some(FORM), body.to_vec()).await;
        assert_eq!(status, 400, "{:?}: {resp}", String::from_utf8_lossy(body));
        assert!(
            matches!(
                resp["error"].as_str(),
                Some("invalid_request" | "unsupported_grant_type")
            ),
            "{resp}"
        );
    }

    // JSON where a form belongs, a missing content type, a multipart body.
    let json_body =
        json!({ "grant_type": "client_credentials", "client_id": "svc", "client_secret": secret }).to_string();
    let (status, body) = raw_token(&app, "bad", Some(JSON), json_body.clone()).await;
    assert_oauth(status, &body, 400, "invalid_request");
    let (status, body) = raw_token(
        &app,
        "bad",
        None,
        format!("grant_type=client_credentials&client_id=svc&client_secret={secret}"),
    )
    .await;
    assert_oauth(status, &body, 400, "invalid_request");
    let (status, body) = raw_token(&app, "bad", Some("multipart/form-data; boundary=x"), "--x--").await;
    assert_oauth(status, &body, 400, "invalid_request");
    // The form type with a charset parameter is the form type.
    let (status, body) = raw_token(
        &app,
        "bad",
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        format!("grant_type=client_credentials&client_id=svc&client_secret={secret}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Grant types.
    let (status, _, body) = token_form(
        &app,
        "bad",
        &[
            ("grant_type", "urn:nexus:nope"),
            ("client_id", "svc"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth(status, &body, 400, "unsupported_grant_type");
    let (status, _, body) = token_form(
        &app,
        "bad",
        &[("grant_type", "authorization_code_but_wrong"), ("client_id", "svc")],
    )
    .await;
    assert_oauth(status, &body, 400, "unsupported_grant_type");
    let (status, _, body) = token_form(&app, "bad", &[("client_id", "svc"), ("client_secret", &secret)]).await;
    assert_oauth(status, &body, 400, "invalid_request");
    let (status, _, body) = token_form(
        &app,
        "bad",
        &[("grant_type", ""), ("client_id", "svc"), ("client_secret", &secret)],
    )
    .await;
    assert_oauth(status, &body, 400, "invalid_request");
    let long_grant = "g".repeat(10_000);
    let (status, _, body) = token_form(&app, "bad", &[("grant_type", &long_grant)]).await;
    assert_oauth(status, &body, 400, "unsupported_grant_type");
    assert!(
        body["error_description"].as_str().expect("description").len() < 500,
        "the description does not echo 10 KB"
    );

    // GET is not the token endpoint.
    let resp = app.http.get(app.token_url("bad")).send().await.expect("request");
    assert!(matches!(resp.status().as_u16(), 404 | 405), "{}", resp.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_huge_or_odd_client_ids_are_401_invalid_client() {
    let app = spawn_app().await;
    app.create_realm("ids").await;
    // Over ten refused client authentications from one address in a minute: past the failure
    // rate limit (rate_limits.rs), which this test is not about.
    app.update_realm("ids", json!({ "rateLimitFailedAuthPerMinute": 0 }))
        .await;
    app.create_service_client("ids", "svc").await;
    let huge = "c".repeat(10 * 1024);
    for client_id in [
        "",
        huge.as_str(),
        "svc\u{0}",
        "../../master",
        "svc ",
        "😀",
        "' OR '1'='1",
    ] {
        // client_secret_post
        let (status, _, body) = token_form(
            &app,
            "ids",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", "some-secret"),
            ],
        )
        .await;
        assert_oauth(status, &body, 401, "invalid_client");
        // client_secret_basic
        let resp = app
            .http
            .post(app.token_url("ids"))
            .basic_auth(client_id, Some("some-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("request");
        let (status, headers, body) = split(resp).await;
        assert_oauth(status, &body, 401, "invalid_client");
        assert!(headers.get("www-authenticate").is_some());
    }
    // Malformed Basic headers.
    for value in ["Basic !!!not-base64!!!", "Basic ", "Basic bm9jb2xvbg==", "Basic /w=="] {
        let resp = app
            .http
            .post(app.token_url("ids"))
            .header("authorization", value)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("request");
        let (status, _, body) = split(resp).await;
        assert!(matches!(status, 400 | 401), "{value}: {status} {body}");
        assert!(
            matches!(body["error"].as_str(), Some("invalid_client" | "invalid_request")),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_realms_are_404_on_protocol_and_admin_paths() {
    let app = spawn_app().await;
    let long = "r".repeat(5000);
    for realm in ["nope", long.as_str(), "no%20such", "%2e%2e"] {
        for path in [
            format!("/realms/{realm}"),
            format!("/realms/{realm}/.well-known/openid-configuration"),
            format!("/realms/{realm}/protocol/openid-connect/certs"),
        ] {
            let resp = app.http.get(app.url(&path)).send().await.expect("request");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            assert_eq!(status, 404, "{path}");
            assert!(body["error"].is_string(), "{path}: {body}");
        }
        let (status, body) = raw_token(
            &app,
            realm,
            Some(FORM),
            "grant_type=client_credentials&client_id=x&client_secret=y",
        )
        .await;
        assert_eq!(status, 404, "token endpoint of {realm}");
        assert!(body["error"].is_string(), "{body}");

        for path in [
            format!("/admin/realms/{realm}"),
            format!("/admin/realms/{realm}/clients"),
            format!("/admin/realms/{realm}/keys"),
        ] {
            let resp = app.admin(Method::GET, &path, None).await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            assert_eq!(status, 404, "{path}");
            assert!(body["error"].is_string(), "{path}: {body}");
        }
    }
    let resp = app.http.get(app.url("/no/such/path")).send().await.expect("request");
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_admin_bodies_are_400_with_an_error_message() {
    let app = spawn_app().await;
    app.create_realm("adm").await;

    for (path, body) in [
        ("/admin/realms", "{\"realm\": \"x\""),
        ("/admin/realms", "not json"),
        ("/admin/realms", "[1,2,3]"),
        ("/admin/realms", "{\"realm\": \"typed\", \"enabled\": \"yes\"}"),
        ("/admin/realms", "{\"realm\": 42}"),
        (
            "/admin/realms",
            "{\"realm\": \"typed\", \"accessTokenLifespan\": \"long\"}",
        ),
        (
            "/admin/realms/adm/clients",
            "{\"clientId\": \"c\", \"publicClient\": \"no\"}",
        ),
        (
            "/admin/realms/adm/clients",
            "{\"clientId\": \"c\", \"redirectUris\": \"https://one.example/cb\"}",
        ),
        ("/admin/realms/adm/clients", "{\"clientId\": [\"c\"]}"),
        (
            "/admin/realms/adm/clients",
            "{\"clientId\": \"c\", \"attributes\": [1]}",
        ),
        ("/admin/realms/adm/clients", "{}"),
        ("/admin/realms/adm/clients", "\u{feff}{\"clientId\": \"c\""),
    ] {
        let (status, resp) = raw_admin(&app, Method::POST, path, Some(JSON), body.to_owned()).await;
        assert_eq!(status, 400, "{path} {body}: {resp}");
        assert!(resp["errorMessage"].is_string(), "{path} {body}: {resp}");
    }
    // PUT too.
    let (status, resp) = raw_admin(
        &app,
        Method::PUT,
        "/admin/realms/adm",
        Some(JSON),
        "{\"enabled\": \"yes\"}".to_owned(),
    )
    .await;
    assert_eq!(status, 400, "{resp}");
    assert!(resp["errorMessage"].is_string());

    // A body that is not JSON by its type.
    for content_type in [None, Some("text/plain"), Some(FORM)] {
        let (status, resp) = raw_admin(
            &app,
            Method::POST,
            "/admin/realms/adm/clients",
            content_type,
            "{\"clientId\":\"typeless\"}".to_owned(),
        )
        .await;
        assert!(status == 415 || status == 400, "{content_type:?}: {status} {resp}");
    }
    // Nothing of that was stored.
    for name in ["x", "typed"] {
        assert_eq!(
            app.admin(Method::GET, &format!("/admin/realms/{name}"), None)
                .await
                .status(),
            404
        );
    }
    for client in ["c", "typeless"] {
        let list: Value = app
            .admin(
                Method::GET,
                &format!("/admin/realms/adm/clients?clientId={client}"),
                None,
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(list, json!([]), "{client}");
    }
    let realm: Value = app
        .admin(Method::GET, "/admin/realms/adm", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["enabled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_and_client_rules_are_enforced_and_failures_store_nothing() {
    let app = spawn_app().await;

    // Realm names become URL segments.
    for name in [
        "a/b",
        "with space",
        "",
        "   ",
        "ünïcode",
        "a?b",
        "a#b",
        "..",
        "x".repeat(300).as_str(),
    ] {
        let resp = app
            .admin(Method::POST, "/admin/realms", Some(json!({ "realm": name })))
            .await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 400, "realm name {name:?}: {body}");
        assert!(body["errorMessage"].is_string(), "{body}");
    }
    let resp = app
        .admin(Method::POST, "/admin/realms", Some(json!({ "enabled": true })))
        .await;
    assert_eq!(resp.status(), 400, "a realm needs a name");

    // Duplicates.
    app.create_realm("dup").await;
    let resp = app
        .admin(Method::POST, "/admin/realms", Some(json!({ "realm": "dup" })))
        .await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.expect("json");
    assert!(body["errorMessage"].is_string(), "{body}");
    let resp = app
        .admin(Method::POST, "/admin/realms", Some(json!({ "realm": "master" })))
        .await;
    assert_eq!(resp.status(), 409);

    app.create_service_client("dup", "svc").await;
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/dup/clients",
            Some(json!({ "clientId": "svc" })),
        )
        .await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.expect("json");
    assert!(body["errorMessage"].is_string(), "{body}");
    // Built-in clients are clients too.
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/dup/clients",
            Some(json!({ "clientId": "admin-cli" })),
        )
        .await;
    assert_eq!(resp.status(), 409);

    // Secrets must be long enough.
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/dup/clients",
            Some(json!({ "clientId": "weak", "secret": "short-secret" })),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(body["errorMessage"].is_string(), "{body}");

    // Refused creates leave nothing behind, even when the check comes late.
    for (client_id, repr) in [
        ("weak", json!({})),
        ("bad-redirect", json!({ "redirectUris": [""] })),
        (
            "ctl-redirect",
            json!({ "redirectUris": ["https://ok.example/cb", "https://x.example/\u{7}"] }),
        ),
        (
            "bad-scope",
            json!({ "defaultClientScopes": ["profile", "no-such-scope"] }),
        ),
        ("bad-optional", json!({ "optionalClientScopes": ["no-such-scope"] })),
        ("bad-protocol", json!({ "protocol": "saml" })),
        (
            "public-sa",
            json!({ "publicClient": true, "serviceAccountsEnabled": true }),
        ),
        (
            "bad-lifespan",
            json!({ "attributes": { "access.token.lifespan": "-5" } }),
        ),
        ("bad-id", json!({ "id": "not-a-uuid" })),
    ] {
        let mut repr = repr;
        repr["clientId"] = json!(client_id);
        if client_id != "weak" {
            let resp = app
                .admin(Method::POST, "/admin/realms/dup/clients", Some(repr.clone()))
                .await;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json");
            assert_eq!(status, 400, "{repr}: {body}");
            assert!(body["errorMessage"].is_string(), "{body}");
        }
        let list: Value = app
            .admin(
                Method::GET,
                &format!("/admin/realms/dup/clients?clientId={client_id}"),
                None,
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(list, json!([]), "{client_id} must not exist");
    }
    // Nor a service account of a refused client.
    let clients: Value = app
        .admin(Method::GET, "/admin/realms/dup/clients", None)
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = clients
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["clientId"].as_str())
        .collect();
    assert!(
        names.iter().all(|n| [
            "account",
            "admin-cli",
            "realm-management",
            "security-admin-console",
            "svc"
        ]
        .contains(n)),
        "{names:?}"
    );

    // A refused update changes nothing either.
    let list: Value = app
        .admin(Method::GET, "/admin/realms/dup/clients?clientId=svc", None)
        .await
        .json()
        .await
        .expect("json");
    let id = list[0]["id"].as_str().expect("id").to_owned();
    let before = list[0].clone();
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/dup/clients/{id}"),
            Some(json!({ "enabled": false, "secret": "too-short", "redirectUris": ["https://new.example/cb"] })),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let after: Value = app
        .admin(Method::GET, &format!("/admin/realms/dup/clients/{id}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(before, after);

    // Unknown client ids are 404 {"error"}.
    for path in [
        "/admin/realms/dup/clients/00000000-0000-0000-0000-000000000000",
        "/admin/realms/dup/clients/not-even-a-uuid/client-secret",
    ] {
        let resp = app.admin(Method::GET, path, None).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bearer_tokens_on_the_admin_api_are_401() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let app = spawn_app().await;
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let now = nexus::clock::Clock::now(&app.clock);
    let claims = json!({ "iss": app.issuer("master"), "sub": "x", "typ": "Bearer", "exp": now + 600, "iat": now });
    let alg_none = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&claims));
    let hs256 = format!(
        "{}.{}.{}",
        b64(&json!({ "alg": "HS256", "typ": "JWT" })),
        b64(&claims),
        URL_SAFE_NO_PAD.encode([0u8; 32])
    );
    let huge = "a".repeat(20_000);
    let real = app.admin_token().await;
    // A refresh token is not an access token, even a valid one of the admin.
    let (_, _, login) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", crate::helpers::ADMIN_USER),
            ("password", crate::helpers::ADMIN_PASSWORD),
        ],
    )
    .await;
    let refresh = login["refresh_token"].as_str().expect("refresh token").to_owned();
    let truncated = real[..real.len() - 5].to_owned();
    let tampered = {
        let parts: Vec<&str> = real.split('.').collect();
        let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        payload["exp"] = json!(now + 999_999);
        format!("{}.{}.{}", parts[0], b64(&payload), parts[2])
    };
    for header in [
        "Bearer garbage".to_owned(),
        "Bearer a.b.c".to_owned(),
        "Bearer ...".to_owned(),
        format!("Bearer {alg_none}"),
        format!("Bearer {hs256}"),
        format!("Bearer {huge}"),
        format!("Bearer {truncated}"),
        format!("Bearer {tampered}"),
        "Bearer ".to_owned(),
        format!("Bearer {refresh}"),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("admin:admin-password-for-tests")
        ),
        real.clone(),
    ] {
        let resp = app
            .http
            .get(app.url("/admin/realms"))
            .header("authorization", &header)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 401, "{}", &header[..header.len().min(40)]);
    }
    let resp = app.http.get(app.url("/admin/realms")).send().await.expect("request");
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .post(app.url("/admin/realms"))
        .json(&json!({ "realm": "anon" }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    // The real token is fine.
    let resp = app
        .http
        .get(app.url("/admin/realms"))
        .bearer_auth(&real)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(app.admin(Method::GET, "/admin/realms/anon", None).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_parameters_parse_and_bad_ones_are_400() {
    let app = spawn_app().await;
    for name in ["page-a", "page-b", "page-c"] {
        app.create_realm(name).await;
    }
    let names = |v: &Value, field: &str| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|r| r[field].as_str().expect("name").to_owned())
            .collect()
    };
    let all: Value = app
        .admin(Method::GET, "/admin/realms", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(all.as_array().expect("list").len(), 4);
    let resp = app.admin(Method::GET, "/admin/realms?first=1&max=2", None).await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.expect("json");
    assert_eq!(names(&page, "realm"), names(&all, "realm")[1..3]);
    let resp = app
        .admin(
            Method::GET,
            "/admin/realms?briefRepresentation=true&first=0&max=1",
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>()
            .await
            .expect("json")
            .as_array()
            .expect("list")
            .len(),
        1
    );

    let all: Value = app
        .admin(Method::GET, "/admin/realms/page-a/clients", None)
        .await
        .json()
        .await
        .expect("json");
    let resp = app
        .admin(Method::GET, "/admin/realms/page-a/clients?first=1&max=1", None)
        .await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.expect("json");
    assert_eq!(names(&page, "clientId"), names(&all, "clientId")[1..2]);
    let resp = app
        .admin(
            Method::GET,
            "/admin/realms/page-a/clients?clientId=admin&search=true&first=0&max=5",
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        names(&resp.json::<Value>().await.expect("json"), "clientId"),
        ["admin-cli", "security-admin-console"]
    );

    for path in [
        "/admin/realms?first=abc",
        "/admin/realms?max=1.5",
        "/admin/realms/page-a/clients?first=x",
    ] {
        let resp = app.admin(Method::GET, path, None).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["errorMessage"].is_string(), "{body}");
    }
}

/// PostgreSQL refuses NUL in text: such input must be answered as "no such thing", not a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_and_control_characters_never_reach_the_database() {
    let app = spawn_app().await;
    app.create_realm("nul").await;
    let (id, secret) = app.create_service_client("nul", "svc").await;

    let (status, _, body) = token_form(
        &app,
        "master",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "ad\0min"),
            ("password", "x"),
        ],
    )
    .await;
    assert_oauth(status, &body, 401, "invalid_grant");
    let (status, _, body) = token_form(
        &app,
        "nul",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "s\u{1}vc"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_oauth(status, &body, 401, "invalid_client");

    for path in [
        "/realms/a%00b",
        "/realms/a%00b/.well-known/openid-configuration",
        "/realms/a%00b/protocol/openid-connect/certs",
    ] {
        let resp = app.http.get(app.url(path)).send().await.expect("request");
        assert_eq!(resp.status(), 404, "{path}");
    }
    let (status, _) = raw_token(&app, "a%00b", Some(FORM), "grant_type=client_credentials").await;
    assert_eq!(status, 404);

    for path in [
        "/admin/realms/a%00b".to_owned(),
        "/admin/realms/a%00b/clients".to_owned(),
        "/admin/realms/nul/clients/a%00b".to_owned(),
        format!("/admin/realms/nul/clients/{id}/default-client-scopes/a%00b"),
    ] {
        let method = if path.contains("default-client-scopes") {
            Method::PUT
        } else {
            Method::GET
        };
        let resp = app.admin(method, &path, None).await;
        assert_eq!(resp.status(), 404, "{path}");
    }
    let resp = app
        .admin(Method::GET, "/admin/realms/nul/clients?clientId=a%00b", None)
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.expect("json"), json!([]));

    for (path, body) in [
        ("/admin/realms", json!({ "realm": "a\u{0}b" })),
        ("/admin/realms/nul/clients", json!({ "clientId": "a\u{0}b" })),
        (
            "/admin/realms/nul/clients",
            json!({ "clientId": "scoped", "defaultClientScopes": ["pro\u{0}file"] }),
        ),
    ] {
        let resp = app.admin(Method::POST, path, Some(body.clone())).await;
        assert_eq!(resp.status(), 400, "{path} {body}");
    }
}

/// Concurrent writes queue up; none of them is answered with a 500 ("database is locked").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_admin_writes_all_succeed() {
    let app = spawn_app().await;
    app.create_realm("busy").await;
    let token = app.admin_token().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let http = app.http.clone();
        let url = app.url("/admin/realms/busy/clients");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({ "clientId": format!("c{i}"), "serviceAccountsEnabled": true });
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("create")
                .status()
                .as_u16()
        }));
    }
    // The same clientId from several requests at once: one wins, the others are 409.
    for _ in 0..4 {
        let http = app.http.clone();
        let url = app.url("/admin/realms/busy/clients");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({ "clientId": "same" }))
                .send()
                .await
                .expect("create")
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("join"));
    }
    assert!(statuses[..16].iter().all(|s| *s == 201), "{statuses:?}");
    let same = &statuses[16..];
    assert_eq!(same.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(same.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    let list: Value = app
        .admin(Method::GET, "/admin/realms/busy/clients?clientId=same", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().expect("list").len(), 1);
}
