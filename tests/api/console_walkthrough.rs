//! The admin console and the account console walked through in a real browser (headless Chromium
//! through WebDriver), as an administrator and then a user would, with screenshots of the main
//! pages for a person to look at (issue 5). Every step clicks and types in the real forms; what a
//! page claims is checked against the admin REST API, the token endpoint and the JWKS.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_console::json_of;
use crate::authorization_code::{challenge, code_request, Answer, Browser as HttpBrowser, REDIRECT, VERIFIER};
use crate::browser::{screenshot_series, Browser};
use crate::helpers::{spawn_app, TestApp, ADMIN_PASSWORD, ADMIN_USER};

const CLIENT: &str = "webshop";
const BOB_PASSWORD: &str = "bob-first-password-1";
const BOB_NEW_PASSWORD: &str = "bob-second-password-2";

/// Clicks `css` and waits until the browser shows the next page.
async fn navigate(browser: &Browser, css: &str, what: &str) {
    let page = browser.wait_for("body", "the current page").await;
    browser.click(css, what).await;
    browser.wait_until_gone(page, what).await;
}

/// The page's first heading.
async fn heading(browser: &Browser) -> String {
    browser.text_of("h1", "the page heading").await
}

/// The texts of every element matching `css`.
async fn texts(browser: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in browser
        .client
        .find_all(fantoccini::Locator::Css(css))
        .await
        .expect("find_all")
    {
        out.push(element.text().await.expect("text").trim().to_owned());
    }
    out
}

/// The last path segment of the browser's URL (an id the console put there), without the query.
async fn id_in_url(browser: &Browser, after: &str) -> String {
    let url = browser.client.current_url().await.expect("url");
    let path = url.path().to_owned();
    let at = path.find(after).unwrap_or_else(|| panic!("{after} in {url}")) + after.len();
    let id = path[at..].split('/').next().expect("segment").to_owned();
    assert!(!id.is_empty(), "{url}");
    id
}

async fn shot(browser: &Browser, dir: &Path, name: &str) {
    let path = browser.save_screenshot(dir, name).await;
    println!("screenshot: {}", path.display());
}

/// A screenshot with the element `css` scrolled into the middle of the window.
async fn shot_of(browser: &Browser, dir: &Path, name: &str, css: &str) {
    browser.wait_for(css, name).await;
    browser
        .client
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            vec![json!(css)],
        )
        .await
        .expect("scroll");
    let path = browser.save_screenshot(dir, name).await;
    println!("screenshot: {}", path.display());
}

fn header_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("JWT header")
        .kid
        .expect("kid")
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("jwt");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

