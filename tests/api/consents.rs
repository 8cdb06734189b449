//! Consents as admins (Keycloak's `/users/{id}/consents`) and users (the account API's
//! `/account/applications`) see and withdraw them; withdrawing revokes the client's refresh tokens.
//! Consents are written through the storage layer: the consent page is another piece of work.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::isolation::{create_user, direct_db, grant_realm_admin};
use crate::token_endpoint::{create_client, split, token_form};
use nexus::store::db::{self, DbError};

const PASSWORD: &str = "Consent-Passw0rd-for-tests";

/// Records that `user_id` granted `scopes` to the client (internal id) at the app's clock.
pub(crate) async fn grant_consent(app: &TestApp, realm: &str, user_id: &str, client_id: &str, scopes: &[&str]) {
    let database = direct_db(app);
    let now = nexus::clock::Clock::now(&app.clock);
    let (realm, user_id, client_id) = (realm.to_owned(), user_id.to_owned(), client_id.to_owned());
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        database.blocking(|conn| {
            db::write_transaction(conn, |conn| -> Result<(), DbError> {
                let realm = db::realms::find_by_name(conn, &realm)?.expect("realm");
                db::consents::grant(conn, &realm.id, &user_id, &client_id, &scopes, now)?;
                Ok(())
            })
        })
    })
    .await
    .expect("join")
    .expect("consent stored");
}

/// A password grant of `username` at a public client; the token response.
async fn tokens(app: &TestApp, realm: &str, client_id: &str, username: &str, scope: Option<&str>) -> Value {
    let mut form = vec![
        ("grant_type", "password"),
        ("client_id", client_id),
        ("username", username),
        ("password", PASSWORD),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, _, body) = token_form(app, realm, &form).await;
    assert_eq!(status, 200, "password grant at {client_id}: {body}");
    body
}

/// Refreshes `tokens` (rotation: on success they become the new ones); the status.
async fn refresh_status(app: &TestApp, realm: &str, client_id: &str, tokens: &mut Value) -> u16 {
    let refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", &refresh),
    ];
    let (status, _, body) = token_form(app, realm, &form).await;
    if status == 200 {
        *tokens = body;
    }
    status
}

