//! The admin console (`/admin/{realm}/console`, issue 5) over plain HTTP with a cookie-keeping
//! client: signing in as `security-admin-console`, the forms and their CSRF tokens, what a viewer
//! may not do, show-once client secrets, key rotation, and forms that keep what was typed.

use reqwest::Method;
use serde_json::{json, Value};

use crate::authorization_code::{Answer, Browser as HttpBrowser};
use crate::browser::{element_text, html_unescape, HtmlForm};
use crate::helpers::{spawn_app, TestApp, ADMIN_PASSWORD, ADMIN_USER};
use crate::isolation::create_user;

const VIEWER_PASSWORD: &str = "viewer-password-1";

pub(crate) fn absolute(app: &TestApp, location: &str) -> String {
    if location.starts_with('/') {
        format!("{}{location}", app.address)
    } else {
        location.to_owned()
    }
}

/// Signs `username` in to the console of `realm`; returns where `/admin/{realm}/console/` sends
/// a signed-in administrator (or the page it answers with, e.g. a 403).
pub(crate) async fn sign_in(
    app: &TestApp,
    browser: &HttpBrowser,
    realm: &str,
    username: &str,
    password: &str,
) -> Answer {
    let start = browser.get(&app.url(&format!("/admin/{realm}/console"))).await;
    assert_eq!(start.status, 302, "{}", start.body);
    let location = start.location.clone().expect("location");
    assert!(
        location.starts_with(&format!("/realms/{realm}/protocol/openid-connect/auth?")),
        "{location}"
    );
    assert!(location.contains("client_id=security-admin-console"), "{location}");
    let login = browser.get(&absolute(app, &location)).await;
    let answer = browser.login(&login, username, password).await;
    assert_eq!(answer.status, 302, "no consent for the console: {}", answer.body);
    let callback = answer.location.clone().expect("callback");
    assert!(
        callback.starts_with(&format!("{}/admin/{realm}/console/callback?", app.address)),
        "{callback}"
    );
    // The callback must find the SSO session the login just made, through the browser's cookies
    // as a browser sends them (by path).
    let back = browser.get(&callback).await;
    assert_eq!(
        back.status,
        303,
        "the console's callback did not see the new SSO session: {}",
        element_text(&back.body, "kc-error-message").unwrap_or(back.body.clone())
    );
    assert_eq!(
        back.location.as_deref(),
        Some(format!("/admin/{realm}/console/").as_str())
    );
    browser.get(&app.url(&format!("/admin/{realm}/console/"))).await
}

pub(crate) async fn open(app: &TestApp, browser: &HttpBrowser, path: &str) -> Answer {
    let page = browser.get(&absolute(app, path)).await;
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    page
}

/// The form `id` of `html` as a browser would send it (a checked box without a value sends `on`).
pub(crate) fn form(html: &str, id: &str) -> HtmlForm {
    let mut found = HtmlForm::by_id(html, id).unwrap_or_else(|| panic!("form {id} in {html}"));
    let boxes: Vec<String> = found
        .inputs
        .iter()
        .filter(|a| a.get("type").map(String::as_str) == Some("checkbox"))
        .filter(|a| a.contains_key("checked") && !a.contains_key("value"))
        .filter_map(|a| a.get("name").cloned())
        .collect();
    for name in boxes {
        found.set(&name, "on");
    }
    found
}

/// Submits form `id` of `page` with `changes`.
pub(crate) async fn submit(
    app: &TestApp,
    browser: &HttpBrowser,
    page: &Answer,
    id: &str,
    changes: &[(&str, &str)],
) -> Answer {
    let mut f = form(&page.body, id);
    assert_eq!(f.method.to_ascii_lowercase(), "post", "form {id}");
    for (name, value) in changes {
        f.set(name, value);
    }
    let fields: Vec<(&str, &str)> = f.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    browser.post_form(&absolute(app, &f.action), &fields).await
}

/// The `value` attribute of the element with `id`.
pub(crate) fn value_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..at + html[at..].find('>')?];
    let value_at = tag.find("value=\"")? + 7;
    let value_end = value_at + tag[value_at..].find('"')?;
    Some(html_unescape(&tag[value_at..value_end]))
}

