//! The users admin API (`/admin/realms/{realm}/users…`): CRUD, search and count, passwords, role
//! mappings (and their effect on the next token), group membership, and who may do any of it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{location_id, spawn_app, TestApp};

/// An admin API session with one token (a fresh password grant per call would be slow).
pub struct Api<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl<'a> Api<'a> {
    pub async fn master(app: &'a TestApp) -> Api<'a> {
        Api {
            app,
            token: app.admin_token().await,
        }
    }

    pub fn with_token(app: &'a TestApp, token: String) -> Api<'a> {
        Api { app, token }
    }

    pub async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        self.app.admin_as(&self.token, method, path, body).await
    }

    /// Status and JSON body (`Null` when the body is empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let resp = self.raw(method, path, body).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// POSTs `body` to `path`, asserts 201 and returns the last segment of `Location`.
    pub async fn create(&self, path: &str, body: Value) -> String {
        let resp = self.raw(Method::POST, path, Some(body.clone())).await;
        let status = resp.status().as_u16();
        if status != 201 {
            panic!("POST {path} {body}: {status} {}", resp.text().await.unwrap_or_default());
        }
        location_id(&resp)
    }

    pub async fn expect(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let (got, value) = self.call(method.clone(), path, body).await;
        assert_eq!(got, status, "{method} {path}: {value}");
        value
    }
}

pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|v| {
            v["name"]
                .as_str()
                .or_else(|| v["username"].as_str())
                .expect("name")
                .to_owned()
        })
        .collect()
}

/// The internal id of a client by clientId.
pub async fn client_uuid(api: &Api<'_>, realm: &str, client_id: &str) -> String {
    let list = api
        .get(&format!("/admin/realms/{realm}/clients?clientId={client_id}"))
        .await;
    list[0]["id"].as_str().expect("client id").to_owned()
}

