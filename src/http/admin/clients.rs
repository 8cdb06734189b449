//! `/admin/realms/{realm}/clients`: clients, their secret, service-account user, scopes and roles.

use super::repr::{ClientScopeRepr, UserRepr};
use crate::http::openapi::schemas::ClientSecret;
use crate::http::openapi::{op, Api, Errors};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::repr::{client_json, string_attributes, user_json, ClientRepr};
use super::{admin_realm, created, invalidate, no_content, read_json, Paging};
use crate::crypto::client_keys;
use crate::crypto::secrets::generate_secret;
use crate::domain::approvals::dual_control;
use crate::domain::names::parse_client_id;
use crate::domain::{Client, ClientAuthenticator, Realm};
use crate::error::AppError;
use crate::service::authz::{AdminPermission, AdminPrincipal};
use crate::service::{approvals, clients as client_rules, provisioning};
use crate::state::AppState;
use crate::store::db::{self, DbConnection};

/// Shortest client secret an admin may set (generated ones are 43 characters, 256 bits).
pub const MIN_SECRET_LEN: usize = 32;

pub fn routes(api: &mut Api) {
    let scope_links = |kind: &'static str| {
        (
            op(format!("List the client's {kind} client scopes")).returns_list::<ClientScopeRepr>(),
            op(format!("Link a client scope to the client as {kind}")).no_content(),
            op(format!("Unlink a {kind} client scope from the client")).no_content(),
        )
    };
    let (list_default, add_default, remove_default) = scope_links("default");
    let (list_optional, add_optional, remove_optional) = scope_links("optional");
    api.section("Clients", Errors::Keycloak)
        .get(
            "/admin/realms/{realm}/clients",
            list,
            op("List clients").params::<ListQuery>().returns_list::<ClientRepr>(),
        )
        .post(
            "/admin/realms/{realm}/clients",
            create,
            op("Create a client")
                .body::<ClientRepr>()
                .created()
                .status(409, "The clientId is taken"),
        )
        .get(
            "/admin/realms/{realm}/clients/{id}",
            get,
            op("Get a client").returns::<ClientRepr>(),
        )
        .put(
            "/admin/realms/{realm}/clients/{id}",
            update,
            op("Update a client").body::<ClientRepr>().no_content(),
        )
        .delete(
            "/admin/realms/{realm}/clients/{id}",
            delete,
            op("Delete a client").no_content(),
        )
        .get(
            "/admin/realms/{realm}/clients/{id}/client-secret",
            get_secret,
            op("Get the client's secret").returns::<ClientSecret>(),
        )
        .post(
            "/admin/realms/{realm}/clients/{id}/client-secret",
            regenerate_secret,
            op("Regenerate the client's secret")
                .describe("Under dual control the new secret waits for a second administrator (202).")
                .returns::<ClientSecret>()
                .status(202, "Waiting for a second administrator's approval"),
        )
        .get(
            "/admin/realms/{realm}/clients/{id}/service-account-user",
            service_account_user,
            op("The client's service-account user").returns::<UserRepr>(),
        )
        .get(
            "/admin/realms/{realm}/clients/{id}/default-client-scopes",
            default_scopes,
            list_default,
        )
        .put(
            "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}",
            add_default_scope,
            add_default,
        )
        .delete(
            "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}",
            remove_default_scope,
            remove_default,
        )
        .get(
            "/admin/realms/{realm}/clients/{id}/optional-client-scopes",
            optional_scopes,
            list_optional,
        )
        .put(
            "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
            add_optional_scope,
            add_optional,
        )
        .delete(
            "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
            remove_optional_scope,
            remove_optional,
        );
}

