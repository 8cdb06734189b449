//! Token introspection (RFC 7662) as Keycloak answers it: confidential clients only; `active: false`
//! and nothing else for every token that is not active; the claims with `active`, `client_id`,
//! `username` and `token_type` for active access and refresh tokens.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::isolation::set_user_enabled;
use crate::token_endpoint::{split, token_form};
use crate::userinfo::{
    backchannel_logout, field, introspect, oidc_realm, oidc_url, password_grant, API, API_SECRET, REALM, SPA,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_access_tokens_are_described_by_their_claims() {
    let app = spawn_app().await;
    let fixture = oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    let access = field(&tokens, "access_token");
    let claims = app.verify(REALM, access).await.expect("verifies");

    let body = introspect(&app, REALM, access).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], SPA);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["sub"], fixture.alice_id);
    for claim in ["exp", "iat", "jti", "iss", "sid", "azp", "scope", "typ"] {
        assert_eq!(body[claim], claims[claim], "claim {claim} in {body}");
    }

    // client_secret_post works as well as Basic; token_type_hint is accepted.
    for hint in ["access_token", "refresh_token"] {
        let resp = app
            .http
            .post(oidc_url(&app, REALM, "token/introspect"))
            .form(&[
                ("client_id", API),
                ("client_secret", API_SECRET),
                ("token", access),
                ("token_type_hint", hint),
            ])
            .send()
            .await
            .expect("introspect");
        let (status, headers, body) = split(resp).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], true, "hint {hint}: {body}");
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_tokens_say_only_active_false() {
    let app = spawn_app().await;
    let fixture = oidc_realm(&app).await;
    let inactive = json!({ "active": false });

    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJ0eXAiOiJCZWFyZXIifQ."] {
        assert_eq!(introspect(&app, REALM, garbage).await, inactive, "{garbage}");
    }

    // Revoked access token.
    let tokens = password_grant(&app, SPA, None).await;
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "revoke"))
        .form(&[("client_id", SPA), ("token", field(&tokens, "access_token"))])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    assert_eq!(introspect(&app, REALM, field(&tokens, "access_token")).await, inactive);

    // Ended session: its access and refresh tokens.
    let tokens = password_grant(&app, SPA, None).await;
    assert_eq!(
        introspect(&app, REALM, field(&tokens, "access_token")).await["active"],
        true
    );
    assert_eq!(
        backchannel_logout(&app, SPA, field(&tokens, "refresh_token"))
            .await
            .status(),
        204
    );
    assert_eq!(introspect(&app, REALM, field(&tokens, "access_token")).await, inactive);
    assert_eq!(introspect(&app, REALM, field(&tokens, "refresh_token")).await, inactive);

    // Disabled user.
    let tokens = password_grant(&app, SPA, None).await;
    set_user_enabled(&app, REALM, &fixture.alice_id, false).await;
    assert_eq!(introspect(&app, REALM, field(&tokens, "access_token")).await, inactive);
    assert_eq!(introspect(&app, REALM, field(&tokens, "refresh_token")).await, inactive);
    set_user_enabled(&app, REALM, &fixture.alice_id, true).await;
    assert_eq!(
        introspect(&app, REALM, field(&tokens, "access_token")).await["active"],
        true
    );

    // A token of another realm, even one the same server signed.
    app.create_realm("other").await;
    let (_, secret) = app.create_service_client("other", "svc").await;
    let (_, _, other) = split(app.client_credentials("other", "svc", &secret).await).await;
    assert_eq!(introspect(&app, REALM, field(&other, "access_token")).await, inactive);

    // An ID token is not an access token.
    let tokens = password_grant(&app, SPA, Some("openid")).await;
    assert_eq!(introspect(&app, REALM, field(&tokens, "id_token")).await, inactive);

    // Expired.
    app.clock.advance(3601);
    assert_eq!(introspect(&app, REALM, field(&tokens, "access_token")).await, inactive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_are_active_until_rotated_revoked_or_expired() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let refresh = field(&tokens, "refresh_token");

    let body = introspect(&app, REALM, refresh).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "Refresh");
    assert_eq!(body["client_id"], SPA);
    assert_eq!(body["username"], "alice");
    assert!(body["sid"].is_string());

    // Rotation: the used token is no longer active, its successor is.
    let (status, _, rotated) = token_form(
        &app,
        REALM,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(introspect(&app, REALM, refresh).await, json!({ "active": false }));
    let successor = field(&rotated, "refresh_token");
    assert_eq!(introspect(&app, REALM, successor).await["active"], true);

    // Revocation.
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "revoke"))
        .form(&[
            ("client_id", SPA),
            ("token", successor),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    assert_eq!(introspect(&app, REALM, successor).await, json!({ "active": false }));

    // Expiry (30 days by default).
    let tokens = password_grant(&app, SPA, Some("offline_access")).await;
    let offline = field(&tokens, "refresh_token");
    let body = introspect(&app, REALM, offline).await;
    assert_eq!(body["token_type"], "Offline", "{body}");
    app.clock.advance(30 * 24 * 3600 + 1);
    assert_eq!(introspect(&app, REALM, offline).await, json!({ "active": false }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_authenticated_confidential_clients_may_introspect() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let access = field(&tokens, "access_token");
    let url = oidc_url(&app, REALM, "token/introspect");

    let send = |form: Vec<(&'static str, String)>, basic: Option<(&'static str, &'static str)>| {
        let mut req = app.http.post(url.clone()).form(&form);
        if let Some((user, password)) = basic {
            req = req.basic_auth(user, Some(password));
        }
        async move { split(req.send().await.expect("introspect")).await }
    };
    let token = || ("token", access.to_owned());

    // No client authentication at all.
    let (status, _, body) = send(vec![token()], None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // Wrong secret.
    let (status, _, body) = send(vec![token()], Some((API, "wrong-secret"))).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // A public client.
    let (status, _, body) = send(vec![token(), ("client_id", SPA.into())], None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({ "error": "invalid_request", "error_description": "Client not allowed." })
    );
    // No token.
    let (status, _, body) = send(vec![], Some((API, API_SECRET))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    // A hint introspection does not know (Keycloak refuses it).
    let (status, _, body) = send(
        vec![token(), ("token_type_hint", "id_token".into())],
        Some((API, API_SECRET)),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    // Duplicated parameter.
    let (status, _, body) = send(vec![token(), token()], Some((API, API_SECRET))).await;
    assert_eq!(status, 400, "{body}");

    // Not a form.
    let resp = app
        .http
        .post(url.clone())
        .basic_auth(API, Some(API_SECRET))
        .json(&json!({ "token": access }))
        .send()
        .await
        .expect("introspect");
    let (status, _, body) = split(resp).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");

    // GET is not introspection.
    let resp = app.http.get(url.clone()).send().await.expect("get");
    assert_eq!(resp.status(), 405);

    // A client of another realm cannot introspect here.
    app.create_realm("other").await;
    let (_, secret) = app.create_service_client("other", "svc").await;
    let resp = app
        .http
        .post(url)
        .basic_auth("svc", Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(resp.status(), 401);
}
