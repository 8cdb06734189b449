//! The console's clients: list, create, and one client's page — its settings (type, flows, URIs,
//! scopes, registered keys), credentials, client roles and service-account roles, delete. Every
//! write is the admin API's own operation (`http::admin::clients`, `roles`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use super::common::{
    checked, confirm_deletion, field, form_message, respond, Chrome, Deletion, FormErrors, ListQuery, PAGE_SIZE,
};
use super::mappings;
use super::views::{
    ClientEditPage, ClientForm, ClientRoleRow, ClientRow, ClientSettingsForm, ClientsPage, Pager, ScopeChoiceRow,
};
use super::{failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::crypto::client_keys::{ATTR_CERTIFICATE, ATTR_JWKS_STRING, ATTR_PUBLIC_KEY, ATTR_USE_JWKS_STRING};
use crate::domain::Client;
use crate::error::AppError;
use crate::http::admin::clients::{self as client_api, ScopeChoice};
use crate::http::admin::realm_for;
use crate::http::admin::repr::{ClientRepr, RoleRepr};
use crate::http::admin::roles::{self as role_api, Container, Subject};
use crate::http::pages::realm_title;
use crate::http::shown_once;
use crate::http::views::page as render;
use crate::oauth::logout::POST_LOGOUT_REDIRECT_URIS;
use crate::service::authz::AdminPermission;
use crate::service::provisioning;
use crate::state::AppState;
use crate::store::db;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console/r/{{target}}/clients{p}");
    cfg.route(&at(""), web::get().to(clients_page))
        .route(&at(""), web::post().to(create_client))
        .route(&at("/{id}"), web::get().to(client_page))
        .route(&at("/{id}"), web::post().to(save_client))
        .route(&at("/{id}/secret"), web::post().to(regenerate_secret))
        .route(&at("/{id}/roles"), web::post().to(create_client_role))
        .route(
            &at("/{id}/service-account-roles"),
            web::post().to(change_service_account_roles),
        )
        .route(&at("/{id}/delete"), web::get().to(confirm_delete))
        .route(&at("/{id}/delete"), web::post().to(delete_client));
}

/// Where the admin API's messages about a client belong on its forms.
const CLIENT_FIELDS: &[(&str, &[&str])] = &[
    ("scopes", &["client scope"]),
    ("redirectUris", &["redirect"]),
    ("webOrigins", &["origin"]),
    ("postLogoutRedirectUris", &["post.logout", "post-logout"]),
    ("publicKeys", &["client key", "jwks", "certificate", "public key"]),
    ("authenticator", &["clientAuthenticatorType"]),
    ("serviceAccountsEnabled", &["service account"]),
    ("clientId", &["clientId", "client ", "renamed"]),
];

pub fn client_kind(client: &Client) -> &'static str {
    if client.bearer_only {
        "bearer-only"
    } else if client.public_client {
        "public"
    } else {
        "confidential"
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// List and create
// ---------------------------------------------------------------------------------------------

async fn render_clients(
    state: &AppState,
    a: &Admin,
    target: &str,
    query: &ListQuery,
    failed: Option<(StatusCode, FormErrors, ClientForm)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewClients)
        .await
        .map_err(|e| failure_page(a, e))?;
    let (realm_id, first) = (runtime.realm.id.clone(), query.first());
    let (clients, total) = state
        .db
        .run(move |conn| -> Result<_, db::DbError> {
            Ok((
                db::clients::list(conn, &realm_id, first, PAGE_SIZE)?,
                db::clients::count(conn, &realm_id)?,
            ))
        })
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let rows: Vec<ClientRow> = clients
        .iter()
        .map(|c| ClientRow {
            id: c.id.clone(),
            client_id: c.client_id.clone(),
            kind: client_kind(c),
            enabled: c.enabled,
        })
        .collect();
    let (status, errors, form) = failed.unwrap_or_else(|| {
        (
            StatusCode::OK,
            FormErrors::default(),
            ClientForm {
                kind: "confidential".into(),
                ..ClientForm::default()
            },
        )
    });
    let chrome = Chrome::new(state, a, target, query.notice.as_deref());
    Ok(render(
        status,
        &ClientsPage {
            frame: chrome.frame("clients"),
            clients: &rows,
            errors: &errors,
            form: &form,
            pager: Pager {
                first,
                max: PAGE_SIZE,
                total,
                query: String::new(),
            },
        },
    ))
}