/// Loads a client of the realm by internal id, or 404 in Keycloak's words.
pub fn load_client(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Client, AppError> {
    // Ids are UUIDs: anything else (a NUL byte PostgreSQL would refuse, say) cannot exist.
    if id.len() > 64 || id.chars().any(char::is_control) {
        return Err(AppError::not_found("Could not find client"));
    }
    db::clients::find(conn, realm_id, id)?.ok_or_else(|| AppError::not_found("Could not find client"))
}

fn render(
    conn: &mut DbConnection,
    state_master: &crate::crypto::secrets::MasterKey,
    client: &Client,
) -> Result<Value, AppError> {
    let scopes = db::clients::scopes_of(conn, &client.id)?;
    let names = |list: &Vec<crate::domain::ClientScope>| list.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    let secret = match (&client.secret_encrypted, client.is_confidential()) {
        (Some(enc), true) => Some(state_master.decrypt_string(enc).map_err(AppError::internal)?),
        _ => None,
    };
    Ok(client_json(
        client,
        secret,
        &names(&scopes.default),
        &names(&scopes.optional),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    client_id: Option<String>,
    search: Option<String>,
    // Not `#[serde(flatten)] Paging`: flattened numbers fail to parse from a query string.
    first: Option<i64>,
    max: Option<i64>,
}

impl ListQuery {
    fn paging(&self) -> Paging {
        Paging::new(self.first, self.max)
    }
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(&state, &req, &path, AdminPermission::ViewClients).await?;
    let realm_id = realm.realm.id.clone();
    let master = state.master_key.clone();
    let query = query.into_inner();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let clients = match &query.client_id {
                // Keycloak: `clientId` is exact unless `search=true`.
                Some(cid) if query.search.as_deref() != Some("true") => {
                    match parse_client_id(cid) {
                        Ok(cid) => db::clients::find_by_client_id(conn, &realm_id, &cid)?
                            .into_iter()
                            .collect(),
                        // No client can have that id.
                        Err(_) => Vec::new(),
                    }
                }
                Some(cid) => db::clients::list(conn, &realm_id, 0, 10_000)?
                    .into_iter()
                    .filter(|c| c.client_id.to_lowercase().contains(&cid.to_lowercase()))
                    .skip(query.paging().offset())
                    .take(query.paging().limit(100))
                    .collect(),
                None => db::clients::list(conn, &realm_id, query.paging().first(), query.paging().max(1000))?,
            };
            clients.iter().map(|c| render(conn, &master, c)).collect()
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Applies a representation's fields onto `client` (create and update share this).
pub(crate) fn apply(client: &mut Client, repr: &ClientRepr) -> Result<(), AppError> {
    if let Some(v) = &repr.client_id {
        client.client_id = parse_client_id(v).map_err(|e| AppError::bad_request(e.to_string()))?;
    }
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = &repr.$field {
                client.$field = v.clone();
            }
        };
    }
    set!(enabled);
    set!(public_client);
    set!(bearer_only);
    set!(service_accounts_enabled);
    set!(direct_access_grants_enabled);
    set!(standard_flow_enabled);
    set!(implicit_flow_enabled);
    set!(consent_required);
    set!(full_scope_allowed);
    set!(redirect_uris);
    set!(web_origins);
    if let Some(v) = &repr.name {
        client.name = Some(v.clone());
    }
    if let Some(v) = &repr.description {
        client.description = Some(v.clone());
    }
    if let Some(v) = &repr.root_url {
        client.root_url = Some(v.clone());
    }
    if let Some(v) = &repr.base_url {
        client.base_url = Some(v.clone());
    }
    if let Some(v) = &repr.admin_url {
        client.admin_url = Some(v.clone());
    }
    if let Some(kind) = &repr.client_authenticator_type {
        client.authenticator = ClientAuthenticator::parse(kind).ok_or_else(|| {
            AppError::bad_request(format!(
                "Unsupported clientAuthenticatorType: {} (client-secret, client-secret-jwt or client-jwt)",
                kind.escape_debug()
            ))
        })?;
    }
    if let Some(p) = &repr.protocol {
        if p != "openid-connect" {
            return Err(AppError::bad_request(format!("Unsupported protocol: {p}")));
        }
    }
    for uri in &client.redirect_uris {
        check_redirect_uri(uri)?;
    }
    if client.public_client && client.service_accounts_enabled {
        return Err(AppError::bad_request("Public clients cannot have service accounts"));
    }
    if let Some(attrs) = repr.attributes.clone() {
        let mut attrs = string_attributes(attrs).map_err(AppError::bad_request)?;
        if let Some(v) = attrs.remove("access.token.lifespan") {
            let parsed = match &v {
                Value::String(s) if s.is_empty() => None,
                Value::String(s) => Some(
                    s.parse::<i64>()
                        .map_err(|_| AppError::bad_request("access.token.lifespan must be a number"))?,
                ),
                Value::Number(n) => n.as_i64(),
                _ => None,
            };
            if parsed.is_some_and(|v| v <= 0) {
                return Err(AppError::bad_request("access.token.lifespan must be positive"));
            }
            client.access_token_lifespan = parsed;
        }
        client.attributes.extend(attrs);
    }
    // A key the token endpoint could not use is refused now rather than failing every assertion.
    if client.authenticator == ClientAuthenticator::ClientJwt {
        client_keys::public_keys_of(client).map_err(|e| AppError::bad_request(format!("Invalid client key: {e}")))?;
    }
    Ok(())
}

pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), AppError> {
    if uri.is_empty() || uri.len() > 2048 || uri.chars().any(char::is_control) {
        return Err(AppError::bad_request("Invalid redirect URI"));
    }
    Ok(())
}

pub(crate) fn check_secret(secret: &str) -> Result<(), AppError> {
    if secret.len() < MIN_SECRET_LEN
        || secret.len() > 512
        || secret.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(AppError::bad_request(format!(
            "Client secret must be {MIN_SECRET_LEN} to 512 printable characters"
        )));
    }
    Ok(())
}