/// The location of a 303, checked to start with `prefix`.
pub(crate) fn see_other(answer: &Answer, prefix: &str) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = answer.location.clone().expect("location");
    assert!(location.starts_with(prefix), "{location} does not start with {prefix}");
    location
}

pub(crate) async fn json_of(app: &TestApp, path: &str) -> Value {
    let resp = app.admin(Method::GET, path, None).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.expect("json")
}

pub(crate) async fn user_count(app: &TestApp, realm: &str) -> i64 {
    json_of(app, &format!("/admin/realms/{realm}/users/count"))
        .await
        .as_i64()
        .expect("count")
}

/// Gives the user one client role of `realm-management`.
pub(crate) async fn grant_management_role(app: &TestApp, realm: &str, user_id: &str, role: &str) {
    let clients = json_of(app, &format!("/admin/realms/{realm}/clients?clientId=realm-management")).await;
    let management = clients[0]["id"].as_str().expect("realm-management id").to_owned();
    let role = json_of(app, &format!("/admin/realms/{realm}/clients/{management}/roles/{role}")).await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/{realm}/users/{user_id}/role-mappings/clients/{management}"),
            Some(json!([role])),
        )
        .await;
    assert_eq!(resp.status(), 204, "role mapping");
}

/// The master admin, signed in to the master console.
pub(crate) async fn master_admin(app: &TestApp) -> HttpBrowser {
    let browser = HttpBrowser::new(app);
    let home = sign_in(app, &browser, "master", ADMIN_USER, ADMIN_PASSWORD).await;
    assert_eq!(
        home.location.as_deref(),
        Some("/admin/master/console/realms"),
        "{}",
        home.body
    );
    browser
}

#[tokio::test]
async fn admin_console_signs_in_and_manages_users() {
    let app = spawn_app().await;
    let browser = master_admin(&app).await;
    let base = "/admin/master/console";

    let realms = open(&app, &browser, &format!("{base}/realms")).await;
    assert!(realms.body.contains("class=\"realm-link\">master<"), "{}", realms.body);
    assert_eq!(
        element_text(&realms.body, "console-username").as_deref(),
        Some(ADMIN_USER)
    );

    let created = submit(&app, &browser, &realms, "create-realm", &[("name", "shop")]).await;
    assert_eq!(
        see_other(&created, &format!("{base}/r/shop/settings")),
        format!("{base}/r/shop/settings?notice=realm-created")
    );
    let settings = open(&app, &browser, &created.location.clone().expect("location")).await;
    assert!(
        element_text(&settings.body, "console-notice").is_some(),
        "{}",
        settings.body
    );

    // A user with a password, who can then sign in.
    let new_user = open(&app, &browser, &format!("{base}/r/shop/users/new")).await;
    let created = submit(
        &app,
        &browser,
        &new_user,
        "new-user",
        &[
            ("username", "bob"),
            ("email", "bob@example.com"),
            ("password", "bob-password-1"),
        ],
    )
    .await;
    let location = see_other(&created, &format!("{base}/r/shop/users/"));
    let user_id = location[format!("{base}/r/shop/users/").len()..]
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    assert!(!user_id.is_empty() && !user_id.contains('/'), "{location}");
    let token = app.password_token("shop", "admin-cli", "bob", "bob-password-1").await;
    assert!(!token.is_empty());
    let user = json_of(&app, &format!("/admin/realms/shop/users/{user_id}")).await;
    assert_eq!(user["username"], "bob");
    assert_eq!(user["email"], "bob@example.com");
    assert_eq!(user["enabled"], true);

    // A realm role, then assigned to bob.
    let roles = open(&app, &browser, &format!("{base}/r/shop/roles")).await;
    let created = submit(
        &app,
        &browser,
        &roles,
        "create-role",
        &[("name", "auditor"), ("description", "Reads the books")],
    )
    .await;
    see_other(&created, &format!("{base}/r/shop/roles?notice=role-created"));
    let roles = open(&app, &browser, &format!("{base}/r/shop/roles")).await;
    assert!(
        roles.body.contains("class=\"role-name\"")
            && element_text(&roles.body, "roles").is_some_and(|t| t.contains("auditor")),
        "{}",
        roles.body
    );

    let page = open(&app, &browser, &format!("{base}/r/shop/users/{user_id}")).await;
    assert_eq!(element_text(&page.body, "user-name").as_deref(), Some("bob"));
    assert!(page.body.contains("<option value=\"realm/auditor\">"), "{}", page.body);
    let assigned = submit(&app, &browser, &page, "user-roles-assign", &[("add", "realm/auditor")]).await;
    assert_eq!(
        see_other(&assigned, &format!("{base}/r/shop/users/{user_id}")),
        format!("{base}/r/shop/users/{user_id}?notice=roles-changed")
    );
    let mappings = json_of(&app, &format!("/admin/realms/shop/users/{user_id}/role-mappings/realm")).await;
    let names: Vec<&str> = mappings
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"auditor"), "{mappings}");
    let page = open(&app, &browser, &format!("{base}/r/shop/users/{user_id}")).await;
    let listed = element_text(&page.body, "user-roles").expect("roles list");
    assert!(listed.contains("auditor"), "{listed}");

    // The users list finds bob.
    let list = open(&app, &browser, &format!("{base}/r/shop/users?search=bob")).await;
    assert!(list.body.contains("class=\"user-link\">bob<"), "{}", list.body);
    assert!(
        list.body.contains(&format!("{base}/r/shop/users/{user_id}\"")),
        "{}",
        list.body
    );
    let none = open(&app, &browser, &format!("{base}/r/shop/users?search=nobody-here")).await;
    assert!(!none.body.contains("class=\"user-link\""), "{}", none.body);
}