async fn clients_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(render_clients(&state, &a, &target, &query, None).await)
}

async fn create_client(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let typed = ClientForm {
        client_id: field(&form, "clientId"),
        kind: field(&form, "kind"),
        redirect_uris: field(&form, "redirectUris"),
        service_account: checked(&form, "serviceAccountsEnabled"),
        consent_required: checked(&form, "consentRequired"),
    };
    let redirect_uris = lines(&typed.redirect_uris);
    let public = typed.kind == "public";
    let bad = |errors| Err((StatusCode::BAD_REQUEST, errors));
    let result = if typed.kind != "public" && typed.kind != "confidential" {
        bad(FormErrors::at("kind", "Choose confidential or public."))
    } else if public && typed.service_account {
        bad(FormErrors::at(
            "serviceAccountsEnabled",
            "A public client cannot have a service account.",
        ))
    } else if typed.client_id.is_empty() {
        bad(FormErrors::at("clientId", "Enter a client ID."))
    } else {
        let repr = json!({
            "clientId": typed.client_id,
            "publicClient": public,
            "redirectUris": redirect_uris,
            "standardFlowEnabled": !redirect_uris.is_empty(),
            "serviceAccountsEnabled": typed.service_account,
            "consentRequired": typed.consent_required,
        });
        let created = match serde_json::from_value::<ClientRepr>(repr) {
            Ok(repr) => client_api::create_client_requested(&state, &a.principal, &target, repr).await,
            Err(e) => Err(AppError::bad_request(e.to_string())),
        };
        match created {
            Ok(id) => Ok(id),
            Err(e) => match form_message(&e) {
                Some((status, message)) => Err((status, FormErrors::placed(message, CLIENT_FIELDS))),
                None => return failure_page(&a, e),
            },
        }
    };
    match result {
        Ok(written) => {
            let notice = if written.pending_approval.is_some() {
                "client-created-pending-approval"
            } else {
                "client-created"
            };
            see_other(&format!(
                "{}/r/{target}/clients/{}?notice={notice}",
                a.base(),
                written.id
            ))
        }
        Err((status, errors)) => respond(
            render_clients(
                &state,
                &a,
                &target,
                &ListQuery::default(),
                Some((status, errors, typed)),
            )
            .await,
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// One client
// ---------------------------------------------------------------------------------------------

/// The registered keys of a client as the form shows them.
fn public_keys_text(client: &Client) -> String {
    if client.attribute(ATTR_USE_JWKS_STRING).as_deref() == Some("true") {
        return client.attribute(ATTR_JWKS_STRING).unwrap_or_default();
    }
    client
        .attribute(ATTR_CERTIFICATE)
        .or_else(|| client.attribute(ATTR_PUBLIC_KEY))
        .unwrap_or_default()
}

fn settings_of(client: &Client, scopes: Vec<ScopeChoiceRow>) -> ClientSettingsForm {
    ClientSettingsForm {
        client_id: client.client_id.clone(),
        name: client.name.clone().unwrap_or_default(),
        description: client.description.clone().unwrap_or_default(),
        enabled: client.enabled,
        kind: client_kind(client).into(),
        authenticator: client.authenticator.as_str().into(),
        redirect_uris: client.redirect_uris.join("\n"),
        web_origins: client.web_origins.join("\n"),
        post_logout_redirect_uris: client
            .attribute(POST_LOGOUT_REDIRECT_URIS)
            .unwrap_or_default()
            .split("##")
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        standard_flow: client.standard_flow_enabled,
        direct_access_grants: client.direct_access_grants_enabled,
        service_account: client.service_accounts_enabled,
        consent_required: client.consent_required,
        public_keys: public_keys_text(client),
        scopes,
    }
}

/// The settings form as typed; the scope rows keep the realm's scopes with the choices made.
fn typed_settings(form: &crate::oauth::params::FormParams, stored_scopes: Vec<ScopeChoiceRow>) -> ClientSettingsForm {
    let scopes = stored_scopes
        .into_iter()
        .map(|row| {
            let choice = match field(form, &format!("scope.{}", row.name)).as_str() {
                "default" => "default",
                "optional" => "optional",
                _ => "none",
            };
            ScopeChoiceRow { choice, ..row }
        })
        .collect();
    ClientSettingsForm {
        client_id: field(form, "clientId"),
        name: field(form, "name"),
        description: field(form, "description"),
        enabled: checked(form, "enabled"),
        kind: field(form, "kind"),
        authenticator: field(form, "authenticator"),
        redirect_uris: field(form, "redirectUris"),
        web_origins: field(form, "webOrigins"),
        post_logout_redirect_uris: field(form, "postLogoutRedirectUris"),
        standard_flow: checked(form, "standardFlowEnabled"),
        direct_access_grants: checked(form, "directAccessGrantsEnabled"),
        service_account: checked(form, "serviceAccountsEnabled"),
        consent_required: checked(form, "consentRequired"),
        public_keys: form.get("publicKeys").unwrap_or_default().trim().to_owned(),
        scopes,
    }
}

/// The key attributes the typed keys stand for (all four, so a switch clears the others).
fn key_attributes(typed: &ClientSettingsForm) -> Result<Map<String, Value>, FormErrors> {
    let text = typed.public_keys.as_str();
    let mut attrs = Map::new();
    for name in [
        ATTR_USE_JWKS_STRING,
        ATTR_JWKS_STRING,
        ATTR_CERTIFICATE,
        ATTR_PUBLIC_KEY,
    ] {
        attrs.insert(name.into(), json!(""));
    }
    attrs.insert(ATTR_USE_JWKS_STRING.into(), json!("false"));
    if text.is_empty() {
        return Ok(attrs);
    }
    if text.starts_with('{') {
        attrs.insert(ATTR_USE_JWKS_STRING.into(), json!("true"));
        attrs.insert(ATTR_JWKS_STRING.into(), json!(text));
    } else if text.contains("BEGIN CERTIFICATE") {
        attrs.insert(ATTR_CERTIFICATE.into(), json!(text));
    } else if text.contains("BEGIN PUBLIC KEY") {
        attrs.insert(ATTR_PUBLIC_KEY.into(), json!(text));
    } else {
        return Err(FormErrors::at(
            "publicKeys",
            "Paste a JWKS (JSON), a PEM certificate or a PEM public key.",
        ));
    }
    Ok(attrs)
}

/// The admin API's representation of the typed settings.
fn settings_repr(typed: &ClientSettingsForm) -> Result<(ClientRepr, ScopeChoice), FormErrors> {
    if typed.kind != "public" && typed.kind != "confidential" {
        return Err(FormErrors::at("kind", "Choose confidential or public."));
    }
    if typed.client_id.is_empty() {
        return Err(FormErrors::at("clientId", "Enter a client ID."));
    }
    let public = typed.kind == "public";
    let mut attributes = key_attributes(typed)?;
    attributes.insert(
        POST_LOGOUT_REDIRECT_URIS.into(),
        json!(lines(&typed.post_logout_redirect_uris).join("##")),
    );
    let mut repr = json!({
        "clientId": typed.client_id,
        "name": typed.name,
        "description": typed.description,
        "enabled": typed.enabled,
        "publicClient": public,
        "redirectUris": lines(&typed.redirect_uris),
        "webOrigins": lines(&typed.web_origins),
        "standardFlowEnabled": typed.standard_flow,
        "directAccessGrantsEnabled": typed.direct_access_grants,
        "serviceAccountsEnabled": typed.service_account,
        "consentRequired": typed.consent_required,
        "attributes": attributes,
    });
    if !public {
        repr["clientAuthenticatorType"] = json!(typed.authenticator);
    }
    let repr = serde_json::from_value::<ClientRepr>(repr).map_err(|e| FormErrors::placed(e.to_string(), &[]))?;
    let pick = |choice: &str| -> Vec<String> {
        typed
            .scopes
            .iter()
            .filter(|s| s.choice == choice)
            .map(|s| s.name.clone())
            .collect()
    };
    Ok((
        repr,
        ScopeChoice {
            default: pick("default"),
            optional: pick("optional"),
        },
    ))
}

/// What a client page shows besides its settings.
struct ClientData {
    client: Client,
    scopes: Vec<ScopeChoiceRow>,
    roles: Vec<ClientRoleRow>,
    service_account: Option<(String, super::views::MappingsView)>,
}

async fn load_client_data(state: &AppState, a: &Admin, target: &str, id: String) -> Result<ClientData, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewClients)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let rights = super::views::Rights::of(&a.principal, target);
    let base = format!("{}/r/{target}/clients/{id}", a.base());
    state
        .db
        .run(move |conn| -> Result<ClientData, AppError> {
            let client = client_api::load_client(conn, &realm_id, &id)?;
            let linked = db::clients::scopes_of(conn, &client.id)?;
            let scopes = db::scopes::list(conn, &realm_id)?
                .into_iter()
                .map(|s| ScopeChoiceRow {
                    choice: if linked.default.iter().any(|d| d.id == s.id) {
                        "default"
                    } else if linked.optional.iter().any(|o| o.id == s.id) {
                        "optional"
                    } else {
                        "none"
                    },
                    description: s.description.clone().unwrap_or_default(),
                    name: s.name,
                })
                .collect();
            let mut roles: Vec<ClientRoleRow> = db::roles::list_in_container(conn, &client.id, None, 0, 1000)?
                .into_iter()
                .map(|r| ClientRoleRow {
                    id: r.id,
                    name: r.name,
                    description: r.description.unwrap_or_default(),
                })
                .collect();
            roles.sort_by(|x, y| x.name.cmp(&y.name));
            let service_account = match db::users::find_service_account(conn, &client.id)? {
                Some(user) if client.service_accounts_enabled && rights.view_users => {
                    let direct = db::roles::direct_roles_of_user(conn, &user.id)?;
                    let view = mappings::view(
                        conn,
                        &realm_id,
                        &direct,
                        format!("{base}/service-account-roles"),
                        rights.manage_users,
                    )?;
                    Some((user.id, view))
                }
                _ => None,
            };
            Ok(ClientData {
                client,
                scopes,
                roles,
                service_account,
            })
        })
        .await
        .map_err(|e| failure_page(a, e))
}

/// How a client page answers a refused form.
enum ClientFailure {
    Settings(StatusCode, Box<ClientSettingsForm>, FormErrors),
    Role(StatusCode, String, FormErrors),
}

fn shown_scope(a: &Admin) -> String {
    format!("console:{}", a.home.realm.id)
}

async fn render_client(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
    query: &ListQuery,
    failure: Option<ClientFailure>,
) -> Result<HttpResponse, HttpResponse> {
    let data = load_client_data(state, a, target, id).await?;
    let shown: Option<(String, String)> = match query.shown.as_deref() {
        Some(nonce) => shown_once::take(state, &shown_scope(a), &a.session.id, nonce)
            .await
            .map_err(|e| internal_error(realm_title(&a.home), e))?,
        None => None,
    };
    // Only the secret of this client is shown on its page.
    let shown_secret = shown
        .filter(|(owner, _)| *owner == data.client.id)
        .map(|(_, secret)| secret);
    let none = FormErrors::default();
    let (status, form, errors, role_name, role_errors) = match failure {
        None => (
            StatusCode::OK,
            settings_of(&data.client, data.scopes),
            none.clone(),
            String::new(),
            none,
        ),
        Some(ClientFailure::Settings(status, typed, errors)) => (status, *typed, errors, String::new(), none),
        Some(ClientFailure::Role(status, name, errors)) => {
            (status, settings_of(&data.client, data.scopes), none, name, errors)
        }
    };
    let chrome = Chrome::new(state, a, target, query.notice.as_deref());
    Ok(render(
        status,
        &ClientEditPage {
            frame: chrome.frame("clients"),
            id: &data.client.id,
            stored_client_id: &data.client.client_id,
            kind: client_kind(&data.client),
            pending_approval: data.client.pending_approval.is_some(),
            builtin: provisioning::is_builtin_client(&data.client.client_id),
            confidential: data.client.is_confidential(),
            form: &form,
            errors: &errors,
            shown_secret: shown_secret.as_deref(),
            roles: &data.roles,
            role_errors: &role_errors,
            new_role_name: &role_name,
            service_account_user: data.service_account.as_ref().map(|(user, _)| user.as_str()),
            mappings: data.service_account.as_ref().map(|(_, view)| view),
        },
    ))
}

async fn client_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(render_client(&state, &a, &target, id, &query, None).await)
}

