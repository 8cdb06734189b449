//! SSO sessions through the admin API: a user's sessions listed, one ended, all ended.

use reqwest::Method;
use serde_json::Value;

use crate::authorization_code::{challenge, code_request, login_for_code, realm_with_web_client, Browser, VERIFIER};
use crate::helpers::{spawn_app, TestApp};
use crate::isolation::create_user;

async fn password_login(app: &TestApp, realm: &str) -> Value {
    let resp = app
        .http
        .post(app.token_url(realm))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "direct"),
            ("username", "alice"),
            ("password", crate::authorization_code::PASSWORD),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

async fn refresh(app: &TestApp, realm: &str, token: &Value) -> u16 {
    app.http
        .post(app.token_url(realm))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "direct"),
            ("refresh_token", token["refresh_token"].as_str().expect("refresh")),
        ])
        .send()
        .await
        .expect("refresh")
        .status()
        .as_u16()
}

async fn sessions(app: &TestApp, realm: &str, user_id: &str) -> Vec<Value> {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/users/{user_id}/sessions"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp.json::<Vec<Value>>().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_and_end_a_users_sessions() {
    let app = spawn_app().await;
    let user_id = realm_with_web_client(&app, "sess").await;
    crate::authorization_code::create_web_client(
        &app,
        "sess",
        "direct",
        serde_json::json!({ "directAccessGrantsEnabled": true }),
    )
    .await;
    let first = password_login(&app, "sess").await;
    let second = password_login(&app, "sess").await;
    let browser = Browser::new(&app);
    let code = login_for_code(&app, &browser, "sess", "web").await;
    crate::authorization_code::exchange(&app, "sess", "web", &code, VERIFIER).await;

    let listed = sessions(&app, "sess", &user_id).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    for s in &listed {
        assert_eq!(s["userId"], user_id.as_str());
        assert_eq!(s["username"], "alice");
        assert_eq!(s["ipAddress"], "127.0.0.1");
        assert!(s["start"].as_i64().expect("start") > 1_000_000_000_000, "milliseconds");
    }
    assert_eq!(listed[0]["id"], first["session_state"]);
    assert!(listed[0]["clients"]
        .as_object()
        .expect("clients")
        .contains_key("direct"));
    assert!(listed[2]["clients"].as_object().expect("clients").contains_key("web"));

    // End one session: its refresh token dies, the other's lives.
    let resp = app
        .admin(
            Method::DELETE,
            &format!(
                "/admin/realms/sess/sessions/{}",
                first["session_state"].as_str().expect("sid")
            ),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(sessions(&app, "sess", &user_id).await.len(), 2);
    assert_eq!(refresh(&app, "sess", &first).await, 400);
    let second_rotated = refresh(&app, "sess", &second).await;
    assert_eq!(second_rotated, 200);
    // Unknown sessions are not an error (Keycloak).
    let resp = app
        .admin(Method::DELETE, "/admin/realms/sess/sessions/nope", None)
        .await;
    assert_eq!(resp.status(), 204);

    // Sign the user out everywhere: the browser must log in again.
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/sess/users/{user_id}/logout"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert!(sessions(&app, "sess", &user_id).await.is_empty());
    let c = challenge(VERIFIER);
    assert!(browser
        .authorize("sess", &code_request("web", &c))
        .await
        .is_login_page());
    // A new login after the sign-out works.
    let again = password_login(&app, "sess").await;
    assert_eq!(refresh(&app, "sess", &again).await, 200);
    assert_eq!(sessions(&app, "sess", &user_id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_admin_needs_rights_in_that_realm() {
    let app = spawn_app().await;
    let user_id = realm_with_web_client(&app, "guarded").await;
    let resp = app
        .admin(Method::GET, "/admin/realms/guarded/users/no-such-user/sessions", None)
        .await;
    assert_eq!(resp.status(), 404);
    create_user(&app, "master", "mallory", "mallory-password-123", true).await;
    let token = app
        .password_token("master", "admin-cli", "mallory", "mallory-password-123")
        .await;
    let resp = app
        .admin_as(
            &token,
            Method::GET,
            &format!("/admin/realms/guarded/users/{user_id}/sessions"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 403);
    let resp = app
        .admin_as(&token, Method::DELETE, "/admin/realms/guarded/sessions/x", None)
        .await;
    assert_eq!(resp.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_index_keeps_the_newest_sessions_and_sign_out_still_ends_all() {
    let app = spawn_app().await;
    let user_id = realm_with_web_client(&app, "many").await;
    // 105 logins from one address within the minute: more than the realm's default request rate
    // limit (rate_limits.rs) allows.
    app.update_realm("many", serde_json::json!({ "rateLimitRequestsPerMinute": 200 }))
        .await;
    crate::authorization_code::create_web_client(
        &app,
        "many",
        "direct",
        serde_json::json!({ "directAccessGrantsEnabled": true }),
    )
    .await;
    let first = password_login(&app, "many").await;
    for _ in 0..104 {
        password_login(&app, "many").await;
    }
    let listed = sessions(&app, "many", &user_id).await;
    assert_eq!(listed.len(), 100, "the newest 100 are listed");
    assert!(listed.iter().all(|s| s["id"] != first["session_state"]));
    // The oldest session, no longer indexed, still ends with the user's sign-out.
    app.clock.advance(1);
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/many/users/{user_id}/logout"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(refresh(&app, "many", &first).await, 400);
    let resp = app
        .http
        .get(app.url("/realms/many/protocol/openid-connect/userinfo"))
        .bearer_auth(first["access_token"].as_str().expect("access"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(resp.status(), 401, "its access token is dead too");
}
