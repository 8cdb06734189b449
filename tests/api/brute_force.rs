//! Brute-force detection through the password grant: per-user lockouts that double, the per-address
//! limit, the same neutral answer whether locked or wrong, realm isolation, the realm's Keycloak
//! settings and Keycloak's attack-detection admin API.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::isolation::{create_user, grant_realm_admin};
use crate::token_endpoint::token_form;

const RIGHT: &str = "Right-Passw0rd-for-tests";
const WRONG: &str = "wrong-password";

async fn login(app: &TestApp, realm: &str, username: &str, password: &str) -> (u16, Value) {
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

/// `n` wrong passwords, each answered as wrong credentials.
async fn fail(app: &TestApp, realm: &str, username: &str, n: usize) {
    for _ in 0..n {
        let (status, body) = login(app, realm, username, WRONG).await;
        assert_eq!(status, 401, "{body}");
    }
}

/// A realm for failing logins on purpose: more failures per minute from 127.0.0.1 than the
/// address's rate limit allows (`rateLimitFailedAuthPerMinute`, tested in rate_limits.rs), which
/// would answer 429 before brute-force detection is reached. Lifted here, in this realm only.
async fn create_realm(app: &TestApp, name: &str) {
    app.create_realm(name).await;
    lift_failure_limit(app, name).await;
}

async fn lift_failure_limit(app: &TestApp, name: &str) {
    app.update_realm(name, json!({ "rateLimitFailedAuthPerMinute": 0 }))
        .await;
}

fn neutral() -> (u16, Value) {
    (
        401,
        json!({ "error": "invalid_grant", "error_description": "Invalid user credentials" }),
    )
}

async fn status_of(app: &TestApp, realm: &str, user_id: &str) -> Value {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/attack-detection/brute-force/users/{user_id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_failures_lock_the_user_with_the_neutral_answer_and_the_wait_doubles() {
    let app = spawn_app().await;
    create_realm(&app, "guarded").await;
    let alice = create_user(&app, "guarded", "alice", RIGHT, true).await;

    // The answer to a wrong password, before any lock.
    let wrong = login(&app, "guarded", "alice", WRONG).await;
    assert_eq!(wrong, neutral());
    fail(&app, "guarded", "alice", 9).await;

    // Locked: the right password gets exactly the answer of a wrong one.
    assert_eq!(login(&app, "guarded", "alice", RIGHT).await, wrong);
    assert_eq!(login(&app, "guarded", "alice", WRONG).await, wrong);
    let status = status_of(&app, "guarded", &alice).await;
    assert_eq!(status["disabled"], true, "{status}");
    assert_eq!(status["numFailures"], 10, "{status}");
    assert_eq!(status["lastIPFailure"], "127.0.0.1", "{status}");
    let now_ms = nexus::clock::Clock::now(&app.clock) * 1000;
    assert!(
        (now_ms - 5000..=now_ms).contains(&status["lastFailure"].as_i64().expect("ms")),
        "{status}"
    );

    // Still locked just before the first wait (60 s) ends; free after it.
    app.clock.advance(59);
    assert_eq!(login(&app, "guarded", "alice", RIGHT).await, wrong);
    app.clock.advance(2);
    let (code, body) = login(&app, "guarded", "alice", RIGHT).await;
    assert_eq!(code, 200, "{body}");
    let status = status_of(&app, "guarded", &alice).await;
    assert_eq!(
        (&status["disabled"], &status["numFailures"]),
        (&json!(false), &json!(0))
    );

    // The second lockout waits 120 s.
    fail(&app, "guarded", "alice", 10).await;
    assert_eq!(login(&app, "guarded", "alice", RIGHT).await, wrong);
    app.clock.advance(61);
    assert_eq!(
        login(&app, "guarded", "alice", RIGHT).await,
        wrong,
        "second lock lasts 120 s"
    );
    app.clock.advance(60);
    let (code, body) = login(&app, "guarded", "alice", RIGHT).await;
    assert_eq!(code, 200, "{body}");

    // Fewer failures than the factor, then a success: the count starts over.
    fail(&app, "guarded", "alice", 9).await;
    assert_eq!(login(&app, "guarded", "alice", RIGHT).await.0, 200);
    fail(&app, "guarded", "alice", 9).await;
    assert_eq!(login(&app, "guarded", "alice", RIGHT).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_shows_and_clears_locks() {
    let app = spawn_app().await;
    create_realm(&app, "watch").await;
    let bob = create_user(&app, "watch", "bob", RIGHT, true).await;
    let carol = create_user(&app, "watch", "carol", RIGHT, true).await;

    // Nothing recorded: Keycloak's zeros (also for an id that is no user).
    let clean = json!({ "disabled": false, "numFailures": 0, "lastFailure": 0, "lastIPFailure": "n/a" });
    assert_eq!(status_of(&app, "watch", &bob).await, clean);
    assert_eq!(status_of(&app, "watch", "no-such-user").await, clean);

    // One user cleared.
    fail(&app, "watch", "bob", 10).await;
    assert_eq!(login(&app, "watch", "bob", RIGHT).await, neutral());
    let path = format!("/admin/realms/watch/attack-detection/brute-force/users/{bob}");
    assert_eq!(app.admin(Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(status_of(&app, "watch", &bob).await, clean);
    assert_eq!(login(&app, "watch", "bob", RIGHT).await.0, 200);

    // The whole realm cleared (past the address's window first: 30 failures would lock it).
    app.clock.advance(121);
    fail(&app, "watch", "bob", 10).await;
    fail(&app, "watch", "carol", 10).await;
    assert_eq!(status_of(&app, "watch", &carol).await["disabled"], true);
    let all = "/admin/realms/watch/attack-detection/brute-force/users";
    assert_eq!(app.admin(Method::DELETE, all, None).await.status(), 204);
    assert_eq!(status_of(&app, "watch", &carol).await, clean);
    assert_eq!(login(&app, "watch", "bob", RIGHT).await.0, 200);
    assert_eq!(login(&app, "watch", "carol", RIGHT).await.0, 200);

    // The admin API needs an admin: none → 401, a user of the realm without rights → 403, a realm
    // admin of the realm → allowed.
    let resp = app.http.get(app.url(&path)).send().await.expect("request");
    assert_eq!(resp.status(), 401);
    let user_token = app.password_token("watch", "admin-cli", "carol", RIGHT).await;
    assert_eq!(app.admin_as(&user_token, Method::GET, &path, None).await.status(), 403);
    assert_eq!(app.admin_as(&user_token, Method::DELETE, all, None).await.status(), 403);
    grant_realm_admin(&app, "watch", &carol).await;
    let admin_token = app.password_token("watch", "admin-cli", "carol", RIGHT).await;
    assert_eq!(app.admin_as(&admin_token, Method::GET, &path, None).await.status(), 200);
    // Not in another realm, and not for a realm that does not exist.
    app.create_realm("elsewhere").await;
    let foreign = "/admin/realms/elsewhere/attack-detection/brute-force/users";
    assert_eq!(
        app.admin_as(&admin_token, Method::DELETE, foreign, None).await.status(),
        403
    );
    let missing = "/admin/realms/missing/attack-detection/brute-force/users/x";
    assert_eq!(app.admin(Method::GET, missing, None).await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_for_unknown_users_count_against_the_address() {
    let app = spawn_app().await;
    create_realm(&app, "spray").await;
    let dave = create_user(&app, "spray", "dave", RIGHT, true).await;
    for i in 0..30 {
        let (status, body) = login(&app, "spray", &format!("ghost-{i}"), WRONG).await;
        assert_eq!((status, body), neutral());
    }
    // The address is locked: a real user's right password gets the neutral answer, though the
    // user's own record shows no failure.
    assert_eq!(login(&app, "spray", "dave", RIGHT).await, neutral());
    assert_eq!(status_of(&app, "spray", &dave).await["numFailures"], 0);
    // Other realms do not share the address's count.
    assert_eq!(
        login(
            &app,
            "master",
            crate::helpers::ADMIN_USER,
            crate::helpers::ADMIN_PASSWORD
        )
        .await
        .0,
        200
    );
    app.clock.advance(61);
    let (code, body) = login(&app, "spray", "dave", RIGHT).await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_and_counters_belong_to_one_realm() {
    let app = spawn_app().await;
    create_realm(&app, "east").await;
    create_realm(&app, "west").await;
    create_user(&app, "east", "erin", RIGHT, true).await;
    let west_erin = create_user(&app, "west", "erin", RIGHT, true).await;
    fail(&app, "east", "erin", 10).await;
    assert_eq!(login(&app, "east", "erin", RIGHT).await, neutral());
    assert_eq!(login(&app, "west", "erin", RIGHT).await.0, 200);
    assert_eq!(status_of(&app, "west", &west_erin).await["numFailures"], 0);
    // Nine failures in each realm lock neither.
    fail(&app, "west", "erin", 9).await;
    app.clock.advance(61);
    fail(&app, "east", "erin", 9).await;
    assert_eq!(login(&app, "east", "erin", RIGHT).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_realms_keycloak_settings_apply() {
    let app = spawn_app().await;
    create_realm(&app, "tuned").await;
    let frank = create_user(&app, "tuned", "frank", RIGHT, true).await;
    let settings = json!({ "failureFactor": 3, "waitIncrementSeconds": 30, "maxFailureWaitSeconds": 40 });
    let resp = app.admin(Method::PUT, "/admin/realms/tuned", Some(settings)).await;
    assert_eq!(resp.status(), 204);
    // Kept in the realm representation, as Keycloak's fields.
    let realm: Value = app
        .admin(Method::GET, "/admin/realms/tuned", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (&realm["failureFactor"], &realm["waitIncrementSeconds"]),
        (&json!(3), &json!(30))
    );

    fail(&app, "tuned", "frank", 3).await;
    assert_eq!(login(&app, "tuned", "frank", RIGHT).await, neutral());
    app.clock.advance(31);
    assert_eq!(login(&app, "tuned", "frank", RIGHT).await.0, 200);
    // The second lock would be 60 s; the maximum makes it 40.
    fail(&app, "tuned", "frank", 3).await;
    app.clock.advance(41);
    assert_eq!(login(&app, "tuned", "frank", RIGHT).await.0, 200);

    // Protection off: no lock however many failures.
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/tuned",
            Some(json!({ "bruteForceProtected": false })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    fail(&app, "tuned", "frank", 12).await;
    assert_eq!(login(&app, "tuned", "frank", RIGHT).await.0, 200);

    // Permanent lockout: the user is disabled, and stays so after the wait.
    let resp = app
        .admin(
            Method::PUT,
            "/admin/realms/tuned",
            Some(json!({ "bruteForceProtected": true, "permanentLockout": true })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    fail(&app, "tuned", "frank", 3).await;
    app.clock.advance(3600);
    let (status, body) = login(&app, "tuned", "frank", RIGHT).await;
    assert_eq!(
        (status, &body["error_description"]),
        (400, &json!("Account disabled")),
        "{body}"
    );
    let user: Value = app
        .admin(Method::GET, &format!("/admin/realms/tuned/users/{frank}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(user["enabled"], false);
    assert_eq!(status_of(&app, "tuned", &frank).await["disabled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_and_the_password_grant_count_toward_the_same_lock() {
    use crate::authorization_code::{
        challenge, code_request, realm_with_web_client, Browser, PASSWORD as PAGE_PASSWORD, VERIFIER,
    };
    const MESSAGE: &str = "Invalid username or password.";
    let app = spawn_app().await;
    let alice = realm_with_web_client(&app, "pages").await;
    lift_failure_limit(&app, "pages").await;
    let browser = Browser::new(&app);
    let c = challenge(VERIFIER);
    let mut page = browser.authorize("pages", &code_request("web", &c)).await;
    // Five failures on the page, five through the password grant.
    for _ in 0..5 {
        page = browser.login(&page, "alice", WRONG).await;
        assert!(page.is_login_page() && page.body.contains(MESSAGE), "{}", page.body);
    }
    fail(&app, "pages", "alice", 5).await;
    assert_eq!(status_of(&app, "pages", &alice).await["disabled"], true);

    // Locked: the right password gets the page's neutral message, and the grant's neutral answer.
    page = browser.login(&page, "alice", PAGE_PASSWORD).await;
    assert!(page.is_login_page() && page.body.contains(MESSAGE), "{}", page.body);
    assert_eq!(login(&app, "pages", "alice", PAGE_PASSWORD).await, neutral());

    app.clock.advance(61);
    let page = browser.authorize("pages", &code_request("web", &c)).await;
    let answer = browser.login(&page, "alice", PAGE_PASSWORD).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    assert!(answer.param("code").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_realm_representation_shows_the_settings_in_effect() {
    let app = crate::helpers::spawn_app().await;
    app.create_realm("shown").await;
    let realm: serde_json::Value = app
        .admin(reqwest::Method::GET, "/admin/realms/shown", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["bruteForceProtected"], true);
    assert_eq!(realm["failureFactor"], 10);
    assert_eq!(realm["waitIncrementSeconds"], 60);
    assert_eq!(realm["maxFailureWaitSeconds"], 900);
    let resp = app
        .admin(
            reqwest::Method::PUT,
            "/admin/realms/shown",
            Some(serde_json::json!({ "failureFactor": 5, "bruteForceProtected": false })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let realm: serde_json::Value = app
        .admin(reqwest::Method::GET, "/admin/realms/shown", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["failureFactor"], 5);
    assert_eq!(realm["bruteForceProtected"], false);
}
