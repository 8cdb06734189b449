//! The console's client scopes: list with the claims each adds, create, edit (description, the
//! text of the consent page, whether it is shown there and carried in the token's `scope`),
//! delete after a confirmation. Writes go through `http::admin::scopes`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::common::{checked, confirm_deletion, field, form_message, respond, Chrome, Deletion, FormErrors, ListQuery};
use super::views::{ScopeForm, ScopePage, ScopeRow, ScopesPage};
use super::{failure_page, internal_error, see_other, Admin, Posted, SignedIn};
use crate::domain::scopes::claims_added_by;
use crate::domain::ClientScope;
use crate::error::AppError;
use crate::http::admin::realm_for;
use crate::http::admin::repr::ClientScopeRepr;
use crate::http::admin::scopes as scope_api;
use crate::http::pages::realm_title;
use crate::http::views::page as render;
use crate::oauth::params::FormParams;
use crate::service::authz::AdminPermission;
use crate::state::AppState;
use crate::store::db;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let at = |p: &str| format!("/admin/{{realm}}/console/r/{{target}}/client-scopes{p}");
    cfg.route(&at(""), web::get().to(scopes_page))
        .route(&at(""), web::post().to(create_scope))
        .route(&at("/{id}"), web::get().to(scope_page))
        .route(&at("/{id}"), web::post().to(save_scope))
        .route(&at("/{id}/delete"), web::get().to(confirm_delete))
        .route(&at("/{id}/delete"), web::post().to(delete_scope));
}

const SCOPE_FIELDS: &[(&str, &[&str])] = &[("description", &["description"]), ("name", &["name", "scope"])];

/// An attribute Keycloak stores as the string "true"/"false" (imports may carry booleans).
fn flag(scope: &ClientScope, name: &str, default: bool) -> bool {
    match scope.attributes.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s != "false",
        _ => default,
    }
}

fn stored_form(scope: &ClientScope) -> ScopeForm {
    ScopeForm {
        name: scope.name.clone(),
        description: scope.description.clone().unwrap_or_default(),
        consent_text: scope
            .attributes
            .get("consent.screen.text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        display_on_consent: flag(scope, "display.on.consent.screen", true),
        include_in_token_scope: flag(scope, "include.in.token.scope", true),
    }
}

fn typed_form(form: &FormParams) -> ScopeForm {
    ScopeForm {
        name: field(form, "name"),
        description: field(form, "description"),
        consent_text: field(form, "consentText"),
        display_on_consent: checked(form, "displayOnConsent"),
        include_in_token_scope: checked(form, "includeInTokenScope"),
    }
}

/// Keycloak's representation of the form: attributes as Keycloak's strings; an empty consent
/// text removes the attribute (the page then shows the scope's name).
fn repr_of(typed: &ScopeForm) -> Result<ClientScopeRepr, AppError> {
    let consent_text = if typed.consent_text.is_empty() {
        Value::Null
    } else {
        json!(typed.consent_text)
    };
    serde_json::from_value(json!({
        "name": typed.name,
        "description": typed.description,
        "protocol": "openid-connect",
        "attributes": {
            "consent.screen.text": consent_text,
            "display.on.consent.screen": typed.display_on_consent.to_string(),
            "include.in.token.scope": typed.include_in_token_scope.to_string(),
        },
    }))
    .map_err(|e| AppError::bad_request(e.to_string()))
}

async fn render_scopes(
    state: &AppState,
    a: &Admin,
    target: &str,
    notice: Option<&str>,
    failed: Option<(StatusCode, FormErrors, ScopeForm)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewRealm)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let scopes = state
        .db
        .run(move |conn| db::scopes::list(conn, &realm_id).map_err(db::DbError::from))
        .await
        .map_err(|e| internal_error(realm_title(&a.home), e))?;
    let rows: Vec<ScopeRow> = scopes
        .iter()
        .map(|s| ScopeRow {
            id: s.id.clone(),
            name: s.name.clone(),
            description: s.description.clone().unwrap_or_default(),
            claims: claims_added_by(&s.name).join(", "),
            on_consent: flag(s, "display.on.consent.screen", true),
        })
        .collect();
    let (status, errors, form) = failed.unwrap_or_else(|| {
        (
            StatusCode::OK,
            FormErrors::default(),
            ScopeForm {
                display_on_consent: true,
                include_in_token_scope: true,
                ..ScopeForm::default()
            },
        )
    });
    let chrome = Chrome::new(state, a, target, notice);
    Ok(render(
        status,
        &ScopesPage {
            frame: chrome.frame("client-scopes"),
            scopes: &rows,
            errors: &errors,
            form: &form,
        },
    ))
}