#[tokio::test]
async fn admin_console_refuses_posts_without_csrf_and_viewers_cannot_write() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let carol = create_user(&app, "shop", "carol", "carol-password-1", true).await;
    let before = user_count(&app, "shop").await;

    // The master admin's form without its CSRF token, or with a wrong one, is refused.
    let admin = master_admin(&app).await;
    let users_url = app.url("/admin/master/console/r/shop/users");
    let refused = admin.post_form(&users_url, &[("username", "mallory")]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = admin
        .post_form(&users_url, &[("username", "mallory"), ("csrf_token", "0123abcd")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(user_count(&app, "shop").await, before);

    // A realm user who may only view users.
    let viewer = create_user(&app, "shop", "viewer", VIEWER_PASSWORD, true).await;
    grant_management_role(&app, "shop", &viewer, "view-users").await;
    let before = user_count(&app, "shop").await;
    let browser = HttpBrowser::new(&app);
    let home = sign_in(&app, &browser, "shop", "viewer", VIEWER_PASSWORD).await;
    let location = see_other(&home, "/admin/shop/console/r/shop");
    assert_eq!(location, "/admin/shop/console/r/shop");
    let section = browser.get(&app.url(&location)).await;
    assert_eq!(
        see_other(&section, "/admin/shop/console/r/shop/"),
        "/admin/shop/console/r/shop/users"
    );
    let users = open(&app, &browser, "/admin/shop/console/r/shop/users").await;
    assert!(users.body.contains("class=\"user-link\">carol<"), "{}", users.body);
    assert!(!users.body.contains("id=\"add-user\""), "{}", users.body);
    let new_user = browser.get(&app.url("/admin/shop/console/r/shop/users/new")).await;
    assert_eq!(new_user.status, 403, "{}", new_user.body);

    // The user page is read-only, but its (disabled) form carries the viewer's CSRF token.
    let page = open(&app, &browser, &format!("/admin/shop/console/r/shop/users/{carol}")).await;
    assert!(!page.body.contains("id=\"save-user\""), "{}", page.body);
    assert!(!page.body.contains("id=\"set-password\""), "{}", page.body);
    assert!(!page.body.contains("id=\"assign-role\""), "{}", page.body);
    let details = form(&page.body, "user-details");
    let csrf = details
        .fields
        .iter()
        .find(|(n, _)| n == "csrf_token")
        .map(|(_, v)| v.clone())
        .expect("csrf_token");
    assert!(!csrf.is_empty());
    let crafted = browser
        .post_form(
            &app.url("/admin/shop/console/r/shop/users"),
            &[
                ("csrf_token", csrf.as_str()),
                ("username", "mallory"),
                ("enabled", "on"),
                ("password", "mallory-password-1"),
            ],
        )
        .await;
    assert_eq!(crafted.status, 403, "{}", crafted.body);
    let crafted = browser
        .post_form(
            &app.url(&format!("/admin/shop/console/r/shop/users/{carol}")),
            &[
                ("csrf_token", csrf.as_str()),
                ("username", "carol"),
                ("email", "evil@example.com"),
            ],
        )
        .await;
    assert_eq!(crafted.status, 403, "{}", crafted.body);
    assert_eq!(user_count(&app, "shop").await, before);
    let stored = json_of(&app, &format!("/admin/realms/shop/users/{carol}")).await;
    assert_ne!(stored["email"], "evil@example.com");

    // The viewer's token is bound to their session: the master admin's browser cannot use it.
    let replayed = admin
        .post_form(&users_url, &[("csrf_token", csrf.as_str()), ("username", "mallory")])
        .await;
    assert_eq!(replayed.status, 403, "{}", replayed.body);
    assert_eq!(user_count(&app, "shop").await, before);

    // Without any administrative role, signing in leads to a 403 page.
    create_user(&app, "shop", "plain", VIEWER_PASSWORD, true).await;
    let browser = HttpBrowser::new(&app);
    let home = sign_in(&app, &browser, "shop", "plain", VIEWER_PASSWORD).await;
    assert_eq!(home.status, 403, "{}", home.body);
    let users = browser.get(&app.url("/admin/shop/console/r/shop/users")).await;
    assert_eq!(users.status, 403, "{}", users.body);
}

#[tokio::test]
async fn admin_console_shows_a_regenerated_client_secret_once_and_rotates_keys() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let browser = master_admin(&app).await;
    let base = "/admin/master/console/r/shop";

    let clients = open(&app, &browser, &format!("{base}/clients")).await;
    let created = submit(
        &app,
        &browser,
        &clients,
        "create-client",
        &[
            ("clientId", "billing"),
            ("kind", "confidential"),
            ("serviceAccountsEnabled", "on"),
        ],
    )
    .await;
    let location = see_other(&created, &format!("{base}/clients/"));
    assert!(location.ends_with("?notice=client-created"), "{location}");
    let id = location[format!("{base}/clients/").len()..]
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    let page = open(&app, &browser, &location).await;
    assert_eq!(element_text(&page.body, "client-id").as_deref(), Some("billing"));
    assert_eq!(element_text(&page.body, "client-kind").as_deref(), Some("confidential"));
    assert!(!page.body.contains("id=\"new-secret\""), "{}", page.body);

    let regenerated = submit(&app, &browser, &page, "regenerate-secret", &[]).await;
    let shown_url = see_other(&regenerated, &format!("{base}/clients/{id}?shown="));
    let shown = open(&app, &browser, &shown_url).await;
    let secret = value_of(&shown.body, "new-secret-value").expect("new secret shown");
    assert!(secret.len() >= 16, "{secret}");
    let resp = app.client_credentials("shop", "billing", &secret).await;
    assert_eq!(resp.status(), 200, "the shown secret works");
    let resp = app.client_credentials("shop", "billing", "not-the-secret").await;
    assert_eq!(resp.status(), 401);

    // Shown once: the same URL no longer shows it.
    let again = open(&app, &browser, &shown_url).await;
    assert!(!again.body.contains("id=\"new-secret\""), "{}", again.body);
    assert!(!again.body.contains(&secret));

    // Key rotation.
    let kid_before = json_of(&app, "/admin/realms/shop/keys").await["active"]["RS256"].clone();
    assert!(kid_before.is_string(), "{kid_before}");
    let keys = open(&app, &browser, &format!("{base}/keys")).await;
    assert_eq!(keys.body.matches("<tr class=\"key-").count(), 1, "{}", keys.body);
    let rotated = submit(&app, &browser, &keys, "rotate-key", &[]).await;
    let location = see_other(&rotated, &format!("{base}/keys"));
    assert_eq!(location, format!("{base}/keys?notice=key-rotated"));
    let keys = open(&app, &browser, &location).await;
    assert_eq!(keys.body.matches("<tr class=\"key-").count(), 2, "{}", keys.body);
    assert_eq!(
        keys.body.matches("<tr class=\"key-active\"").count(),
        1,
        "{}",
        keys.body
    );
    let kid_after = json_of(&app, "/admin/realms/shop/keys").await["active"]["RS256"].clone();
    assert!(kid_after.is_string(), "{kid_after}");
    assert_ne!(kid_before, kid_after);
    let active_row = &keys.body[keys.body.find("<tr class=\"key-active\"").expect("active row")..];
    assert!(
        active_row.contains(kid_after.as_str().expect("kid")),
        "the active row shows the new kid: {}",
        keys.body
    );
}

#[tokio::test]
async fn admin_console_bad_input_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let browser = master_admin(&app).await;
    let base = "/admin/master/console/r/shop";

    let new_user = open(&app, &browser, &format!("{base}/users/new")).await;
    let created = submit(
        &app,
        &browser,
        &new_user,
        "new-user",
        &[("username", "bob"), ("email", "bob@example.com")],
    )
    .await;
    see_other(&created, &format!("{base}/users/"));
    let before = user_count(&app, "shop").await;

    let new_user = open(&app, &browser, &format!("{base}/users/new")).await;
    let again = submit(
        &app,
        &browser,
        &new_user,
        "new-user",
        &[("username", "bob"), ("email", "second-bob@example.com")],
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    // The message stands beside the field it is about.
    let message = element_text(&again.body, "username-error").expect("username error");
    assert!(!message.is_empty());
    assert_eq!(
        value_of(&again.body, "email").as_deref(),
        Some("second-bob@example.com")
    );
    assert_eq!(value_of(&again.body, "username").as_deref(), Some("bob"));
    // The page answered is a working form again.
    assert!(form(&again.body, "new-user")
        .fields
        .iter()
        .any(|(n, v)| n == "csrf_token" && !v.is_empty()));
    assert_eq!(user_count(&app, "shop").await, before);

    // Realm settings: a lifespan that is not a number.
    let realm_before = json_of(&app, "/admin/realms/shop").await;
    let settings = open(&app, &browser, &format!("{base}/settings")).await;
    let refused = submit(
        &app,
        &browser,
        &settings,
        "realm-settings",
        &[("accessTokenLifespan", "abc"), ("displayName", "The Shop")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = element_text(&refused.body, "accessTokenLifespan-error").expect("field error");
    assert!(message.contains("Access token lifespan"), "{message}");
    assert_eq!(value_of(&refused.body, "accessTokenLifespan").as_deref(), Some("abc"));
    assert_eq!(value_of(&refused.body, "displayName").as_deref(), Some("The Shop"));
    let realm_after = json_of(&app, "/admin/realms/shop").await;
    assert_eq!(realm_after["accessTokenLifespan"], realm_before["accessTokenLifespan"]);
    assert_eq!(realm_after["displayName"], realm_before["displayName"]);

    // The form as shown saves unchanged settings, and a valid number is stored.
    let saved = submit(
        &app,
        &browser,
        &settings,
        "realm-settings",
        &[("accessTokenLifespan", "600")],
    )
    .await;
    assert_eq!(
        see_other(&saved, &format!("{base}/settings")),
        format!("{base}/settings?notice=saved")
    );
    let realm_saved = json_of(&app, "/admin/realms/shop").await;
    assert_eq!(realm_saved["accessTokenLifespan"], 600);
    assert_eq!(realm_saved["enabled"], true);
    assert_eq!(
        realm_saved["ssoSessionIdleTimeout"],
        realm_before["ssoSessionIdleTimeout"]
    );
}
