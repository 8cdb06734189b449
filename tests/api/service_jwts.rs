//! Service JWTs (RFC 7523, ADR 011): `client_assertion` signed with the client secret (HS256,
//! `client-secret-jwt`) or a registered key (RS256 / ES256, `client-jwt`), and the jwt-bearer grant.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nexus::clock::Clock;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use reqwest::Method;
use serde_json::{json, Value};

use nexus::clock::SettableClock;

use crate::helpers::{spawn_app, spawn_on, stack, Storage, TestApp};
use crate::token_endpoint::{create_client, split, token_form};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SECRET: &str = "hs-client-secret-0123456789abcdefghijklmnop";

/// Claims of a valid assertion of `client_id`, against the realm's token endpoint.
fn claims(app: &TestApp, realm: &str, client_id: &str) -> Value {
    let now = app.clock.now();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": app.token_url(realm),
        "exp": now + 60,
        "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("object") {
        if v.is_null() {
            claims.as_object_mut().expect("object").remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign HS256")
}

fn sign_with(claims: &Value, alg: Algorithm, key: &PKey<Private>, kid: Option<&str>) -> String {
    let pem = key.private_key_to_pem_pkcs8().expect("pkcs8");
    let encoding = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).expect("ec key"),
        _ => EncodingKey::from_rsa_pem(&pem).expect("rsa key"),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding).expect("sign")
}

fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(openssl::rsa::Rsa::generate(2048).expect("rsa")).expect("pkey")
}

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey")
}

/// A self-signed certificate of `key`, base64 DER: what Keycloak keeps in `jwt.credential.certificate`.
fn certificate_b64(key: &PKey<Private>, cn: &str) -> String {
    let mut name = openssl::x509::X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut cert = openssl::x509::X509Builder::new().expect("builder");
    cert.set_version(2).expect("version");
    cert.set_subject_name(&name).expect("subject");
    cert.set_issuer_name(&name).expect("issuer");
    cert.set_pubkey(key).expect("pubkey");
    let serial = openssl::bn::BigNum::from_u32(1)
        .and_then(|n| n.to_asn1_integer())
        .expect("serial");
    cert.set_serial_number(&serial).expect("serial");
    cert.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).expect("time"))
        .expect("not before");
    cert.set_not_after(&openssl::asn1::Asn1Time::days_from_now(365).expect("time"))
        .expect("not after");
    cert.sign(key, openssl::hash::MessageDigest::sha256())
        .expect("sign cert");
    STANDARD.encode(cert.build().to_der().expect("der"))
}

