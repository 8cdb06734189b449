//! Admin events (issue 6): every admin write, through the REST API or the console, leaves
//! Keycloak's `AdminEventRepresentation` in the realm written to (when the realm keeps them), with
//! the acting administrator and, with details on, the representation without its secrets;
//! `GET|DELETE /admin/realms/{realm}/admin-events` with Keycloak's filters.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_console::{master_admin, open, see_other, submit};
use crate::helpers::{list_after_writer, spawn_app, TestApp};
use crate::isolation::create_user;

async fn keep_admin_events(app: &TestApp, realm: &str, details: bool) {
    let resp = app
        .admin(
            Method::PUT,
            &format!("/admin/realms/{realm}/events/config"),
            Some(json!({ "adminEventsEnabled": true, "adminEventsDetailsEnabled": details })),
        )
        .await;
    assert_eq!(resp.status(), 204);
}

/// The realm's admin events for `query` once at least `at_least` are stored.
async fn admin_events(app: &TestApp, realm: &str, query: &str, at_least: usize) -> Vec<Value> {
    list_after_writer(app, &format!("/admin/realms/{realm}/admin-events?{query}"), at_least).await
}

async fn master_admin_id(app: &TestApp) -> (String, String) {
    let realm = app.admin(Method::GET, "/admin/realms/master", None).await;
    let realm: Value = realm.json().await.expect("json");
    let users = app
        .admin(
            Method::GET,
            "/admin/realms/master/users?username=admin&exact=true",
            None,
        )
        .await;
    let users: Value = users.json().await.expect("json");
    (
        realm["id"].as_str().expect("realm id").to_owned(),
        users[0]["id"].as_str().expect("admin id").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_writes_leave_admin_events_without_secrets() {
    let app = spawn_app().await;
    app.create_realm("acme").await;
    app.create_realm("quiet").await;
    keep_admin_events(&app, "acme", true).await;
    let (master_id, admin_id) = master_admin_id(&app).await;

    let user_id = create_user(&app, "acme", "alice", "alice-password-1", true).await;
    create_user(&app, "quiet", "bob", "bob-password-1", true).await;
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/acme/clients",
            Some(json!({ "clientId": "billing", "secret": "billing-secret-0123456789abcdef0123456789", "serviceAccountsEnabled": true, "publicClient": false })),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    let resp = app
        .admin(Method::DELETE, &format!("/admin/realms/acme/users/{user_id}"), None)
        .await;
    assert_eq!(resp.status(), 204);
    // A refused write leaves nothing.
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/acme/users",
            Some(json!({ "username": "" })),
        )
        .await;
    assert_eq!(resp.status(), 400);

    let events = admin_events(&app, "acme", "", 3).await;
    // The events/config PUT that turned them on came before: it was not kept yet.
    assert_eq!(events.len(), 3, "{events:#?}");
    // The test clock ticks in seconds: events of one second are in no particular order.
    let find = |operation: &str, resource: &str| {
        events
            .iter()
            .find(|e| e["operationType"] == operation && e["resourceType"] == resource)
            .unwrap_or_else(|| panic!("{operation} {resource} in {events:#?}"))
            .clone()
    };
    let (deleted, client, created) = (find("DELETE", "USER"), find("CREATE", "CLIENT"), find("CREATE", "USER"));
    assert_eq!(created["operationType"], "CREATE");
    assert_eq!(created["resourceType"], "USER");
    assert_eq!(created["resourcePath"], format!("users/{user_id}"));
    assert_eq!(created["authDetails"]["realmId"], master_id.as_str());
    assert_eq!(created["authDetails"]["userId"], admin_id.as_str());
    assert_eq!(created["authDetails"]["clientId"], "admin-cli");
    assert_eq!(created["authDetails"]["ipAddress"], "127.0.0.1");
    let representation: Value =
        serde_json::from_str(created["representation"].as_str().expect("details kept")).expect("json");
    assert_eq!(representation["username"], "alice");
    assert!(representation.get("credentials").is_none(), "{representation}");
    assert!(!created.to_string().contains("alice-password-1"));

    assert_eq!(client["resourceType"], "CLIENT");
    assert!(!client.to_string().contains("billing-secret"), "{client}");
    assert!(client["representation"].as_str().expect("repr").contains("billing"));
    assert_eq!(deleted["operationType"], "DELETE");
    assert_eq!(deleted["resourcePath"], format!("users/{user_id}"));
    assert!(deleted.get("representation").is_none(), "a DELETE has no body");

    // Keycloak's filters.
    let only = admin_events(&app, "acme", "operationTypes=DELETE", 1).await;
    assert_eq!(only.len(), 1);
    let users = admin_events(&app, "acme", "resourceTypes=USER&resourcePath=users/*", 2).await;
    assert_eq!(users.len(), 2);
    let none = admin_events(&app, "acme", "authUser=someone-else", 0).await;
    assert!(none.is_empty());
    let mine = admin_events(&app, "acme", &format!("authUser={admin_id}&max=1"), 1).await;
    assert_eq!(mine.len(), 1, "max applies");
    let future = admin_events(&app, "acme", "dateFrom=2999-01-01", 0).await;
    assert!(future.is_empty());
    let resp = app
        .admin(Method::GET, "/admin/realms/acme/admin-events?dateFrom=yesterday", None)
        .await;
    assert_eq!(resp.status(), 400);

    // A realm that does not keep them (the default) has none.
    assert!(admin_events(&app, "quiet", "", 0).await.is_empty());

    // DELETE clears them; the clearing is the one event left.
    let resp = app.admin(Method::DELETE, "/admin/realms/acme/admin-events", None).await;
    assert_eq!(resp.status(), 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = admin_events(&app, "acme", "", 1).await;
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!(left[0]["resourcePath"], "admin-events");
    assert_eq!(left[0]["operationType"], "DELETE");

    // An import is a write like any other.
    let resp = app
        .admin(
            Method::POST,
            "/admin/realms/acme/partialImport",
            Some(json!({ "ifResourceExists": "SKIP", "roles": { "realm": [{ "name": "imported-role" }] } })),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let imports = admin_events(&app, "acme", "resourcePath=partialImport", 1).await;
    assert_eq!(imports.len(), 1);
    assert!(imports[0]["representation"]
        .as_str()
        .expect("details")
        .contains("imported-role"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_off_keeps_no_representation_and_views_need_view_events() {
    let app = spawn_app().await;
    app.create_realm("acme").await;
    keep_admin_events(&app, "acme", false).await;
    let user_id = create_user(&app, "acme", "carol", "carol-password-1", true).await;
    let events = admin_events(&app, "acme", "", 1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["resourcePath"], format!("users/{user_id}"));
    assert!(events[0].get("representation").is_none());

    // carol holds no realm-management role: she may not read or clear them.
    let token = app
        .password_token("acme", "admin-cli", "carol", "carol-password-1")
        .await;
    for method in [Method::GET, Method::DELETE] {
        let resp = app
            .http
            .request(method, app.url("/admin/realms/acme/admin-events"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 403);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_writes_leave_admin_events_too() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    keep_admin_events(&app, "shop", true).await;
    let (_, admin_id) = master_admin_id(&app).await;
    let browser = master_admin(&app).await;
    let base = "/admin/master/console";

    let new_user = open(&app, &browser, &format!("{base}/r/shop/users/new")).await;
    let created = submit(
        &app,
        &browser,
        &new_user,
        "new-user",
        &[("username", "dave"), ("password", "dave-password-1")],
    )
    .await;
    let location = see_other(&created, &format!("{base}/r/shop/users/"));
    let user_id = location[format!("{base}/r/shop/users/").len()..]
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    let page = open(&app, &browser, &format!("{base}/r/shop/users/{user_id}/delete")).await;
    let deleted = submit(&app, &browser, &page, "confirm-form", &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);

    let events = admin_events(&app, "shop", "", 2).await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let created = &admin_events(&app, "shop", "operationTypes=CREATE", 1).await[0];
    assert_eq!(created["resourceType"], "USER");
    assert_eq!(created["resourcePath"], format!("users/{user_id}"));
    assert_eq!(created["authDetails"]["clientId"], "security-admin-console");
    assert_eq!(created["authDetails"]["userId"], admin_id.as_str());
    let representation = created["representation"].as_str().expect("details");
    assert!(representation.contains("dave"));
    assert!(!representation.contains("dave-password-1"), "{representation}");
    assert!(!representation.to_lowercase().contains("csrf"), "{representation}");
    let deleted = &admin_events(&app, "shop", "operationTypes=DELETE", 1).await[0];
    assert_eq!(deleted["resourcePath"], format!("users/{user_id}"));
    assert!(
        deleted.get("representation").is_none(),
        "a button sends no representation"
    );
}