/// Links the named scopes (default or optional) of a representation, refusing unknown names.
pub(crate) fn link_named_scopes(
    conn: &mut DbConnection,
    realm: &Realm,
    client: &Client,
    names: &[String],
    default: bool,
) -> Result<(), AppError> {
    for name in names {
        let unknown = || AppError::bad_request(format!("Unknown client scope: {}", name.escape_debug()));
        if name.chars().any(char::is_control) {
            return Err(unknown());
        }
        let scope = db::scopes::find_by_name(conn, &realm.id, name)?.ok_or_else(unknown)?;
        db::clients::link_scope(conn, &client.id, &scope.id, default)?;
    }
    Ok(())
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let principal = super::auth::authenticate(&state, &req).await?;
    let repr: ClientRepr = read_json(&req, payload).await?;
    let written = create_client_requested(&state, &principal, &path, repr).await?;
    let mut response = created(&req, &written.id);
    pending_header(&mut response, written.pending_approval.as_deref());
    Ok(response)
}

/// The request id of a service account awaiting approval (dual control, ADR 016), in a header:
/// Keycloak's answers here are an empty 201 or 204, which Keycloak clients expect unchanged.
pub const PENDING_APPROVAL_HEADER: &str = "nexus-pending-approval";

fn pending_header(response: &mut HttpResponse, pending: Option<&str>) {
    if let Some(Ok(value)) = pending.map(actix_web::http::header::HeaderValue::from_str) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(PENDING_APPROVAL_HEADER),
            value,
        );
    }
}

/// A client just written, and the request its service account waits on (dual control).
#[derive(Debug, Clone)]
pub struct ClientWritten {
    pub id: String,
    pub pending_approval: Option<String>,
}

/// Creates a client from Keycloak's representation (the admin API's POST, the console's form); its
/// internal id.
pub async fn create_client(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    repr: ClientRepr,
) -> Result<String, AppError> {
    Ok(create_client_requested(state, principal, realm_name, repr).await?.id)
}

