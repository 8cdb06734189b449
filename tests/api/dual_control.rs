//! Dual control (issue 5, seed 003, ADR 016): with the realm setting `dualControl`, a new service
//! account and a new API key of a service account wait until an administrator other than the one
//! who asked approves them; rejecting removes what was created. Through the admin REST API and
//! the console.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin_console::{form, grant_management_role, open, see_other, sign_in};
use crate::authorization_code::Browser as HttpBrowser;
use crate::helpers::{spawn_app, TestApp};
use crate::isolation::{create_user, grant_realm_admin};

const PASSWORD: &str = "dual-control-password-1";
const PENDING_HEADER: &str = "nexus-pending-approval";

/// A realm with dual control on.
async fn dual_realm(app: &TestApp, name: &str) {
    app.create_realm(name).await;
    app.update_realm(name, json!({ "dualControl": true })).await;
}

/// A user with `realm-admin` in `realm`; (id, access token).
async fn realm_admin(app: &TestApp, realm: &str, username: &str) -> (String, String) {
    let id = create_user(app, realm, username, PASSWORD, true).await;
    grant_realm_admin(app, realm, &id).await;
    let token = app.password_token(realm, "admin-cli", username, PASSWORD).await;
    (id, token)
}

fn secret_of(client_id: &str) -> String {
    format!("{client_id}-secret-0123456789abcdefghijklmnop")
}

/// Creates a confidential client with a service account as `token`'s admin; (internal id, the
/// pending request named by the answer, if any).
async fn create_service_client(app: &TestApp, token: &str, realm: &str, client_id: &str) -> (String, Option<String>) {
    let resp = app
        .admin_as(
            token,
            Method::POST,
            &format!("/admin/realms/{realm}/clients"),
            Some(json!({ "clientId": client_id, "secret": secret_of(client_id), "serviceAccountsEnabled": true })),
        )
        .await;
    assert_eq!(resp.status(), 201, "create client {client_id}");
    let pending = resp
        .headers()
        .get(PENDING_HEADER)
        .map(|v| v.to_str().expect("ascii").to_owned());
    (crate::helpers::location_id(&resp), pending)
}

async fn client_credentials(app: &TestApp, realm: &str, client_id: &str) -> (u16, Value) {
    let resp = app.client_credentials(realm, client_id, &secret_of(client_id)).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

/// Asserts the RFC 6749 refusal of a service account awaiting approval.
async fn assert_awaits_approval(app: &TestApp, realm: &str, client_id: &str) {
    let (status, body) = client_credentials(app, realm, client_id).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("approval"),
        "{body}"
    );
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let resp = app.admin_as(token, method, path, body).await;
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts an RFC 7807 problem of `status` whose type ends with `kind`.
async fn assert_problem(resp: reqwest::Response, status: u16, kind: &str) {
    assert_eq!(resp.status().as_u16(), status);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["type"].as_str().unwrap_or_default().ends_with(&format!("/{kind}")),
        "{body}"
    );
}

fn approvals(realm: &str) -> String {
    format!("/admin/realms/{realm}/pending-approvals")
}

async fn decide(app: &TestApp, token: &str, realm: &str, id: &str, verb: &str) -> reqwest::Response {
    app.admin_as(token, Method::POST, &format!("{}/{id}/{verb}", approvals(realm)), None)
        .await
}

/// The service-account user of a client.
async fn service_account_id(app: &TestApp, realm: &str, client: &str) -> String {
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/{realm}/clients/{client}/service-account-user"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let user: Value = resp.json().await.expect("json");
    user["id"].as_str().expect("id").to_owned()
}

