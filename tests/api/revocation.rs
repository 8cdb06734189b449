//! Token revocation (RFC 7009) as Keycloak does it: a refresh token takes its rotation family and
//! its client's access tokens in that session with it; an access token is denied until it expires;
//! tokens the server cannot verify are "revoked" with a 200; another client's token is refused.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::token_endpoint::{split, token_form};
use crate::userinfo::{field, introspect, oidc_realm, oidc_url, password_grant, userinfo, API, API_SECRET, REALM, SPA};

async fn revoke(app: &crate::helpers::TestApp, form: &[(&str, &str)]) -> (u16, String) {
    let resp = app
        .http
        .post(oidc_url(app, REALM, "revoke"))
        .form(form)
        .send()
        .await
        .expect("revoke");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_refresh_token_revokes_its_family_and_its_clients_access_tokens() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;
    let first_refresh = field(&tokens, "refresh_token");
    let (status, _, rotated) = token_form(
        &app,
        REALM,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", first_refresh),
        ],
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let other_session = password_grant(&app, SPA, None).await;

    // Revoking the first (already rotated) token of the family revokes its successor too.
    let (status, body) = revoke(&app, &[("client_id", SPA), ("token", first_refresh)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "", "RFC 7009: the body carries nothing");
    let (status, _, body) = token_form(
        &app,
        REALM,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", field(&rotated, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // The client's access tokens of that session go too (RFC 7009 §2.1; Keycloak detaches the client).
    for access in [field(&tokens, "access_token"), field(&rotated, "access_token")] {
        assert_eq!(introspect(&app, REALM, access).await, json!({ "active": false }));
        assert_eq!(userinfo(&app, REALM, access).await.0, 401);
    }
    // Another session of the same client is untouched.
    assert_eq!(
        introspect(&app, REALM, field(&other_session, "access_token")).await["active"],
        true
    );
    let (status, _, body) = token_form(
        &app,
        REALM,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", field(&other_session, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Revoking twice is fine.
    let (status, _) = revoke(&app, &[("client_id", SPA), ("token", first_refresh)]).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_access_token_denies_it_until_it_expires() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, API, None).await;
    let access = field(&tokens, "access_token");
    let sibling = password_grant(&app, API, None).await;

    // A confidential client authenticates (Basic here), with or without a hint.
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "revoke"))
        .basic_auth(API, Some(API_SECRET))
        .form(&[("token", access), ("token_type_hint", "access_token")])
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 200);
    assert_eq!(introspect(&app, REALM, access).await, json!({ "active": false }));
    assert_eq!(userinfo(&app, REALM, access).await.0, 401);
    // Its refresh token and other tokens still work.
    assert_eq!(
        introspect(&app, REALM, field(&sibling, "access_token")).await["active"],
        true
    );
    let (status, _, body) = token_form(
        &app,
        REALM,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", API),
            ("client_secret", API_SECRET),
            ("refresh_token", field(&tokens, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_other_clients_and_of_unrevocable_types_are_refused() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let spa_tokens = password_grant(&app, SPA, Some("openid")).await;

    // The api client may not revoke the spa's tokens (Keycloak: 400 invalid_request "Unmatching clients").
    for token in [field(&spa_tokens, "access_token"), field(&spa_tokens, "refresh_token")] {
        let (status, body) = revoke(
            &app,
            &[("client_id", API), ("client_secret", API_SECRET), ("token", token)],
        )
        .await;
        assert_eq!(status, 400, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], "Unmatching clients");
        assert_eq!(introspect(&app, REALM, token).await["active"], true, "not revoked");
    }

    // An ID token cannot be revoked (RFC 7009 §2.2.1).
    let (status, body) = revoke(&app, &[("client_id", SPA), ("token", field(&spa_tokens, "id_token"))]).await;
    assert_eq!(status, 400, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["error"], "unsupported_token_type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_are_a_success_and_bad_requests_are_rfc_errors() {
    let app = spawn_app().await;
    oidc_realm(&app).await;
    let tokens = password_grant(&app, SPA, None).await;

    // RFC 7009 §2.2: an invalid token is answered 200; an unknown hint is only a hint.
    for form in [
        vec![("client_id", SPA), ("token", "garbage")],
        vec![("client_id", SPA), ("token", "a.b.c")],
        vec![
            ("client_id", SPA),
            ("token", "garbage"),
            ("token_type_hint", "something_else"),
        ],
    ] {
        let (status, body) = revoke(&app, &form).await;
        assert_eq!(status, 200, "{form:?}: {body}");
    }

    // A token of another realm is nothing here, and stays valid there.
    app.create_realm("other").await;
    let (_, secret) = app.create_service_client("other", "svc").await;
    let (_, _, other) = split(app.client_credentials("other", "svc", &secret).await).await;
    let other_token = field(&other, "access_token");
    let (status, _) = revoke(
        &app,
        &[
            ("client_id", API),
            ("client_secret", API_SECRET),
            ("token", other_token),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let resp = app
        .http
        .post(oidc_url(&app, "other", "token/introspect"))
        .basic_auth("svc", Some(&secret))
        .form(&[("token", other_token)])
        .send()
        .await
        .expect("introspect");
    let (_, _, body) = split(resp).await;
    assert_eq!(body["active"], true, "{body}");

    // Missing token, missing or wrong client authentication, not a form.
    let (status, body) = revoke(&app, &[("client_id", SPA)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_request"), "{body}");
    let (status, body) = revoke(&app, &[("token", field(&tokens, "access_token"))]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_client"), "{body}");
    let (status, body) = revoke(&app, &[("client_id", API), ("client_secret", "wrong"), ("token", "x")]).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = revoke(&app, &[("client_id", API), ("token", "x")]).await;
    assert_eq!(status, 401, "a confidential client must authenticate: {body}");
    let resp = app
        .http
        .post(oidc_url(&app, REALM, "revoke"))
        .json(&json!({ "client_id": SPA, "token": "x" }))
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 400);
    let resp = app.http.get(oidc_url(&app, REALM, "revoke")).send().await.expect("get");
    assert_eq!(resp.status(), 405);
    assert_eq!(
        introspect(&app, REALM, field(&tokens, "access_token")).await["active"],
        true
    );
}