/// `create_client`, also naming the approval request opened when the realm has dual control and
/// the client has a service account (ADR 016).
pub async fn create_client_requested(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    repr: ClientRepr,
) -> Result<ClientWritten, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageClients).await?;
    let client_id = repr
        .client_id
        .clone()
        .ok_or_else(|| AppError::bad_request("clientId is required"))?;
    let now = state.now();
    let mut client = client_rules::blank_client(&realm.realm.id, &client_id, now);
    if let Some(id) = &repr.id {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(AppError::bad_request("id must be a UUID"));
        }
        client.id = id.clone();
    }
    apply(&mut client, &repr)?;
    if let Some(secret) = &repr.secret {
        if client.is_confidential() {
            check_secret(secret)?;
            client_rules::set_secret(&mut client, &state.master_key, secret);
        }
    }
    client_rules::ensure_secret(&mut client, &state.master_key);
    let realm_row = realm.realm.clone();
    let id = client.id.clone();
    let requester = approval_requester(principal);
    let pending = state
        .db
        .transaction(move |conn| -> Result<Option<String>, AppError> {
            if db::clients::find_by_client_id(conn, &realm_row.id, &client.client_id)?.is_some() {
                return Err(AppError::conflict(format!(
                    "Client {} already exists",
                    client.client_id
                )));
            }
            match (&repr.default_client_scopes, &repr.optional_client_scopes) {
                (None, None) => client_rules::insert_with_realm_defaults(conn, &client)
                    .map_err(|e| super::conflict_or_internal(e, "Client already exists"))?,
                _ => {
                    db::clients::insert(conn, &client)
                        .map_err(|e| super::conflict_or_internal(e, "Client already exists"))?;
                    link_named_scopes(
                        conn,
                        &realm_row,
                        &client,
                        repr.default_client_scopes.as_deref().unwrap_or(&[]),
                        true,
                    )?;
                    link_named_scopes(
                        conn,
                        &realm_row,
                        &client,
                        repr.optional_client_scopes.as_deref().unwrap_or(&[]),
                        false,
                    )?;
                }
            }
            client_rules::sync_service_account(conn, &realm_row, &client, now)?;
            if client.service_accounts_enabled && dual_control(&realm_row) {
                let request = approvals::service_account_request(&realm_row, &client, true, &requester, now);
                db::approvals::insert(conn, &request)?;
                db::approvals::set_client_pending(conn, &client.id, Some(&request.id))?;
                return Ok(Some(request.id));
            }
            Ok(None)
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(ClientWritten {
        id,
        pending_approval: pending,
    })
}

/// The admin asking, as a dual-control request records them.
pub(crate) fn approval_requester(principal: &AdminPrincipal) -> approvals::Requester {
    approvals::Requester {
        id: principal.user.id.clone(),
        username: principal.user.username.clone(),
    }
}

async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewClients).await?;
    let realm_id = realm.realm.id.clone();
    let master = state.master_key.clone();
    let body = state
        .db
        .run(move |conn| {
            let client = load_client(conn, &realm_id, &id)?;
            render(conn, &master, &client)
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    // Rights before the body: a caller without them learns nothing from a parse error.
    super::realm_for(&state, &principal, &realm_name, AdminPermission::ManageClients).await?;
    let repr: ClientRepr = read_json(&req, payload).await?;
    let pending = update_client_requested(&state, &principal, &realm_name, id, repr, None).await?;
    let mut response = no_content();
    pending_header(&mut response, pending.as_deref());
    Ok(response)
}

/// Applies Keycloak's representation to a stored client (the admin API's PUT): fields left out
/// stay as they are; its scopes are changed through their own endpoints, as in Keycloak.
pub async fn update_client(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    repr: ClientRepr,
) -> Result<(), AppError> {
    update_client_requested(state, principal, realm_name, id, repr, None)
        .await
        .map(|_| ())
}

/// The client scopes a client is given, by name (the console's client form sets both lists).
pub struct ScopeChoice {
    pub default: Vec<String>,
    pub optional: Vec<String>,
}

/// `update_client`, and when `scopes` is given the client's default and optional scopes replaced
/// by those in the same transaction (a refused scope leaves the client as it was); names the
/// approval request opened when the update turns on the service account in a realm with dual
/// control (ADR 016). Turning a waiting service account off withdraws its request.
pub async fn update_client_requested(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
    repr: ClientRepr,
    scopes: Option<ScopeChoice>,
) -> Result<Option<String>, AppError> {
    if let Some(choice) = &scopes {
        if let Some(both) = choice.default.iter().find(|n| choice.optional.contains(n)) {
            return Err(AppError::bad_request(format!(
                "Client scope {} cannot be both default and optional",
                both.escape_debug()
            )));
        }
    }
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageClients).await?;
    let master = state.master_key.clone();
    let realm_row = realm.realm.clone();
    let now = state.now();
    let requester = approval_requester(principal);
    let pending = state
        .db
        .transaction(move |conn| -> Result<Option<String>, AppError> {
            let mut client = load_client(conn, &realm_row.id, &id)?;
            let before = client.client_id.clone();
            let had_service_account = client.service_accounts_enabled;
            apply(&mut client, &repr)?;
            if provisioning::is_builtin_client(&before) && client.client_id != before {
                return Err(AppError::bad_request("Built-in clients cannot be renamed"));
            }
            if client.client_id != before
                && db::clients::find_by_client_id(conn, &realm_row.id, &client.client_id)?.is_some()
            {
                return Err(AppError::conflict(format!(
                    "Client {} already exists",
                    client.client_id
                )));
            }
            if let Some(secret) = &repr.secret {
                if client.is_confidential() && secret != "**********" {
                    check_secret(secret)?;
                    client_rules::set_secret(&mut client, &master, secret);
                }
            }
            client_rules::ensure_secret(&mut client, &master);
            // Dual control: nothing left to approve once the service account is off again.
            if !client.service_accounts_enabled {
                if let Some(request_id) = client.pending_approval.take() {
                    db::approvals::delete(conn, &realm_row.id, &request_id)?;
                }
            }
            db::clients::update(conn, &client)?;
            client_rules::sync_service_account(conn, &realm_row, &client, now)?;
            if let Some(choice) = &scopes {
                let linked = db::clients::scopes_of(conn, &client.id)?;
                for scope in &linked.default {
                    db::clients::unlink_scope(conn, &client.id, &scope.id, true)?;
                }
                for scope in &linked.optional {
                    db::clients::unlink_scope(conn, &client.id, &scope.id, false)?;
                }
                link_named_scopes(conn, &realm_row, &client, &choice.default, true)?;
                link_named_scopes(conn, &realm_row, &client, &choice.optional, false)?;
            }
            if client.service_accounts_enabled && !had_service_account && dual_control(&realm_row) {
                let request = approvals::service_account_request(&realm_row, &client, false, &requester, now);
                db::approvals::insert(conn, &request)?;
                db::approvals::set_client_pending(conn, &client.id, Some(&request.id))?;
                return Ok(Some(request.id));
            }
            Ok(client.pending_approval)
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(pending)
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    delete_client(&state, &principal, &realm_name, id).await?;
    Ok(no_content())
}

/// Deletes a client with its roles; built-in clients stay.
pub async fn delete_client(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<(), AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageClients).await?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let client = load_client(conn, &realm_id, &id)?;
            if provisioning::is_builtin_client(&client.client_id) {
                return Err(AppError::bad_request("Built-in clients cannot be deleted"));
            }
            // Client roles live in the client's container; remove them with it.
            for role in db::roles::list_in_container(conn, &client.id, None, 0, i64::MAX)? {
                db::roles::delete(conn, &role.id)?;
            }
            db::clients::delete(conn, &realm_id, &client.id)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(())
}

async fn get_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ManageClients).await?;
    let realm_id = realm.realm.id.clone();
    let client = state.db.run(move |conn| load_client(conn, &realm_id, &id)).await?;
    let value = match (&client.secret_encrypted, client.is_confidential()) {
        (Some(enc), true) => Some(state.master_key.decrypt_string(enc).map_err(AppError::internal)?),
        _ => None,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "type": "secret", "value": value })))
}