/// A token request of the confidential client, authenticated with `secret` (HTTP Basic).
async fn client_token_request(app: &TestApp, realm: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .http
        .post(app.token_url(realm))
        .basic_auth(CLIENT, Some(secret))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `username` signs in to `CLIENT` through the login page (plain HTTP), consenting if asked, and
/// the client redeems the code with `secret`; returns the token response.
async fn code_flow(app: &TestApp, realm: &str, username: &str, password: &str, secret: &str) -> Value {
    let browser = HttpBrowser::new(app);
    let c = challenge(VERIFIER);
    let page = browser.authorize(realm, &code_request(CLIENT, &c)).await;
    let mut answer: Answer = browser.login(&page, username, password).await;
    if answer.is_consent_page() {
        answer = browser.consent(&answer, true).await;
    }
    assert_eq!(answer.status, 302, "{}", answer.body);
    let code = answer.param("code").expect("code");
    let (status, body) = client_token_request(
        app,
        realm,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "code exchange with the client's secret: {body}");
    body
}

fn console_shots() -> PathBuf {
    let dir = screenshot_series("console");
    println!("screenshots of the admin console walk-through: {}", dir.display());
    dir
}

#[tokio::test]
async fn admin_console_walkthrough_in_a_real_browser() {
    let app = spawn_app().await;
    let shots = console_shots();
    let browser = Browser::start().await;
    let console = app.url("/admin/master/console");

    // Sign in as the master admin on nexus's login page.
    browser.goto(&console).await;
    browser.submit_login(ADMIN_USER, ADMIN_PASSWORD).await;
    browser.wait_for("table#realms", "the realm list").await;
    assert_eq!(heading(&browser).await, "Realms");
    assert_eq!(
        browser.text_of("#console-username", "the signed-in admin").await,
        ADMIN_USER
    );
    assert!(texts(&browser, "a.realm-link").await.contains(&"master".to_owned()));
    shot(&browser, &shots, "01-realms").await;

    // Create a realm.
    browser.type_into("#realm-name", "shop").await;
    navigate(&browser, "#create-realm-submit", "Create realm").await;
    browser
        .wait_for("form#realm-settings", "the new realm's settings")
        .await;
    assert_eq!(heading(&browser).await, "Realm settings");
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "The realm was created."
    );
    // (Shown in capitals by the style sheet: the element's text content is the name.)
    let realm_label = browser
        .wait_for("#console-realm", "the realm managed")
        .await
        .prop("textContent")
        .await
        .expect("textContent");
    assert_eq!(realm_label.as_deref(), Some("shop"));
    let realm = json_of(&app, "/admin/realms/shop").await;
    assert_eq!(realm["realm"], "shop");
    assert_eq!(realm["enabled"], true);

    // Its settings: a display name and a shorter access token lifespan.
    browser.type_into("#displayName", "The Shop").await;
    browser.type_into("#accessTokenLifespan", "600").await;
    navigate(&browser, "#save-settings", "Save settings").await;
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "Your changes were saved."
    );
    let value = browser
        .wait_for("#displayName", "the display name")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(value.as_deref(), Some("The Shop"));
    let realm = json_of(&app, "/admin/realms/shop").await;
    assert_eq!(realm["displayName"], "The Shop");
    assert_eq!(realm["accessTokenLifespan"], 600);
    shot(&browser, &shots, "02-settings").await;

    // A confidential client with a redirect URI.
    navigate(&browser, "#nav-clients", "Clients").await;
    browser.wait_for("table#clients", "the client list").await;
    assert_eq!(heading(&browser).await, "Clients");
    browser.type_into("#clientId", CLIENT).await;
    browser.click("#kind-confidential", "Confidential").await;
    browser.type_into("#redirectUris", REDIRECT).await;
    let service_account = browser
        .wait_for("#serviceAccountsEnabled", "the service account box")
        .await;
    assert!(!service_account.is_selected().await.expect("selected"));
    navigate(&browser, "#create-client-submit", "Create client").await;
    assert_eq!(browser.text_of("#client-id", "the client page").await, CLIENT);
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "The client was created."
    );
    assert_eq!(browser.text_of("#client-kind", "the type").await, "confidential");
    let client_id = id_in_url(&browser, "/clients/").await;
    let client = json_of(&app, &format!("/admin/realms/shop/clients/{client_id}")).await;
    assert_eq!(client["clientId"], CLIENT);
    assert_eq!(client["publicClient"], false);
    assert_eq!(client["standardFlowEnabled"], true);
    assert_eq!(client["serviceAccountsEnabled"], false);
    assert_eq!(client["redirectUris"], json!([REDIRECT]));
    // Consent is asked for: ticked on the client's settings form, saved, and shown ticked again.
    let consent = browser.wait_for("#consentRequired", "the consent box").await;
    assert!(!consent.is_selected().await.expect("selected"));
    browser.click("#consentRequired", "Ask users for consent").await;
    navigate(&browser, "#save-client", "Save").await;
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "Your changes were saved."
    );
    let consent = browser.wait_for("#consentRequired", "the consent box").await;
    assert!(consent.is_selected().await.expect("selected"));
    let client = json_of(&app, &format!("/admin/realms/shop/clients/{client_id}")).await;
    assert_eq!(client["consentRequired"], true);
    assert_eq!(client["redirectUris"], json!([REDIRECT]), "the form kept the rest");

    navigate(&browser, "#nav-clients", "Clients").await;
    browser.wait_for("table#clients", "the client list").await;
    assert!(texts(&browser, "a.client-link").await.contains(&CLIENT.to_owned()));
    shot(&browser, &shots, "03-clients").await;

    // A user with a password.
    navigate(&browser, "#nav-users", "Users").await;
    browser.wait_for("table#users", "the user list").await;
    assert_eq!(heading(&browser).await, "Users");
    navigate(&browser, "#add-user", "Add user").await;
    browser.wait_for("form#new-user", "the new-user form").await;
    assert_eq!(heading(&browser).await, "Add user");
    browser.type_into("#username", "bob").await;
    browser.type_into("#email", "bob@example.com").await;
    browser.type_into("#firstName", "Bob").await;
    browser.type_into("#lastName", "Builder").await;
    browser.type_into("#password", BOB_PASSWORD).await;
    navigate(&browser, "#create-user", "Create user").await;
    assert_eq!(browser.text_of("#user-name", "the user page").await, "bob");
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "The user was created."
    );
    let user_id = id_in_url(&browser, "/users/").await;
    let user = json_of(&app, &format!("/admin/realms/shop/users/{user_id}")).await;
    assert_eq!(user["username"], "bob");
    assert_eq!(user["email"], "bob@example.com");
    assert_eq!(user["firstName"], "Bob");
    assert_eq!(user["enabled"], true);
    // (The password is proven by bob's sign-in below; a password grant here would open a session.)
    let mut user_url = browser.client.current_url().await.expect("url");
    user_url.set_query(None);

    navigate(&browser, "#nav-users", "Users").await;
    browser.wait_for("table#users", "the user list").await;
    assert!(texts(&browser, "a.user-link").await.contains(&"bob".to_owned()));
    shot(&browser, &shots, "04-users").await;

    // A realm role.
    navigate(&browser, "#nav-roles", "Realm roles").await;
    browser.wait_for("table#roles", "the role list").await;
    assert_eq!(heading(&browser).await, "Realm roles");
    browser.type_into("#role-name", "auditor").await;
    browser.type_into("#role-description", "Reads the books").await;
    navigate(&browser, "#create-role-submit", "Create role").await;
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "The role was created."
    );
    assert!(texts(&browser, "a.role-name").await.contains(&"auditor".to_owned()));
    let role = json_of(&app, "/admin/realms/shop/roles/auditor").await;
    assert_eq!(role["description"], "Reads the books");
    shot(&browser, &shots, "05-roles").await;

    // Assigned to bob, from his page.
    navigate(&browser, "#nav-users", "Users").await;
    navigate(
        &browser,
        &format!("a.user-link[href$='/users/{user_id}']"),
        "bob in the list",
    )
    .await;
    assert_eq!(browser.text_of("#user-name", "the user page").await, "bob");
    browser
        .wait_for("select#user-roles-add", "the role to assign")
        .await
        .select_by_value("realm/auditor")
        .await
        .expect("select auditor");
    navigate(&browser, "#user-roles-submit", "Assign role").await;
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "The role mappings were changed."
    );
    assert!(texts(&browser, "#user-roles .role-name")
        .await
        .contains(&"auditor".to_owned()));
    let mappings = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/role-mappings/realm")).await;
    assert!(
        mappings
            .as_array()
            .expect("array")
            .iter()
            .any(|r| r["name"] == "auditor"),
        "{mappings}"
    );
    shot_of(&browser, &shots, "06-user", "#user-roles").await;

    // A new client secret, shown once.
    navigate(&browser, "#nav-clients", "Clients").await;
    navigate(
        &browser,
        &format!("a.client-link[href$='/clients/{client_id}']"),
        "the client in the list",
    )
    .await;
    assert!(!browser.has("#new-secret").await);
    navigate(&browser, "#regenerate-secret-submit", "Regenerate secret").await;
    assert_eq!(
        browser.text_of("#new-secret-title", "the new secret").await,
        "New client secret"
    );
    let secret = browser
        .wait_for("#new-secret-value", "the secret field")
        .await
        .prop("value")
        .await
        .expect("value")
        .expect("the secret field has a value");
    assert!(secret.len() >= 16, "{secret}");
    shot(&browser, &shots, "07-client-secret").await;
    let stored = json_of(&app, &format!("/admin/realms/shop/clients/{client_id}/client-secret")).await;
    assert_eq!(stored["value"], secret.as_str(), "the page shows the client's secret");
    // Reloading the page does not show it again.
    browser.client.refresh().await.expect("reload");
    assert_eq!(browser.text_of("#client-id", "the client page").await, CLIENT);
    assert!(!browser.has("#new-secret").await);
    assert!(!browser.client.source().await.expect("source").contains(&secret));

    // Rotate the realm key.
    let kid_before = json_of(&app, "/admin/realms/shop/keys").await["active"]["RS256"]
        .as_str()
        .expect("active kid")
        .to_owned();
    navigate(&browser, "#nav-keys", "Keys").await;
    browser.wait_for("table#keys", "the key list").await;
    assert_eq!(heading(&browser).await, "Signing keys");
    assert_eq!(
        texts(&browser, "tr.key-active code.kid").await,
        std::slice::from_ref(&kid_before)
    );
    navigate(&browser, "#rotate-key-submit", "Rotate key").await;
    assert!(browser
        .text_of("#console-notice", "the notice")
        .await
        .starts_with("A new signing key is active."));
    let active = texts(&browser, "tr.key-active code.kid").await;
    assert_eq!(active.len(), 1, "{active:?}");
    let kid_after = active[0].clone();
    assert_ne!(kid_after, kid_before);
    assert!(texts(&browser, "tr.key-passive code.kid").await.contains(&kid_before));
    assert_eq!(
        json_of(&app, "/admin/realms/shop/keys").await["active"]["RS256"],
        kid_after.as_str()
    );
    let jwks = app.jwks("shop").await;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        published.contains(&kid_after.as_str()) && published.contains(&kid_before.as_str()),
        "{jwks}"
    );
    shot_of(&browser, &shots, "08-keys", "#keys").await;

    // Bob signs in to the client (with consent); the client redeems the code with the secret the
    // page showed. His tokens are signed with the new key and carry the role.
    let tokens = code_flow(&app, "shop", "bob", BOB_PASSWORD, &secret).await;
    let access = tokens["access_token"].as_str().expect("access token");
    let refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    assert_eq!(header_kid(access), kid_after, "the new key signs");
    let verified = app.verify("shop", access).await.expect("verifies against the JWKS");
    assert_eq!(verified["preferred_username"], "bob");
    let roles = claims(access)["realm_access"]["roles"].clone();
    assert!(
        roles.as_array().is_some_and(|r| r.iter().any(|n| n == "auditor")),
        "{roles}"
    );
    let consents = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/consents")).await;
    assert!(
        consents
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["clientId"] == CLIENT),
        "{consents}"
    );
    // The secret also authenticates the client at introspection; another does not.
    let introspected = app
        .http
        .post(app.url("/realms/shop/protocol/openid-connect/token/introspect"))
        .basic_auth(CLIENT, Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(introspected.status(), 200);
    assert_eq!(introspected.json::<Value>().await.expect("json")["active"], true);
    let wrong = app
        .http
        .post(app.url("/realms/shop/protocol/openid-connect/token/introspect"))
        .basic_auth(CLIENT, Some("not-the-secret"))
        .form(&[("token", access)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(wrong.status(), 401);

    // Sign that session out from bob's page.
    browser.goto(user_url.as_str()).await;
    browser.wait_for("table#user-sessions", "bob's sessions").await;
    let rows = texts(&browser, "table#user-sessions tbody tr").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains(CLIENT), "{rows:?}");
    let sessions = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/sessions")).await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    shot_of(&browser, &shots, "09-user-session", "#user-sessions").await;
    navigate(&browser, "button.end-session", "Sign out the session").await;
    assert_eq!(
        browser.text_of("#console-notice", "the notice").await,
        "The session was signed out."
    );
    browser.wait_for("#no-sessions", "no sessions left").await;
    shot_of(&browser, &shots, "10-session-ended", "#no-sessions").await;
    let sessions = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/sessions")).await;
    assert_eq!(sessions, json!([]));
    let (status, body) = client_token_request(
        &app,
        "shop",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    browser.close().await;
}

/// The second half of issue 5's walk-through: the user of the first half, on the account console
/// (docs/adr/012-account-page.md), changes their password (`/account/password`: the current one,
/// the new one twice) and removes an application's access (`/account/consents`, then the
/// confirmation page), in Chromium.
#[tokio::test]
async fn account_console_walkthrough() {
    let app = spawn_app().await;
    let shots = screenshot_series("account-console");
    println!("screenshots of the account console walk-through: {}", shots.display());
    app.create_realm("shop").await;
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/shop/clients",
            Some(json!({
                "clientId": CLIENT,
                "publicClient": false,
                "standardFlowEnabled": true,
                "consentRequired": true,
                "redirectUris": [REDIRECT],
                "secret": "webshop-secret-0123456789abcdefghijklmnop",
            })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let secret = "webshop-secret-0123456789abcdefghijklmnop";
    let user_id = crate::isolation::create_user(&app, "shop", "bob", BOB_PASSWORD, true).await;
    // Bob consents to the client once (plain HTTP), so there is a consent to revoke.
    code_flow(&app, "shop", "bob", BOB_PASSWORD, secret).await;
    let consents = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/consents")).await;
    assert_eq!(consents.as_array().map(Vec::len), Some(1), "{consents}");

    let browser = Browser::start().await;
    browser.goto(&app.url("/realms/shop/account")).await;
    browser.submit_login("bob", BOB_PASSWORD).await;
    assert_eq!(browser.text_of("#account-username", "the signed-in user").await, "bob");

    // Change the password.
    navigate(&browser, "#nav-password", "Password").await;
    browser.wait_for("form#password-form", "the password form").await;
    shot(&browser, &shots, "01-password").await;
    browser.type_into("#current_password", BOB_PASSWORD).await;
    browser.type_into("#new_password", BOB_NEW_PASSWORD).await;
    browser.type_into("#confirm_password", BOB_NEW_PASSWORD).await;
    navigate(&browser, "#change-password", "Change password").await;
    let notice = browser.text_of("#account-notice", "the notice").await;
    assert!(!notice.is_empty());
    shot(&browser, &shots, "02-password-changed").await;
    // The new password works, the old one no longer does.
    let (status, _, body) = crate::token_endpoint::token_form(
        &app,
        "shop",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "bob"),
            ("password", BOB_PASSWORD),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_grant")), "{body}");
    let token = app.password_token("shop", "admin-cli", "bob", BOB_NEW_PASSWORD).await;
    assert!(!token.is_empty());

    // Revoke the consent to the client.
    navigate(&browser, "#nav-consents", "Applications").await;
    let row = format!("section[data-client-id='{CLIENT}']");
    browser.wait_for(&row, "the client's row").await;
    shot(&browser, &shots, "03-applications").await;
    navigate(&browser, &format!("{row} a.danger"), "Remove access").await;
    if browser.has("#confirm-form").await {
        navigate(&browser, "#confirm-form [type=submit]", "the confirmation").await;
    }
    browser.wait_for("#account-notice", "the notice").await;
    assert!(!browser.has(&row).await, "{}", browser.context().await);
    shot(&browser, &shots, "04-consent-revoked").await;
    let consents = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/consents")).await;
    assert_eq!(consents, json!([]));
    // The client has to ask again.
    let http = HttpBrowser::new(&app);
    let c = challenge(VERIFIER);
    let page = http.authorize("shop", &code_request(CLIENT, &c)).await;
    let answer = http.login(&page, "bob", BOB_NEW_PASSWORD).await;
    assert!(answer.is_consent_page(), "{} {}", answer.status, answer.body);

    browser.close().await;
}