/// A password-grant response on `admin-cli` of `realm`: (status, body).
pub async fn login(app: &TestApp, realm: &str, username: &str, password: &str) -> (u16, Value) {
    let resp = app
        .http
        .post(app.token_url(realm))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

fn access_token(body: &Value) -> String {
    body["access_token"].as_str().expect("access_token").to_owned()
}

async fn user_count(api: &Api<'_>, realm: &str) -> i64 {
    api.get(&format!("/admin/realms/{realm}/users/count"))
        .await
        .as_i64()
        .expect("bare integer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_read_searched_updated_and_deleted() {
    let app = spawn_app().await;
    app.create_realm("people").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/people/users";
    assert_eq!(
        user_count(&api, "people").await,
        0,
        "service accounts and nobody else: empty"
    );

    let id = api
        .create(
            base,
            json!({
                "username": "Alice",
                "email": "Alice@Example.com",
                "firstName": "Alice",
                "lastName": "Liddell",
                "emailVerified": true,
                "attributes": { "team": "blue", "langs": ["en", "fr"] },
            }),
        )
        .await;
    api.create(base, json!({ "username": "bob", "enabled": false })).await;

    let alice = api.get(&format!("{base}/{id}")).await;
    assert_eq!(alice["id"], id.as_str());
    assert_eq!(alice["username"], "alice", "usernames are lower-cased");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["firstName"], "Alice");
    assert_eq!(alice["lastName"], "Liddell");
    assert_eq!(alice["enabled"], true, "enabled by default");
    assert_eq!(alice["emailVerified"], true);
    assert_eq!(alice["attributes"], json!({ "team": ["blue"], "langs": ["en", "fr"] }));
    assert!(alice["createdTimestamp"].as_i64().is_some_and(|t| t > 0));

    // Search and filters; count agrees with the list.
    assert_eq!(user_count(&api, "people").await, 2);
    assert_eq!(
        names(&api.get(&format!("{base}?username=alice&exact=True")).await),
        ["alice"]
    );
    assert_eq!(
        names(&api.get(&format!("{base}?username=ali&exact=true")).await),
        Vec::<String>::new()
    );
    assert_eq!(names(&api.get(&format!("{base}?username=ali")).await), ["alice"]);
    assert_eq!(names(&api.get(&format!("{base}?search=LIDDELL")).await), ["alice"]);
    assert_eq!(names(&api.get(&format!("{base}?email=example.com")).await), ["alice"]);
    assert_eq!(names(&api.get(&format!("{base}?enabled=false")).await), ["bob"]);
    assert_eq!(api.get(&format!("{base}/count?enabled=false")).await, json!(1));
    assert_eq!(api.get(&format!("{base}/count?search=ali")).await, json!(1));
    assert_eq!(
        names(&api.get(&format!("{base}?first=1&max=1")).await),
        ["bob"],
        "paged by username"
    );
    let brief = api
        .get(&format!("{base}?username=alice&briefRepresentation=true"))
        .await;
    assert!(brief[0].get("attributes").is_none(), "brief representation: {brief}");

    // A partial update changes only what it names.
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "firstName": "Alicia" })),
        204,
    )
    .await;
    let alice = api.get(&format!("{base}/{id}")).await;
    assert_eq!(alice["firstName"], "Alicia");
    assert_eq!(alice["lastName"], "Liddell");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["enabled"], true);
    assert_eq!(alice["attributes"]["team"], json!(["blue"]));

    // Renaming; the old name is free afterwards, the new one is taken.
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "username": "alice2", "email": "" })),
        204,
    )
    .await;
    let alice = api.get(&format!("{base}/{id}")).await;
    assert_eq!(alice["username"], "alice2");
    assert!(alice.get("email").is_none(), "an empty email clears it: {alice}");
    assert_eq!(
        names(&api.get(&format!("{base}?username=alice&exact=true")).await),
        Vec::<String>::new()
    );

    api.expect(Method::DELETE, &format!("{base}/{id}"), None, 204).await;
    let body = api.expect(Method::GET, &format!("{base}/{id}"), None, 404).await;
    assert_eq!(body["error"], "User not found");
    api.expect(Method::DELETE, &format!("{base}/{id}"), None, 404).await;
    assert_eq!(user_count(&api, "people").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_conflict_with_keycloaks_messages_and_change_nothing() {
    let app = spawn_app().await;
    app.create_realm("dups").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/dups/users";
    let alice = api
        .create(
            base,
            json!({ "username": "alice", "email": "alice@example.com", "firstName": "A" }),
        )
        .await;
    let bob = api.create(base, json!({ "username": "bob" })).await;

    let body = api
        .expect(Method::POST, base, Some(json!({ "username": "ALICE" })), 409)
        .await;
    assert_eq!(body["errorMessage"], "User exists with same username");
    let body = api
        .expect(
            Method::POST,
            base,
            Some(json!({ "username": "carol", "email": "ALICE@example.com" })),
            409,
        )
        .await;
    assert_eq!(body["errorMessage"], "User exists with same email");
    assert_eq!(
        user_count(&api, "dups").await,
        2,
        "no conflicting create left a user behind"
    );
    assert_eq!(api.get(&format!("{base}?username=carol&exact=true")).await, json!([]));

    // Updates conflict too, and a refused update changes nothing (not even its other fields).
    let body = api
        .expect(
            Method::PUT,
            &format!("{base}/{bob}"),
            Some(json!({ "username": "alice", "firstName": "B" })),
            409,
        )
        .await;
    assert_eq!(body["errorMessage"], "User exists with same username");
    let body = api
        .expect(
            Method::PUT,
            &format!("{base}/{bob}"),
            Some(json!({ "email": "alice@example.com", "firstName": "B" })),
            409,
        )
        .await;
    assert_eq!(body["errorMessage"], "User exists with same email");
    let bob_now = api.get(&format!("{base}/{bob}")).await;
    assert_eq!(bob_now["username"], "bob");
    assert!(bob_now.get("firstName").is_none(), "{bob_now}");
    // Keeping one's own username and email is not a conflict.
    api.expect(
        Method::PUT,
        &format!("{base}/{alice}"),
        Some(json!({ "username": "alice", "email": "alice@example.com" })),
        204,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_user_bodies_are_400_and_create_nothing() {
    let app = spawn_app().await;
    app.create_realm("strict").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/strict/users";
    for (body, why) in [
        (json!({ "email": "x@example.com" }), "missing username"),
        (json!({ "username": "" }), "empty username"),
        (json!({ "username": "a b" }), "whitespace in username"),
        (json!({ "username": 5 }), "username of the wrong type"),
        (
            json!({ "username": "bob", "enabled": "yes" }),
            "enabled of the wrong type",
        ),
        (json!({ "username": "bob", "email": "not-an-email" }), "invalid email"),
        (
            json!({ "username": "bob", "attributes": { "a": { "nested": true } } }),
            "attribute of the wrong type",
        ),
        (
            json!({ "username": "bob", "credentials": [{ "type": "password", "value": "" }] }),
            "empty password",
        ),
        (
            json!({ "username": "bob", "credentials": [{ "type": "otp", "value": "123456" }] }),
            "unsupported credential",
        ),
        (
            json!({ "username": "bob", "realmRoles": ["no-such-role"] }),
            "unknown realm role",
        ),
        (
            json!({ "username": "bob", "groups": ["/no-such-group"] }),
            "unknown group",
        ),
        (json!(["bob"]), "an array instead of an object"),
    ] {
        let (status, resp) = api.call(Method::POST, base, Some(body.clone())).await;
        assert_eq!(status, 400, "{why}: {body} → {resp}");
        assert!(
            resp["errorMessage"].is_string(),
            "{why}: Keycloak's error shape: {resp}"
        );
    }
    // Not JSON at all.
    let resp = app
        .http
        .post(app.url(base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    let resp = app
        .http
        .post(app.url(base))
        .bearer_auth(&api.token)
        .body("username=bob")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 415);
    assert_eq!(user_count(&api, "strict").await, 0, "no bad request created a user");

    // Bad query parameters are 400s too, not 500s.
    api.expect(Method::GET, &format!("{base}?enabled=maybe"), None, 400)
        .await;
    api.expect(Method::GET, &format!("{base}?first=abc"), None, 400).await;

    // And bad updates change nothing.
    let id = api.create(base, json!({ "username": "bob", "firstName": "Bob" })).await;
    for body in [
        json!({ "firstName": "X", "email": "nope" }),
        json!({ "firstName": "X", "enabled": 1 }),
        json!({ "username": "" }),
    ] {
        api.expect(Method::PUT, &format!("{base}/{id}"), Some(body), 400).await;
    }
    assert_eq!(api.get(&format!("{base}/{id}")).await["firstName"], "Bob");
    let missing = "00000000-0000-0000-0000-000000000000";
    for (method, path) in [
        (Method::GET, format!("{base}/{missing}")),
        (Method::PUT, format!("{base}/{missing}")),
        (Method::DELETE, format!("{base}/{missing}")),
        (Method::GET, format!("{base}/{missing}/groups")),
        (Method::GET, format!("{base}/{missing}/role-mappings")),
        (Method::GET, format!("{base}/{missing}/role-mappings/realm")),
    ] {
        let body = (method == Method::PUT).then(|| json!({ "firstName": "x" }));
        api.expect(method, &path, body, 404).await;
    }
    api.expect(
        Method::PUT,
        &format!("{base}/{missing}/reset-password"),
        Some(json!({ "type": "password", "value": "x" })),
        404,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_set_by_admins_work_on_the_password_grant_until_reset_or_disabled() {
    let app = spawn_app().await;
    app.create_realm("shop").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/shop/users";
    let id = api
        .create(base, json!({ "username": "carol", "credentials": [{ "type": "password", "value": "first-pass", "temporary": false }] }))
        .await;
    let (status, body) = login(&app, "shop", "carol", "first-pass").await;
    assert_eq!(status, 200, "{body}");
    let claims = app.verify("shop", &access_token(&body)).await.expect("verifies");
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["preferred_username"], "carol");
    let refresh = body["refresh_token"].as_str().expect("refresh token").to_owned();
    assert!(
        !api.get(&format!("{base}/{id}"))
            .await
            .to_string()
            .contains("first-pass"),
        "no password in the representation"
    );
    let credentials = api.get(&format!("{base}/{id}/credentials")).await;
    assert_eq!(credentials[0]["type"], "password");
    assert!(
        // `credentialData` names the algorithm, as Keycloak's does; the hash (a PHC string) is never shown.
        !credentials.to_string().contains("$argon2") && credentials[0].get("secretData").is_none(),
        "no hash in the credentials list: {credentials}"
    );

    // reset-password replaces it.
    for bad in [
        json!({ "type": "password", "value": "" }),
        json!({ "type": "password" }),
        json!({ "value": 5 }),
    ] {
        api.expect(Method::PUT, &format!("{base}/{id}/reset-password"), Some(bad), 400)
            .await;
    }
    assert_eq!(
        login(&app, "shop", "carol", "first-pass").await.0,
        200,
        "refused resets changed nothing"
    );
    api.expect(
        Method::PUT,
        &format!("{base}/{id}/reset-password"),
        Some(json!({ "type": "password", "value": "second-pass", "temporary": false })),
        204,
    )
    .await;
    assert_eq!(login(&app, "shop", "carol", "first-pass").await.0, 401);
    assert_eq!(login(&app, "shop", "carol", "second-pass").await.0, 200);

    // A temporary password cannot be used on the password grant.
    api.expect(
        Method::PUT,
        &format!("{base}/{id}/reset-password"),
        Some(json!({ "value": "temp-pass", "temporary": true })),
        204,
    )
    .await;
    let (status, body) = login(&app, "shop", "carol", "temp-pass").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "credentials": [{ "type": "password", "value": "third-pass" }] })),
        204,
    )
    .await;
    assert_eq!(
        login(&app, "shop", "carol", "third-pass").await.0,
        200,
        "PUT with credentials sets the password"
    );

    // Disabling: the password grant says invalid_grant, and refresh tokens stop working.
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "enabled": false })),
        204,
    )
    .await;
    let (status, body) = login(&app, "shop", "carol", "third-pass").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "enabled": true })),
        204,
    )
    .await;
    let resp = app
        .http
        .post(app.token_url("shop"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", &refresh),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(
        resp.status(),
        400,
        "the refresh token issued before the user was disabled was revoked"
    );
    assert_eq!(login(&app, "shop", "carol", "third-pass").await.0, 200, "enabled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_mapped_to_a_service_account_is_in_its_next_token() {
    let app = spawn_app().await;
    app.create_realm("svc").await;
    let api = Api::master(&app).await;
    let (client_uuid, secret) = app.create_service_client("svc", "billing").await;
    let token_roles = |body: Value| -> Vec<String> {
        let token = body["access_token"].as_str().expect("token").to_owned();
        let payload = token.split('.').nth(1).expect("payload").to_owned();
        use base64::Engine;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("b64"),
        )
        .expect("json");
        claims["realm_access"]["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .map(|r| r.as_str().expect("str").to_owned())
            .collect()
    };
    // Warm the token path's cache.
    let first: Value = app
        .client_credentials("svc", "billing", &secret)
        .await
        .json()
        .await
        .expect("json");
    assert!(!token_roles(first).contains(&"invoices".to_owned()));

    api.create("/admin/realms/svc/roles", json!({ "name": "invoices" }))
        .await;
    let role = api.get("/admin/realms/svc/roles/invoices").await;
    let sa = api
        .get(&format!("/admin/realms/svc/clients/{client_uuid}/service-account-user"))
        .await;
    let sa_id = sa["id"].as_str().expect("id");
    api.expect(
        Method::POST,
        &format!("/admin/realms/svc/users/{sa_id}/role-mappings/realm"),
        Some(json!([role])),
        204,
    )
    .await;
    let next: Value = app
        .client_credentials("svc", "billing", &secret)
        .await
        .json()
        .await
        .expect("json");
    assert!(
        token_roles(next).contains(&"invoices".to_owned()),
        "the mapping reached the token path at once"
    );

    api.expect(
        Method::DELETE,
        &format!("/admin/realms/svc/users/{sa_id}/role-mappings/realm"),
        Some(json!([role])),
        204,
    )
    .await;
    let after: Value = app
        .client_credentials("svc", "billing", &secret)
        .await
        .json()
        .await
        .expect("json");
    assert!(
        !token_roles(after).contains(&"invoices".to_owned()),
        "and so did its removal"
    );

    // Service-account users are hidden from the user list but readable by id, and not deletable here.
    assert_eq!(api.get("/admin/realms/svc/users?search=billing").await, json!([]));
    assert_eq!(
        api.get(&format!("/admin/realms/svc/users/{sa_id}")).await["serviceAccountClientId"],
        "billing"
    );
    api.expect(Method::DELETE, &format!("/admin/realms/svc/users/{sa_id}"), None, 400)
        .await;
    api.expect(
        Method::PUT,
        &format!("/admin/realms/svc/users/{sa_id}"),
        Some(json!({ "username": "renamed" })),
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_mappings_resolve_every_role_before_changing_anything() {
    let app = spawn_app().await;
    app.create_realm("maps").await;
    let api = Api::master(&app).await;
    let realm_base = "/admin/realms/maps";
    let user = api
        .create(&format!("{realm_base}/users"), json!({ "username": "dave" }))
        .await;
    api.create(&format!("{realm_base}/roles"), json!({ "name": "r1" }))
        .await;
    api.create(&format!("{realm_base}/roles"), json!({ "name": "r2" }))
        .await;
    let r1 = api.get(&format!("{realm_base}/roles/r1")).await;
    let r2 = api.get(&format!("{realm_base}/roles/r2")).await;
    let mappings = format!("{realm_base}/users/{user}/role-mappings/realm");
    let direct = || async { names(&api.get(&mappings).await) };
    assert_eq!(
        direct().await,
        ["default-roles-maps"],
        "new users hold the realm's default roles"
    );

    // A representation whose id is not its name's role is refused, and nothing else in the request applies.
    let forged = json!([{ "name": "r1" }, { "name": "r2", "id": r1["id"] }]);
    api.expect(Method::POST, &mappings, Some(forged), 404).await;
    let body = api
        .expect(
            Method::POST,
            &mappings,
            Some(json!([{ "name": "r1" }, { "name": "nope" }])),
            404,
        )
        .await;
    assert_eq!(body["error"], "Role not found");
    for bad in [
        json!({ "name": "r1" }),
        json!(["r1"]),
        json!([{ "name": 1 }]),
        json!([{}]),
    ] {
        api.expect(Method::POST, &mappings, Some(bad), 400).await;
    }
    assert_eq!(
        direct().await,
        ["default-roles-maps"],
        "refused requests mapped nothing"
    );

    // Good requests: by name (id optional but must agree).
    api.expect(
        Method::POST,
        &mappings,
        Some(json!([{ "name": "r1" }, r2.clone()])),
        204,
    )
    .await;
    assert_eq!(direct().await, ["default-roles-maps", "r1", "r2"]);
    let composite = names(&api.get(&format!("{mappings}/composite")).await);
    for expected in ["r1", "r2", "default-roles-maps", "offline_access", "uma_authorization"] {
        assert!(
            composite.contains(&expected.to_owned()),
            "effective roles include {expected}: {composite:?}"
        );
    }
    let available = names(&api.get(&format!("{mappings}/available")).await);
    assert!(
        !available.contains(&"r1".to_owned()) && !available.contains(&"offline_access".to_owned()),
        "{available:?}"
    );

    // A forged DELETE removes nothing either.
    api.expect(
        Method::DELETE,
        &mappings,
        Some(json!([{ "name": "r1" }, { "name": "r2", "id": r1["id"] }])),
        404,
    )
    .await;
    assert_eq!(direct().await, ["default-roles-maps", "r1", "r2"]);
    api.expect(Method::DELETE, &mappings, Some(json!([r1])), 204).await;
    assert_eq!(direct().await, ["default-roles-maps", "r2"]);

    // Client roles, and the all-mappings view.
    let account = crate::admin_users::client_uuid(&api, "maps", "account").await;
    let client_mappings = format!("{realm_base}/users/{user}/role-mappings/clients/{account}");
    assert_eq!(names(&api.get(&client_mappings).await), Vec::<String>::new());
    let composite = names(&api.get(&format!("{client_mappings}/composite")).await);
    assert!(
        composite.contains(&"manage-account".to_owned()) && composite.contains(&"manage-account-links".to_owned()),
        "{composite:?}"
    );
    api.expect(
        Method::POST,
        &client_mappings,
        Some(json!([{ "name": "manage-account-links" }])),
        204,
    )
    .await;
    api.expect(Method::POST, &client_mappings, Some(json!([{ "name": "r2" }])), 404)
        .await;
    assert_eq!(names(&api.get(&client_mappings).await), ["manage-account-links"]);
    let all = api.get(&format!("{realm_base}/users/{user}/role-mappings")).await;
    assert_eq!(names(&all["realmMappings"]), ["default-roles-maps", "r2"]);
    assert_eq!(all["clientMappings"]["account"]["id"], account.as_str());
    assert_eq!(all["clientMappings"]["account"]["client"], "account");
    assert_eq!(
        names(&all["clientMappings"]["account"]["mappings"]),
        ["manage-account-links"]
    );
    api.expect(
        Method::GET,
        &format!("{realm_base}/users/{user}/role-mappings/clients/00000000-0000-0000-0000-000000000000"),
        None,
        404,
    )
    .await;

    // The mapped roles are in the user's next token.
    api.expect(
        Method::PUT,
        &format!("{realm_base}/users/{user}/reset-password"),
        Some(json!({ "value": "pw-dave" })),
        204,
    )
    .await;
    let (status, body) = login(&app, "maps", "dave", "pw-dave").await;
    assert_eq!(status, 200, "{body}");
    let claims = app.verify("maps", &access_token(&body)).await.expect("verifies");
    let realm_roles = claims["realm_access"]["roles"].to_string();
    assert!(
        realm_roles.contains("\"r2\"") && !realm_roles.contains("\"r1\""),
        "{claims}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_admins_manage_their_own_realm_only() {
    let app = spawn_app().await;
    app.create_realm("realm-a").await;
    app.create_realm("realm-b").await;
    let api = Api::master(&app).await;
    let boss = api
        .create(
            "/admin/realms/realm-a/users",
            json!({ "username": "boss", "credentials": [{ "value": "boss-pass" }] }),
        )
        .await;
    api.create(
        "/admin/realms/realm-a/users",
        json!({ "username": "pleb", "credentials": [{ "value": "pleb-pass" }] }),
    )
    .await;
    let management = client_uuid(&api, "realm-a", "realm-management").await;
    let realm_admin = api
        .get(&format!("/admin/realms/realm-a/clients/{management}/roles/realm-admin"))
        .await;
    api.expect(
        Method::POST,
        &format!("/admin/realms/realm-a/users/{boss}/role-mappings/clients/{management}"),
        Some(json!([realm_admin])),
        204,
    )
    .await;

    let (status, body) = login(&app, "realm-a", "boss", "boss-pass").await;
    assert_eq!(status, 200, "{body}");
    let boss_api = Api::with_token(&app, access_token(&body));
    assert_eq!(
        names(&boss_api.get("/admin/realms/realm-a/users?username=pleb").await),
        ["pleb"]
    );
    boss_api
        .create("/admin/realms/realm-a/users", json!({ "username": "hired" }))
        .await;
    boss_api
        .create("/admin/realms/realm-a/roles", json!({ "name": "local" }))
        .await;
    boss_api
        .expect(Method::GET, "/admin/realms/realm-b/users", None, 403)
        .await;
    boss_api
        .expect(
            Method::POST,
            "/admin/realms/realm-b/users",
            Some(json!({ "username": "intruder" })),
            403,
        )
        .await;
    boss_api
        .expect(Method::GET, "/admin/realms/master/users", None, 403)
        .await;
    boss_api
        .expect(Method::GET, "/admin/realms/realm-b/roles", None, 403)
        .await;
    assert_eq!(
        api.get("/admin/realms/realm-b/users?username=intruder").await,
        json!([])
    );

    // A user of realm A without admin roles may do nothing, not even read.
    let (_, body) = login(&app, "realm-a", "pleb", "pleb-pass").await;
    let pleb_api = Api::with_token(&app, access_token(&body));
    pleb_api
        .expect(Method::GET, "/admin/realms/realm-a/users", None, 403)
        .await;
    pleb_api
        .expect(
            Method::POST,
            "/admin/realms/realm-a/users",
            Some(json!({ "username": "x" })),
            403,
        )
        .await;
    pleb_api
        .expect(Method::GET, "/admin/realms/realm-a/users/count", None, 403)
        .await;

    // No token, or a bad one: 401.
    let resp = app
        .http
        .get(app.url("/admin/realms/realm-a/users"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let resp = app
        .http
        .get(app.url("/admin/realms/realm-a/users"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);

    // Losing the role takes effect on the next request (roles are read live, not from the token).
    api.expect(
        Method::DELETE,
        &format!("/admin/realms/realm-a/users/{boss}/role-mappings/clients/{management}"),
        Some(json!([realm_admin])),
        204,
    )
    .await;
    boss_api
        .expect(Method::GET, "/admin/realms/realm-a/users", None, 403)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managing_users_is_no_ladder_to_admin_roles() {
    let app = spawn_app().await;
    app.create_realm("ladder").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/ladder";
    let helper = api
        .create(
            &format!("{base}/users"),
            json!({ "username": "helpdesk", "credentials": [{ "value": "help-pass" }] }),
        )
        .await;
    let management = client_uuid(&api, "ladder", "realm-management").await;
    let manage_users = api
        .get(&format!("{base}/clients/{management}/roles/manage-users"))
        .await;
    let realm_admin = api.get(&format!("{base}/clients/{management}/roles/realm-admin")).await;
    api.expect(
        Method::POST,
        &format!("{base}/users/{helper}/role-mappings/clients/{management}"),
        Some(json!([manage_users])),
        204,
    )
    .await;
    // A group that carries realm-admin, and a realm role that contains it.
    let admins = api.create(&format!("{base}/groups"), json!({ "name": "admins" })).await;
    api.expect(
        Method::POST,
        &format!("{base}/groups/{admins}/role-mappings/clients/{management}"),
        Some(json!([realm_admin])),
        204,
    )
    .await;
    api.create(&format!("{base}/roles"), json!({ "name": "power" })).await;
    api.expect(
        Method::POST,
        &format!("{base}/roles/power/composites"),
        Some(json!([realm_admin])),
        204,
    )
    .await;

    let (_, body) = login(&app, "ladder", "helpdesk", "help-pass").await;
    let helpdesk = Api::with_token(&app, access_token(&body));
    // Everyday work is fine...
    let other = helpdesk
        .create(&format!("{base}/users"), json!({ "username": "newbie" }))
        .await;
    helpdesk
        .expect(Method::PUT, &format!("{base}/users/{other}/groups/{admins}"), None, 403)
        .await;
    // ...handing out admin rights (directly, through a composite, a group or at creation) is not.
    let own = format!("{base}/users/{helper}/role-mappings/clients/{management}");
    helpdesk
        .expect(Method::POST, &own, Some(json!([realm_admin])), 403)
        .await;
    helpdesk
        .expect(
            Method::POST,
            &format!("{base}/users/{helper}/role-mappings/realm"),
            Some(json!([{ "name": "power" }])),
            403,
        )
        .await;
    helpdesk
        .expect(
            Method::PUT,
            &format!("{base}/users/{helper}/groups/{admins}"),
            None,
            403,
        )
        .await;
    helpdesk
        .expect(
            Method::POST,
            &format!("{base}/users"),
            Some(json!({ "username": "sneaky", "groups": ["/admins"] })),
            403,
        )
        .await;
    helpdesk
        .expect(
            Method::POST,
            &format!("{base}/users"),
            Some(json!({ "username": "sneaky", "realmRoles": ["power"] })),
            403,
        )
        .await;
    assert_eq!(names(&api.get(&own).await), ["manage-users"], "nothing was granted");
    assert_eq!(api.get(&format!("{base}/groups/{admins}/members")).await, json!([]));
    assert_eq!(api.get(&format!("{base}/users?username=sneaky")).await, json!([]));
    // Nor is taking over a user who holds more: their password, account, roles and groups are off limits.
    let root = api
        .create(
            &format!("{base}/users"),
            json!({ "username": "root", "credentials": [{ "value": "root-pass" }] }),
        )
        .await;
    api.expect(
        Method::POST,
        &format!("{base}/users/{root}/role-mappings/clients/{management}"),
        Some(json!([realm_admin])),
        204,
    )
    .await;
    let root_path = format!("{base}/users/{root}");
    helpdesk
        .expect(
            Method::PUT,
            &format!("{root_path}/reset-password"),
            Some(json!({ "value": "mine-now" })),
            403,
        )
        .await;
    helpdesk
        .expect(
            Method::PUT,
            &root_path,
            Some(json!({ "credentials": [{ "value": "mine-now" }] })),
            403,
        )
        .await;
    helpdesk
        .expect(Method::PUT, &root_path, Some(json!({ "enabled": false })), 403)
        .await;
    helpdesk.expect(Method::DELETE, &root_path, None, 403).await;
    helpdesk
        .expect(
            Method::DELETE,
            &format!("{root_path}/role-mappings/clients/{management}"),
            Some(json!([realm_admin])),
            403,
        )
        .await;
    assert_eq!(
        login(&app, "ladder", "root", "root-pass").await.0,
        200,
        "root is untouched"
    );
    assert_eq!(login(&app, "ladder", "root", "mine-now").await.0, 401);
    helpdesk.get(&root_path).await;
    helpdesk
        .expect(
            Method::PUT,
            &format!("{base}/users/{other}/reset-password"),
            Some(json!({ "value": "newbie-pass" })),
            204,
        )
        .await;
    // Holding a role is what allows handing it out.
    helpdesk
        .expect(Method::POST, &own, Some(json!([manage_users])), 204)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_join_and_leave_groups() {
    let app = spawn_app().await;
    app.create_realm("clubs").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/clubs";
    let team = api.create(&format!("{base}/groups"), json!({ "name": "team" })).await;
    let dev = api
        .create(&format!("{base}/groups/{team}/children"), json!({ "name": "dev" }))
        .await;
    let user = api
        .create(
            &format!("{base}/users"),
            json!({ "username": "erin", "groups": ["/team/dev"] }),
        )
        .await;
    let groups = api.get(&format!("{base}/users/{user}/groups")).await;
    assert_eq!(groups.as_array().map(Vec::len), Some(1));
    assert_eq!(groups[0]["id"], dev.as_str());
    assert_eq!(groups[0]["path"], "/team/dev");

    // PUT with no body, and with an empty JSON content type, both work (clients send either).
    let resp = app
        .http
        .put(app.url(&format!("{base}/users/{user}/groups/{team}")))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 204);
    let resp = app
        .http
        .put(app.url(&format!("{base}/users/{user}/groups/{team}")))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 204, "joining twice is fine");
    assert_eq!(
        api.get(&format!("{base}/users/{user}/groups/count")).await,
        json!({ "count": 2 })
    );
    assert_eq!(
        names(&api.get(&format!("{base}/groups/{team}/members")).await),
        ["erin"]
    );
    api.expect(
        Method::PUT,
        &format!("{base}/users/{user}/groups/00000000-0000-0000-0000-000000000000"),
        None,
        404,
    )
    .await;

    api.expect(Method::DELETE, &format!("{base}/users/{user}/groups/{team}"), None, 204)
        .await;
    assert_eq!(api.get(&format!("{base}/groups/{team}/members")).await, json!([]));
    assert_eq!(
        api.get(&format!("{base}/users/{user}/groups"))
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
