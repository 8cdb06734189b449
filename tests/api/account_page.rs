//! The account page (`/realms/{realm}/account`) and its API Keys section (issue 4): signing in
//! through the `account` client, CSRF, show-once secrets, per-user isolation, form errors; plain
//! HTTP with a cookie-keeping client, and once in a real browser (Chromium via WebDriver).

use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{Answer, Browser as HttpBrowser, PASSWORD};
use crate::browser::{create_user_with_profile, element_text, html_unescape, screenshot_dir, sso_realm, Browser};
use crate::helpers::{spawn_app, TestApp};

/// A realm (with the client scope `read:users`) and the users alice and bob; returns their ids.
async fn realm_with_two_users(app: &TestApp, realm: &str) -> (String, String) {
    sso_realm(app, realm, "Acme Corp").await;
    let alice = create_user_with_profile(app, realm, "alice", PASSWORD, "alice@example.com").await;
    let bob = create_user_with_profile(app, realm, "bob", PASSWORD, "bob@example.com").await;
    (alice, bob)
}

pub fn absolute(app: &TestApp, location: &str) -> String {
    if location.starts_with('/') {
        format!("{}{location}", app.address)
    } else {
        location.to_owned()
    }
}

fn keys_page(app: &TestApp, realm: &str) -> String {
    format!("{}/realms/{realm}/account/api-keys", app.address)
}

/// The value attribute of the element with `id`.
fn value_of(page: &Answer, id: &str) -> Option<String> {
    let at = page.body.find(&format!("id=\"{id}\""))?;
    let tag_start = page.body[..at].rfind('<')?;
    let tag = &page.body[tag_start..at + page.body[at..].find('>')?];
    let value_at = tag.find("value=\"")? + 7;
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(html_unescape(&tag[value_at..value_end]))
}

/// Signs `username` in through the account page's redirect; returns the API Keys page and the
/// code the authorization endpoint handed to the page's callback.
pub async fn sign_in(app: &TestApp, browser: &HttpBrowser, realm: &str, username: &str) -> (Answer, String) {
    let start = browser.get(&format!("{}/realms/{realm}/account", app.address)).await;
    assert_eq!(start.status, 302, "{}", start.body);
    let location = start.location.clone().expect("location");
    assert!(
        location.starts_with(&format!("/realms/{realm}/protocol/openid-connect/auth?")),
        "{location}"
    );
    let login = browser.get(&absolute(app, &location)).await;
    let answer = browser.login(&login, username, PASSWORD).await;
    assert_eq!(
        answer.status, 302,
        "no consent is asked for the account page: {}",
        answer.body
    );
    let code = answer.param("code").expect("code");
    let callback = answer.location.clone().expect("callback");
    assert!(
        callback.starts_with(&format!("{}/realms/{realm}/account/callback?", app.address)),
        "{callback}"
    );
    let back = browser.get(&callback).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(
        back.location.as_deref(),
        Some(format!("/realms/{realm}/account/api-keys").as_str())
    );
    let page = browser.get(&keys_page(app, realm)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"generate-key-form\""), "{}", page.body);
    (page, code)
}

/// Posts the Generate New form of `page` with `fields` (the CSRF token of the page added).
async fn generate(app: &TestApp, browser: &HttpBrowser, realm: &str, page: &Answer, fields: &[(&str, &str)]) -> Answer {
    let csrf = page.input("csrf_token").expect("csrf field");
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf_token", &csrf));
    browser.post_form(&keys_page(app, realm), &form).await
}