async fn public_client(app: &TestApp, realm: &str, client_id: &str) -> String {
    create_client(
        app,
        realm,
        json!({
            "clientId": client_id,
            "name": format!("The {client_id} app"),
            "publicClient": true,
            "directAccessGrantsEnabled": true,
            "consentRequired": true,
            "rootUrl": format!("https://{client_id}.example"),
            "baseUrl": "/home",
        }),
    )
    .await
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let resp = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn delete(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("delete")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_and_withdraw_consents_which_revokes_the_clients_refresh_tokens() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let erin = create_user(&app, "shop", "erin", PASSWORD, true).await;
    let web = public_client(&app, "shop", "web").await;
    let mobile = public_client(&app, "shop", "mobile").await;
    let tablet = public_client(&app, "shop", "tablet").await;
    let mut web_tokens = tokens(&app, "shop", "web", "erin", None).await;
    let mut mobile_tokens = tokens(&app, "shop", "mobile", "erin", Some("offline_access")).await;
    // Only an offline token for tablet, no consent.
    let mut tablet_tokens = tokens(&app, "shop", "tablet", "erin", Some("offline_access")).await;
    let created = nexus::clock::Clock::now(&app.clock) * 1000;
    grant_consent(&app, "shop", &erin, &web, &["profile", "email"]).await;
    grant_consent(&app, "shop", &erin, &mobile, &["profile"]).await;
    app.clock.advance(10);
    grant_consent(&app, "shop", &erin, &web, &["address"]).await;

    let path = format!("/admin/realms/shop/users/{erin}/consents");
    let resp = app.admin(Method::GET, &path, None).await;
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.expect("json");
    assert_eq!(
        list,
        json!([
            {
                "clientId": "mobile", "grantedClientScopes": ["profile"],
                "createdDate": created, "lastUpdatedDate": created,
                "additionalGrants": [{ "client": mobile, "key": "Offline Token" }],
            },
            {
                "clientId": "web", "grantedClientScopes": ["address", "email", "profile"],
                "createdDate": created, "lastUpdatedDate": created + 10_000,
                "additionalGrants": [],
            },
            {
                "clientId": "tablet", "grantedClientScopes": [],
                "createdDate": null, "lastUpdatedDate": null,
                "additionalGrants": [{ "client": tablet, "key": "Offline Token" }],
            },
        ]),
        "{list:#}"
    );

    // Withdrawing web's consent revokes erin's refresh tokens of web, and nothing else.
    let resp = app.admin(Method::DELETE, &format!("{path}/web"), None).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(refresh_status(&app, "shop", "web", &mut web_tokens).await, 400);
    assert_eq!(refresh_status(&app, "shop", "mobile", &mut mobile_tokens).await, 200);
    let list: Value = app.admin(Method::GET, &path, None).await.json().await.expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["clientId"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["mobile", "tablet"]);

    // Nothing left to withdraw, an unknown client, an unknown user: 404 in Keycloak's words.
    let (status, _, body) = split(app.admin(Method::DELETE, &format!("{path}/web"), None).await).await;
    assert_eq!(
        (status, body),
        (404, json!({ "error": "Consent nor offline token not found" }))
    );
    let (status, _, body) = split(app.admin(Method::DELETE, &format!("{path}/nope"), None).await).await;
    assert_eq!((status, body), (404, json!({ "error": "Client not found" })));
    let (status, _, body) = split(app.admin(Method::DELETE, &format!("{path}/nul%00"), None).await).await;
    assert_eq!((status, body), (404, json!({ "error": "Client not found" })));
    let resp = app
        .admin(Method::GET, "/admin/realms/shop/users/no-such-user/consents", None)
        .await;
    assert_eq!(resp.status(), 404);

    // An offline token alone can be withdrawn too.
    let resp = app.admin(Method::DELETE, &format!("{path}/tablet"), None).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(refresh_status(&app, "shop", "tablet", &mut tablet_tokens).await, 400);

    // Realm isolation: another realm's admin gets 403; the user is not found through another realm.
    app.create_realm("other").await;
    let grace = create_user(&app, "other", "grace", PASSWORD, true).await;
    grant_realm_admin(&app, "other", &grace).await;
    let grace_token = app.password_token("other", "admin-cli", "grace", PASSWORD).await;
    assert_eq!(app.admin_as(&grace_token, Method::GET, &path, None).await.status(), 403);
    assert_eq!(
        app.admin_as(&grace_token, Method::DELETE, &format!("{path}/mobile"), None)
            .await
            .status(),
        403
    );
    let through_other = format!("/admin/realms/other/users/{erin}/consents");
    assert_eq!(
        app.admin_as(&grace_token, Method::GET, &through_other, None)
            .await
            .status(),
        404
    );
    assert_eq!(refresh_status(&app, "shop", "mobile", &mut mobile_tokens).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_and_withdraw_their_consents_through_the_account_api() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let erin = create_user(&app, "shop", "erin", PASSWORD, true).await;
    let web = public_client(&app, "shop", "web").await;
    public_client(&app, "shop", "mobile").await;
    let mut web_tokens = tokens(&app, "shop", "web", "erin", None).await;
    let mut mobile_tokens = tokens(&app, "shop", "mobile", "erin", None).await;
    let created = nexus::clock::Clock::now(&app.clock) * 1000;
    grant_consent(&app, "shop", &erin, &web, &["email", "profile"]).await;
    let token = app.password_token("shop", "admin-cli", "erin", PASSWORD).await;

    let (status, apps) = get_json(&app, &token, "/realms/shop/account/applications").await;
    assert_eq!(status, 200, "{apps}");
    let by_id = |id: &str| -> Value {
        apps.as_array()
            .expect("array")
            .iter()
            .find(|a| a["clientId"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed in {apps:#}"))
    };
    let web_app = by_id("web");
    assert_eq!(web_app["clientName"], "The web app");
    assert_eq!(web_app["userConsentRequired"], true);
    assert_eq!(
        (&web_app["inUse"], &web_app["offlineAccess"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(web_app["effectiveUrl"], "https://web.example/home");
    assert_eq!(web_app["consent"]["createdDate"], created);
    let granted = web_app["consent"]["grantedScopes"].as_array().expect("scopes");
    let texts: Vec<&str> = granted
        .iter()
        .map(|s| s["displayText"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(texts, ["Email address", "User profile"]);
    assert!(
        granted
            .iter()
            .all(|s| s["id"].as_str().is_some_and(|id| id.len() == 36)),
        "{granted:?}"
    );
    // Clients with tokens but no consent are listed without one.
    assert!(by_id("mobile").get("consent").is_none());
    assert_eq!(by_id("admin-cli")["inUse"], true);
    let (_, filtered) = get_json(&app, &token, "/realms/shop/account/applications?name=WEB").await;
    assert_eq!(filtered.as_array().map(Vec::len), Some(1), "{filtered}");

    // One consent: 200 with it, 204 without, 404 for an unknown client.
    let (status, consent) = get_json(&app, &token, "/realms/shop/account/applications/web/consent").await;
    assert_eq!(
        (status, &consent["grantedScopes"]),
        (200, &web_app["consent"]["grantedScopes"])
    );
    let resp = app
        .http
        .get(app.url("/realms/shop/account/applications/mobile/consent"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 204);
    let (status, body) = get_json(&app, &token, "/realms/shop/account/applications/nope/consent").await;
    assert_eq!(
        (status, body),
        (404, json!({ "errorMessage": "No client with clientId: nope found." }))
    );

    // Withdrawing: 204; the consent is gone and so are the client's refresh tokens.
    let resp = delete(&app, &token, "/realms/shop/account/applications/web/consent").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(refresh_status(&app, "shop", "web", &mut web_tokens).await, 400);
    assert_eq!(refresh_status(&app, "shop", "mobile", &mut mobile_tokens).await, 200);
    let (status, _) = get_json(&app, &token, "/realms/shop/account/applications/web/consent").await;
    assert_eq!(status, 204);
    let list: Value = app
        .admin(Method::GET, &format!("/admin/realms/shop/users/{erin}/consents"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list, json!([]));
    assert_eq!(
        delete(&app, &token, "/realms/shop/account/applications/nope/consent")
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_api_wants_a_live_token_of_its_own_realm() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    app.create_realm("other").await;
    create_user(&app, "shop", "erin", PASSWORD, true).await;
    create_user(&app, "other", "erin", PASSWORD, true).await;
    let shop_token = app.password_token("shop", "admin-cli", "erin", PASSWORD).await;
    let apps = "/realms/other/account/applications";

    // No token, garbage, and a valid token of another realm: 401 with a Bearer challenge.
    for token in [None, Some("garbage"), Some(shop_token.as_str())] {
        let mut req = app.http.get(app.url(apps));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("get");
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
    }
    let resp = delete(
        &app,
        &shop_token,
        "/realms/other/account/applications/admin-cli/consent",
    )
    .await;
    assert_eq!(resp.status(), 401);
    // The realm that does not exist is 404; the token's own realm works.
    assert_eq!(
        get_json(&app, &shop_token, "/realms/nowhere/account/applications")
            .await
            .0,
        404
    );
    assert_eq!(
        get_json(&app, &shop_token, "/realms/shop/account/applications").await.0,
        200
    );

    // A disabled user's token stops working at once.
    let erin = {
        let list: Value = app
            .admin(Method::GET, "/admin/realms/shop/users?username=erin", None)
            .await
            .json()
            .await
            .expect("json");
        list[0]["id"].as_str().expect("id").to_owned()
    };
    crate::isolation::set_user_enabled(&app, "shop", &erin, false).await;
    assert_eq!(
        get_json(&app, &shop_token, "/realms/shop/account/applications").await.0,
        401
    );
}
