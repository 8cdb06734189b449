//! The admin rights matrix (issue 5): for each `realm-management` role held alone, what its holder
//! may and may not do, through the admin REST API and through the admin console, where a form the
//! role may not use is refused even when posted by hand with a valid CSRF token. Also: a realm's
//! admin is a stranger to every other realm in the console, and a master-realm admin (not only the
//! bootstrap one) manages any realm, while master's own `realm-management` roles do not.
//!
//! `admin_console.rs` covers signing in, CSRF refusals and a `view-users` viewer's crafted posts;
//! `isolation.rs` the REST side of one realm's admin in another realm. This file is the full table.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_console::{form, grant_management_role, json_of, open, see_other, sign_in, submit};
use crate::authorization_code::{Answer, Browser as HttpBrowser};
use crate::helpers::{spawn_app, TestApp};
use crate::isolation::{create_user, grant_realm_admin};

const PASSWORD: &str = "rights-password-1";
/// The console's page for a refused operation says this (a CSRF refusal says something else).
const NO_RIGHTS: &str = "You do not have the rights to do this.";

/// What one role allows. The expectations are written out, not derived from the server's code.
#[derive(Clone, Copy, Debug)]
struct Allowed {
    view_realm: bool,
    manage_realm: bool,
    view_users: bool,
    manage_users: bool,
    view_clients: bool,
    manage_clients: bool,
    view_events: bool,
    manage_events: bool,
}

const NONE: Allowed = Allowed {
    view_realm: false,
    manage_realm: false,
    view_users: false,
    manage_users: false,
    view_clients: false,
    manage_clients: false,
    view_events: false,
    manage_events: false,
};

const ALL: Allowed = Allowed {
    view_realm: true,
    manage_realm: true,
    view_users: true,
    manage_users: true,
    view_clients: true,
    manage_clients: true,
    view_events: true,
    manage_events: true,
};

/// Each role alone; a `manage-*` role includes its `view-*`, `realm-admin` is everything.
fn allowed(role: &str) -> Allowed {
    match role {
        "view-realm" => Allowed {
            view_realm: true,
            ..NONE
        },
        "manage-realm" => Allowed {
            view_realm: true,
            manage_realm: true,
            ..NONE
        },
        "view-users" => Allowed {
            view_users: true,
            ..NONE
        },
        "manage-users" => Allowed {
            view_users: true,
            manage_users: true,
            ..NONE
        },
        "view-clients" => Allowed {
            view_clients: true,
            ..NONE
        },
        "manage-clients" => Allowed {
            view_clients: true,
            manage_clients: true,
            ..NONE
        },
        "view-events" => Allowed {
            view_events: true,
            ..NONE
        },
        "manage-events" => Allowed {
            view_events: true,
            manage_events: true,
            ..NONE
        },
        "realm-admin" => ALL,
        other => panic!("no expectation for {other}"),
    }
}