/// The keys the secret's owner sees through the API-key API, authenticated by the secret itself.
async fn keys_via_psk(app: &TestApp, realm: &str, secret: &str) -> (u16, Value) {
    let resp = app
        .http
        .get(app.url(&format!("/realms/{realm}/api/v1/api-keys")))
        .header("Authorization-PSK", secret)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A key of `user_id` made by the admin API; (id, secret).
async fn admin_key(app: &TestApp, realm: &str, user_id: &str) -> (String, String) {
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/users/{user_id}/api-keys"),
            Some(json!({ "description": "bob's" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.expect("json");
    (
        body["id"].as_str().expect("id").to_owned(),
        body["secret"].as_str().expect("secret").to_owned(),
    )
}

#[tokio::test]
async fn account_page_signs_in_through_the_account_client_and_consumes_the_code() {
    let app = spawn_app().await;
    realm_with_two_users(&app, "acct").await;
    let browser = HttpBrowser::new(&app);

    // Not signed in: every section sends the browser to the login page of the realm.
    for path in [
        "/realms/acct/account",
        "/realms/acct/account/",
        "/realms/acct/account/api-keys",
    ] {
        let start = browser.get(&app.url(path)).await;
        assert_eq!(start.status, 302, "{path}");
        assert_eq!(start.headers["cache-control"], "no-store");
        let location = start.location.expect("location");
        let url = url::Url::parse(&absolute(&app, &location)).expect("url");
        let params: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(params["client_id"], "account");
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(params["response_type"], "code");
        assert_eq!(
            params["redirect_uri"],
            format!("{}/realms/acct/account/callback", app.address)
        );
        assert!(params["state"].len() >= 16);
        let login = browser.get(&absolute(&app, &location)).await;
        assert!(login.is_login_page(), "{path}: {}", login.body);
    }

    let (page, code) = sign_in(&app, &browser, "acct", "alice").await;
    assert!(page.body.contains("id=\"account-username\">alice<"), "{}", page.body);
    assert_eq!(page.headers["cache-control"], "no-store, must-revalidate, max-age=0");
    let csp = page.headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    // The callback took the code: it is worth nothing at the token endpoint.
    let resp = app
        .http
        .post(app.token_url("acct"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "account"),
            ("code", code.as_str()),
            ("redirect_uri", &format!("{}/realms/acct/account/callback", app.address)),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");

    // A callback whose state is not this browser's is refused, with no session.
    let other = HttpBrowser::new(&app);
    let forged = other
        .get(&app.url("/realms/acct/account/callback?code=abc&state=forged"))
        .await;
    assert_eq!(forged.status, 400);
    let page = other.get(&keys_page(&app, "acct")).await;
    assert_eq!(page.status, 302, "still not signed in");
}

#[tokio::test]
async fn account_page_shows_a_new_secret_once_and_the_secret_works() {
    let app = spawn_app().await;
    realm_with_two_users(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    let (page, _) = sign_in(&app, &browser, "acct", "alice").await;
    assert!(page.body.contains("id=\"no-keys\""));

    let created = generate(
        &app,
        &browser,
        "acct",
        &page,
        &[
            ("description", "CI deploys"),
            ("permissions", "read:users"),
            ("kind", "secret"),
            ("environment", "live"),
            ("expires", ""),
        ],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert!(
        !created.body.contains("nx_live_"),
        "the POST's answer carries no secret"
    );
    let shown_url = absolute(&app, created.location.as_deref().expect("location"));
    let shown = browser.get(&shown_url).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.headers["cache-control"], "no-store, must-revalidate, max-age=0");
    let secret = value_of(&shown, "new-secret").expect("the secret is shown");
    assert!(secret.starts_with("nx_live_"), "{secret}");
    assert!(shown.body.contains("will not be shown again"));
    let key_id = element_text(&shown.body, "new-secret-key-id").expect("key id");

    // The secret works as a pre-shared key and lists the key, without any secret.
    let (status, list) = keys_via_psk(&app, "acct", &secret).await;
    assert_eq!(status, 200, "{list}");
    let listed = list.as_array().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], key_id.as_str());
    assert_eq!(listed[0]["description"], "CI deploys");
    assert_eq!(listed[0]["permissions"], "read:users");
    assert!(listed[0].get("secret").is_none());

    // A reload of the same address, and the page itself, never show it again.
    let again = browser.get(&shown_url).await;
    assert_eq!(again.status, 200);
    assert!(!again.body.contains(&secret));
    assert!(!again.body.contains("id=\"new-secret\""));
    let listing = browser.get(&keys_page(&app, "acct")).await;
    assert!(!listing.body.contains(&secret));
    assert!(
        listing.body.contains(&format!("id=\"key-{key_id}\"")),
        "{}",
        listing.body
    );
    assert!(listing.body.contains("CI deploys"));
    assert!(listing.body.contains(&secret[..12]), "the prefix is shown");

    // Another signed-in browser of the same user cannot take a secret meant for this one.
    let page = browser.get(&keys_page(&app, "acct")).await;
    let created = generate(&app, &browser, "acct", &page, &[("description", "second")]).await;
    let shown_url = absolute(&app, created.location.as_deref().expect("location"));
    let other = HttpBrowser::new(&app);
    sign_in(&app, &other, "acct", "alice").await;
    let stolen = other.get(&shown_url).await;
    assert_eq!(stolen.status, 200);
    assert!(!stolen.body.contains("id=\"new-secret\""));

    // Delete: a confirmation page, then the key is gone and its secret is refused.
    let confirm = browser
        .get(&format!("{}/{key_id}/delete", keys_page(&app, "acct")))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"confirm-form\""));
    let action = confirm.form_action("confirm-form").expect("action");
    let csrf = confirm.input("csrf_token").expect("csrf");
    let deleted = browser
        .post_form(&absolute(&app, &action), &[("csrf_token", csrf.as_str())])
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    let after = browser
        .get(&absolute(&app, deleted.location.as_deref().expect("location")))
        .await;
    assert!(after.body.contains("id=\"account-notice\""));
    assert!(!after.body.contains(&format!("id=\"key-{key_id}\"")));
    assert_eq!(keys_via_psk(&app, "acct", &secret).await.0, 401);
}

#[tokio::test]
async fn account_page_refuses_posts_without_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_two_users(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    let (page, _) = sign_in(&app, &browser, "acct", "alice").await;
    let (key_id, secret) = admin_key(&app, "acct", &alice).await;

    let url = keys_page(&app, "acct");
    let missing = browser.post_form(&url, &[("description", "x")]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let wrong = browser
        .post_form(&url, &[("description", "x"), ("csrf_token", "0123456789abcdef")])
        .await;
    assert_eq!(wrong.status, 403);
    // The token of another session (bob's) is not alice's.
    let bob = HttpBrowser::new(&app);
    let (bob_page, _) = sign_in(&app, &bob, "acct", "bob").await;
    let bobs_token = bob_page.input("csrf_token").expect("csrf");
    assert_ne!(bobs_token, page.input("csrf_token").expect("csrf"));
    let crossed = browser
        .post_form(&url, &[("description", "x"), ("csrf_token", bobs_token.as_str())])
        .await;
    assert_eq!(crossed.status, 403);
    let delete = browser
        .post_form(&format!("{url}/{key_id}/delete"), &[("csrf_token", "nope")])
        .await;
    assert_eq!(delete.status, 403);

    // Nothing was made or deleted: alice still has only the admin's key, and it works.
    let (status, list) = keys_via_psk(&app, "acct", &secret).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().expect("list").len(), 1, "{list}");

    // Without a session a post goes back to the page (which signs in); nothing is made.
    let stranger = HttpBrowser::new(&app);
    let anonymous = stranger
        .post_form(&url, &[("description", "x"), ("csrf_token", "x")])
        .await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        keys_via_psk(&app, "acct", &secret).await.1.as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn account_page_cannot_reach_another_users_keys() {
    let app = spawn_app().await;
    let (_, bob) = realm_with_two_users(&app, "acct").await;
    let (bobs_key, bobs_secret) = admin_key(&app, "acct", &bob).await;
    let browser = HttpBrowser::new(&app);
    let (page, _) = sign_in(&app, &browser, "acct", "alice").await;
    assert!(!page.body.contains(&bobs_key));
    let csrf = page.input("csrf_token").expect("csrf");

    let base = keys_page(&app, "acct");
    for action in ["delete", "rotate", "regenerate"] {
        let confirm = browser.get(&format!("{base}/{bobs_key}/{action}")).await;
        assert_eq!(confirm.status, 404, "{action}: {}", confirm.body);
        assert!(!confirm.body.contains("bob's"));
        let crafted = browser
            .post_form(&format!("{base}/{bobs_key}/{action}"), &[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(crafted.status, 404, "{action}: {}", crafted.body);
    }
    let (status, list) = keys_via_psk(&app, "acct", &bobs_secret).await;
    assert_eq!(status, 200, "bob's key still works");
    assert_eq!(list[0]["id"], bobs_key.as_str());
    assert_eq!(list[0]["modifiedBy"], list[0]["createdBy"], "and was not changed");
}

#[tokio::test]
async fn account_page_shows_bad_input_next_to_its_field_and_keeps_it() {
    let app = spawn_app().await;
    realm_with_two_users(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    let (page, _) = sign_in(&app, &browser, "acct", "alice").await;

    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("description", "old"), ("expires", "2020-01-01")], "expires-error"),
        (&[("description", "typo"), ("expires", "next tuesday")], "expires-error"),
        (
            &[("description", "unknown"), ("permissions", "read:users write:nothing")],
            "permissions-error",
        ),
        (
            &[
                ("description", "pk"),
                ("kind", "publishable"),
                ("permissions", "offline_access"),
            ],
            "permissions-error",
        ),
        (&[("description", "odd"), ("kind", "platinum")], "kind-error"),
    ];
    for (fields, error_id) in cases {
        let answer = generate(&app, &browser, "acct", &page, fields).await;
        assert_eq!(answer.status, 400, "{fields:?}: {}", answer.body);
        let message = element_text(&answer.body, error_id).unwrap_or_else(|| panic!("{error_id}: {}", answer.body));
        assert!(!message.is_empty());
        // What was typed is still in the form.
        for (name, typed) in fields {
            if *name == "kind" {
                continue;
            }
            assert_eq!(value_of(&answer, name).as_deref(), Some(*typed), "{name} kept");
        }
        assert!(!answer.body.contains("id=\"new-secret\""));
    }
    assert!(element_text(
        &generate(
            &app,
            &browser,
            "acct",
            &page,
            &[("permissions", "write:x"), ("kind", "publishable")]
        )
        .await
        .body,
        "permissions-error"
    )
    .is_some_and(|m| m.contains("read-only")));

    // Nothing was made.
    let listing = browser.get(&keys_page(&app, "acct")).await;
    assert!(listing.body.contains("id=\"no-keys\""), "{}", listing.body);
}

#[tokio::test]
async fn account_page_in_a_real_browser_generates_a_key_uses_it_and_deletes_it() {
    let app = spawn_app().await;
    realm_with_two_users(&app, "acct").await;
    let browser = Browser::start().await;

    browser.goto(&app.url("/realms/acct/account")).await;
    browser.submit_login("alice", PASSWORD).await;
    browser.wait_for("form#generate-key-form", "the API Keys section").await;
    assert_eq!(
        browser.text_of("#account-username", "the signed-in user").await,
        "alice"
    );

    browser.type_into("#description", "Laptop scripts").await;
    browser.type_into("#permissions", "read:users").await;
    browser.click("#kind-secret", "Secret").await;
    let form = browser.wait_for("form#generate-key-form", "the form").await;
    browser.click("#generate-key", "Generate New").await;
    browser.wait_until_gone(form, "the submitted form").await;

    let field = browser.wait_for("#new-secret", "the new secret").await;
    let secret = field
        .prop("value")
        .await
        .expect("value")
        .expect("the secret field has a value");
    assert!(secret.starts_with("nx_live_"), "{secret}");
    // account.js ran under the page's CSP: the copy button is shown.
    let copy = browser.wait_for("#copy-secret", "the copy button").await;
    assert!(
        copy.is_displayed().await.expect("displayed"),
        "{}",
        browser.context().await
    );
    let key_id = browser.text_of("#new-secret-key-id", "the key id").await;

    let shot = browser.client.screenshot().await.expect("screenshot");
    let path = screenshot_dir().join(format!("account-api-keys-{}.png", crate::helpers::stack()));
    std::fs::write(&path, shot).expect("write screenshot");
    println!("screenshot of the account page: {}", path.display());

    // The secret, as read from the page, is a working pre-shared key.
    let (status, list) = keys_via_psk(&app, "acct", &secret).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["id"], key_id.as_str());
    assert_eq!(list[0]["description"], "Laptop scripts");

    // The list shows the key, never its secret again.
    browser.goto(&app.url("/realms/acct/account/api-keys")).await;
    browser
        .wait_for(&format!("tr[data-key-id='{key_id}']"), "the key's row")
        .await;
    assert!(!browser.has("#new-secret").await);
    let source = browser.client.source().await.expect("source");
    assert!(!source.contains(&secret));
    assert!(source.contains("Laptop scripts"));
    let shot = browser.client.screenshot().await.expect("screenshot");
    let path = screenshot_dir().join(format!("account-api-keys-list-{}.png", crate::helpers::stack()));
    std::fs::write(&path, shot).expect("write screenshot");
    println!("screenshot of the list: {}", path.display());

    // Delete, confirmed on its own page.
    browser
        .click(&format!("tr[data-key-id='{key_id}'] a.danger"), "Delete")
        .await;
    browser.click("#confirm-delete", "the confirmation").await;
    browser.wait_for("#account-notice", "the deletion notice").await;
    assert!(!browser.has(&format!("tr[data-key-id='{key_id}']")).await);
    assert_eq!(keys_via_psk(&app, "acct", &secret).await.0, 401);

    browser.close().await;
}

/// Runs SQL on the app's database, as a migration would.
async fn execute_sql(app: &TestApp, sql: String) {
    use diesel::connection::SimpleConnection;
    let database = crate::isolation::direct_db(app);
    tokio::task::spawn_blocking(move || {
        database.blocking(|conn| conn.batch_execute(&sql).map_err(nexus::store::db::DbError::from))
    })
    .await
    .expect("join")
    .expect("sql");
}

#[tokio::test]
async fn account_page_works_in_realms_stored_before_it_existed() {
    let app = spawn_app().await;
    realm_with_two_users(&app, "acct").await;
    // A realm as earlier versions stored it: the account client without redirect URIs.
    execute_sql(
        &app,
        "UPDATE clients SET redirect_uris = '[]' WHERE client_id = 'account'".to_owned(),
    )
    .await;
    let app = app.restart().await;
    let browser = HttpBrowser::new(&app);
    let start = browser.get(&app.url("/realms/acct/account")).await;
    let refused = browser
        .get(&absolute(&app, start.location.as_deref().expect("location")))
        .await;
    assert_eq!(refused.status, 400, "no redirect URI registered yet: {}", refused.body);

    // Migration 000005 registers Keycloak's relative `/realms/{realm}/account/*`.
    let backend = if crate::helpers::stack().starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let migration = crate::helpers::repo_path(&format!(
        "migrations/{backend}/2026-11-22-000005_account_redirect_uri/up.sql"
    ));
    execute_sql(&app, std::fs::read_to_string(migration).expect("migration")).await;
    let app = app.restart().await;
    let resp = app
        .admin(Method::GET, "/admin/realms/acct/clients?clientId=account", None)
        .await;
    let clients: Value = resp.json().await.expect("json");
    assert_eq!(clients[0]["redirectUris"], json!(["/realms/acct/account/*"]));
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
}

/// Confirms `action` on `key_id` through its confirmation page; the page the POST redirects to.
async fn confirm_action(app: &TestApp, browser: &HttpBrowser, realm: &str, key_id: &str, action: &str) -> Answer {
    let confirm = browser
        .get(&format!("{}/{key_id}/{action}", keys_page(app, realm)))
        .await;
    assert_eq!(confirm.status, 200, "{action}: {}", confirm.body);
    let form_action = confirm.form_action("confirm-form").expect("action");
    let csrf = confirm.input("csrf_token").expect("csrf");
    let done = browser
        .post_form(&absolute(app, &form_action), &[("csrf_token", csrf.as_str())])
        .await;
    assert_eq!(done.status, 303, "{action}: {}", done.body);
    browser
        .get(&absolute(app, done.location.as_deref().expect("location")))
        .await
}

#[tokio::test]
async fn account_page_rotates_and_regenerates_a_key_and_shows_the_new_secret_once() {
    let app = spawn_app().await;
    realm_with_two_users(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    let (page, _) = sign_in(&app, &browser, "acct", "alice").await;
    let created = generate(&app, &browser, "acct", &page, &[("description", "rotating")]).await;
    let shown = browser
        .get(&absolute(&app, created.location.as_deref().expect("location")))
        .await;
    let first = value_of(&shown, "new-secret").expect("secret");
    let key_id = element_text(&shown.body, "new-secret-key-id").expect("key id");
    let confirm = browser
        .get(&format!("{}/{key_id}/rotate", keys_page(&app, "acct")))
        .await;
    assert!(
        confirm.body.contains("24 hours"),
        "the grace period is named: {}",
        confirm.body
    );

    // Rotate: a new secret shown once; the old one keeps working through the grace period.
    let rotated = confirm_action(&app, &browser, "acct", &key_id, "rotate").await;
    let second = value_of(&rotated, "new-secret").expect("the new secret is shown");
    assert_ne!(second, first);
    assert!(rotated.body.contains("Your key was rotated"));
    assert_eq!(keys_via_psk(&app, "acct", &first).await.0, 200, "grace period");
    assert_eq!(keys_via_psk(&app, "acct", &second).await.0, 200);
    app.clock.advance(24 * 3600);
    assert_eq!(
        keys_via_psk(&app, "acct", &first).await.0,
        401,
        "after the grace period"
    );

    // Regenerate: the old secret stops at once; the list shows the key as used.
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let regenerated = confirm_action(&app, &browser, "acct", &key_id, "regenerate").await;
    let third = value_of(&regenerated, "new-secret").expect("the new secret is shown");
    assert!(regenerated.body.contains("Your key was regenerated"));
    assert_eq!(keys_via_psk(&app, "acct", &second).await.0, 401);
    assert_eq!(keys_via_psk(&app, "acct", &third).await.0, 200);
    let mut listing = browser.get(&keys_page(&app, "acct")).await;
    for _ in 0..100 {
        if !listing.body.contains(">never<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        listing = browser.get(&keys_page(&app, "acct")).await;
    }
    assert!(
        !listing.body.contains(">never<"),
        "last used is shown: {}",
        listing.body
    );
    assert!(!listing.body.contains(&third));
}