async fn scopes_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    respond(render_scopes(&state, &a, &target, query.notice.as_deref(), None).await)
}

async fn create_scope(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target) = path.into_inner();
    let typed = typed_form(&form);
    let result = match repr_of(&typed) {
        Ok(repr) => scope_api::create_scope(&state, &a.principal, &target, repr).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(id) => see_other(&format!(
            "{}/r/{target}/client-scopes/{id}?notice=scope-created",
            a.base()
        )),
        Err(e) => match form_message(&e) {
            Some((status, message)) => {
                let errors = FormErrors::placed(message, SCOPE_FIELDS);
                respond(render_scopes(&state, &a, &target, None, Some((status, errors, typed))).await)
            }
            None => failure_page(&a, e),
        },
    }
}

async fn render_scope(
    state: &AppState,
    a: &Admin,
    target: &str,
    id: String,
    notice: Option<&str>,
    failed: Option<(StatusCode, FormErrors, ScopeForm)>,
) -> Result<HttpResponse, HttpResponse> {
    let runtime = realm_for(state, &a.principal, target, AdminPermission::ViewRealm)
        .await
        .map_err(|e| failure_page(a, e))?;
    let realm_id = runtime.realm.id.clone();
    let scope = state
        .db
        .run(move |conn| scope_api::load_scope(conn, &realm_id, &id))
        .await
        .map_err(|e| failure_page(a, e))?;
    let (status, errors, form) = failed.unwrap_or_else(|| (StatusCode::OK, FormErrors::default(), stored_form(&scope)));
    let chrome = Chrome::new(state, a, target, notice);
    Ok(render(
        status,
        &ScopePage {
            frame: chrome.frame("client-scopes"),
            id: &scope.id,
            stored_name: &scope.name,
            claims: claims_added_by(&scope.name),
            errors: &errors,
            form: &form,
        },
    ))
}

async fn scope_page(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    respond(render_scope(&state, &a, &target, id, query.notice.as_deref(), None).await)
}

async fn save_scope(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, form): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let typed = typed_form(&form);
    let result = match repr_of(&typed) {
        Ok(repr) => scope_api::update_scope(&state, &a.principal, &target, id.clone(), repr).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other(&format!("{}/r/{target}/client-scopes/{id}?notice=saved", a.base())),
        Err(e) => match form_message(&e) {
            Some((status, message)) => respond(
                render_scope(
                    &state,
                    &a,
                    &target,
                    id,
                    None,
                    Some((status, FormErrors::placed(message, SCOPE_FIELDS), typed)),
                )
                .await,
            ),
            None => failure_page(&a, e),
        },
    }
}

async fn confirm_delete(
    state: web::Data<AppState>,
    SignedIn(a): SignedIn,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    let scope = id.clone();
    confirm_deletion(
        &state,
        &a,
        &target,
        AdminPermission::ManageRealm,
        move |conn, realm_id| Ok(scope_api::load_scope(conn, realm_id, &scope)?.name),
        |name| {
            format!(
                "The client scope {name} will be deleted and removed from every client that has it. Tokens issued later no longer carry it. This cannot be undone."
            )
        },
        Deletion {
            section: "client-scopes",
            title: "Delete client scope",
            action: format!("/client-scopes/{id}/delete"),
            cancel: format!("/client-scopes/{id}"),
        },
    )
    .await
}

async fn delete_scope(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    Posted(a, _): Posted,
) -> HttpResponse {
    let (_, target, id) = path.into_inner();
    match scope_api::delete_scope(&state, &a.principal, &target, id).await {
        Ok(()) => see_other(&format!("{}/r/{target}/client-scopes?notice=scope-deleted", a.base())),
        Err(e) => failure_page(&a, e),
    }
}