async fn save_client(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    // The realm's scopes, to read the typed choices against (a name not among them is ignored).
    let stored = match load_client_data(&state, &a, &target, id.clone()).await {
        Ok(data) => data.scopes,
        Err(resp) => return resp,
    };
    let typed = typed_settings(&form, stored);
    let result = match settings_repr(&typed) {
        Err(errors) => Err((StatusCode::BAD_REQUEST, errors)),
        Ok((repr, scopes)) => {
            match client_api::update_client_requested(&state, &a.principal, &target, id.clone(), repr, Some(scopes))
                .await
            {
                Ok(pending) => Ok(pending),
                Err(e) => match form_message(&e) {
                    Some((status, message)) => Err((status, FormErrors::placed(message, CLIENT_FIELDS))),
                    None => return failure_page(&a, e),
                },
            }
        }
    };
    match result {
        Ok(pending) => {
            let notice = if pending.is_some() {
                "saved-pending-approval"
            } else {
                "saved"
            };
            see_other(&format!("{}/r/{target}/clients/{id}?notice={notice}", a.base()))
        }
        Err((status, errors)) => respond(
            render_client(
                &state,
                &a,
                &target,
                id,
                &ListQuery::default(),
                Some(ClientFailure::Settings(status, Box::new(typed), errors)),
            )
            .await,
        ),
    }
}

