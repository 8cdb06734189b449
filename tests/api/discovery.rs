//! OIDC discovery, the JWKS and the realm's public info: Keycloak's field names, and every value
//! true of this server.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, ADMIN_PASSWORD, ADMIN_USER};
use crate::token_endpoint::split;

async fn get_json(app: &TestApp, url: &str) -> (u16, Value) {
    let resp = app.http.get(url).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

async fn discovery(app: &TestApp, realm: &str) -> Value {
    let (status, doc) = get_json(
        app,
        &app.url(&format!("/realms/{realm}/.well-known/openid-configuration")),
    )
    .await;
    assert_eq!(status, 200);
    doc
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("array expected: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

/// A token request with `grant_type` (and whatever else the grant needs, roughly).
async fn try_grant(app: &TestApp, realm: &str, grant_type: &str, secret: &str) -> (u16, Value) {
    let resp = app
        .http
        .post(app.token_url(realm))
        .basic_auth("svc", Some(secret))
        .form(&[
            ("grant_type", grant_type),
            ("username", ADMIN_USER),
            ("password", ADMIN_PASSWORD),
            ("refresh_token", "x"),
            ("code", "x"),
        ])
        .send()
        .await
        .expect("request");
    let (status, _, body) = split(resp).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_discovery_document_tells_the_truth() {
    let app = spawn_app().await;
    app.create_realm("disco").await;
    let (client_uuid, secret) = app.create_service_client("disco", "svc").await;
    let doc = discovery(&app, "disco").await;
    let issuer = app.issuer("disco");

    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["token_endpoint"], format!("{issuer}/protocol/openid-connect/token"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/protocol/openid-connect/certs"));

    // Every endpoint named answers.
    let (status, jwks) = get_json(&app, doc["jwks_uri"].as_str().expect("jwks_uri")).await;
    assert_eq!(status, 200);
    assert!(!jwks["keys"].as_array().expect("keys").is_empty());
    let resp = app
        .http
        .post(doc["token_endpoint"].as_str().expect("token_endpoint"))
        .basic_auth("svc", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    for (name, value) in doc.as_object().expect("object") {
        if name.ends_with("_endpoint") || name.ends_with("_uri") {
            let url = value.as_str().unwrap_or_else(|| panic!("{name} is a URL"));
            assert!(url.starts_with(&issuer), "{name} = {url} is under the issuer");
            let resp = app.http.get(url).send().await.expect("request");
            assert_ne!(resp.status(), 404, "{name} = {url} exists");
            assert!(resp.status().as_u16() < 500, "{name} = {url} answers");
        }
    }

    // grant_types_supported: exactly the grants the token endpoint accepts.
    let grants = strings(&doc["grant_types_supported"]);
    assert!(
        grants.is_superset(
            &["client_credentials", "password", "refresh_token"]
                .map(String::from)
                .into()
        ),
        "{grants:?}"
    );
    for grant in [
        "client_credentials",
        "password",
        "refresh_token",
        "authorization_code",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:openid:params:grant-type:ciba",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let (status, body) = try_grant(&app, "disco", grant, &secret).await;
        let unsupported = status == 400 && body["error"] == "unsupported_grant_type";
        assert_eq!(
            grants.contains(grant),
            !unsupported,
            "{grant}: advertised = {}, answer {status} {body}",
            grants.contains(grant)
        );
    }

    // Client authentication methods (the JWT ones are exercised in service_jwts.rs).
    let methods = strings(&doc["token_endpoint_auth_methods_supported"]);
    assert_eq!(
        methods,
        [
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        strings(&doc["id_token_signing_alg_values_supported"]),
        ["RS256".to_owned()].into()
    );
    assert!(strings(&doc["subject_types_supported"]).contains("public"));
    // The authorization code flow, with PKCE S256 only and the three response modes.
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{issuer}/protocol/openid-connect/auth")
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        strings(&doc["response_modes_supported"]),
        ["query", "fragment", "form_post"].map(String::from).into()
    );

    // scopes_supported: openid and scopes the realm really has (a new client gets them all).
    let token = app.admin_token().await;
    let mut realm_scopes = BTreeSet::new();
    for kind in ["default-client-scopes", "optional-client-scopes"] {
        let resp = app
            .admin_as(
                &token,
                Method::GET,
                &format!("/admin/realms/disco/clients/{client_uuid}/{kind}"),
                None,
            )
            .await;
        let list: Value = resp.json().await.expect("json");
        realm_scopes.extend(
            list.as_array()
                .expect("list")
                .iter()
                .map(|s| s["name"].as_str().expect("name").to_owned()),
        );
    }
    for scope in strings(&doc["scopes_supported"]) {
        assert!(
            scope == "openid" || realm_scopes.contains(&scope),
            "advertised scope {scope} does not exist: {realm_scopes:?}"
        );
    }
    // Claims advertised include the ones every access token carries.
    let claims = strings(&doc["claims_supported"]);
    for claim in ["sub", "iss", "aud", "exp", "iat", "preferred_username"] {
        assert!(claims.contains(claim), "{claim}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_openid_library_parses_the_metadata_and_the_jwks() {
    use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
    let app = spawn_app().await;
    app.create_realm("strict").await;
    let doc = discovery(&app, "strict").await;
    let metadata: CoreProviderMetadata = serde_json::from_value(doc).expect("openidconnect accepts the metadata");
    assert_eq!(metadata.issuer().as_str(), app.issuer("strict"));
    assert_eq!(
        metadata.jwks_uri().as_str(),
        format!("{}/protocol/openid-connect/certs", app.issuer("strict"))
    );
    assert_eq!(
        metadata.token_endpoint().map(|u| u.as_str().to_owned()),
        Some(format!("{}/protocol/openid-connect/token", app.issuer("strict")))
    );
    assert!(metadata.grant_types_supported().is_some_and(|g| !g.is_empty()));

    let jwks: CoreJsonWebKeySet =
        serde_json::from_value(app.jwks("strict").await).expect("openidconnect accepts the JWKS");
    assert_eq!(jwks.keys().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_and_realm_info_have_keycloaks_shape() {
    let app = spawn_app().await;
    app.create_realm("shape").await;
    let (status, jwks) = get_json(&app, &app.url("/realms/shape/protocol/openid-connect/certs")).await;
    assert_eq!(status, 200);
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    for key in keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        let n = URL_SAFE_NO_PAD
            .decode(key["n"].as_str().expect("n"))
            .expect("n is base64url");
        assert_eq!(n.len(), 256, "RSA-2048 modulus");
        assert_eq!(key["e"], "AQAB");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "private parameter {private} published");
        }
    }

    let (status, info) = get_json(&app, &app.url("/realms/shape")).await;
    assert_eq!(status, 200);
    let issuer = app.issuer("shape");
    assert_eq!(info["realm"], "shape");
    assert!(info["public_key"].as_str().is_some_and(|k| k.len() > 300), "{info}");
    assert_eq!(info["token-service"], format!("{issuer}/protocol/openid-connect"));
    assert_eq!(info["account-service"], format!("{issuer}/account"));
    assert_eq!(info["tokens-not-before"], 0);

    // The realm's own name is used even when the path differs in case? No: realm names are exact.
    let (status, _) = get_json(&app, &app.url("/realms/SHAPE")).await;
    assert_eq!(status, 404);

    // A disabled realm publishes nothing and issues nothing.
    let resp = app
        .admin(Method::PUT, "/admin/realms/shape", Some(json!({ "enabled": false })))
        .await;
    assert_eq!(resp.status(), 204);
    for path in [
        "/realms/shape",
        "/realms/shape/.well-known/openid-configuration",
        "/realms/shape/protocol/openid-connect/certs",
    ] {
        let resp = app.http.get(app.url(path)).send().await.expect("request");
        assert!(resp.status().is_client_error(), "{path}: {}", resp.status());
    }
}
