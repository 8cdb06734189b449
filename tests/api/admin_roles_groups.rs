//! Realm and client roles (with composites), groups, and client scopes through Keycloak's admin API.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_users::{client_uuid, login, names, Api};
use crate::helpers::spawn_app;

fn claims_of(body: &Value) -> Value {
    use base64::Engine;
    let token = body["access_token"].as_str().expect("access_token");
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_roles_crud_by_name_and_by_id() {
    let app = spawn_app().await;
    app.create_realm("roles").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/roles/roles";

    // The Location ends with the (encoded) role name, which python-keycloak returns to its caller.
    let resp = api
        .raw(
            Method::POST,
            base,
            Some(json!({ "name": "read:reports x", "description": "d" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert!(
        location.ends_with("/admin/realms/roles/roles/read%3Areports%20x"),
        "{location}"
    );
    let role = api.get(&format!("{base}/read%3Areports%20x")).await;
    assert_eq!(role["name"], "read:reports x");
    assert_eq!(role["description"], "d");
    assert_eq!(role["clientRole"], false);
    assert_eq!(role["composite"], false);
    assert_eq!(role["containerId"], api.get("/admin/realms/roles").await["id"]);
    let id = role["id"].as_str().expect("id").to_owned();

    let body = api
        .expect(Method::POST, base, Some(json!({ "name": "read:reports x" })), 409)
        .await;
    assert_eq!(body["errorMessage"], "Role with name read:reports x already exists");
    for bad in [
        json!({}),
        json!({ "name": "" }),
        json!({ "name": 7 }),
        json!({ "name": "x", "attributes": { "a": {} } }),
        json!([]),
    ] {
        api.expect(Method::POST, base, Some(bad), 400).await;
    }
    let body = api.expect(Method::GET, &format!("{base}/nope"), None, 404).await;
    assert!(body["error"].is_string());

    // List and search.
    api.create(base, json!({ "name": "writer" })).await;
    let all = names(&api.get(base).await);
    for expected in [
        "default-roles-roles",
        "offline_access",
        "uma_authorization",
        "read:reports x",
        "writer",
    ] {
        assert!(all.contains(&expected.to_owned()), "{expected} in {all:?}");
    }
    assert_eq!(names(&api.get(&format!("{base}?search=WRIT")).await), ["writer"]);
    assert_eq!(
        names(&api.get(&format!("{base}?search=%25")).await),
        Vec::<String>::new(),
        "search is literal"
    );
    assert_eq!(
        api.get(&format!("{base}?first=0&max=2")).await.as_array().map(Vec::len),
        Some(2)
    );

    // Update (partial) and rename, by name and by id.
    api.expect(
        Method::PUT,
        &format!("{base}/writer"),
        Some(json!({ "description": "writes" })),
        204,
    )
    .await;
    assert_eq!(api.get(&format!("{base}/writer")).await["description"], "writes");
    api.expect(
        Method::PUT,
        &format!("{base}/writer"),
        Some(json!({ "name": "read:reports x" })),
        409,
    )
    .await;
    api.expect(
        Method::PUT,
        &format!("/admin/realms/roles/roles-by-id/{id}"),
        Some(json!({ "name": "reports", "attributes": { "k": "v" } })),
        204,
    )
    .await;
    let by_id = api.get(&format!("/admin/realms/roles/roles-by-id/{id}")).await;
    assert_eq!(by_id["name"], "reports");
    assert_eq!(by_id["description"], "d", "untouched by a partial update");
    assert_eq!(by_id["attributes"], json!({ "k": ["v"] }));
    api.expect(Method::GET, &format!("{base}/read%3Areports%20x"), None, 404)
        .await;

    // The default role and the admin roles stay.
    let body = api
        .expect(Method::DELETE, &format!("{base}/default-roles-roles"), None, 400)
        .await;
    assert!(body["errorMessage"].is_string());
    api.expect(
        Method::PUT,
        &format!("{base}/default-roles-roles"),
        Some(json!({ "name": "renamed" })),
        400,
    )
    .await;
    let management = client_uuid(&api, "roles", "realm-management").await;
    api.expect(
        Method::DELETE,
        &format!("/admin/realms/roles/clients/{management}/roles/realm-admin"),
        None,
        400,
    )
    .await;

    api.expect(
        Method::DELETE,
        &format!("/admin/realms/roles/roles-by-id/{id}"),
        None,
        204,
    )
    .await;
    api.expect(Method::GET, &format!("/admin/realms/roles/roles-by-id/{id}"), None, 404)
        .await;
    api.expect(Method::DELETE, &format!("{base}/writer"), None, 204).await;
    api.expect(Method::GET, &format!("{base}/writer"), None, 404).await;
    api.expect(Method::DELETE, &format!("{base}/writer"), None, 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_roles_live_in_their_client() {
    let app = spawn_app().await;
    app.create_realm("apps").await;
    let api = Api::master(&app).await;
    let (svc, secret) = app.create_service_client("apps", "svc").await;
    let base = format!("/admin/realms/apps/clients/{svc}/roles");
    let resp = api.raw(Method::POST, &base, Some(json!({ "name": "reader" }))).await;
    assert_eq!(resp.status(), 201);
    assert!(resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .ends_with(&format!("/clients/{svc}/roles/reader")));
    let reader = api.get(&format!("{base}/reader")).await;
    assert_eq!(reader["clientRole"], true);
    assert_eq!(reader["containerId"], svc.as_str());
    assert_eq!(names(&api.get(&base).await), ["reader"]);
    let body = api
        .expect(Method::POST, &base, Some(json!({ "name": "reader" })), 409)
        .await;
    assert_eq!(body["errorMessage"], "Role with name reader already exists");
    // The same name as a realm role is a different role.
    api.create("/admin/realms/apps/roles", json!({ "name": "reader" }))
        .await;
    assert_ne!(api.get("/admin/realms/apps/roles/reader").await["id"], reader["id"]);

    let missing = "00000000-0000-0000-0000-000000000000";
    let body = api
        .expect(
            Method::GET,
            &format!("/admin/realms/apps/clients/{missing}/roles"),
            None,
            404,
        )
        .await;
    assert_eq!(body["error"], "Could not find client");
    api.expect(
        Method::POST,
        &format!("/admin/realms/apps/clients/{missing}/roles"),
        Some(json!({ "name": "x" })),
        404,
    )
    .await;
    api.expect(Method::GET, &format!("{base}/writer"), None, 404).await;

    // Mapped to the service account, it is in resource_access of the next token.
    let sa = api
        .get(&format!("/admin/realms/apps/clients/{svc}/service-account-user"))
        .await;
    let sa_id = sa["id"].as_str().expect("id");
    api.expect(
        Method::POST,
        &format!("/admin/realms/apps/users/{sa_id}/role-mappings/clients/{svc}"),
        Some(json!([reader])),
        204,
    )
    .await;
    let body: Value = app
        .client_credentials("apps", "svc", &secret)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        claims_of(&body)["resource_access"]["svc"]["roles"],
        json!(["reader"]),
        "{body}"
    );
    assert_eq!(
        names(&api.get(&format!("{base}/reader/users")).await),
        ["service-account-svc"]
    );

    // Deleting the role unmaps it.
    api.expect(Method::DELETE, &format!("{base}/reader"), None, 204).await;
    let body: Value = app
        .client_credentials("apps", "svc", &secret)
        .await
        .json()
        .await
        .expect("json");
    assert!(claims_of(&body)["resource_access"].get("svc").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composite_roles_expand_into_tokens() {
    let app = spawn_app().await;
    app.create_realm("comp").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/comp/roles";
    for name in ["editor", "viewer", "commenter"] {
        api.create(base, json!({ "name": name })).await;
    }
    let viewer = api.get(&format!("{base}/viewer")).await;
    let (svc, _) = app.create_service_client("comp", "docs").await;
    api.create(
        &format!("/admin/realms/comp/clients/{svc}/roles"),
        json!({ "name": "export" }),
    )
    .await;
    let export = api.get(&format!("/admin/realms/comp/clients/{svc}/roles/export")).await;
    assert_eq!(export["containerId"], svc.as_str());

    // By id (Keycloak's way), by name, and a client role by name + containerId.
    api.expect(
        Method::POST,
        &format!("{base}/editor/composites"),
        Some(json!([{ "id": viewer["id"] }, { "name": "commenter" }, { "name": "export", "clientRole": true, "containerId": svc }])),
        204,
    )
    .await;
    assert_eq!(api.get(&format!("{base}/editor")).await["composite"], true);
    assert_eq!(
        names(&api.get(&format!("{base}/editor/composites")).await),
        ["commenter", "export", "viewer"]
    );
    assert_eq!(
        names(&api.get(&format!("{base}/editor/composites/realm")).await),
        ["commenter", "viewer"]
    );
    assert_eq!(
        names(&api.get(&format!("{base}/editor/composites/clients/{svc}")).await),
        ["export"]
    );

    // Refusals change nothing.
    api.expect(
        Method::POST,
        &format!("{base}/editor/composites"),
        Some(json!([{ "name": "nope" }])),
        404,
    )
    .await;
    api.expect(
        Method::POST,
        &format!("{base}/editor/composites"),
        Some(json!([{ "name": "editor" }])),
        400,
    )
    .await;
    api.expect(
        Method::POST,
        &format!("{base}/editor/composites"),
        Some(json!([{ "id": viewer["id"], "name": "commenter" }])),
        400,
    )
    .await;
    api.expect(
        Method::POST,
        &format!("{base}/editor/composites"),
        Some(json!({ "name": "viewer" })),
        400,
    )
    .await;
    assert_eq!(
        names(&api.get(&format!("{base}/editor/composites")).await),
        ["commenter", "export", "viewer"]
    );

    // A user holding the composite holds its parts, in the token too.
    let user = api
        .create(
            "/admin/realms/comp/users",
            json!({ "username": "frank", "credentials": [{ "value": "frank-pass" }] }),
        )
        .await;
    api.expect(
        Method::POST,
        &format!("/admin/realms/comp/users/{user}/role-mappings/realm"),
        Some(json!([{ "name": "editor" }])),
        204,
    )
    .await;
    let effective = names(
        &api.get(&format!(
            "/admin/realms/comp/users/{user}/role-mappings/realm/composite"
        ))
        .await,
    );
    assert!(
        effective.contains(&"viewer".to_owned()) && effective.contains(&"commenter".to_owned()),
        "{effective:?}"
    );
    let (status, body) = login(&app, "comp", "frank", "frank-pass").await;
    assert_eq!(status, 200);
    let claims = claims_of(&body);
    assert!(
        claims["realm_access"]["roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("viewer")),
        "{claims}"
    );
    assert_eq!(claims["resource_access"]["docs"]["roles"], json!(["export"]));

    api.expect(
        Method::DELETE,
        &format!("{base}/editor/composites"),
        Some(json!([viewer])),
        204,
    )
    .await;
    assert_eq!(
        names(&api.get(&format!("{base}/editor/composites")).await),
        ["commenter", "export"]
    );
    let (_, body) = login(&app, "comp", "frank", "frank-pass").await;
    assert!(!claims_of(&body)["realm_access"]["roles"]
        .as_array()
        .expect("roles")
        .contains(&json!("viewer")));
    let role_id = api.get(&format!("{base}/editor")).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        names(
            &api.get(&format!("/admin/realms/comp/roles-by-id/{role_id}/composites"))
                .await
        ),
        ["commenter", "export"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_form_a_tree_and_confer_their_roles() {
    let app = spawn_app().await;
    app.create_realm("org").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/org/groups";
    let team = api
        .create(base, json!({ "name": "team", "attributes": { "floor": "3" } }))
        .await;
    let body = api
        .expect(Method::POST, base, Some(json!({ "name": "team" })), 409)
        .await;
    assert_eq!(body["errorMessage"], "Top level group named 'team' already exists.");
    for bad in [
        json!({}),
        json!({ "name": "" }),
        json!({ "name": "a/b" }),
        json!({ "name": ["x"] }),
    ] {
        api.expect(Method::POST, base, Some(bad), 400).await;
    }

    let resp = api
        .raw(
            Method::POST,
            &format!("{base}/{team}/children"),
            Some(json!({ "name": "dev" })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    let dev = location.rsplit('/').next().expect("id").to_owned();
    assert!(
        location.ends_with(&format!("/admin/realms/org/groups/{dev}")),
        "{location}"
    );
    let body = api
        .expect(
            Method::POST,
            &format!("{base}/{team}/children"),
            Some(json!({ "name": "dev" })),
            409,
        )
        .await;
    assert_eq!(body["errorMessage"], "Sibling group named 'dev' already exists.");
    api.create(base, json!({ "name": "dev" })).await; // a top-level "dev" is a different group

    let group = api.get(&format!("{base}/{team}")).await;
    assert_eq!(group["name"], "team");
    assert_eq!(group["path"], "/team");
    assert_eq!(group["subGroupCount"], 1);
    assert_eq!(group["attributes"], json!({ "floor": ["3"] }));
    let child = api.get(&format!("{base}/{dev}")).await;
    assert_eq!(child["path"], "/team/dev");
    assert_eq!(child["parentId"], team.as_str());
    assert_eq!(
        api.get("/admin/realms/org/group-by-path/team/dev").await["id"],
        dev.as_str()
    );
    assert_eq!(names(&api.get(&format!("{base}/{team}/children")).await), ["dev"]);
    assert_eq!(names(&api.get(base).await), ["dev", "team"], "top level only");
    assert_eq!(api.get(&format!("{base}/count")).await, json!({ "count": 3 }));
    assert_eq!(api.get(&format!("{base}/count?top=true")).await, json!({ "count": 2 }));
    let found = api.get(&format!("{base}?search=dev")).await;
    assert_eq!(
        names(&found),
        ["dev", "team"],
        "search keeps the branches that match: {found}"
    );
    assert_eq!(names(&found[1]["subGroups"]), ["dev"]);

    // Rename; a sibling's name is taken.
    api.expect(
        Method::PUT,
        &format!("{base}/{team}"),
        Some(json!({ "name": "squad" })),
        204,
    )
    .await;
    assert_eq!(api.get(&format!("{base}/{dev}")).await["path"], "/squad/dev");
    api.expect(
        Method::PUT,
        &format!("{base}/{team}"),
        Some(json!({ "name": "dev" })),
        409,
    )
    .await;
    assert_eq!(
        api.get(&format!("{base}/{team}")).await["attributes"],
        json!({ "floor": ["3"] }),
        "partial update"
    );

    // Roles of a parent group reach members of its subgroups.
    api.create("/admin/realms/org/roles", json!({ "name": "staff" })).await;
    let staff = api.get("/admin/realms/org/roles/staff").await;
    api.expect(
        Method::POST,
        &format!("{base}/{team}/role-mappings/realm"),
        Some(json!([staff])),
        204,
    )
    .await;
    api.expect(
        Method::POST,
        &format!("{base}/{team}/role-mappings/realm"),
        Some(json!([{ "name": "nope" }])),
        404,
    )
    .await;
    assert_eq!(
        names(&api.get(&format!("{base}/{team}/role-mappings/realm")).await),
        ["staff"]
    );
    assert_eq!(api.get(&format!("{base}/{team}")).await["realmRoles"], json!(["staff"]));
    assert_eq!(
        names(&api.get(&format!("{base}/{dev}/role-mappings/realm/composite")).await),
        ["staff"]
    );
    assert_eq!(
        names(&api.get(&format!("{base}/{team}/role-mappings")).await["realmMappings"]),
        ["staff"]
    );
    let user = api
        .create(
            "/admin/realms/org/users",
            json!({ "username": "gina", "credentials": [{ "value": "gina-pass" }] }),
        )
        .await;
    api.expect(
        Method::PUT,
        &format!("/admin/realms/org/users/{user}/groups/{dev}"),
        None,
        204,
    )
    .await;
    assert_eq!(names(&api.get(&format!("{base}/{dev}/members")).await), ["gina"]);
    let (_, body) = login(&app, "org", "gina", "gina-pass").await;
    assert!(claims_of(&body)["realm_access"]["roles"]
        .as_array()
        .expect("roles")
        .contains(&json!("staff")));
    api.expect(
        Method::DELETE,
        &format!("{base}/{team}/role-mappings/realm"),
        Some(json!([staff])),
        204,
    )
    .await;
    let (_, body) = login(&app, "org", "gina", "gina-pass").await;
    assert!(!claims_of(&body)["realm_access"]["roles"]
        .as_array()
        .expect("roles")
        .contains(&json!("staff")));

    // Deleting a group deletes its subgroups and memberships.
    api.expect(Method::DELETE, &format!("{base}/{team}"), None, 204).await;
    api.expect(Method::GET, &format!("{base}/{team}"), None, 404).await;
    let body = api.expect(Method::GET, &format!("{base}/{dev}"), None, 404).await;
    assert_eq!(body["error"], "Could not find group by id");
    assert_eq!(
        api.get(&format!("/admin/realms/org/users/{user}/groups")).await,
        json!([])
    );
    assert_eq!(api.get(&format!("{base}/count")).await, json!({ "count": 1 }));
    api.expect(Method::DELETE, &format!("{base}/{team}"), None, 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_move_by_id_without_cycles() {
    let app = spawn_app().await;
    app.create_realm("moves").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/moves/groups";
    let a = api.create(base, json!({ "name": "a" })).await;
    let b = api
        .create(&format!("{base}/{a}/children"), json!({ "name": "b" }))
        .await;
    // Moving a below its own child is refused.
    api.expect(
        Method::POST,
        &format!("{base}/{b}/children"),
        Some(json!({ "id": a, "name": "a" })),
        400,
    )
    .await;
    assert!(api.get(&format!("{base}/{a}")).await["parentId"].is_null());
    // Moving b to the top level.
    api.expect(Method::POST, base, Some(json!({ "id": b, "name": "b" })), 204)
        .await;
    assert_eq!(api.get(&format!("{base}/{b}")).await["path"], "/b");
    assert_eq!(api.get(&format!("{base}/{a}")).await["subGroupCount"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_scopes_and_the_realms_defaults() {
    let app = spawn_app().await;
    app.create_realm("scopes").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/scopes/client-scopes";
    let id = api
        .create(
            base,
            json!({ "name": "read:users", "description": "Read users", "protocol": "openid-connect",
                    "attributes": { "include.in.token.scope": true, "display.on.consent.screen": "true" } }),
        )
        .await;
    let scope = api.get(&format!("{base}/{id}")).await;
    assert_eq!(scope["name"], "read:users");
    assert_eq!(scope["protocol"], "openid-connect");
    assert_eq!(scope["attributes"]["include.in.token.scope"], "true");
    assert!(names(&api.get(base).await).contains(&"read:users".to_owned()));

    let body = api
        .expect(Method::POST, base, Some(json!({ "name": "read:users" })), 409)
        .await;
    assert_eq!(body["errorMessage"], "Client Scope read:users already exists");
    for bad in [
        json!({}),
        json!({ "name": "has space" }),
        json!({ "name": "quote\"d" }),
        json!({ "name": "x", "protocol": "saml" }),
        json!({ "name": "x", "attributes": { "a": ["list"] } }),
        json!({ "name": 3 }),
    ] {
        api.expect(Method::POST, base, Some(bad), 400).await;
    }
    api.expect(
        Method::GET,
        &format!("{base}/00000000-0000-0000-0000-000000000000"),
        None,
        404,
    )
    .await;

    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "description": "Reads users" })),
        204,
    )
    .await;
    let scope = api.get(&format!("{base}/{id}")).await;
    assert_eq!(
        (scope["description"].as_str(), scope["name"].as_str()),
        (Some("Reads users"), Some("read:users"))
    );
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "name": "profile" })),
        409,
    )
    .await;
    api.expect(
        Method::PUT,
        &format!("{base}/{id}"),
        Some(json!({ "name": "bad name" })),
        400,
    )
    .await;

    // Realm defaults for new clients.
    let defaults = "/admin/realms/scopes/default-default-client-scopes";
    let optional = "/admin/realms/scopes/default-optional-client-scopes";
    assert!(names(&api.get(defaults).await).contains(&"profile".to_owned()));
    assert_eq!(names(&api.get(optional).await), ["offline_access"]);
    api.expect(Method::PUT, &format!("{optional}/{id}"), None, 204).await;
    assert_eq!(names(&api.get(optional).await), ["offline_access", "read:users"]);
    api.expect(
        Method::PUT,
        &format!("{defaults}/00000000-0000-0000-0000-000000000000"),
        None,
        404,
    )
    .await;

    // A new client gets it as an optional scope, and a token asking for it carries it.
    let (client, secret) = app.create_service_client("scopes", "reporter").await;
    let linked = api
        .get(&format!("/admin/realms/scopes/clients/{client}/optional-client-scopes"))
        .await;
    assert!(names(&linked).contains(&"read:users".to_owned()), "{linked}");
    let resp = app
        .http
        .post(app.token_url("scopes"))
        .basic_auth("reporter", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read:users")])
        .send()
        .await
        .expect("token");
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["scope"]
            .as_str()
            .expect("scope")
            .split(' ')
            .any(|s| s == "read:users"),
        "{body}"
    );

    // Moving it to the defaults takes it off the optional list; DELETE takes it off the defaults.
    api.expect(Method::PUT, &format!("{defaults}/{id}"), None, 204).await;
    assert!(names(&api.get(defaults).await).contains(&"read:users".to_owned()));
    assert_eq!(names(&api.get(optional).await), ["offline_access"]);
    api.expect(Method::DELETE, &format!("{defaults}/{id}"), None, 204).await;
    assert!(!names(&api.get(defaults).await).contains(&"read:users".to_owned()));

    // Deleting the scope unlinks it from clients.
    api.expect(Method::DELETE, &format!("{base}/{id}"), None, 204).await;
    api.expect(Method::GET, &format!("{base}/{id}"), None, 404).await;
    let linked = api
        .get(&format!("/admin/realms/scopes/clients/{client}/optional-client-scopes"))
        .await;
    assert!(!names(&linked).contains(&"read:users".to_owned()));
    let resp = app
        .http
        .post(app.token_url("scopes"))
        .basic_auth("reporter", Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read:users")])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400, "the deleted scope is no longer grantable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_groups_and_scopes_need_the_right_admin_role() {
    let app = spawn_app().await;
    app.create_realm("perm").await;
    let api = Api::master(&app).await;
    let base = "/admin/realms/perm";
    let user = api
        .create(
            &format!("{base}/users"),
            json!({ "username": "viewer", "credentials": [{ "value": "viewer-pass" }] }),
        )
        .await;
    let management = client_uuid(&api, "perm", "realm-management").await;
    api.expect(
        Method::POST,
        &format!("{base}/users/{user}/role-mappings/clients/{management}"),
        Some(json!([{ "name": "view-realm" }, { "name": "view-users" }])),
        204,
    )
    .await;
    let (_, body) = login(&app, "perm", "viewer", "viewer-pass").await;
    let viewer = Api::with_token(&app, body["access_token"].as_str().expect("token").to_owned());
    viewer.get(&format!("{base}/roles")).await;
    viewer.get(&format!("{base}/groups")).await;
    viewer.get(&format!("{base}/client-scopes")).await;
    viewer
        .expect(
            Method::POST,
            &format!("{base}/roles"),
            Some(json!({ "name": "x" })),
            403,
        )
        .await;
    viewer
        .expect(
            Method::POST,
            &format!("{base}/groups"),
            Some(json!({ "name": "x" })),
            403,
        )
        .await;
    viewer
        .expect(
            Method::POST,
            &format!("{base}/client-scopes"),
            Some(json!({ "name": "x" })),
            403,
        )
        .await;
    viewer
        .expect(Method::GET, &format!("{base}/clients/{management}/roles"), None, 403)
        .await;
    let id = api.get(&format!("{base}/clients/{management}/roles/realm-admin")).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    viewer
        .expect(Method::GET, &format!("{base}/roles-by-id/{id}"), None, 403)
        .await;
    viewer
        .expect(Method::GET, "/admin/realms/master/roles", None, 403)
        .await;
    let resp = app
        .http
        .get(app.url(&format!("{base}/roles")))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
}

/// PostgreSQL cannot store NUL in text: a NUL anywhere (path, query, body) must be a 4xx on both
/// stacks, never a 500 from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_anywhere_are_4xx_never_500() {
    let app = spawn_app().await;
    app.create_realm("nul").await;
    let api = Api::master(&app).await;
    let r = "/admin/realms/nul";
    let user = api.create(&format!("{r}/users"), json!({ "username": "nina" })).await;
    let group = api.create(&format!("{r}/groups"), json!({ "name": "g" })).await;
    let scope = api.create(&format!("{r}/client-scopes"), json!({ "name": "s" })).await;
    api.create(&format!("{r}/roles"), json!({ "name": "role" })).await;
    let account = client_uuid(&api, "nul", "account").await;
    let nul = "a%00b";
    let requests: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{r}/users/{nul}"), None),
        (Method::GET, format!("{r}/users?search={nul}"), None),
        (Method::GET, format!("{r}/users?username={nul}&exact=true"), None),
        (Method::GET, format!("{r}/users/count?email={nul}"), None),
        (Method::GET, format!("{r}/users/{nul}/role-mappings"), None),
        (Method::PUT, format!("{r}/users/{user}/groups/{nul}"), None),
        (
            Method::GET,
            format!("{r}/users/{user}/role-mappings/clients/{nul}"),
            None,
        ),
        (
            Method::POST,
            format!("{r}/users/{user}/role-mappings/realm"),
            Some(json!([{ "name": "a\u{0}b" }])),
        ),
        (
            Method::POST,
            format!("{r}/users/{user}/role-mappings/realm"),
            Some(json!([{ "id": "a\u{0}b" }])),
        ),
        (
            Method::POST,
            format!("{r}/users/{user}/role-mappings/clients/{account}"),
            Some(json!([{ "name": "a\u{0}b" }])),
        ),
        (
            Method::POST,
            format!("{r}/users"),
            Some(json!({ "username": "a\u{0}b" })),
        ),
        (
            Method::POST,
            format!("{r}/users"),
            Some(json!({ "username": "ok1", "email": "a\u{0}@b.c" })),
        ),
        (
            Method::POST,
            format!("{r}/users"),
            Some(json!({ "username": "ok2", "firstName": "a\u{0}" })),
        ),
        (
            Method::POST,
            format!("{r}/users"),
            Some(json!({ "username": "ok3", "realmRoles": ["a\u{0}"] })),
        ),
        (
            Method::POST,
            format!("{r}/users"),
            Some(json!({ "username": "ok4", "groups": ["/a\u{0}"] })),
        ),
        (Method::GET, format!("{r}/roles/{nul}"), None),
        (Method::GET, format!("{r}/roles?search={nul}"), None),
        (Method::GET, format!("{r}/roles-by-id/{nul}"), None),
        (Method::POST, format!("{r}/roles"), Some(json!({ "name": "a\u{0}b" }))),
        (
            Method::POST,
            format!("{r}/roles"),
            Some(json!({ "name": "fine", "description": "a\u{0}b" })),
        ),
        (
            Method::PUT,
            format!("{r}/roles/role"),
            Some(json!({ "description": "a\u{0}b" })),
        ),
        (
            Method::POST,
            format!("{r}/roles/role/composites"),
            Some(json!([{ "name": "x", "clientRole": true, "containerId": "a\u{0}" }])),
        ),
        (Method::GET, format!("{r}/clients/{nul}/roles"), None),
        (Method::GET, format!("{r}/groups/{nul}"), None),
        (Method::GET, format!("{r}/groups/{nul}/members"), None),
        (
            Method::POST,
            format!("{r}/groups/{group}/role-mappings/realm"),
            Some(json!([{ "name": "a\u{0}" }])),
        ),
        (Method::POST, format!("{r}/groups"), Some(json!({ "name": "a\u{0}b" }))),
        (Method::GET, format!("{r}/client-scopes/{nul}"), None),
        (
            Method::POST,
            format!("{r}/client-scopes"),
            Some(json!({ "name": "a\u{0}b" })),
        ),
        (
            Method::PUT,
            format!("{r}/client-scopes/{scope}"),
            Some(json!({ "description": "a\u{0}b" })),
        ),
        (Method::PUT, format!("{r}/default-default-client-scopes/{nul}"), None),
    ];
    for (method, path, body) in requests {
        let (status, resp) = api.call(method.clone(), &path, body.clone()).await;
        assert!(
            (400..500).contains(&status),
            "{method} {path} {body:?} → {status} {resp}"
        );
    }
    assert_eq!(
        api.get(&format!("{r}/users/count")).await,
        json!(1),
        "nothing was created"
    );
}