/// Regenerates a client's secret and shows the new one once (`http::shown_once`).
async fn regenerate_secret(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let secret = match client_api::regenerate_client_secret(&state, &a.principal, &target, id.clone()).await {
        Ok(s) => s,
        Err(e) => return failure_page(&a, e),
    };
    match shown_once::hold(&state, &shown_scope(&a), &a.session.id, (id.clone(), secret)).await {
        Ok(nonce) => see_other(&format!("{}/r/{target}/clients/{id}?shown={nonce}", a.base())),
        Err(e) => internal_error(realm_title(&a.home), e),
    }
}

async fn create_client_role(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let (name, description) = (field(&form, "name"), field(&form, "description"));
    let repr = RoleRepr {
        name: Some(name.clone()),
        description: Some(description).filter(|d| !d.is_empty()),
        ..RoleRepr::default()
    };
    match role_api::create_role_in(&state, &a.principal, &target, Container::Client(id.clone()), repr).await {
        Ok(_) => see_other(&format!(
            "{}/r/{target}/clients/{id}?notice=role-created#roles",
            a.base()
        )),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_client(
                    &state,
                    &a,
                    &target,
                    id,
                    &ListQuery::default(),
                    Some(ClientFailure::Role(status, name, FormErrors::at("roleName", message))),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

async fn change_service_account_roles(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let user = {
        let runtime = match realm_for(&state, &a.principal, &target, AdminPermission::ViewClients).await {
            Ok(r) => r,
            Err(e) => return failure_page(&a, e),
        };
        let (realm_id, client) = (runtime.realm.id.clone(), id.clone());
        let found = state
            .db
            .run(move |conn| -> Result<_, AppError> {
                let client = client_api::load_client(conn, &realm_id, &client)?;
                Ok(db::users::find_service_account(conn, &client.id)?.filter(|_| client.service_accounts_enabled))
            })
            .await;
        match found {
            Ok(Some(user)) => user,
            Ok(None) => return failure_page(&a, AppError::not_found("The client has no service account.")),
            Err(e) => return failure_page(&a, e),
        }
    };
    match mappings::change(&state, &a, &target, Subject::User(user.id), &form).await {
        Ok(_) => see_other(&format!(
            "{}/r/{target}/clients/{id}?notice=roles-changed#service-account",
            a.base()
        )),
        Err(e) => failure_page(&a, e),
    }
}

async fn confirm_delete(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let client = id.clone();
    confirm_deletion(
        &state,
        &a,
        &target,
        AdminPermission::ManageClients,
        move |conn, realm_id| Ok(client_api::load_client(conn, realm_id, &client)?.client_id),
        |name| {
            format!(
                "The client {name} will be deleted with its roles, its service account and its secret. Applications using it stop working. This cannot be undone."
            )
        },
        Deletion {
            section: "clients",
            title: "Delete client",
            action: format!("/clients/{id}/delete"),
            cancel: format!("/clients/{id}"),
        },
    )
    .await
}

async fn delete_client(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    match client_api::delete_client(&state, &a.principal, &target, id).await {
        Ok(()) => see_other(&format!("{}/r/{target}/clients?notice=client-deleted", a.base())),
        Err(e) => failure_page(&a, e),
    }
}
