//! The admin console's pages beyond users and settings (issue 5): client editing with scopes and
//! registered keys, client roles and service-account roles, composite roles, groups, client
//! scopes, the realm's sessions, events and service accounts — each write checked through the
//! admin REST API, each refused form checked to keep what was typed and save nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_console::{form, json_of, master_admin, open, see_other, submit, value_of};
use crate::browser::element_text;
use crate::helpers::{spawn_app, TestApp};
use crate::isolation::create_user;

const BASE: &str = "/admin/master/console/r/shop";

/// The id at the end of a console location such as `{BASE}/clients/{id}?notice=…`.
fn id_after(location: &str, prefix: &str) -> String {
    location[prefix.len()..]
        .split(['?', '#'])
        .next()
        .expect("id")
        .to_owned()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect()
}

async fn token_claims(app: &TestApp, realm: &str, body: reqwest::Response) -> Value {
    assert_eq!(body.status(), 200, "token request");
    let body: Value = body.json().await.expect("json");
    app.verify(realm, body["access_token"].as_str().expect("access_token"))
        .await
        .expect("the token verifies")
}

#[tokio::test]
async fn console_edits_clients_their_roles_and_service_account_roles() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let browser = master_admin(&app).await;

    let clients = open(&app, &browser, &format!("{BASE}/clients")).await;
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
    let location = see_other(&created, &format!("{BASE}/clients/"));
    let id = id_after(&location, &format!("{BASE}/clients/"));
    let page = open(&app, &browser, &location).await;

    // Settings, URIs and scopes in one form.
    let saved = submit(
        &app,
        &browser,
        &page,
        "client-settings",
        &[
            ("redirectUris", "https://app.example/cb\nhttps://app.example/cb2"),
            ("webOrigins", "https://app.example"),
            ("postLogoutRedirectUris", "https://app.example/bye"),
            ("standardFlowEnabled", "on"),
            ("consentRequired", "on"),
            ("scope.email", "optional"),
            ("scope.profile", "default"),
        ],
    )
    .await;
    assert_eq!(
        see_other(&saved, &format!("{BASE}/clients/{id}")),
        format!("{BASE}/clients/{id}?notice=saved")
    );
    let stored = json_of(&app, &format!("/admin/realms/shop/clients/{id}")).await;
    assert_eq!(
        stored["redirectUris"],
        json!(["https://app.example/cb", "https://app.example/cb2"])
    );
    assert_eq!(stored["webOrigins"], json!(["https://app.example"]));
    assert_eq!(stored["consentRequired"], true);
    assert_eq!(stored["serviceAccountsEnabled"], true);
    assert_eq!(
        stored["attributes"]["post.logout.redirect.uris"],
        "https://app.example/bye"
    );
    let optional = names(&json_of(&app, &format!("/admin/realms/shop/clients/{id}/optional-client-scopes")).await);
    let default = names(&json_of(&app, &format!("/admin/realms/shop/clients/{id}/default-client-scopes")).await);
    assert!(optional.contains(&"email".to_owned()), "{optional:?}");
    assert!(default.contains(&"profile".to_owned()), "{default:?}");
    assert!(!default.contains(&"email".to_owned()), "{default:?}");

    // The page shows what is stored.
    let page = open(&app, &browser, &format!("{BASE}/clients/{id}")).await;
    let shown = form(&page.body, "client-settings");
    let field = |name: &str| {
        shown
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(
        field("redirectUris").contains("https://app.example/cb2"),
        "{:?}",
        shown.fields
    );
    assert_eq!(field("scope.email"), "optional");
    assert_eq!(field("scope.profile"), "default");

    // A public client cannot keep its service account: the message stands beside that box, what
    // was typed stays, and nothing is saved (not even the new client ID).
    let refused = submit(
        &app,
        &browser,
        &page,
        "client-settings",
        &[("clientId", "renamed"), ("kind", "public")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        element_text(&refused.body, "serviceAccountsEnabled-error").is_some(),
        "{}",
        refused.body
    );
    assert_eq!(value_of(&refused.body, "clientId").as_deref(), Some("renamed"));
    let stored = json_of(&app, &format!("/admin/realms/shop/clients/{id}")).await;
    assert_eq!(stored["clientId"], "billing");
    assert_eq!(stored["publicClient"], false);

    // Keys for private_key_jwt that are not keys.
    let refused = submit(
        &app,
        &browser,
        &page,
        "client-settings",
        &[("authenticator", "client-jwt"), ("publicKeys", "not a key")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        element_text(&refused.body, "publicKeys-error").is_some(),
        "{}",
        refused.body
    );
    let stored = json_of(&app, &format!("/admin/realms/shop/clients/{id}")).await;
    assert_eq!(stored["clientAuthenticatorType"], "client-secret");

    // A client role, given to the client's own service account: its tokens carry it.
    let made = submit(
        &app,
        &browser,
        &page,
        "create-client-role",
        &[("name", "invoices:read")],
    )
    .await;
    see_other(&made, &format!("{BASE}/clients/{id}?notice=role-created"));
    let page = open(&app, &browser, &format!("{BASE}/clients/{id}")).await;
    let roles = element_text(&page.body, "client-roles").expect("client roles");
    assert!(roles.contains("invoices:read"), "{roles}");
    let assigned = submit(
        &app,
        &browser,
        &page,
        "service-account-roles-assign",
        &[("add", &format!("client/{id}/invoices:read"))],
    )
    .await;
    see_other(&assigned, &format!("{BASE}/clients/{id}?notice=roles-changed"));
    let secret = json_of(&app, &format!("/admin/realms/shop/clients/{id}/client-secret")).await["value"]
        .as_str()
        .expect("secret")
        .to_owned();
    let claims = token_claims(&app, "shop", app.client_credentials("shop", "billing", &secret).await).await;
    assert_eq!(
        claims["resource_access"]["billing"]["roles"],
        json!(["invoices:read"]),
        "{claims}"
    );

    // The service accounts view lists it with its role.
    let accounts = open(&app, &browser, &format!("{BASE}/service-accounts")).await;
    let listed = element_text(&accounts.body, "service-accounts").expect("service accounts");
    assert!(
        listed.contains("billing") && listed.contains("invoices:read"),
        "{listed}"
    );

    // Deleting asks first, then the client is gone.
    let confirm = open(&app, &browser, &format!("{BASE}/clients/{id}/delete")).await;
    assert!(element_text(&confirm.body, "confirm-explanation").is_some_and(|t| t.contains("billing")));
    let deleted = submit(&app, &browser, &confirm, "confirm-form", &[]).await;
    see_other(&deleted, &format!("{BASE}/clients?notice=client-deleted"));
    let resp = app
        .admin(Method::GET, &format!("/admin/realms/shop/clients/{id}"), None)
        .await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn console_manages_composite_roles_and_groups() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let bob = create_user(&app, "shop", "bob", "bob-password-1", true).await;
    let browser = master_admin(&app).await;

    let roles = open(&app, &browser, &format!("{BASE}/roles")).await;
    for name in ["reader", "writer"] {
        let made = submit(&app, &browser, &roles, "create-role", &[("name", name)]).await;
        see_other(&made, &format!("{BASE}/roles?notice=role-created"));
    }
    let reader = json_of(&app, "/admin/realms/shop/roles/reader").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let writer = json_of(&app, "/admin/realms/shop/roles/writer").await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // The list searches in the database.
    let found = open(&app, &browser, &format!("{BASE}/roles?search=WRIT")).await;
    let listed = element_text(&found.body, "roles").expect("roles");
    assert!(listed.contains("writer") && !listed.contains("reader"), "{listed}");
    assert!(
        element_text(&found.body, "pager").is_some_and(|p| p.contains("1–1 of 1")),
        "{}",
        found.body
    );

    // writer includes reader.
    let page = open(&app, &browser, &format!("{BASE}/roles/{writer}")).await;
    let added = submit(&app, &browser, &page, "composites-assign", &[("add", &reader)]).await;
    see_other(&added, &format!("{BASE}/roles/{writer}?notice=roles-changed"));
    let composites = names(&json_of(&app, "/admin/realms/shop/roles/writer/composites").await);
    assert_eq!(composites, vec!["reader".to_owned()]);

    // Renaming writer to an existing name: the message is beside the name, nothing changes.
    let page = open(&app, &browser, &format!("{BASE}/roles/{writer}")).await;
    let refused = submit(&app, &browser, &page, "role-details", &[("name", "reader")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        element_text(&refused.body, "role-name-error").is_some(),
        "{}",
        refused.body
    );
    assert_eq!(value_of(&refused.body, "role-name").as_deref(), Some("reader"));
    assert_eq!(
        json_of(&app, &format!("/admin/realms/shop/roles-by-id/{writer}")).await["name"],
        "writer"
    );

    // A group that gives writer, with a subgroup.
    let groups = open(&app, &browser, &format!("{BASE}/groups")).await;
    let made = submit(&app, &browser, &groups, "create-group", &[("name", "staff")]).await;
    let location = see_other(&made, &format!("{BASE}/groups/"));
    let staff = id_after(&location, &format!("{BASE}/groups/"));
    let page = open(&app, &browser, &location).await;
    let mapped = submit(&app, &browser, &page, "group-roles-assign", &[("add", "realm/writer")]).await;
    see_other(&mapped, &format!("{BASE}/groups/{staff}?notice=roles-changed"));
    let groups = open(&app, &browser, &format!("{BASE}/groups")).await;
    let child = submit(
        &app,
        &browser,
        &groups,
        "create-group",
        &[("name", "interns"), ("parent", &staff)],
    )
    .await;
    see_other(&child, &format!("{BASE}/groups/"));
    let tree = json_of(&app, &format!("/admin/realms/shop/groups/{staff}/children")).await;
    assert_eq!(names(&tree), vec!["interns".to_owned()]);
    // The same name twice at the top is refused beside the field.
    let groups = open(&app, &browser, &format!("{BASE}/groups")).await;
    let refused = submit(&app, &browser, &groups, "create-group", &[("name", "staff")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(element_text(&refused.body, "name-error").is_some(), "{}", refused.body);
    assert_eq!(json_of(&app, "/admin/realms/shop/groups/count").await["count"], 2);

    // bob joins from his page, and his tokens carry writer and, through it, reader.
    let user = open(&app, &browser, &format!("{BASE}/users/{bob}")).await;
    let joined = submit(&app, &browser, &user, "join-group", &[("join", &staff)]).await;
    see_other(&joined, &format!("{BASE}/users/{bob}?notice=groups-changed"));
    let member_of = names(&json_of(&app, &format!("/admin/realms/shop/users/{bob}/groups")).await);
    assert_eq!(member_of, vec!["staff".to_owned()]);
    let token = app.password_token("shop", "admin-cli", "bob", "bob-password-1").await;
    let claims = app.verify("shop", &token).await.expect("verifies");
    let realm_roles = claims["realm_access"]["roles"].to_string();
    assert!(
        realm_roles.contains("writer") && realm_roles.contains("reader"),
        "{claims}"
    );
    let group_page = open(&app, &browser, &format!("{BASE}/groups/{staff}")).await;
    let members = element_text(&group_page.body, "group-members").expect("members");
    assert!(members.contains("bob"), "{members}");

    // Deleting the group asks first and takes the subgroup with it.
    let confirm = open(&app, &browser, &format!("{BASE}/groups/{staff}/delete")).await;
    let deleted = submit(&app, &browser, &confirm, "confirm-form", &[]).await;
    see_other(&deleted, &format!("{BASE}/groups?notice=group-deleted"));
    assert_eq!(json_of(&app, "/admin/realms/shop/groups/count").await["count"], 0);
}

#[tokio::test]
async fn console_shows_client_scopes_sessions_events_and_consents() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let bob = create_user(&app, "shop", "bob", "bob-password-1", true).await;
    let browser = master_admin(&app).await;

    // A client scope with the words of the consent page.
    let scopes = open(&app, &browser, &format!("{BASE}/client-scopes")).await;
    let made = submit(
        &app,
        &browser,
        &scopes,
        "create-scope",
        &[
            ("name", "invoices"),
            ("description", "Invoices of the shop"),
            ("consentText", "Read your invoices"),
        ],
    )
    .await;
    let location = see_other(&made, &format!("{BASE}/client-scopes/"));
    let scope_id = id_after(&location, &format!("{BASE}/client-scopes/"));
    let stored = json_of(&app, &format!("/admin/realms/shop/client-scopes/{scope_id}")).await;
    assert_eq!(stored["description"], "Invoices of the shop");
    assert_eq!(stored["attributes"]["consent.screen.text"], "Read your invoices");
    let refused = submit(&app, &browser, &scopes, "create-scope", &[("name", "has space")]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(element_text(&refused.body, "name-error").is_some(), "{}", refused.body);
    assert_eq!(value_of(&refused.body, "scope-name").as_deref(), Some("has space"));
    // A built-in scope names the claims it adds.
    let all = json_of(&app, "/admin/realms/shop/client-scopes").await;
    let email = all
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["name"] == "email")
        .expect("email scope")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let page = open(&app, &browser, &format!("{BASE}/client-scopes/{email}")).await;
    let claims = element_text(&page.body, "scope-claims").expect("claims");
    assert!(claims.contains("email_verified"), "{claims}");

    // Two sessions of bob: the realm's list shows both; ending one kills its refresh token.
    let grant = |n: u8| {
        let app = &app;
        async move {
            let resp = app
                .http
                .post(app.token_url("shop"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", "admin-cli"),
                    ("username", "bob"),
                    ("password", "bob-password-1"),
                ])
                .send()
                .await
                .expect("token");
            assert_eq!(resp.status(), 200, "grant {n}");
            resp.json::<Value>().await.expect("json")
        }
    };
    let first = grant(1).await;
    let second = grant(2).await;
    let refresh = |token: &Value| {
        let refresh_token = token["refresh_token"].as_str().expect("refresh").to_owned();
        let app = &app;
        async move {
            app.http
                .post(app.token_url("shop"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "admin-cli"),
                    ("refresh_token", refresh_token.as_str()),
                ])
                .send()
                .await
                .expect("refresh")
                .status()
                .as_u16()
        }
    };
    let sid = app
        .verify("shop", first["access_token"].as_str().expect("token"))
        .await
        .expect("verifies")["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let sessions = open(&app, &browser, &format!("{BASE}/sessions")).await;
    let listed = element_text(&sessions.body, "realm-sessions").expect("sessions");
    assert_eq!(listed.matches("bob").count(), 2, "{listed}");
    let ended = submit(&app, &browser, &sessions, &format!("end-session-{sid}"), &[]).await;
    see_other(&ended, &format!("{BASE}/sessions?notice=session-ended"));
    assert_eq!(refresh(&first).await, 400, "the ended session's refresh token");
    assert_eq!(refresh(&second).await, 200, "the other session lives");

    // Everyone out, after a confirmation.
    let confirm = open(&app, &browser, &format!("{BASE}/sessions/sign-out-all")).await;
    let all_out = submit(&app, &browser, &confirm, "confirm-form", &[]).await;
    see_other(&all_out, &format!("{BASE}/sessions?notice=signed-out-all"));
    assert_eq!(refresh(&second).await, 400);
    let sessions = open(&app, &browser, &format!("{BASE}/sessions")).await;
    assert!(
        element_text(&sessions.body, "no-sessions").is_some(),
        "{}",
        sessions.body
    );

    // An API key of bob, refused once: the user page lists the key, the events page the refusal.
    let resp = app
        .admin(
            Method::POST,
            &format!("/admin/realms/shop/users/{bob}/api-keys"),
            Some(json!({ "description": "bob's key" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let key: Value = resp.json().await.expect("json");
    let key_id = key["id"].as_str().expect("id").to_owned();
    let refused = app
        .http
        .post(app.url("/realms/shop/api/v1/oauth/tokens"))
        .json(&json!({ "apiKey": key_id, "apiSecret": "nx_live_wrong" }))
        .send()
        .await
        .expect("key for token");
    assert_eq!(refused.status(), 401);
    let user = open(&app, &browser, &format!("{BASE}/users/{bob}")).await;
    let keys = element_text(&user.body, "user-api-keys").expect("keys");
    assert!(keys.contains("bob's key") && keys.contains("active"), "{keys}");
    // The event writer batches for up to 0.1 s.
    let mut listed = String::new();
    for _ in 0..50 {
        let events = open(&app, &browser, &format!("{BASE}/events?type=API_KEY_REFUSED")).await;
        listed = element_text(&events.body, "events").unwrap_or_default();
        if listed.contains("API_KEY_REFUSED") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        listed.contains("API_KEY_REFUSED") && listed.contains("invalid_secret"),
        "{listed}"
    );
    // bob's password grants above are LOGIN events of his; nobody changed a password.
    let logins = open(&app, &browser, &format!("{BASE}/events?type=LOGIN&user={bob}")).await;
    let listed = element_text(&logins.body, "events").unwrap_or_default();
    assert_eq!(listed.matches("LOGIN").count(), 2, "{listed}");
    let none = open(&app, &browser, &format!("{BASE}/events?type=UPDATE_PASSWORD")).await;
    assert!(element_text(&none.body, "no-events").is_some(), "{}", none.body);
    let bad = browser
        .get(&app.url(&format!("{BASE}/events?dateFrom=yesterday")))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(element_text(&bad.body, "filter-error").is_some(), "{}", bad.body);
    assert_eq!(value_of(&bad.body, "filter-from").as_deref(), Some("yesterday"));
}

#[tokio::test]
async fn console_revokes_consents_and_saves_brute_force_settings() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let bob = create_user(&app, "shop", "bob", "bob-password-1", true).await;
    let web =
        crate::authorization_code::create_web_client(&app, "shop", "web", json!({ "consentRequired": true })).await;
    crate::consents::grant_consent(&app, "shop", &bob, &web, &["profile", "email"]).await;
    let browser = master_admin(&app).await;

    let user = open(&app, &browser, &format!("{BASE}/users/{bob}")).await;
    let consents = element_text(&user.body, "user-consents").expect("consents");
    assert!(
        consents.contains("web") && consents.contains("email profile"),
        "{consents}"
    );
    let revoked = submit(&app, &browser, &user, "revoke-consent-web", &[]).await;
    see_other(&revoked, &format!("{BASE}/users/{bob}?notice=consent-revoked"));
    let left = json_of(&app, &format!("/admin/realms/shop/users/{bob}/consents")).await;
    assert_eq!(left, json!([]));
    let user = open(&app, &browser, &format!("{BASE}/users/{bob}")).await;
    assert!(element_text(&user.body, "no-consents").is_some(), "{}", user.body);

    // Brute-force settings: stored under Keycloak's names; one out of range is refused beside
    // its field and nothing is saved.
    let settings = open(&app, &browser, &format!("{BASE}/settings")).await;
    let saved = submit(
        &app,
        &browser,
        &settings,
        "realm-settings",
        &[
            ("bruteForceProtected", "on"),
            ("failureFactor", "5"),
            ("waitIncrementSeconds", "120"),
        ],
    )
    .await;
    see_other(&saved, &format!("{BASE}/settings?notice=saved"));
    let realm = json_of(&app, "/admin/realms/shop").await;
    assert_eq!(realm["bruteForceProtected"], true);
    assert_eq!(realm["failureFactor"], 5);
    assert_eq!(realm["waitIncrementSeconds"], 120);
    let settings = open(&app, &browser, &format!("{BASE}/settings")).await;
    assert_eq!(value_of(&settings.body, "failureFactor").as_deref(), Some("5"));
    let refused = submit(
        &app,
        &browser,
        &settings,
        "realm-settings",
        &[("failureFactor", "0"), ("displayName", "Renamed")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        element_text(&refused.body, "failureFactor-error").is_some(),
        "{}",
        refused.body
    );
    assert_eq!(value_of(&refused.body, "displayName").as_deref(), Some("Renamed"));
    let realm = json_of(&app, "/admin/realms/shop").await;
    assert_eq!(realm["failureFactor"], 5);
    assert_ne!(realm["displayName"], "Renamed");
}

/// Keycloak's `POST /admin/realms/{realm}/logout-all` ends every session of the realm (and of
/// that realm only), and needs manage-users.
#[tokio::test]
async fn admin_api_logs_everyone_out_of_one_realm() {
    let app = spawn_app().await;
    for realm in ["shop", "other"] {
        app.create_realm(realm).await;
        create_user(&app, realm, "bob", "bob-password-1", true).await;
    }
    let grant = |realm: &'static str| {
        let app = &app;
        async move {
            let resp = app
                .http
                .post(app.token_url(realm))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", "admin-cli"),
                    ("username", "bob"),
                    ("password", "bob-password-1"),
                ])
                .send()
                .await
                .expect("token");
            let body: Value = resp.json().await.expect("json");
            body["refresh_token"].as_str().expect("refresh").to_owned()
        }
    };
    let refresh = |realm: &'static str, token: String| {
        let app = &app;
        async move {
            app.http
                .post(app.token_url(realm))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "admin-cli"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .expect("refresh")
                .status()
                .as_u16()
        }
    };
    let in_shop = grant("shop").await;
    let in_other = grant("other").await;

    // bob of shop, without admin rights, may not.
    let bob_token = app.password_token("shop", "admin-cli", "bob", "bob-password-1").await;
    let resp = app
        .http
        .post(app.url("/admin/realms/shop/logout-all"))
        .bearer_auth(&bob_token)
        .send()
        .await
        .expect("logout-all");
    assert_eq!(resp.status(), 403);

    let resp = app.admin(Method::POST, "/admin/realms/shop/logout-all", None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, json!({ "successRequests": [], "failedRequests": [] }));
    assert_eq!(refresh("shop", in_shop).await, 400);
    assert_eq!(
        refresh("other", in_other).await,
        200,
        "another realm's sessions live on"
    );
}

/// API keys from a user's page: created through the admin API's own operation, the secret shown
/// once, refused input kept beside its field, deletion after a confirmation.
#[tokio::test]
async fn console_creates_and_deletes_a_users_api_keys() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let bob = create_user(&app, "shop", "bob", "bob-password-1", true).await;
    let browser = master_admin(&app).await;

    let user = open(&app, &browser, &format!("{BASE}/users/{bob}")).await;
    let refused = submit(
        &app,
        &browser,
        &user,
        "create-api-key",
        &[("keyDescription", "ci"), ("keyExpires", "someday")],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        element_text(&refused.body, "keyExpires-error").is_some(),
        "{}",
        refused.body
    );
    assert_eq!(value_of(&refused.body, "keyExpires").as_deref(), Some("someday"));
    assert_eq!(
        json_of(&app, &format!("/admin/realms/shop/users/{bob}/api-keys")).await,
        json!([])
    );

    let made = submit(
        &app,
        &browser,
        &user,
        "create-api-key",
        &[("keyDescription", "ci"), ("keyEnvironment", "test")],
    )
    .await;
    let shown_url = see_other(&made, &format!("{BASE}/users/{bob}?notice=api-key-created&shown="));
    let shown = open(&app, &browser, &shown_url).await;
    let secret = value_of(&shown.body, "new-key-secret-value").expect("secret shown");
    assert!(secret.starts_with("nx_test_"), "{secret}");
    let again = open(&app, &browser, &shown_url).await;
    assert!(!again.body.contains(&secret), "shown once");
    let keys = json_of(&app, &format!("/admin/realms/shop/users/{bob}/api-keys")).await;
    let key_id = keys[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(keys[0]["description"], "ci");
    assert_eq!(keys[0]["environment"], "test");
    let exchange = |secret: String| {
        let (app, key_id) = (&app, key_id.clone());
        async move {
            app.http
                .post(app.url("/realms/shop/api/v1/oauth/tokens"))
                .json(&json!({ "apiKey": key_id, "apiSecret": secret }))
                .send()
                .await
                .expect("key for token")
                .status()
                .as_u16()
        }
    };
    assert_eq!(exchange(secret.clone()).await, 200, "the shown secret works");

    let confirm = open(&app, &browser, &format!("{BASE}/users/{bob}/api-keys/{key_id}/delete")).await;
    let deleted = submit(&app, &browser, &confirm, "confirm-form", &[]).await;
    see_other(&deleted, &format!("{BASE}/users/{bob}?notice=api-key-deleted"));
    assert_eq!(exchange(secret).await, 401, "a deleted key is refused at once");
}

/// The events page's settings: stored through `PUT …/events/config`'s own operation; a retention
/// that is not a number is refused beside its field and nothing is saved.
#[tokio::test]
async fn console_saves_event_settings() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let browser = master_admin(&app).await;

    let page = open(&app, &browser, &format!("{BASE}/events/settings")).await;
    let saved = submit(
        &app,
        &browser,
        &page,
        "event-settings",
        &[
            ("eventsExpiration", "86400"),
            ("enabledEventTypes", "API_KEY_USED API_KEY_REFUSED"),
        ],
    )
    .await;
    see_other(&saved, &format!("{BASE}/events/settings?notice=saved"));
    let config = json_of(&app, "/admin/realms/shop/events/config").await;
    assert_eq!(config["eventsExpiration"], 86400);
    assert_eq!(config["enabledEventTypes"], json!(["API_KEY_USED", "API_KEY_REFUSED"]));
    assert_eq!(config["eventsEnabled"], true);

    let page = open(&app, &browser, &format!("{BASE}/events/settings")).await;
    assert_eq!(value_of(&page.body, "eventsExpiration").as_deref(), Some("86400"));
    for (field, value, error) in [
        ("eventsExpiration", "a day", "eventsExpiration-error"),
        ("eventsExpiration", "-1", "eventsExpiration-error"),
        ("enabledEventTypes", "login", "enabledEventTypes-error"),
    ] {
        let refused = submit(&app, &browser, &page, "event-settings", &[(field, value)]).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            element_text(&refused.body, error).is_some(),
            "{field}={value}: {}",
            refused.body
        );
        assert_eq!(value_of(&refused.body, field).as_deref(), Some(value));
    }
    assert_eq!(json_of(&app, "/admin/realms/shop/events/config").await, config);
}