/// The public JWK of an EC P-256 key.
fn ec_jwk(key: &PKey<Private>, kid: &str) -> Value {
    let ec = key.ec_key().expect("ec");
    let mut ctx = openssl::bn::BigNumContext::new().expect("ctx");
    let (mut x, mut y) = (
        openssl::bn::BigNum::new().expect("x"),
        openssl::bn::BigNum::new().expect("y"),
    );
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
        .expect("coordinates");
    let b64 = |n: &openssl::bn::BigNum| URL_SAFE_NO_PAD.encode(n.to_vec_padded(32).expect("pad"));
    json!({ "kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y), "kid": kid, "use": "sig", "alg": "ES256" })
}

/// These tests refuse many assertions from 127.0.0.1 on purpose: more than the realm's default of
/// 10 failed authentications a minute per address (ADR 010) would allow.
async fn lift_failure_limit(app: &TestApp, realm: &str) {
    app.update_realm(realm, json!({ "rateLimitFailedAuthPerMinute": 0 }))
        .await;
}

async fn with_assertion(app: &TestApp, realm: &str, assertion: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    let (status, _, body) = token_form(app, realm, &form).await;
    (status, body)
}

async fn jwt_bearer(app: &TestApp, realm: &str, assertion: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", JWT_BEARER), ("assertion", assertion)];
    form.extend_from_slice(extra);
    let (status, _, body) = token_form(app, realm, &form).await;
    (status, body)
}

async fn secret_jwt_client(app: &TestApp, realm: &str, client_id: &str) -> String {
    create_client(
        app,
        realm,
        json!({
            "clientId": client_id, "publicClient": false, "serviceAccountsEnabled": true,
            "clientAuthenticatorType": "client-secret-jwt", "secret": SECRET,
        }),
    )
    .await
}

async fn assert_token_for(app: &TestApp, realm: &str, body: &Value, client_id: &str) {
    let token = body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("access_token in {body}"));
    let claims = app.verify(realm, token).await.expect("verifies against the JWKS");
    assert_eq!(claims["azp"], client_id);
    assert_eq!(claims["preferred_username"], format!("service-account-{client_id}"));
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for a service: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_jwt_authenticates_once_per_jti() {
    let app = spawn_app().await;
    app.create_realm("sj").await;
    lift_failure_limit(&app, "sj").await;
    let id = secret_jwt_client(&app, "sj", "billing").await;
    let repr: Value = app
        .admin(Method::GET, &format!("/admin/realms/sj/clients/{id}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(repr["clientAuthenticatorType"], "client-secret-jwt");

    let assertion = sign_hs256(&claims(&app, "sj", "billing"), SECRET);
    let (status, body) = with_assertion(&app, "sj", &assertion, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_token_for(&app, "sj", &body, "billing").await;

    // The same assertion again: its jti is spent.
    let (status, body) = with_assertion(&app, "sj", &assertion, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );

    // The issuer URL is an accepted audience too, with a matching client_id parameter.
    let to_issuer = with(
        claims(&app, "sj", "billing"),
        json!({ "aud": [app.issuer("sj"), "other"] }),
    );
    let (status, body) = with_assertion(&app, "sj", &sign_hs256(&to_issuer, SECRET), &[("client_id", "billing")]).await;
    assert_eq!(status, 200, "{body}");

    // Refused: wrong secret, alg none, another client's id, a client_id parameter naming another client.
    let fresh = || claims(&app, "sj", "billing");
    for (why, assertion, extra) in [
        (
            "wrong secret",
            sign_hs256(&fresh(), "not-the-secret-0123456789abcdefghijklmnop"),
            None,
        ),
        ("alg none", unsigned(&fresh()), None),
        (
            "RS256 for a secret-jwt client",
            sign_with(&fresh(), Algorithm::RS256, &rsa_key(), None),
            None,
        ),
        (
            "client_id mismatch",
            sign_hs256(&fresh(), SECRET),
            Some(("client_id", "other")),
        ),
        ("garbage", "not.a.jwt".to_owned(), None),
    ] {
        let extra: Vec<(&str, &str)> = extra.into_iter().collect();
        let (status, body) = with_assertion(&app, "sj", &assertion, &extra).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"], "invalid_client", "{why}: {body}");
    }

    // A regenerated secret signs from now on; the old one no longer does (the cache follows).
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/sj/clients/{id}/client-secret"),
            None,
        )
        .await;
    let new_secret = resp.json::<Value>().await.expect("json")["value"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_eq!(
        with_assertion(&app, "sj", &sign_hs256(&fresh(), SECRET), &[]).await.0,
        401
    );
    let (status, body) = with_assertion(&app, "sj", &sign_hs256(&fresh(), &new_secret), &[]).await;
    assert_eq!(status, 200, "{body}");
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/sj/clients/{id}"),
            Some(json!({ "secret": SECRET })),
        )
        .await;
    assert_eq!(resp.status(), 204);

    // The configured method only: the secret itself is refused for this client (Keycloak's rule).
    let (status, _, body) = split(app.client_credentials("sj", "billing", SECRET).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // A plain client-secret client cannot sign assertions with its secret either.
    let (_, plain_secret) = app.create_service_client("sj", "plain").await;
    let plain = sign_hs256(&claims(&app, "sj", "plain"), &plain_secret);
    let (status, body) = with_assertion(&app, "sj", &plain, &[]).await;
    assert_eq!(status, 401, "{body}");

    // Combined with Basic or client_secret: one method at a time.
    let resp = app
        .http
        .post(app.token_url("sj"))
        .basic_auth("billing", Some(SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &sign_hs256(&fresh(), SECRET)),
        ])
        .send()
        .await
        .expect("request");
    let (status, _, body) = split(resp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let (status, body) = with_assertion(&app, "sj", &sign_hs256(&fresh(), SECRET), &[("client_secret", SECRET)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // Only RFC 7523's assertion type.
    let (status, _, body) = token_form(
        &app,
        "sj",
        &[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            ("client_assertion", &sign_hs256(&fresh(), SECRET)),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_with_a_certificate_or_a_jwks() {
    let app = spawn_app().await;
    app.create_realm("pk").await;
    lift_failure_limit(&app, "pk").await;
    let rsa = rsa_key();
    let ec = ec_key();
    // RS256: the certificate as Keycloak stores it.
    create_client(
        &app,
        "pk",
        json!({
            "clientId": "rsa-svc", "publicClient": false, "serviceAccountsEnabled": true,
            "clientAuthenticatorType": "client-jwt",
            "attributes": { "jwt.credential.certificate": certificate_b64(&rsa, "rsa-svc") },
        }),
    )
    .await;
    // ES256: a JWKS string, created as client-secret and switched by an update.
    let ec_id = app.create_service_client("pk", "ec-svc").await.0;
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/pk/clients/{ec_id}"),
            Some(json!({
                "clientAuthenticatorType": "client-jwt",
                "attributes": {
                    "use.jwks.string": "true",
                    "jwks.string": json!({ "keys": [ec_jwk(&ec, "ec-1")] }).to_string(),
                    "token.endpoint.auth.signing.alg": "ES256",
                },
            })),
        )
        .await;
    assert_eq!(resp.status(), 204);

    let (status, body) = with_assertion(
        &app,
        "pk",
        &sign_with(&claims(&app, "pk", "rsa-svc"), Algorithm::RS256, &rsa, None),
        &[],
    )
    .await;
    assert_eq!(status, 200, "RS256: {body}");
    assert_token_for(&app, "pk", &body, "rsa-svc").await;
    let ec_assertion = sign_with(&claims(&app, "pk", "ec-svc"), Algorithm::ES256, &ec, Some("ec-1"));
    let (status, body) = with_assertion(&app, "pk", &ec_assertion, &[]).await;
    assert_eq!(status, 200, "ES256: {body}");
    assert_token_for(&app, "pk", &body, "ec-svc").await;
    let (status, body) = with_assertion(&app, "pk", &ec_assertion, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "replay: {body}"
    );

    // Each rule of RFC 7523 §3, on otherwise valid RS256 assertions.
    let now = app.clock.now();
    let base = || claims(&app, "pk", "rsa-svc");
    for (why, claims) in [
        ("exp two hours ahead", with(base(), json!({ "exp": now + 7200 }))),
        ("expired", with(base(), json!({ "exp": now - 300 }))),
        ("no exp", with(base(), json!({ "exp": null }))),
        ("wrong aud", with(base(), json!({ "aud": app.issuer("other") }))),
        ("wrong iss", with(base(), json!({ "iss": "someone-else" }))),
        ("no jti", with(base(), json!({ "jti": null }))),
        ("not yet valid", with(base(), json!({ "nbf": now + 600 }))),
    ] {
        let (status, body) = with_assertion(&app, "pk", &sign_with(&claims, Algorithm::RS256, &rsa, None), &[]).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"], "invalid_client", "{why}: {body}");
    }
    // Another key, HS256, alg none, or an RS256 key where ES256 is pinned: refused.
    for (why, assertion) in [
        (
            "unregistered key",
            sign_with(&base(), Algorithm::RS256, &rsa_key(), None),
        ),
        ("HS256", sign_hs256(&base(), "some-secret-0123456789abcdefghijklmnop")),
        ("alg none", unsigned(&base())),
        (
            "RS256 where ES256 is pinned",
            sign_with(&claims(&app, "pk", "ec-svc"), Algorithm::RS256, &rsa, None),
        ),
    ] {
        let (status, body) = with_assertion(&app, "pk", &assertion, &[]).await;
        assert_eq!(status, 401, "{why}: {body}");
    }
    // Its secret no longer works for a client-jwt client.
    let (status, _, _) = split(
        app.client_credentials("pk", "ec-svc", "ec-svc-secret-0123456789abcdefghijklmnop")
            .await,
    )
    .await;
    assert_eq!(status, 401);

    // The admin API refuses keys the token endpoint could not use, and unknown authenticators.
    for (why, repr) in [
        (
            "garbage certificate",
            json!({ "clientId": "bad1", "clientAuthenticatorType": "client-jwt",
                    "attributes": { "jwt.credential.certificate": "bm90IGEgY2VydA==" } }),
        ),
        (
            "empty JWKS",
            json!({ "clientId": "bad2", "clientAuthenticatorType": "client-jwt",
                    "attributes": { "use.jwks.string": "true", "jwks.string": "{\"keys\":[]}" } }),
        ),
        (
            "unknown authenticator",
            json!({ "clientId": "bad3", "clientAuthenticatorType": "client-x509" }),
        ),
    ] {
        let resp = app.admin(Method::POST, "/admin/realms/pk/clients", Some(repr)).await;
        assert_eq!(resp.status(), 400, "{why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_bearer_grant_issues_the_service_account_token_once_per_assertion() {
    let app = spawn_app().await;
    app.create_realm("jb").await;
    lift_failure_limit(&app, "jb").await;
    secret_jwt_client(&app, "jb", "worker").await;
    let assertion = sign_hs256(&claims(&app, "jb", "worker"), SECRET);
    let (status, body) = jwt_bearer(&app, "jb", &assertion, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_token_for(&app, "jb", &body, "worker").await;
    assert_eq!(body["token_type"], "Bearer");

    let (status, body) = jwt_bearer(&app, "jb", &assertion, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "replay: {body}"
    );

    // A used client_assertion is spent for the grant too (one jti space per client).
    let first = sign_hs256(&claims(&app, "jb", "worker"), SECRET);
    assert_eq!(with_assertion(&app, "jb", &first, &[]).await.0, 200);
    assert_eq!(jwt_bearer(&app, "jb", &first, &[]).await.0, 400);

    // Client authentication alongside must be the same client.
    let other = sign_hs256(&claims(&app, "jb", "worker"), SECRET);
    let (status, body) = jwt_bearer(&app, "jb", &other, &[("client_id", "someone")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = jwt_bearer(
        &app,
        "jb",
        &sign_hs256(&claims(&app, "jb", "worker"), SECRET),
        &[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &sign_hs256(&claims(&app, "jb", "worker"), SECRET)),
        ],
    )
    .await;
    assert_eq!(status, 200, "both assertions of the same client: {body}");

    // Refused like client assertions: wrong secret, too long-lived, missing assertion.
    let wrong = sign_hs256(
        &claims(&app, "jb", "worker"),
        "not-the-secret-0123456789abcdefghijklmnop",
    );
    assert_eq!(jwt_bearer(&app, "jb", &wrong, &[]).await.1["error"], "invalid_grant");
    let long = with(claims(&app, "jb", "worker"), json!({ "exp": app.clock.now() + 7200 }));
    assert_eq!(jwt_bearer(&app, "jb", &sign_hs256(&long, SECRET), &[]).await.0, 400);
    let (status, _, body) = token_form(&app, "jb", &[("grant_type", JWT_BEARER)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );

    // A client without a service account gets no token.
    create_client(
        &app,
        "jb",
        json!({ "clientId": "no-sa", "publicClient": false, "clientAuthenticatorType": "client-secret-jwt", "secret": SECRET }),
    )
    .await;
    let (status, body) = jwt_bearer(&app, "jb", &sign_hs256(&claims(&app, "jb", "no-sa"), SECRET), &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_assertion_is_refused_on_another_node() {
    // Two nodes behind one public URL (as behind a load balancer): the same audience on both.
    let public = |s: &mut nexus::config::Settings| s.public_url = Some("https://login.example.test".to_owned());
    let node1 = spawn_on(Storage::fresh(), SettableClock::default(), public).await;
    node1.create_realm("mn").await;
    secret_jwt_client(&node1, "mn", "svc").await;
    let node2 = spawn_on(node1.storage.clone(), node1.clock.clone(), public).await;
    let aud = "https://login.example.test/realms/mn/protocol/openid-connect/token";
    let assertion = sign_hs256(&with(claims(&node1, "mn", "svc"), json!({ "aud": aud })), SECRET);
    let (status, body) = with_assertion(&node1, "mn", &assertion, &[]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = with_assertion(&node2, "mn", &assertion, &[]).await;
    if stack() == "sqlite+memory" {
        // Each node's in-process store is its own: several nodes need Redis (README).
        assert_eq!(status, 200, "{body}");
    } else {
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
    }
    // Replays on the node that saw it are refused on every stack.
    assert_eq!(with_assertion(&node1, "mn", &assertion, &[]).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_jwt_methods_and_the_grant() {
    let app = spawn_app().await;
    app.create_realm("dj").await;
    let doc: Value = app
        .http
        .get(app.url("/realms/dj/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    for field in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        let methods = doc[field].as_array().expect(field);
        for m in ["client_secret_jwt", "private_key_jwt", "client_secret_basic"] {
            assert!(methods.contains(&json!(m)), "{field} lists {m}: {methods:?}");
        }
    }
    assert_eq!(
        doc["token_endpoint_auth_signing_alg_values_supported"],
        json!(["HS256", "RS256", "ES256"])
    );
    assert!(doc["grant_types_supported"]
        .as_array()
        .expect("grants")
        .contains(&json!(JWT_BEARER)));
}