/// A realm `shop` with rate limits lifted (this test signs in a lot), a user `carol`, a
/// confidential client `billing`, and one stored event; returns (carol's id, billing's id).
async fn shop(app: &TestApp) -> (String, String) {
    app.update_realm("master", json!({ "rateLimitRequestsPerMinute": 1000 }))
        .await;
    app.create_realm("shop").await;
    app.update_realm("shop", json!({ "rateLimitRequestsPerMinute": 1000 }))
        .await;
    let carol = create_user(app, "shop", "carol", PASSWORD, true).await;
    let (billing, _) = app.create_service_client("shop", "billing").await;
    // An event: carol's API key used once.
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/shop/users/{carol}/api-keys"),
            Some(json!({ "description": "carol's" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let secret = resp.json::<Value>().await.expect("json")["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let used = app
        .http
        .get(app.url("/realms/shop/api/v1/api-keys"))
        .header("Authorization-PSK", &secret)
        .send()
        .await
        .expect("key use");
    assert_eq!(used.status(), 200);
    for _ in 0..100 {
        if event_count(app).await > 0 {
            return (carol, billing);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the key's use was not stored as an event");
}

/// The realm's API-key events (sign-ins of the role holders leave LOGIN events too, which the
/// writer may store a moment later).
async fn event_count(app: &TestApp) -> usize {
    json_of(app, "/admin/realms/shop/events?type=API_KEY_USED&type=API_KEY_REFUSED")
        .await
        .as_array()
        .map_or(0, Vec::len)
}

async fn status_of(app: &TestApp, path: &str) -> u16 {
    app.admin(Method::GET, path, None).await.status().as_u16()
}

async fn display_name(app: &TestApp) -> Value {
    json_of(app, "/admin/realms/shop").await["displayName"].clone()
}

async fn active_kid(app: &TestApp) -> Value {
    json_of(app, "/admin/realms/shop/keys").await["active"]["RS256"].clone()
}

async fn has_user(app: &TestApp, username: &str) -> bool {
    let found = json_of(app, &format!("/admin/realms/shop/users?username={username}&exact=true")).await;
    !found.as_array().expect("array").is_empty()
}

async fn has_client(app: &TestApp, client_id: &str) -> bool {
    let found = json_of(app, &format!("/admin/realms/shop/clients?clientId={client_id}")).await;
    !found.as_array().expect("array").is_empty()
}

/// The id of `realm-management`'s `role` (for removing it again).
async fn management_role(app: &TestApp, realm: &str, role: &str) -> (String, Value) {
    let clients = json_of(app, &format!("/admin/realms/{realm}/clients?clientId=realm-management")).await;
    let management = clients[0]["id"].as_str().expect("realm-management id").to_owned();
    let role = json_of(app, &format!("/admin/realms/{realm}/clients/{management}/roles/{role}")).await;
    (management, role)
}

fn check_status(answer_status: u16, allowed: bool, ok: u16, what: &str, role: &str) {
    let want = if allowed { ok } else { 403 };
    assert_eq!(answer_status, want, "{role}: {what}");
}

/// The REST half: a password-grant token of the holder against one endpoint per permission, and
/// after each write, what the realm looks like to the bootstrap admin.
async fn rest_rights(app: &TestApp, role: &str, may: Allowed, token: &str) {
    let call = move |method: Method, path: &'static str, body: Option<Value>| async move {
        app.admin_as(token, method, path, body).await.status().as_u16()
    };
    let base = "/admin/realms/shop";

    check_status(
        call(Method::GET, base, None).await,
        may.view_realm,
        200,
        "GET realm",
        role,
    );
    check_status(
        call(Method::GET, "/admin/realms/shop/keys", None).await,
        may.view_realm,
        200,
        "GET keys",
        role,
    );
    let before = display_name(app).await;
    let name = format!("rest {role}");
    check_status(
        call(Method::PUT, base, Some(json!({ "displayName": name }))).await,
        may.manage_realm,
        204,
        "PUT realm",
        role,
    );
    let after = display_name(app).await;
    if may.manage_realm {
        assert_eq!(after, name.as_str(), "{role}");
    } else {
        assert_eq!(after, before, "{role}: the realm was not changed");
    }
    let role_name = format!("rest-role-{role}");
    check_status(
        call(
            Method::POST,
            "/admin/realms/shop/roles",
            Some(json!({ "name": role_name })),
        )
        .await,
        may.manage_realm,
        201,
        "POST role",
        role,
    );
    let stored = status_of(app, &format!("{base}/roles/{role_name}")).await;
    assert_eq!(stored, if may.manage_realm { 200 } else { 404 }, "{role}: role stored?");

    check_status(
        call(Method::GET, "/admin/realms/shop/users", None).await,
        may.view_users,
        200,
        "GET users",
        role,
    );
    let username = format!("rest-user-{role}");
    check_status(
        call(
            Method::POST,
            "/admin/realms/shop/users",
            Some(json!({ "username": username, "enabled": true })),
        )
        .await,
        may.manage_users,
        201,
        "POST user",
        role,
    );
    assert_eq!(has_user(app, &username).await, may.manage_users, "{role}: user stored?");

    check_status(
        call(Method::GET, "/admin/realms/shop/clients", None).await,
        may.view_clients,
        200,
        "GET clients",
        role,
    );
    let client_id = format!("rest-client-{role}");
    check_status(
        call(
            Method::POST,
            "/admin/realms/shop/clients",
            Some(json!({ "clientId": client_id })),
        )
        .await,
        may.manage_clients,
        201,
        "POST client",
        role,
    );
    assert_eq!(
        has_client(app, &client_id).await,
        may.manage_clients,
        "{role}: client stored?"
    );

    check_status(
        call(Method::GET, "/admin/realms/shop/events", None).await,
        may.view_events,
        200,
        "GET events",
        role,
    );
    let events_before = event_count(app).await;
    assert!(events_before > 0);
    check_status(
        call(Method::DELETE, "/admin/realms/shop/events", None).await,
        may.manage_events,
        204,
        "DELETE events",
        role,
    );
    let events_after = event_count(app).await;
    if may.manage_events {
        assert_eq!(events_after, 0, "{role}: events cleared");
    } else {
        assert!(events_after >= events_before, "{role}: events kept");
    }
}

/// A console page, whether the holder may see it, and its edit controls with whether they show.
struct PageRights(String, bool, Vec<(&'static str, bool)>);

/// Whether `html` has an element with `id`.
fn has_id(html: &str, id: &str) -> bool {
    html.contains(&format!("id=\"{id}\""))
}

/// A refused console operation: the 403 page of missing rights (not of a bad CSRF token).
fn refused(answer: &Answer, role: &str, what: &str) {
    assert_eq!(answer.status, 403, "{role}: {what}: {}", answer.body);
    assert!(answer.body.contains(NO_RIGHTS), "{role}: {what}: {}", answer.body);
}

/// The console half: pages shown or refused, edit controls shown only with the right, and
/// hand-made posts (with the session's valid CSRF token) done or refused.
async fn console_rights(app: &TestApp, role: &str, may: Allowed, user_id: &str, carol: &str, billing: &str) {
    // Signing in needs no particular right, but a CSRF token comes from a page with a form: the
    // holder signs in also holding `view-realm` (the settings form is on every settings page),
    // takes the token, and loses `view-realm` again. The console reads the roles at each request,
    // and the token is bound to the session, not to the roles.
    let donor = !may.view_realm;
    let (management, view_realm) = management_role(app, "shop", "view-realm").await;
    if donor {
        grant_management_role(app, "shop", user_id, "view-realm").await;
    }
    let browser = HttpBrowser::new(app);
    sign_in(app, &browser, "shop", "holder", PASSWORD).await;
    let base = "/admin/shop/console/r/shop";
    let settings = open(app, &browser, &format!("{base}/settings")).await;
    let csrf = form(&settings.body, "realm-settings")
        .fields
        .into_iter()
        .find(|(n, _)| n == "csrf_token")
        .map(|(_, v)| v)
        .expect("csrf_token");
    let environments = json_of(app, "/admin/realms/shop").await["apiKeyEnvironments"].clone();
    if donor {
        let resp = app
            .admin(
                Method::DELETE,
                &format!("/admin/realms/shop/users/{user_id}/role-mappings/clients/{management}"),
                Some(json!([view_realm])),
            )
            .await;
        assert_eq!(resp.status(), 204);
    }

    // Pages: shown with the right to view them, else the 403 page; edit controls only with the
    // right to use them.
    let pages: [PageRights; 8] = [
        PageRights(
            format!("{base}/settings"),
            may.view_realm,
            vec![("save-settings", may.manage_realm)],
        ),
        PageRights(
            format!("{base}/keys"),
            may.view_realm,
            vec![("rotate-key", may.manage_realm)],
        ),
        PageRights(
            format!("{base}/roles"),
            may.view_realm,
            vec![("create-role", may.manage_realm)],
        ),
        PageRights(
            format!("{base}/users"),
            may.view_users,
            vec![("add-user", may.manage_users)],
        ),
        PageRights(format!("{base}/users/new"), may.manage_users, vec![("new-user", true)]),
        PageRights(
            format!("{base}/users/{carol}"),
            may.view_users,
            vec![
                ("save-user", may.manage_users),
                ("set-password", may.manage_users),
                ("delete-user", may.manage_users),
            ],
        ),
        PageRights(
            format!("{base}/clients"),
            may.view_clients,
            vec![("create-client", may.manage_clients)],
        ),
        PageRights(
            format!("{base}/clients/{billing}"),
            may.view_clients,
            vec![("regenerate-secret", may.manage_clients)],
        ),
    ];
    for PageRights(path, visible, controls) in pages {
        let page = browser.get(&app.url(&path)).await;
        if !visible {
            refused(&page, role, &format!("GET {path}"));
            continue;
        }
        assert_eq!(page.status, 200, "{role}: GET {path}: {}", page.body);
        for (id, shown) in controls {
            assert_eq!(has_id(&page.body, id), shown, "{role}: #{id} on {path}");
        }
        for (id, shown) in [
            ("nav-settings", may.view_realm),
            ("nav-roles", may.view_realm),
            ("nav-keys", may.view_realm),
            ("nav-users", may.view_users),
            ("nav-clients", may.view_clients),
        ] {
            assert_eq!(has_id(&page.body, id), shown, "{role}: #{id} on {path}");
        }
    }
    // The realm's home leads to the first section the holder may see.
    let home = browser.get(&app.url(base)).await;
    if may.view_users || may.view_clients || may.view_realm {
        let first = if may.view_users {
            "users"
        } else if may.view_clients {
            "clients"
        } else {
            "settings"
        };
        assert_eq!(see_other(&home, base), format!("{base}/{first}"), "{role}");
    } else {
        refused(&home, role, "the realm's home");
    }

    // Hand-made posts with the session's valid token.
    let signed_in = &browser;
    let post = move |path: String, fields: Vec<(&'static str, String)>| {
        let csrf = csrf.clone();
        async move {
            let mut form: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            form.push(("csrf_token", csrf.as_str()));
            signed_in.post_form(&app.url(&path), &form).await
        }
    };

    let username = format!("console-user-{role}");
    let answer = post(
        format!("{base}/users"),
        vec![("username", username.clone()), ("enabled", "on".into())],
    )
    .await;
    if may.manage_users {
        see_other(&answer, &format!("{base}/users/"));
        assert!(answer
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("?notice=user-created")));
    } else {
        refused(&answer, role, "create user");
    }
    assert_eq!(has_user(app, &username).await, may.manage_users, "{role}: user stored?");

    let client_id = format!("console-client-{role}");
    let answer = post(
        format!("{base}/clients"),
        vec![("clientId", client_id.clone()), ("kind", "confidential".into())],
    )
    .await;
    if may.manage_clients {
        see_other(&answer, &format!("{base}/clients/"));
    } else {
        refused(&answer, role, "create client");
    }
    assert_eq!(
        has_client(app, &client_id).await,
        may.manage_clients,
        "{role}: client stored?"
    );

    let secret_before =
        json_of(app, &format!("/admin/realms/shop/clients/{billing}/client-secret")).await["value"].clone();
    let answer = post(format!("{base}/clients/{billing}/secret"), vec![]).await;
    if may.manage_clients {
        see_other(&answer, &format!("{base}/clients/{billing}?shown="));
    } else {
        refused(&answer, role, "regenerate a client secret");
    }
    let secret_after =
        json_of(app, &format!("/admin/realms/shop/clients/{billing}/client-secret")).await["value"].clone();
    assert_eq!(
        secret_after != secret_before,
        may.manage_clients,
        "{role}: secret changed?"
    );

    let before = display_name(app).await;
    let name = format!("console {role}");
    let mut settings_fields = vec![("displayName", name.clone()), ("enabled", "on".to_owned())];
    for (env, field) in [("live", "apiKeyLive"), ("test", "apiKeyTest")] {
        if environments.as_array().is_some_and(|a| a.iter().any(|e| e == env)) {
            settings_fields.push((field, "on".to_owned()));
        }
    }
    let answer = post(format!("{base}/settings"), settings_fields).await;
    if may.manage_realm {
        assert_eq!(
            see_other(&answer, base),
            format!("{base}/settings?notice=saved"),
            "{role}"
        );
        assert_eq!(display_name(app).await, name.as_str(), "{role}");
    } else {
        refused(&answer, role, "save settings");
        assert_eq!(display_name(app).await, before, "{role}: settings unchanged");
    }

    let kid_before = active_kid(app).await;
    let answer = post(format!("{base}/keys/rotate"), vec![]).await;
    if may.manage_realm {
        assert_eq!(
            see_other(&answer, base),
            format!("{base}/keys?notice=key-rotated"),
            "{role}"
        );
        assert_ne!(active_kid(app).await, kid_before, "{role}: rotated");
    } else {
        refused(&answer, role, "rotate the key");
        assert_eq!(active_kid(app).await, kid_before, "{role}: key unchanged");
    }

    let role_name = format!("console-role-{role}");
    let answer = post(format!("{base}/roles"), vec![("name", role_name.clone())]).await;
    if may.manage_realm {
        assert_eq!(
            see_other(&answer, base),
            format!("{base}/roles?notice=role-created"),
            "{role}"
        );
    } else {
        refused(&answer, role, "create a role");
    }
    let stored = status_of(app, &format!("/admin/realms/shop/roles/{role_name}")).await;
    assert_eq!(stored, if may.manage_realm { 200 } else { 404 }, "{role}: role stored?");

    // Setting carol's password is a users' right as well.
    let answer = post(
        format!("{base}/users/{carol}/password"),
        vec![("password", "taken-over-1".into()), ("confirm", "taken-over-1".into())],
    )
    .await;
    if may.manage_users {
        see_other(&answer, &format!("{base}/users/{carol}?notice=password-set"));
    } else {
        refused(&answer, role, "set a password");
    }
    let takeover = crate::token_endpoint::token_form(
        app,
        "shop",
        &[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "carol"),
            ("password", "taken-over-1"),
        ],
    )
    .await
    .0;
    assert_eq!(takeover == 200, may.manage_users, "{role}: carol's password changed?");
}

/// One role, held alone by the user `holder` of realm `shop`: the REST table, then the console's.
async fn check_role(role: &str) {
    let may = allowed(role);
    let app = spawn_app().await;
    let (carol, billing) = shop(&app).await;
    let holder = create_user(&app, "shop", "holder", PASSWORD, true).await;
    grant_management_role(&app, "shop", &holder, role).await;
    let token = app.password_token("shop", "admin-cli", "holder", PASSWORD).await;
    rest_rights(&app, role, may, &token).await;
    // The REST half may have cleared the events; the console has no events page yet.
    console_rights(&app, role, may, &holder, &carol, &billing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_view_realm() {
    check_role("view-realm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_manage_realm() {
    check_role("manage-realm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_view_users() {
    check_role("view-users").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_manage_users() {
    check_role("manage-users").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_view_clients() {
    check_role("view-clients").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_manage_clients() {
    check_role("manage-clients").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_view_events() {
    check_role("view-events").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_manage_events() {
    check_role("manage-events").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_realm_admin() {
    check_role("realm-admin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_a_realm_admin_is_a_stranger_to_other_realms_in_the_console() {
    let app = spawn_app().await;
    app.update_realm("master", json!({ "rateLimitRequestsPerMinute": 1000 }))
        .await;
    app.create_realm("alpha").await;
    app.create_realm("beta").await;
    let boss = create_user(&app, "alpha", "boss", PASSWORD, true).await;
    grant_realm_admin(&app, "alpha", &boss).await;
    let victim = create_user(&app, "beta", "victim", PASSWORD, true).await;
    let (beta_client, _) = app.create_service_client("beta", "beta-billing").await;

    // REST (isolation.rs covers realm, clients and keys): users, roles and events of beta.
    let token = app.password_token("alpha", "admin-cli", "boss", PASSWORD).await;
    for (method, path, body) in [
        (Method::GET, "/admin/realms/beta/users".to_owned(), None),
        (Method::GET, format!("/admin/realms/beta/users/{victim}"), None),
        (
            Method::POST,
            "/admin/realms/beta/users".to_owned(),
            Some(json!({ "username": "intruder" })),
        ),
        (
            Method::PUT,
            format!("/admin/realms/beta/users/{victim}/reset-password"),
            Some(json!({ "value": "mine-now-123" })),
        ),
        (Method::GET, "/admin/realms/beta/roles".to_owned(), None),
        (
            Method::POST,
            "/admin/realms/beta/roles".to_owned(),
            Some(json!({ "name": "intruder" })),
        ),
        (Method::GET, "/admin/realms/beta/events".to_owned(), None),
        (Method::DELETE, "/admin/realms/beta/events".to_owned(), None),
        (
            Method::POST,
            format!("/admin/realms/beta/clients/{beta_client}/client-secret"),
            None,
        ),
    ] {
        let resp = app.admin_as(&token, method.clone(), &path, body).await;
        assert_eq!(resp.status(), 403, "{method} {path}");
    }

    // The console: boss signs in to alpha's console; beta's pages are refused there.
    let browser = HttpBrowser::new(&app);
    sign_in(&app, &browser, "alpha", "boss", PASSWORD).await;
    let own = "/admin/alpha/console/r/alpha";
    let settings = open(&app, &browser, &format!("{own}/settings")).await;
    let csrf = form(&settings.body, "realm-settings")
        .fields
        .into_iter()
        .find(|(n, _)| n == "csrf_token")
        .map(|(_, v)| v)
        .expect("csrf_token");
    let realms = open(&app, &browser, "/admin/alpha/console/realms").await;
    assert!(realms.body.contains("class=\"realm-link\">alpha<"), "{}", realms.body);
    assert!(!realms.body.contains(">beta<"), "{}", realms.body);
    assert!(!realms.body.contains("id=\"create-realm\""), "{}", realms.body);

    let other = "/admin/alpha/console/r/beta";
    for path in [
        other.to_owned(),
        format!("{other}/settings"),
        format!("{other}/keys"),
        format!("{other}/roles"),
        format!("{other}/users"),
        format!("{other}/users/new"),
        format!("{other}/users/{victim}"),
        format!("{other}/clients"),
        format!("{other}/clients/{beta_client}"),
    ] {
        let page = browser.get(&app.url(&path)).await;
        refused(&page, "alpha's realm-admin", &format!("GET {path}"));
        assert!(!page.body.contains("victim") && !page.body.contains("beta-billing"));
    }
    let kid_before = json_of(&app, "/admin/realms/beta/keys").await["active"]["RS256"].clone();
    let secret_before =
        json_of(&app, &format!("/admin/realms/beta/clients/{beta_client}/client-secret")).await["value"].clone();
    let beta_before = json_of(&app, "/admin/realms/beta").await;
    let posts: [(String, Vec<(&str, &str)>); 7] = [
        (
            format!("{other}/users"),
            vec![("username", "intruder"), ("enabled", "on")],
        ),
        (
            format!("{other}/users/{victim}/password"),
            vec![("password", "mine-now-123"), ("confirm", "mine-now-123")],
        ),
        (format!("{other}/users/{victim}/delete"), vec![]),
        (
            format!("{other}/clients"),
            vec![("clientId", "intruder"), ("kind", "confidential")],
        ),
        (format!("{other}/clients/{beta_client}/secret"), vec![]),
        (
            format!("{other}/settings"),
            vec![("displayName", "Owned"), ("enabled", "on")],
        ),
        (format!("{other}/keys/rotate"), vec![]),
    ];
    for (path, mut fields) in posts {
        fields.push(("csrf_token", csrf.as_str()));
        let answer = browser.post_form(&app.url(&path), &fields).await;
        refused(&answer, "alpha's realm-admin", &format!("POST {path}"));
    }
    let answer = browser
        .post_form(
            &app.url(&format!("{other}/roles")),
            &[("name", "intruder"), ("csrf_token", csrf.as_str())],
        )
        .await;
    refused(&answer, "alpha's realm-admin", "POST roles");
    // Nothing of it happened in beta.
    assert_eq!(
        json_of(&app, "/admin/realms/beta/users?username=intruder&exact=true").await,
        json!([])
    );
    assert_eq!(
        json_of(&app, "/admin/realms/beta/clients?clientId=intruder").await,
        json!([])
    );
    assert_eq!(status_of(&app, "/admin/realms/beta/roles/intruder").await, 404);
    assert_eq!(
        status_of(&app, &format!("/admin/realms/beta/users/{victim}")).await,
        200
    );
    assert_eq!(
        json_of(&app, "/admin/realms/beta/keys").await["active"]["RS256"],
        kid_before
    );
    assert_eq!(
        json_of(&app, &format!("/admin/realms/beta/clients/{beta_client}/client-secret")).await["value"],
        secret_before
    );
    let beta_after = json_of(&app, "/admin/realms/beta").await;
    assert_eq!(beta_after["displayName"], beta_before["displayName"]);
    app.password_token("beta", "admin-cli", "victim", PASSWORD).await;

    // The same token works in alpha, so the refusals above were about the realm, not the token.
    let answer = browser
        .post_form(
            &app.url(&format!("{own}/users")),
            &[
                ("username", "made-in-alpha"),
                ("enabled", "on"),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    see_other(&answer, &format!("{own}/users/"));

    // beta's own console does not know boss's session: it signs in again, and a post goes
    // nowhere.
    let page = browser.get(&app.url("/admin/beta/console/r/beta/users")).await;
    assert_eq!(page.status, 302, "{}", page.body);
    assert!(page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/realms/beta/protocol/openid-connect/auth?")));
    let answer = browser
        .post_form(
            &app.url("/admin/beta/console/r/beta/users"),
            &[
                ("username", "intruder"),
                ("enabled", "on"),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/admin/beta/console"));
    assert_eq!(
        json_of(&app, "/admin/realms/beta/users?username=intruder&exact=true").await,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rights_a_master_admin_manages_any_realm_and_masters_realm_management_does_not() {
    let app = spawn_app().await;
    app.update_realm("master", json!({ "rateLimitRequestsPerMinute": 1000 }))
        .await;
    app.create_realm("alpha").await;
    app.create_realm("beta").await;

    // A second master admin (the realm role `admin` of master), not the bootstrap one.
    let ops = create_user(&app, "master", "ops", PASSWORD, true).await;
    let admin_role = json_of(&app, "/admin/realms/master/roles/admin").await;
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/master/users/{ops}/role-mappings/realm"),
            Some(json!([admin_role])),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let token = app.password_token("master", "admin-cli", "ops", PASSWORD).await;
    for realm in ["alpha", "beta"] {
        let resp = app
            .admin_as(
                &token,
                Method::POST,
                &format!("/admin/realms/{realm}/users"),
                Some(json!({ "username": "made-by-ops" })),
            )
            .await;
        assert_eq!(resp.status(), 201, "{realm}");
        let resp = app
            .admin_as(&token, Method::GET, &format!("/admin/realms/{realm}/events"), None)
            .await;
        assert_eq!(resp.status(), 200, "{realm}");
    }

    let browser = HttpBrowser::new(&app);
    let home = sign_in(&app, &browser, "master", "ops", PASSWORD).await;
    assert_eq!(home.location.as_deref(), Some("/admin/master/console/realms"));
    let realms = open(&app, &browser, "/admin/master/console/realms").await;
    for name in ["master", "alpha", "beta"] {
        assert!(
            realms.body.contains(&format!("class=\"realm-link\">{name}<")),
            "{name}: {}",
            realms.body
        );
    }
    for realm in ["alpha", "beta"] {
        let base = format!("/admin/master/console/r/{realm}");
        let new_user = open(&app, &browser, &format!("{base}/users/new")).await;
        let created = submit(
            &app,
            &browser,
            &new_user,
            "new-user",
            &[("username", "made-in-console"), ("password", "console-made-1")],
        )
        .await;
        see_other(&created, &format!("{base}/users/"));
        app.password_token(realm, "admin-cli", "made-in-console", "console-made-1")
            .await;
        let kid_before = json_of(&app, &format!("/admin/realms/{realm}/keys")).await["active"]["RS256"].clone();
        let keys = open(&app, &browser, &format!("{base}/keys")).await;
        let rotated = submit(&app, &browser, &keys, "rotate-key", &[]).await;
        see_other(&rotated, &format!("{base}/keys?notice=key-rotated"));
        assert_ne!(
            json_of(&app, &format!("/admin/realms/{realm}/keys")).await["active"]["RS256"],
            kid_before
        );
    }
    let realms = open(&app, &browser, "/admin/master/console/realms").await;
    let created = submit(&app, &browser, &realms, "create-realm", &[("name", "gamma")]).await;
    see_other(&created, "/admin/master/console/r/gamma/settings");
    assert_eq!(status_of(&app, "/admin/realms/gamma").await, 200);

    // A master user with master's own `realm-management` realm-admin manages master only.
    let local = create_user(&app, "master", "local", PASSWORD, true).await;
    grant_realm_admin(&app, "master", &local).await;
    let token = app.password_token("master", "admin-cli", "local", PASSWORD).await;
    let resp = app
        .admin_as(&token, Method::GET, "/admin/realms/master/users", None)
        .await;
    assert_eq!(resp.status(), 200);
    for (method, path, body) in [
        (Method::GET, "/admin/realms/alpha/users", None),
        (
            Method::POST,
            "/admin/realms/alpha/users",
            Some(json!({ "username": "not-by-local" })),
        ),
        (Method::POST, "/admin/realms", Some(json!({ "realm": "delta" }))),
    ] {
        let resp = app.admin_as(&token, method.clone(), path, body).await;
        assert_eq!(resp.status(), 403, "{method} {path}");
    }
    let browser = HttpBrowser::new(&app);
    let home = sign_in(&app, &browser, "master", "local", PASSWORD).await;
    assert_eq!(
        see_other(&home, "/admin/master/console/r/master"),
        "/admin/master/console/r/master"
    );
    let users = open(&app, &browser, "/admin/master/console/r/master/users").await;
    assert!(users.body.contains("id=\"add-user\""), "{}", users.body);
    let page = browser.get(&app.url("/admin/master/console/r/alpha/users")).await;
    refused(&page, "master's realm-admin", "GET alpha's users");
    let settings = open(&app, &browser, "/admin/master/console/r/master/settings").await;
    let token_field = form(&settings.body, "realm-settings")
        .fields
        .into_iter()
        .find(|(n, _)| n == "csrf_token")
        .map(|(_, v)| v)
        .expect("csrf_token");
    let answer = browser
        .post_form(
            &app.url("/admin/master/console/r/alpha/users"),
            &[
                ("username", "not-by-local"),
                ("enabled", "on"),
                ("csrf_token", token_field.as_str()),
            ],
        )
        .await;
    refused(&answer, "master's realm-admin", "POST alpha's users");
    let answer = browser
        .post_form(
            &app.url("/admin/master/console/realms"),
            &[("name", "delta"), ("csrf_token", token_field.as_str())],
        )
        .await;
    refused(&answer, "master's realm-admin", "create a realm");
    assert_eq!(
        json_of(&app, "/admin/realms/alpha/users?username=not-by-local&exact=true").await,
        json!([])
    );
    assert_eq!(status_of(&app, "/admin/realms/delta").await, 404);
}