async fn regenerate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let principal = super::auth::authenticate(&state, &req).await?;
    let secret = regenerate_client_secret(&state, &principal, &realm_name, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "type": "secret", "value": secret })))
}

/// A new generated secret for a confidential client; the old one stops at once.
pub async fn regenerate_client_secret(
    state: &AppState,
    principal: &AdminPrincipal,
    realm_name: &str,
    id: String,
) -> Result<String, AppError> {
    let realm = super::realm_for(state, principal, realm_name, AdminPermission::ManageClients).await?;
    let realm_id = realm.realm.id.clone();
    let master = state.master_key.clone();
    let secret = generate_secret();
    let new_secret = secret.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let mut client = load_client(conn, &realm_id, &id)?;
            if !client.is_confidential() {
                return Err(AppError::bad_request("Public and bearer-only clients have no secret"));
            }
            client_rules::set_secret(&mut client, &master, &new_secret);
            db::clients::update(conn, &client)?;
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(secret)
}

async fn service_account_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    let (_, realm) = admin_realm(&state, &req, &realm_name, AdminPermission::ViewClients).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Value, AppError> {
            let client = load_client(conn, &realm_id, &id)?;
            if !client.service_accounts_enabled {
                return Err(AppError::bad_request("Service account not enabled for the client"));
            }
            let user = db::users::find_service_account(conn, &client.id)?
                .ok_or_else(|| AppError::not_found("Service account user not found"))?;
            Ok(user_json(&user, Some(&client.client_id)))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn scopes_json(
    state: &AppState,
    req: &HttpRequest,
    realm_name: &str,
    id: String,
    default: bool,
) -> Result<HttpResponse, AppError> {
    let (_, realm) = admin_realm(state, req, realm_name, AdminPermission::ViewClients).await?;
    let realm_id = realm.realm.id.clone();
    let body = state
        .db
        .run(move |conn| -> Result<Vec<Value>, AppError> {
            let client = load_client(conn, &realm_id, &id)?;
            let scopes = db::clients::scopes_of(conn, &client.id)?;
            let list = if default { scopes.default } else { scopes.optional };
            Ok(list.iter().map(|s| json!({ "id": s.id, "name": s.name })).collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn default_scopes(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    scopes_json(&state, &req, &realm_name, id, true).await
}

async fn optional_scopes(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id) = path.into_inner();
    scopes_json(&state, &req, &realm_name, id, false).await
}

async fn change_scope(
    state: &AppState,
    req: &HttpRequest,
    path: (String, String, String),
    default: bool,
    add: bool,
) -> Result<HttpResponse, AppError> {
    let (realm_name, id, scope_id) = path;
    let (_, realm) = admin_realm(state, req, &realm_name, AdminPermission::ManageClients).await?;
    let realm_id = realm.realm.id.clone();
    state
        .db
        .transaction(move |conn| -> Result<(), AppError> {
            let client = load_client(conn, &realm_id, &id)?;
            let missing = || AppError::not_found("Could not find client scope");
            if scope_id.len() > 64 || scope_id.chars().any(char::is_control) {
                return Err(missing());
            }
            let scope = db::scopes::find(conn, &realm_id, &scope_id)?.ok_or_else(missing)?;
            if add {
                db::clients::link_scope(conn, &client.id, &scope.id, default)?;
            } else {
                db::clients::unlink_scope(conn, &client.id, &scope.id, default)?;
            }
            Ok(())
        })
        .await?;
    invalidate(state, &realm.realm.name).await;
    Ok(no_content())
}

async fn add_default_scope(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    change_scope(&state, &req, path.into_inner(), true, true).await
}

async fn remove_default_scope(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    change_scope(&state, &req, path.into_inner(), true, false).await
}

async fn add_optional_scope(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    change_scope(&state, &req, path.into_inner(), false, true).await
}

async fn remove_optional_scope(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AppError> {
    change_scope(&state, &req, path.into_inner(), false, false).await
}
