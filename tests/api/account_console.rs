//! The account console's sections beside API Keys (issue 5): Personal info, Password, Sessions and
//! Applications at `/realms/{realm}/account/…`, over plain HTTP with a cookie-keeping client:
//! forms saved and checked through the admin API and the token endpoint, bad input shown next to
//! its field and kept, CSRF, signing in, isolation between people and realms.

use reqwest::Method;
use serde_json::{json, Value};

use crate::account_page::{absolute, sign_in};
use crate::authorization_code::{
    challenge, code_request, create_web_client, exchange, Answer, Browser as HttpBrowser, PASSWORD, VERIFIER,
};
use crate::browser::{create_user_with_profile, element_text, sso_realm, HtmlForm};
use crate::helpers::{spawn_app, TestApp};
use crate::token_endpoint::token_form;

const NEW_PASSWORD: &str = "a brand new passphrase 42";

/// A realm with alice and bob (emails alice@ / bob@example.com); their ids.
async fn realm_with_people(app: &TestApp, realm: &str) -> (String, String) {
    sso_realm(app, realm, "Acme Corp").await;
    let alice = create_user_with_profile(app, realm, "alice", PASSWORD, "alice@example.com").await;
    let bob = create_user_with_profile(app, realm, "bob", PASSWORD, "bob@example.com").await;
    (alice, bob)
}

fn section(app: &TestApp, realm: &str, path: &str) -> String {
    format!("{}/realms/{realm}/account/{path}", app.address)
}

/// A section's page, signed in (200).
async fn open(app: &TestApp, browser: &HttpBrowser, realm: &str, path: &str) -> Answer {
    let page = browser.get(&section(app, realm, path)).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page
}

/// Posts the form `form_id` of `page` with `changes` applied (its CSRF token as the page has it).
async fn submit(
    app: &TestApp,
    browser: &HttpBrowser,
    page: &Answer,
    form_id: &str,
    changes: &[(&str, &str)],
) -> Answer {
    let mut form = HtmlForm::by_id(&page.body, form_id).unwrap_or_else(|| panic!("form {form_id}: {}", page.body));
    for (name, value) in changes {
        form.set(name, value);
    }
    let fields: Vec<(&str, &str)> = form.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    browser.post_form(&absolute(app, &form.action), &fields).await
}

async fn admin_user(app: &TestApp, realm: &str, id: &str) -> Value {
    let resp = app
        .admin(Method::GET, &format!("/admin/realms/{realm}/users/{id}"), None)
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

/// The value attribute of the `<input>` with `id`.
fn input_value(page: &Answer, form_id: &str, id: &str) -> Option<String> {
    HtmlForm::by_id(&page.body, form_id)?
        .input_by_id(id)?
        .get("value")
        .cloned()
}

/// A password grant at `admin-cli` (direct access grants); status and body.
async fn password_grant(app: &TestApp, realm: &str, username: &str, password: &str) -> (u16, Value) {
    let (status, _, body) = token_form(
        app,
        realm,
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", username),
            ("password", password),
        ],
    )
    .await;
    (status, body)
}