/// Creates an API key for `user` through the admin API as `token`'s admin; the created key.
async fn admin_key(app: &TestApp, token: &str, realm: &str, user: &str) -> Value {
    let (status, key) = send(
        app,
        token,
        Method::POST,
        &format!("/admin/realms/{realm}/users/{user}/api-keys"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    key
}

async fn key_for_token(app: &TestApp, realm: &str, key: &Value) -> u16 {
    app.http
        .post(app.url(&format!("/realms/{realm}/api/v1/oauth/tokens")))
        .json(&json!({ "apiKey": key["id"], "apiSecret": key["secret"] }))
        .send()
        .await
        .expect("key for token")
        .status()
        .as_u16()
}

/// The key presented as a pre-shared key to the owner's API-key API.
async fn as_psk(app: &TestApp, realm: &str, key: &Value) -> u16 {
    app.http
        .get(app.url(&format!("/realms/{realm}/api/v1/api-keys")))
        .header("Authorization-PSK", key["secret"].as_str().expect("secret"))
        .send()
        .await
        .expect("psk request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn dual_control_off_service_accounts_and_keys_work_at_once() {
    let app = spawn_app().await;
    app.create_realm("plain").await;
    let realm: Value = app
        .admin(Method::GET, "/admin/realms/plain", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["dualControl"], false, "off by default");
    let (alice, token) = realm_admin(&app, "plain", "alice").await;

    let (client, pending) = create_service_client(&app, &token, "plain", "worker").await;
    assert_eq!(pending, None);
    assert_eq!(client_credentials(&app, "plain", "worker").await.0, 200);
    let (_, repr) = send(
        &app,
        &token,
        Method::GET,
        &format!("/admin/realms/plain/clients/{client}"),
        None,
    )
    .await;
    assert!(repr.get("serviceAccountPendingApproval").is_none(), "{repr}");

    let account = service_account_id(&app, "plain", &client).await;
    let key = admin_key(&app, &token, "plain", &account).await;
    assert_eq!(key["pendingApproval"], false, "{key}");
    assert_eq!(key["pendingApprovalId"], Value::Null);
    assert_eq!(key_for_token(&app, "plain", &key).await, 200);
    assert_eq!(as_psk(&app, "plain", &key).await, 200);

    let (status, list) = send(&app, &token, Method::GET, &approvals("plain"), None).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([]));
    let _ = alice;
}

#[tokio::test]
async fn dual_control_service_account_waits_for_a_second_admin() {
    let app = spawn_app().await;
    dual_realm(&app, "dc").await;
    let realm: Value = app
        .admin(Method::GET, "/admin/realms/dc", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["dualControl"], true);
    let (alice, alice_token) = realm_admin(&app, "dc", "alice").await;
    let (_, bob_token) = realm_admin(&app, "dc", "bob").await;

    // Created, secret usable by its holder later, but no token yet.
    let (client, pending) = create_service_client(&app, &alice_token, "dc", "worker").await;
    let request = pending.expect("the answer names the pending request");
    assert_awaits_approval(&app, "dc", "worker").await;
    let (_, repr) = send(
        &app,
        &alice_token,
        Method::GET,
        &format!("/admin/realms/dc/clients/{client}"),
        None,
    )
    .await;
    assert_eq!(repr["serviceAccountPendingApproval"], true, "{repr}");
    assert_eq!(repr["pendingApprovalId"], request.as_str());
    assert_eq!(repr["serviceAccountsEnabled"], true);

    // The requester sees it, may withdraw but not approve.
    let (status, list) = send(&app, &alice_token, Method::GET, &approvals("dc"), None).await;
    assert_eq!(status, 200);
    let listed = list.as_array().expect("list");
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["id"], request.as_str());
    assert_eq!(listed[0]["kind"], "service-account");
    assert_eq!(listed[0]["client"]["id"], client.as_str());
    assert_eq!(listed[0]["client"]["clientId"], "worker");
    assert_eq!(listed[0]["requestedBy"]["id"], alice.as_str());
    assert_eq!(listed[0]["requestedBy"]["username"], "alice");
    assert_eq!(listed[0]["access"], json!({ "approve": false, "reject": true }));
    assert!(listed[0]["summary"].as_str().unwrap_or_default().contains("worker"));

    assert_problem(
        decide(&app, &alice_token, "dc", &request, "approve").await,
        403,
        "own-request",
    )
    .await;
    assert_awaits_approval(&app, "dc", "worker").await;

    // A second admin approves: the token is issued at once (the cache was invalidated).
    let (status, one) = send(
        &app,
        &bob_token,
        Method::GET,
        &format!("{}/{request}", approvals("dc")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["access"], json!({ "approve": true, "reject": true }));
    let resp = decide(&app, &bob_token, "dc", &request, "approve").await;
    assert_eq!(resp.status(), 204);
    let (status, body) = client_credentials(&app, "dc", "worker").await;
    assert_eq!(status, 200, "{body}");
    let (_, repr) = send(
        &app,
        &bob_token,
        Method::GET,
        &format!("/admin/realms/dc/clients/{client}"),
        None,
    )
    .await;
    assert!(repr.get("serviceAccountPendingApproval").is_none(), "{repr}");

    // Decided requests are gone.
    let (_, list) = send(&app, &bob_token, Method::GET, &approvals("dc"), None).await;
    assert_eq!(list, json!([]));
    assert_problem(
        decide(&app, &bob_token, "dc", &request, "approve").await,
        404,
        "not-found",
    )
    .await;

    // Turning the service account on for an existing client waits as well.
    let resp = app
        .admin_as(
            &alice_token,
            Method::POST,
            "/admin/realms/dc/clients",
            Some(json!({ "clientId": "later", "secret": secret_of("later") })),
        )
        .await;
    assert_eq!(resp.status(), 201);
    assert!(resp.headers().get(PENDING_HEADER).is_none());
    let later = crate::helpers::location_id(&resp);
    let resp = app
        .admin_as(
            &alice_token,
            Method::PUT,
            &format!("/admin/realms/dc/clients/{later}"),
            Some(json!({ "serviceAccountsEnabled": true })),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let request = resp
        .headers()
        .get(PENDING_HEADER)
        .expect("pending header")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_awaits_approval(&app, "dc", "later").await;
    assert_eq!(decide(&app, &bob_token, "dc", &request, "approve").await.status(), 204);
    assert_eq!(client_credentials(&app, "dc", "later").await.0, 200);
}

#[tokio::test]
async fn dual_control_rejection_removes_what_was_created() {
    let app = spawn_app().await;
    dual_realm(&app, "dc").await;
    let (_, alice_token) = realm_admin(&app, "dc", "alice").await;
    let (_, bob_token) = realm_admin(&app, "dc", "bob").await;

    // A new client: rejected, it is gone with its service-account user.
    let (client, pending) = create_service_client(&app, &alice_token, "dc", "doomed").await;
    let account = service_account_id(&app, "dc", &client).await;
    assert_eq!(
        decide(&app, &bob_token, "dc", &pending.expect("pending"), "reject")
            .await
            .status(),
        204
    );
    let (status, _) = send(
        &app,
        &bob_token,
        Method::GET,
        &format!("/admin/realms/dc/clients/{client}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        &bob_token,
        Method::GET,
        &format!("/admin/realms/dc/users/{account}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(client_credentials(&app, "dc", "doomed").await.0, 401);

    // An existing client: withdrawn by its requester, the service account is off again.
    let resp = app
        .admin_as(
            &alice_token,
            Method::POST,
            "/admin/realms/dc/clients",
            Some(json!({ "clientId": "kept", "secret": secret_of("kept") })),
        )
        .await;
    let kept = crate::helpers::location_id(&resp);
    let resp = app
        .admin_as(
            &alice_token,
            Method::PUT,
            &format!("/admin/realms/dc/clients/{kept}"),
            Some(json!({ "serviceAccountsEnabled": true })),
        )
        .await;
    let request = resp
        .headers()
        .get(PENDING_HEADER)
        .expect("pending")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(decide(&app, &alice_token, "dc", &request, "reject").await.status(), 204);
    let (status, repr) = send(
        &app,
        &bob_token,
        Method::GET,
        &format!("/admin/realms/dc/clients/{kept}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(repr["serviceAccountsEnabled"], false, "{repr}");
    assert!(repr.get("serviceAccountPendingApproval").is_none());
    let (status, body) = client_credentials(&app, "dc", "kept").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unauthorized_client")));

    // A pending key: rejected, it is deleted.
    let (worker, pending) = create_service_client(&app, &alice_token, "dc", "worker").await;
    assert_eq!(
        decide(&app, &bob_token, "dc", &pending.expect("pending"), "approve")
            .await
            .status(),
        204
    );
    let account = service_account_id(&app, "dc", &worker).await;
    let key = admin_key(&app, &alice_token, "dc", &account).await;
    let request = key["pendingApprovalId"].as_str().expect("pending id").to_owned();
    assert_eq!(decide(&app, &bob_token, "dc", &request, "reject").await.status(), 204);
    let (status, _) = send(
        &app,
        &bob_token,
        Method::GET,
        &format!(
            "/admin/realms/dc/users/{account}/api-keys/{}",
            key["id"].as_str().expect("id")
        ),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(key_for_token(&app, "dc", &key).await, 401);
    let (_, list) = send(&app, &bob_token, Method::GET, &approvals("dc"), None).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn dual_control_api_key_of_a_service_account_waits_for_a_second_admin() {
    let app = spawn_app().await;
    dual_realm(&app, "dc").await;
    let (alice, alice_token) = realm_admin(&app, "dc", "alice").await;
    let (_, bob_token) = realm_admin(&app, "dc", "bob").await;
    let (worker, pending) = create_service_client(&app, &alice_token, "dc", "worker").await;
    let sa_request = pending.expect("pending");
    let account = service_account_id(&app, "dc", &worker).await;

    // A key of a service account that itself still waits cannot be approved first.
    let early = admin_key(&app, &alice_token, "dc", &account).await;
    assert_problem(
        decide(
            &app,
            &bob_token,
            "dc",
            early["pendingApprovalId"].as_str().expect("id"),
            "approve",
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        decide(&app, &bob_token, "dc", &sa_request, "approve").await.status(),
        204
    );

    // The key is created (its secret shown once) but refused until approved.
    let key = admin_key(&app, &alice_token, "dc", &account).await;
    assert_eq!(key["pendingApproval"], true, "{key}");
    assert!(key["secret"].is_string());
    let request = key["pendingApprovalId"].as_str().expect("pending id").to_owned();
    assert_eq!(key_for_token(&app, "dc", &key).await, 401);
    assert_eq!(as_psk(&app, "dc", &key).await, 401);
    let (status, list) = send(&app, &bob_token, Method::GET, &approvals("dc"), None).await;
    assert_eq!(status, 200);
    let listed: Vec<&Value> = list
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["id"] == request.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["kind"], "service-account-api-key");
    assert_eq!(listed[0]["apiKey"]["id"], key["id"]);
    assert_eq!(listed[0]["apiKey"]["userId"], account.as_str());
    assert_eq!(listed[0]["requestedBy"]["id"], alice.as_str());

    // The refusal is recorded with its own reason.
    let mut reasons = Vec::new();
    for _ in 0..50 {
        let (_, events) = send(
            &app,
            &bob_token,
            Method::GET,
            "/admin/realms/dc/events?type=API_KEY_REFUSED",
            None,
        )
        .await;
        reasons = events
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e["error"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if reasons.iter().any(|r| r == "pending_approval") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reasons.iter().any(|r| r == "pending_approval"), "{reasons:?}");

    assert_problem(
        decide(&app, &alice_token, "dc", &request, "approve").await,
        403,
        "own-request",
    )
    .await;
    assert_eq!(key_for_token(&app, "dc", &key).await, 401);
    assert_eq!(decide(&app, &bob_token, "dc", &request, "approve").await.status(), 204);
    assert_eq!(key_for_token(&app, "dc", &key).await, 200);
    assert_eq!(as_psk(&app, "dc", &key).await, 200);

    // The service account asking for its own key (owner API) waits too; any admin may approve.
    let (_, body) = client_credentials(&app, "dc", "worker").await;
    let sa_token = body["access_token"].as_str().expect("token").to_owned();
    let resp = app
        .http
        .post(app.url("/realms/dc/api/v1/api-keys"))
        .bearer_auth(&sa_token)
        .json(&json!({}))
        .send()
        .await
        .expect("own key");
    assert_eq!(resp.status(), 201);
    let own: Value = resp.json().await.expect("json");
    assert_eq!(own["pendingApproval"], true, "{own}");
    assert_eq!(key_for_token(&app, "dc", &own).await, 401);
    let request = own["pendingApprovalId"].as_str().expect("id").to_owned();
    assert_eq!(
        decide(&app, &alice_token, "dc", &request, "approve").await.status(),
        204
    );
    assert_eq!(key_for_token(&app, "dc", &own).await, 200);

    // A key of a person is not a service account's: no approval needed.
    let carol = create_user(&app, "dc", "carol", PASSWORD, true).await;
    let key = admin_key(&app, &alice_token, "dc", &carol).await;
    assert_eq!(key["pendingApproval"], false, "{key}");
    assert_eq!(key_for_token(&app, "dc", &key).await, 200);
}

#[tokio::test]
async fn dual_control_viewers_other_realms_and_bad_ids_cannot_decide() {
    let app = spawn_app().await;
    dual_realm(&app, "alpha").await;
    dual_realm(&app, "beta").await;
    let (_, alpha_admin) = realm_admin(&app, "alpha", "alice").await;
    let (_, beta_admin) = realm_admin(&app, "beta", "bob").await;
    let viewer = create_user(&app, "alpha", "viewer", PASSWORD, true).await;
    grant_management_role(&app, "alpha", &viewer, "view-clients").await;
    grant_management_role(&app, "alpha", &viewer, "view-users").await;
    let viewer_token = app.password_token("alpha", "admin-cli", "viewer", PASSWORD).await;

    let (_, pending) = create_service_client(&app, &alpha_admin, "alpha", "worker").await;
    let alpha_request = pending.expect("pending");
    let (_, pending) = create_service_client(&app, &beta_admin, "beta", "worker").await;
    let beta_request = pending.expect("pending");

    // A viewer sees the request but may not decide it (the admin API's 403).
    let (status, list) = send(&app, &viewer_token, Method::GET, &approvals("alpha"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        list[0]["access"],
        json!({ "approve": false, "reject": false }),
        "{list}"
    );
    for verb in ["approve", "reject"] {
        let (status, body) = send(
            &app,
            &viewer_token,
            Method::POST,
            &format!("{}/{alpha_request}/{verb}", approvals("alpha")),
            None,
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body, json!({ "error": "HTTP 403 Forbidden" }));
    }
    assert_awaits_approval(&app, "alpha", "worker").await;

    // A realm's admin decides nothing in another realm, and another realm's id is unknown here.
    let (status, _) = send(&app, &alpha_admin, Method::GET, &approvals("beta"), None).await;
    assert_eq!(status, 403);
    let (status, _) = send(
        &app,
        &alpha_admin,
        Method::POST,
        &format!("{}/{beta_request}/approve", approvals("beta")),
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_problem(
        decide(&app, &alpha_admin, "alpha", &beta_request, "approve").await,
        404,
        "not-found",
    )
    .await;
    assert_awaits_approval(&app, "beta", "worker").await;

    // Bad ids: 404 problems; an unknown realm: the admin API's 404.
    for id in ["nope", "00000000-0000-0000-0000-000000000000", "%00"] {
        let resp = app
            .admin_as(&alpha_admin, Method::GET, &format!("{}/{id}", approvals("alpha")), None)
            .await;
        assert_problem(resp, 404, "not-found").await;
        assert_problem(
            decide(&app, &alpha_admin, "alpha", id, "reject").await,
            404,
            "not-found",
        )
        .await;
    }
    let resp = app.admin(Method::GET, &approvals("no-such-realm"), None).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("json");
    assert!(body["error"].is_string(), "{body}");

    // The master realm's admin decides anywhere (and is not the requester).
    let master = app.admin_token().await;
    assert_eq!(
        decide(&app, &master, "beta", &beta_request, "approve").await.status(),
        204
    );
    assert_eq!(client_credentials(&app, "beta", "worker").await.0, 200);
    let _ = beta_admin;
}

#[tokio::test]
async fn dual_control_setting_is_validated() {
    let app = spawn_app().await;
    app.create_realm("checked").await;
    for bad in [json!("yes"), json!(1), json!(["true"])] {
        let resp = app
            .admin(
                Method::PUT,
                "/admin/realms/checked",
                Some(json!({ "dualControl": bad })),
            )
            .await;
        assert_eq!(resp.status(), 400, "{bad}");
        let body: Value = resp.json().await.expect("json");
        assert!(
            body["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .contains("dualControl"),
            "{body}"
        );
    }
    app.update_realm("checked", json!({ "dualControl": "true" })).await;
    let realm: Value = app
        .admin(Method::GET, "/admin/realms/checked", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["dualControl"], true);
    app.update_realm("checked", json!({ "dualControl": false })).await;
    let realm: Value = app
        .admin(Method::GET, "/admin/realms/checked", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(realm["dualControl"], false);
}

#[tokio::test]
async fn dual_control_console_lists_requests_and_refuses_the_requesters_approval() {
    let app = spawn_app().await;
    dual_realm(&app, "dc").await;
    let (_, alice_token) = realm_admin(&app, "dc", "alice").await;
    realm_admin(&app, "dc", "bob").await;
    let (_, pending) = create_service_client(&app, &alice_token, "dc", "worker").await;
    let request = pending.expect("pending");
    let page_path = "/admin/dc/console/r/dc/approvals";

    // The requester sees their request without an approve button; a crafted approval is refused.
    let alice = HttpBrowser::new(&app);
    sign_in(&app, &alice, "dc", "alice", PASSWORD).await;
    let page = open(&app, &alice, page_path).await;
    assert!(
        page.body.contains(&format!("id=\"approval-{request}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"nav-approvals\""), "{}", page.body);
    assert!(
        !page.body.contains(&format!("id=\"approve-{request}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Awaiting another administrator"), "{}", page.body);
    let withdraw = form(&page.body, &format!("reject-{request}"));
    let csrf = withdraw
        .fields
        .iter()
        .find(|(n, _)| n == "csrf_token")
        .expect("csrf")
        .1
        .clone();
    let crafted = alice
        .post_form(
            &app.url(&format!("{page_path}/{request}/approve")),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(crafted.status, 403, "{}", crafted.body);
    assert_awaits_approval(&app, "dc", "worker").await;
    // Without the CSRF token nothing happens either.
    let forged = alice
        .post_form(&app.url(&format!("{page_path}/{request}/reject")), &[])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // A second admin approves from the console.
    let bob = HttpBrowser::new(&app);
    sign_in(&app, &bob, "dc", "bob", PASSWORD).await;
    let page = open(&app, &bob, page_path).await;
    let approve = form(&page.body, &format!("approve-{request}"));
    let fields: Vec<(&str, &str)> = approve.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let done = bob.post_form(&app.url(&approve.action), &fields).await;
    see_other(&done, &format!("{page_path}?notice=approved"));
    let page = open(&app, &bob, &format!("{page_path}?notice=approved")).await;
    assert!(page.body.contains("id=\"no-approvals\""), "{}", page.body);
    assert!(page.body.contains("id=\"console-notice\""), "{}", page.body);
    let (status, body) = client_credentials(&app, "dc", "worker").await;
    assert_eq!(status, 200, "{body}");
}