async fn refresh(app: &TestApp, realm: &str, client_id: &str, refresh_token: &str) -> (u16, Value) {
    let (status, _, body) = token_form(
        app,
        realm,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    (status, body)
}

async fn admin_sessions(app: &TestApp, realm: &str, user_id: &str) -> Vec<Value> {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/users/{user_id}/sessions"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

async fn admin_consents(app: &TestApp, realm: &str, user_id: &str) -> Vec<Value> {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/users/{user_id}/consents"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

// ---------------------------------------------------------------------------------------------
// Navigation and signing in
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn account_console_sections_need_a_session_and_link_each_other() {
    let app = spawn_app().await;
    realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    for path in [
        "personal-info",
        "password",
        "sessions",
        "consents",
        "consents/revoke?client=x",
    ] {
        let start = browser.get(&section(&app, "acct", path)).await;
        assert_eq!(start.status, 302, "{path}: {}", start.body);
        let location = start.location.expect("location");
        assert!(
            location.starts_with("/realms/acct/protocol/openid-connect/auth?")
                && location.contains("client_id=account"),
            "{path}: {location}"
        );
    }
    // A form posted without a session changes nothing and goes back to the page (which signs in).
    for path in [
        "personal-info",
        "password",
        "sessions/sign-out-others",
        "consents/revoke",
    ] {
        let answer = browser
            .post_form(
                &section(&app, "acct", path),
                &[("csrf_token", "x"), ("firstName", "Eve")],
            )
            .await;
        assert_eq!(answer.status, 303, "{path}");
        assert_eq!(answer.location.as_deref(), Some("/realms/acct/account/api-keys"));
    }

    sign_in(&app, &browser, "acct", "alice").await;
    for (path, nav) in [
        ("personal-info", "nav-personal-info"),
        ("password", "nav-password"),
        ("sessions", "nav-sessions"),
        ("consents", "nav-consents"),
        ("api-keys", "nav-api-keys"),
    ] {
        let page = open(&app, &browser, "acct", path).await;
        for link in [
            "/personal-info\"",
            "/password\"",
            "/sessions\"",
            "/consents\"",
            "/api-keys\"",
        ] {
            assert!(
                page.body.contains(&format!("href=\"/realms/acct/account{link}")),
                "{path} links {link}"
            );
        }
        let at = page.body.find("aria-current=\"page\"").expect("current entry");
        let tag_start = page.body[..at].rfind('<').expect("tag");
        assert!(
            page.body[tag_start..at].contains(&format!("id=\"{nav}\"")),
            "{path}: the current entry is {nav}"
        );
        assert_eq!(page.headers["cache-control"], "no-store, must-revalidate, max-age=0");
    }
}

#[tokio::test]
async fn account_console_refuses_forms_without_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let other = HttpBrowser::new(&app);
    sign_in(&app, &other, "acct", "bob").await;
    let bobs_page = open(&app, &other, "acct", "personal-info").await;
    let bobs_token = bobs_page.input("csrf_token").expect("csrf");

    let profile = open(&app, &browser, "acct", "personal-info").await;
    assert_ne!(profile.input("csrf_token").expect("csrf"), bobs_token);
    for token in [None, Some("0123456789abcdef"), Some(bobs_token.as_str())] {
        let mut form = vec![
            ("firstName", "Mallory"),
            ("lastName", "X"),
            ("email", "alice@example.com"),
        ];
        if let Some(token) = token {
            form.push(("csrf_token", token));
        }
        let answer = browser.post_form(&section(&app, "acct", "personal-info"), &form).await;
        assert_eq!(answer.status, 403, "{token:?}: {}", answer.body);
        let mut form = vec![
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ];
        if let Some(token) = token {
            form.push(("csrf_token", token));
        }
        let answer = browser.post_form(&section(&app, "acct", "password"), &form).await;
        assert_eq!(answer.status, 403, "{token:?}");
        let form: Vec<(&str, &str)> = token.map(|t| vec![("csrf_token", t)]).unwrap_or_default();
        let answer = browser
            .post_form(&section(&app, "acct", "sessions/sign-out-others"), &form)
            .await;
        assert_eq!(answer.status, 403, "{token:?}");
        let mut form = vec![("client", "account")];
        if let Some(token) = token {
            form.push(("csrf_token", token));
        }
        let answer = browser
            .post_form(&section(&app, "acct", "consents/revoke"), &form)
            .await;
        assert_eq!(answer.status, 403, "{token:?}");
    }
    // Nothing happened: the name, the password and bob's session are as they were.
    assert_eq!(admin_user(&app, "acct", &alice).await["firstName"], "Alice");
    assert_eq!(password_grant(&app, "acct", "alice", PASSWORD).await.0, 200);
    assert_eq!(open(&app, &other, "acct", "sessions").await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Personal info
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn account_console_saves_personal_info_and_a_new_email_is_unverified() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;

    let page = open(&app, &browser, "acct", "personal-info").await;
    assert_eq!(
        input_value(&page, "personal-info-form", "username").as_deref(),
        Some("alice")
    );
    let username = HtmlForm::by_id(&page.body, "personal-info-form").expect("form");
    assert!(username
        .input_by_id("username")
        .expect("username")
        .contains_key("readonly"));
    assert!(
        !username.fields.iter().any(|(n, _)| n == "username"),
        "not a field of the form"
    );
    assert_eq!(
        input_value(&page, "personal-info-form", "firstName").as_deref(),
        Some("Alice")
    );
    assert_eq!(
        input_value(&page, "personal-info-form", "email").as_deref(),
        Some("alice@example.com")
    );

    // Names only: the email keeps its verification.
    let saved = submit(&app, &browser, &page, "personal-info-form", &[("firstName", "Alicia")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some("/realms/acct/account/personal-info?notice=saved")
    );
    let user = admin_user(&app, "acct", &alice).await;
    assert_eq!(
        (&user["firstName"], &user["emailVerified"]),
        (&json!("Alicia"), &json!(true))
    );

    // A new email (stored lower-cased, as the admin API does) is not verified any more.
    let page = open(&app, &browser, "acct", "personal-info").await;
    let saved = submit(
        &app,
        &browser,
        &page,
        "personal-info-form",
        &[
            ("firstName", "Alice"),
            ("lastName", "Pleasance Liddell"),
            ("email", "Alice.Liddell@Wonderland.example"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let notice_page = browser
        .get(&absolute(&app, saved.location.as_deref().expect("location")))
        .await;
    assert_eq!(
        element_text(&notice_page.body, "account-notice").as_deref(),
        Some("Your personal info was saved. Your new email address is not verified yet.")
    );
    assert_eq!(
        input_value(&notice_page, "personal-info-form", "lastName").as_deref(),
        Some("Pleasance Liddell")
    );
    let user = admin_user(&app, "acct", &alice).await;
    assert_eq!(user["email"], "alice.liddell@wonderland.example");
    assert_eq!(user["lastName"], "Pleasance Liddell");
    assert_eq!(user["emailVerified"], false);

    // A crafted notice name shows nothing (notices are worded by the server).
    let crafted = open(&app, &browser, "acct", "personal-info?notice=%3Cscript%3E").await;
    assert!(element_text(&crafted.body, "account-notice").is_none());
}

#[tokio::test]
async fn account_console_shows_a_bad_email_next_to_its_field_and_saves_nothing() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let page = open(&app, &browser, "acct", "personal-info").await;

    let long_name = "x".repeat(256);
    for (changes, field, message) in [
        (
            vec![("firstName", "Changed"), ("email", "not-an-email")],
            "email",
            "Invalid email address.",
        ),
        (
            vec![("firstName", "Changed"), ("email", "two@at@example.com")],
            "email",
            "Invalid email address.",
        ),
        (
            vec![("firstName", long_name.as_str()), ("email", "alice@example.com")],
            "firstName",
            "Use at most 255 printable characters.",
        ),
        (
            vec![("firstName", "Changed"), ("lastName", "bad\u{7}name")],
            "lastName",
            "Use at most 255 printable characters.",
        ),
    ] {
        let answer = submit(&app, &browser, &page, "personal-info-form", &changes).await;
        assert_eq!(answer.status, 400, "{changes:?}: {}", answer.body);
        assert_eq!(
            element_text(&answer.body, &format!("{field}-error")).as_deref(),
            Some(message),
            "{changes:?}"
        );
        let form = HtmlForm::by_id(&answer.body, "personal-info-form").expect("form again");
        assert_eq!(
            form.input_by_id(field).expect("field")["aria-invalid"],
            "true",
            "{changes:?}"
        );
        // What was typed is kept, in every field.
        for (name, value) in &changes {
            assert_eq!(
                form.input_by_id(name).expect("field").get("value").map(String::as_str),
                Some(*value),
                "{name} kept"
            );
        }
    }
    // Nothing was half-saved.
    let user = admin_user(&app, "acct", &alice).await;
    assert_eq!(
        (&user["firstName"], &user["lastName"], &user["email"]),
        (&json!("Alice"), &json!("Liddell"), &json!("alice@example.com"))
    );
}

#[tokio::test]
async fn account_console_refuses_an_email_another_person_of_the_realm_has() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    // The same email in another realm is no conflict.
    realm_with_people(&app, "other").await;
    create_user_with_profile(&app, "other", "carol", PASSWORD, "carol@example.com").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let page = open(&app, &browser, "acct", "personal-info").await;

    let answer = submit(
        &app,
        &browser,
        &page,
        "personal-info-form",
        &[("firstName", "Changed"), ("email", "BOB@example.com")],
    )
    .await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(
        element_text(&answer.body, "email-error").as_deref(),
        Some("Email already exists.")
    );
    assert_eq!(
        input_value(&answer, "personal-info-form", "email").as_deref(),
        Some("BOB@example.com")
    );
    assert_eq!(
        input_value(&answer, "personal-info-form", "firstName").as_deref(),
        Some("Changed")
    );
    let user = admin_user(&app, "acct", &alice).await;
    assert_eq!(
        (&user["firstName"], &user["email"]),
        (&json!("Alice"), &json!("alice@example.com"))
    );

    let answer = submit(
        &app,
        &browser,
        &page,
        "personal-info-form",
        &[("email", "carol@example.com")],
    )
    .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(admin_user(&app, "acct", &alice).await["email"], "carol@example.com");
}

// ---------------------------------------------------------------------------------------------
// Password
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn account_console_password_change_checks_the_current_password_and_the_confirmation() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let page = open(&app, &browser, "acct", "password").await;

    // A wrong current password: refused next to its field, counted by brute-force detection.
    let answer = submit(
        &app,
        &browser,
        &page,
        "password-form",
        &[
            ("current_password", "not my password"),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
            ("sign_out_others", "on"),
        ],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        element_text(&answer.body, "current_password-error").as_deref(),
        Some("Invalid existing password.")
    );
    assert!(
        !answer.body.contains("not my password"),
        "a password is never shown again"
    );
    assert!(!answer.body.contains(NEW_PASSWORD), "a password is never shown again");
    let form = HtmlForm::by_id(&answer.body, "password-form").expect("form");
    assert!(
        form.input_by_id("sign_out_others")
            .expect("box")
            .contains_key("checked"),
        "kept"
    );
    let status = app
        .admin(
            Method::GET,
            &format!("/admin/realms/acct/attack-detection/brute-force/users/{alice}"),
            None,
        )
        .await
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(status["numFailures"], 1, "{status}");

    // New and confirmation differ; an empty new password.
    for (new, confirm, field, message) in [
        (
            NEW_PASSWORD,
            "something else",
            "confirm_password",
            "Passwords don't match.",
        ),
        ("   ", "   ", "new_password", "Password must not be empty."),
    ] {
        let answer = submit(
            &app,
            &browser,
            &page,
            "password-form",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await;
        assert_eq!(answer.status, 400, "{field}");
        assert_eq!(
            element_text(&answer.body, &format!("{field}-error")).as_deref(),
            Some(message)
        );
        assert!(!answer.body.contains(PASSWORD), "never re-echoed");
    }
    // The old password still works, the new one does not.
    assert_eq!(password_grant(&app, "acct", "alice", PASSWORD).await.0, 200);
    assert_eq!(password_grant(&app, "acct", "alice", NEW_PASSWORD).await.0, 401);
}

#[tokio::test]
async fn account_console_password_change_replaces_the_password_and_keeps_other_sessions() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let (_, tokens) = password_grant(&app, "acct", "alice", PASSWORD).await;
    let other_refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();

    let page = open(&app, &browser, "acct", "password").await;
    let answer = submit(
        &app,
        &browser,
        &page,
        "password-form",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/realms/acct/account/password?notice=changed")
    );
    let done = browser
        .get(&absolute(&app, answer.location.as_deref().expect("location")))
        .await;
    assert_eq!(
        element_text(&done.body, "account-notice").as_deref(),
        Some("Your password was changed. Your other sessions are still signed in.")
    );

    assert_eq!(
        password_grant(&app, "acct", "alice", PASSWORD).await.0,
        401,
        "old password"
    );
    let (status, body) = password_grant(&app, "acct", "alice", NEW_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    // The password was replaced, not added.
    let credentials: Vec<Value> = app
        .admin(
            Method::GET,
            &format!("/admin/realms/acct/users/{alice}/credentials"),
            None,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    // The change is an UPDATE_PASSWORD event of alice's, through the account console.
    let mut changed = Value::Null;
    for _ in 0..40 {
        let events: Value = app
            .admin(
                Method::GET,
                &format!("/admin/realms/acct/events?type=UPDATE_PASSWORD&user={alice}"),
                None,
            )
            .await
            .json()
            .await
            .expect("json");
        if let Some(first) = events.as_array().and_then(|list| list.first()) {
            changed = first.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(changed["clientId"], "account-console", "{changed}");
    assert!(changed["sessionId"].as_str().is_some(), "{changed}");
    // Other sessions stay (Keycloak's default): the earlier refresh token still works, and the
    // browser is still signed in.
    assert_eq!(refresh(&app, "acct", "admin-cli", &other_refresh).await.0, 200);
    assert_eq!(open(&app, &browser, "acct", "sessions").await.status, 200);

    // Ticking "sign out my other sessions" ends them, this one stays.
    let (_, tokens) = password_grant(&app, "acct", "alice", NEW_PASSWORD).await;
    let other_refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let page = open(&app, &browser, "acct", "password").await;
    let answer = submit(
        &app,
        &browser,
        &page,
        "password-form",
        &[
            ("current_password", NEW_PASSWORD),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
            ("sign_out_others", "on"),
        ],
    )
    .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/realms/acct/account/password?notice=changed-signed-out")
    );
    assert_eq!(refresh(&app, "acct", "admin-cli", &other_refresh).await.0, 400);
    assert_eq!(open(&app, &browser, "acct", "sessions").await.status, 200);
    assert_eq!(password_grant(&app, "acct", "alice", PASSWORD).await.0, 200);
}

#[tokio::test]
async fn account_console_wrong_current_passwords_count_toward_the_failed_login_limit() {
    let app = spawn_app().await;
    realm_with_people(&app, "acct").await;
    app.update_realm("acct", json!({ "rateLimitFailedAuthPerMinute": 2 }))
        .await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let page = open(&app, &browser, "acct", "password").await;
    let attempt = |current: &'static str| {
        [
            ("current_password", current),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ]
    };
    for _ in 0..2 {
        let answer = submit(&app, &browser, &page, "password-form", &attempt("wrong")).await;
        assert_eq!(answer.status, 400);
    }
    // The address is now refused, even with the right password, as the login page refuses it.
    let answer = submit(&app, &browser, &page, "password-form", &attempt(PASSWORD)).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(answer.headers.contains_key("retry-after"));
    app.update_realm("acct", json!({ "rateLimitFailedAuthPerMinute": 0 }))
        .await;
    assert_eq!(
        password_grant(&app, "acct", "alice", PASSWORD).await.0,
        200,
        "unchanged"
    );
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

/// The session ids listed on the page, and the one marked current.
fn listed_sessions(page: &Answer) -> (Vec<String>, Option<String>) {
    let mut ids = Vec::new();
    let mut current = None;
    let mut rest = page.body.as_str();
    while let Some(at) = rest.find("data-session-id=\"") {
        let start = at + "data-session-id=\"".len();
        let end = start + rest[start..].find('"').expect("quote");
        let id = rest[start..end].to_owned();
        let tag_end = end + rest[end..].find('>').expect("tag end");
        if rest[end..tag_end].contains("current-session") {
            current = Some(id.clone());
        }
        ids.push(id);
        rest = &rest[tag_end..];
    }
    (ids, current)
}

#[tokio::test]
async fn account_console_lists_sessions_and_signs_out_another_one() {
    let app = spawn_app().await;
    let (alice, bob) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let laptop = HttpBrowser::new(&app);
    sign_in(&app, &laptop, "acct", "alice").await;
    let (_, tokens) = password_grant(&app, "acct", "alice", PASSWORD).await;
    let script_refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let bobs_browser = HttpBrowser::new(&app);
    sign_in(&app, &bobs_browser, "acct", "bob").await;

    let page = open(&app, &browser, "acct", "sessions").await;
    let (ids, current) = listed_sessions(&page);
    let mut expected: Vec<String> = admin_sessions(&app, "acct", &alice)
        .await
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(expected.len(), 3);
    let mut listed = ids.clone();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected, "alice's sessions, not bob's");
    let current = current.expect("the current session is marked");
    assert_eq!(ids[0], current, "listed first");
    assert_eq!(
        element_text(&page.body, "current-session").as_deref(),
        Some("This session")
    );
    // A row names where the session came from and the applications it signed in to.
    let row = element_text(&page.body, &format!("session-{current}")).expect("row");
    assert!(row.contains("127.0.0.1") && row.contains("This session"), "{row}");
    let script_id = admin_sessions(&app, "acct", &alice)
        .await
        .iter()
        .find(|s| s["clients"].as_object().is_some_and(|c| !c.is_empty()))
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .expect("the password grant's session names its client");
    let row = element_text(&page.body, &format!("session-{script_id}")).expect("script's row");
    assert!(row.contains("admin-cli") && row.contains("127.0.0.1"), "{row}");
    assert!(!row.contains("This session"), "{row}");
    assert!(
        HtmlForm::by_id(&page.body, &format!("sign-out-{current}")).is_none(),
        "the current session is signed out with the header's Sign out"
    );

    // Sign out the laptop: its SSO cookie stops working; the others stay.
    let laptop_page = open(&app, &laptop, "acct", "sessions").await;
    let laptop_id = listed_sessions(&laptop_page).1.expect("laptop's session");
    let answer = submit(&app, &browser, &page, &format!("sign-out-{laptop_id}"), &[]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/realms/acct/account/sessions?notice=signed-out")
    );
    assert_eq!(
        laptop.get(&section(&app, "acct", "sessions")).await.status,
        302,
        "laptop signed out"
    );
    assert_eq!(
        refresh(&app, "acct", "admin-cli", &script_refresh).await.0,
        200,
        "script stays"
    );
    let page = browser
        .get(&absolute(&app, answer.location.as_deref().expect("location")))
        .await;
    assert_eq!(listed_sessions(&page).0.len(), 2);
    assert_eq!(
        element_text(&page.body, "account-notice").as_deref(),
        Some("The session was signed out.")
    );

    // Bob's session, or a made-up id, is no session of alice's: nothing happens.
    let bobs_session = admin_sessions(&app, "acct", &bob).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let csrf = page.input("csrf_token").expect("csrf");
    for id in [bobs_session.as_str(), "no-such-session"] {
        let answer = browser
            .post_form(
                &section(&app, "acct", &format!("sessions/{id}/sign-out")),
                &[("csrf_token", csrf.as_str())],
            )
            .await;
        assert_eq!(answer.status, 404, "{id}");
    }
    assert_eq!(
        open(&app, &bobs_browser, "acct", "sessions").await.status,
        200,
        "bob still signed in"
    );
}

#[tokio::test]
async fn account_console_signs_out_all_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let (alice, bob) = realm_with_people(&app, "acct").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let laptop = HttpBrowser::new(&app);
    sign_in(&app, &laptop, "acct", "alice").await;
    let (_, tokens) = password_grant(&app, "acct", "alice", PASSWORD).await;
    let script_refresh = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    let bobs_browser = HttpBrowser::new(&app);
    sign_in(&app, &bobs_browser, "acct", "bob").await;

    let page = open(&app, &browser, "acct", "sessions").await;
    let current = listed_sessions(&page).1.expect("current");
    let answer = submit(&app, &browser, &page, "sign-out-others-form", &[]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/realms/acct/account/sessions?notice=signed-out-others")
    );

    assert_eq!(laptop.get(&section(&app, "acct", "sessions")).await.status, 302);
    assert_eq!(refresh(&app, "acct", "admin-cli", &script_refresh).await.0, 400);
    let page = open(&app, &browser, "acct", "sessions").await;
    assert_eq!(listed_sessions(&page), (vec![current.clone()], Some(current)));
    assert!(
        HtmlForm::by_id(&page.body, "sign-out-others-form").is_none(),
        "nothing else to sign out"
    );
    let remaining: Vec<Value> = admin_sessions(&app, "acct", &alice).await;
    assert_eq!(remaining.len(), 1);
    assert_eq!(
        admin_sessions(&app, "acct", &bob).await.len(),
        1,
        "bob's session is not alice's"
    );
    assert_eq!(open(&app, &bobs_browser, "acct", "sessions").await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Applications
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn account_console_lists_consents_and_revoking_one_asks_for_consent_again() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    create_web_client(
        &app,
        "acct",
        "payroll",
        json!({ "consentRequired": true, "name": "Payroll App" }),
    )
    .await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let page = open(&app, &browser, "acct", "consents").await;
    assert!(page.body.contains("id=\"no-consents\""), "{}", page.body);

    // A consent flow in the same browser (already signed in): Yes, then tokens.
    let c = challenge(VERIFIER);
    let mut request = code_request("payroll", &c);
    request[3] = ("scope", "openid profile email");
    let consent = browser.authorize("acct", &request).await;
    assert!(consent.is_consent_page(), "{}", consent.body);
    let done = browser.consent(&consent, true).await;
    let code = done.param("code").expect("code");
    let (status, tokens) = exchange(&app, "acct", "payroll", &code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh").to_owned();
    assert_eq!(
        browser.authorize("acct", &request).await.status,
        302,
        "consent remembered"
    );

    let page = open(&app, &browser, "acct", "consents").await;
    let entry = element_text(&page.body, "consent-payroll").expect("payroll listed");
    assert!(entry.contains("Payroll App"), "{entry}");
    assert!(
        entry.contains("User profile") && entry.contains("Email address"),
        "{entry}"
    );
    assert!(!page.body.contains("id=\"no-consents\""));
    let granted = admin_consents(&app, "acct", &alice).await;
    assert_eq!(granted.len(), 1);

    // Remove access: a confirmation page first (a plain link and a form, no script).
    let link = "/realms/acct/account/consents/revoke?client=payroll";
    assert!(page.body.contains(&format!("href=\"{link}\"")), "{}", page.body);
    let confirm = open(&app, &browser, "acct", "consents/revoke?client=payroll").await;
    assert_eq!(
        element_text(&confirm.body, "revoke-application").as_deref(),
        Some("Payroll App ( payroll )")
    );
    assert!(
        admin_consents(&app, "acct", &alice).await.len() == 1,
        "a GET changes nothing"
    );
    let answer = submit(&app, &browser, &confirm, "confirm-form", &[]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/realms/acct/account/consents?notice=revoked")
    );

    // As the account REST API's DELETE: the consent is gone, and the refresh tokens of it.
    assert!(admin_consents(&app, "acct", &alice).await.is_empty());
    assert_eq!(refresh(&app, "acct", "payroll", &refresh_token).await.0, 400);
    let page = browser
        .get(&absolute(&app, answer.location.as_deref().expect("location")))
        .await;
    assert!(page.body.contains("id=\"no-consents\""));
    assert_eq!(
        element_text(&page.body, "account-notice").as_deref(),
        Some("Access was removed. The application must ask for your consent again.")
    );
    assert!(
        browser.authorize("acct", &request).await.is_consent_page(),
        "asked again"
    );

    // No confirmation page for a client without a consent, or an unknown one; a crafted POST for
    // an unknown client is refused as the REST API refuses it.
    for client in ["payroll", "nope", "account"] {
        let answer = browser
            .get(&section(&app, "acct", &format!("consents/revoke?client={client}")))
            .await;
        assert_eq!(answer.status, 404, "{client}");
    }
    let csrf = page
        .input("csrf_token")
        .or_else(|| confirm.input("csrf_token"))
        .expect("csrf");
    let answer = browser
        .post_form(
            &section(&app, "acct", "consents/revoke"),
            &[("client", "no-such-client"), ("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(answer.status, 404);
}

// ---------------------------------------------------------------------------------------------
// Isolation, disabled people
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn account_console_keeps_realms_apart_and_refuses_a_disabled_person() {
    let app = spawn_app().await;
    let (alice, _) = realm_with_people(&app, "acct").await;
    let (other_alice, _) = realm_with_people(&app, "other").await;
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "acct", "alice").await;
    let page = open(&app, &browser, "acct", "personal-info").await;
    let csrf = page.input("csrf_token").expect("csrf");

    // The session of realm acct is nothing in realm other: sign-in there, and forms do nothing.
    let there = browser.get(&section(&app, "other", "personal-info")).await;
    assert_eq!(there.status, 302);
    assert!(there
        .location
        .expect("location")
        .starts_with("/realms/other/protocol/openid-connect/auth?"));
    let answer = browser
        .post_form(
            &section(&app, "other", "personal-info"),
            &[("firstName", "Mallory"), ("email", ""), ("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(admin_user(&app, "other", &other_alice).await["firstName"], "Alice");
    // A session id of realm acct is no session of realm other.
    let acct_session = admin_sessions(&app, "acct", &alice).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other_browser = HttpBrowser::new(&app);
    sign_in(&app, &other_browser, "other", "alice").await;
    let other_page = open(&app, &other_browser, "other", "personal-info").await;
    let answer = other_browser
        .post_form(
            &section(&app, "other", &format!("sessions/{acct_session}/sign-out")),
            &[("csrf_token", other_page.input("csrf_token").expect("csrf").as_str())],
        )
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        open(&app, &browser, "acct", "sessions").await.status,
        200,
        "still signed in"
    );

    // Disabled: the page signs in again (which refuses), and a form changes nothing.
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/acct/users/{alice}"),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let answer = browser.get(&section(&app, "acct", "personal-info")).await;
    assert_eq!(answer.status, 302);
    assert!(answer
        .location
        .expect("location")
        .contains("/protocol/openid-connect/auth?"));
    let answer = browser
        .post_form(
            &section(&app, "acct", "personal-info"),
            &[
                ("firstName", "Disabled"),
                ("email", "alice@example.com"),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(admin_user(&app, "acct", &alice).await["firstName"], "Alice");
}
