//! The OpenAPI 3.1 document of nexus's JSON APIs (admin, API keys, account), generated from the
//! route registrations themselves: an API module registers each route through [`Api`] together
//! with its [`Op`] (summary, parameters, bodies, responses), so a route cannot be served without
//! being documented (ADR 020). Also serves `/openapi.json` and the `/api-docs` reference page.

pub mod schemas;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use actix_web::dev::HttpServiceFactory;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpResponse, Responder, Route};
use askama::Template;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, ResponseBuilder,
};
use utoipa::{IntoParams, ToSchema};

/// Adds a schema (and the schemas it refers to) to the document's components.
type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>);

fn collect<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// What a body or a response carries.
#[derive(Clone)]
enum Payload {
    /// A named schema (`#/components/schemas/{name}`).
    One(Cow<'static, str>, SchemaFn),
    /// An array of a named schema.
    List(Cow<'static, str>, SchemaFn),
    /// JSON whose shape is not described further.
    AnyJson,
}

impl Payload {
    fn one<T: ToSchema>() -> Self {
        Self::One(T::name(), collect::<T>)
    }

    fn list<T: ToSchema>() -> Self {
        Self::List(T::name(), collect::<T>)
    }

    fn schema(&self) -> RefOr<Schema> {
        match self {
            Self::One(name, _) => Ref::from_schema_name(name.clone()).into(),
            Self::List(name, _) => ArrayBuilder::new()
                .items(Ref::from_schema_name(name.clone()))
                .build()
                .into(),
            Self::AnyJson => ObjectBuilder::new().build().into(),
        }
    }

    fn add_to(&self, out: &mut Vec<(String, RefOr<Schema>)>) {
        match self {
            Self::One(_, add) | Self::List(_, add) => add(out),
            Self::AnyJson => {}
        }
    }
}

fn query_params<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// The type of a query parameter.
#[derive(Clone, Copy)]
pub enum Ty {
    Str,
    Int,
    Bool,
}

#[derive(Clone)]
struct Reply {
    status: u16,
    description: Cow<'static, str>,
    payload: Option<Payload>,
    /// `Location` header (201 of a create).
    location: bool,
}

/// How an API answers errors: the admin API's Keycloak shapes, or RFC 7807 problems.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Errors {
    Keycloak,
    Problem,
}

/// The documentation of one operation, written next to its route registration.
#[derive(Clone)]
#[must_use]
pub struct Op {
    summary: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    query: Vec<(&'static str, Ty, &'static str)>,
    /// Query parameters from a handler's `IntoParams` query struct.
    params: Vec<fn() -> Vec<Parameter>>,
    body: Option<(Payload, bool)>,
    replies: Vec<Reply>,
    public: bool,
}

/// Starts the documentation of an operation with its one-line summary.
pub fn op(summary: impl Into<Cow<'static, str>>) -> Op {
    Op {
        summary: summary.into(),
        description: None,
        query: Vec::new(),
        params: Vec::new(),
        body: None,
        replies: Vec::new(),
        public: false,
    }
}

impl Op {
    pub fn describe(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(text.into());
        self
    }

    pub fn query(mut self, name: &'static str, ty: Ty, description: &'static str) -> Self {
        self.query.push((name, ty, description));
        self
    }

    /// The query parameters of the handler's query struct `T`.
    pub fn params<T: IntoParams>(mut self) -> Self {
        self.params.push(query_params::<T>);
        self
    }

    /// A required JSON body of schema `T`.
    pub fn body<T: ToSchema>(mut self) -> Self {
        self.body = Some((Payload::one::<T>(), true));
        self
    }

    /// A JSON body of schema `T` that may be empty.
    pub fn optional_body<T: ToSchema>(mut self) -> Self {
        self.body = Some((Payload::one::<T>(), false));
        self
    }

    /// A required JSON array of `T`.
    pub fn list_body<T: ToSchema>(mut self) -> Self {
        self.body = Some((Payload::list::<T>(), true));
        self
    }

    fn reply(mut self, status: u16, description: &'static str, payload: Option<Payload>) -> Self {
        self.replies.push(Reply {
            status,
            description: description.into(),
            payload,
            location: false,
        });
        self
    }

    /// 200 with a JSON `T`.
    pub fn returns<T: ToSchema>(self) -> Self {
        self.reply(200, "OK", Some(Payload::one::<T>()))
    }

    /// 200 with a JSON array of `T`.
    pub fn returns_list<T: ToSchema>(self) -> Self {
        self.reply(200, "OK", Some(Payload::list::<T>()))
    }

    /// 200 with JSON described only in words.
    pub fn returns_json(self, description: &'static str) -> Self {
        self.reply(200, description, Some(Payload::AnyJson))
    }

    /// 201 with an empty body and the new object's URL in `Location` (Keycloak's creates).
    pub fn created(mut self) -> Self {
        self.replies.push(Reply {
            status: 201,
            description: "Created; `Location` names the new object".into(),
            payload: None,
            location: true,
        });
        self
    }

    /// 201 with a JSON `T` (and `Location`).
    pub fn created_with<T: ToSchema>(mut self) -> Self {
        self.replies.push(Reply {
            status: 201,
            description: "Created".into(),
            payload: Some(Payload::one::<T>()),
            location: true,
        });
        self
    }

    pub fn no_content(self) -> Self {
        self.reply(204, "No Content", None)
    }

    /// Another answer worth naming (202 of dual control, 409, …), without a body schema.
    pub fn status(self, status: u16, description: &'static str) -> Self {
        self.reply(status, description, None)
    }

    /// No bearer token needed (the operation authenticates otherwise, or not at all).
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }
}

/// One documented route.
#[derive(Clone)]
pub struct Documented {
    pub method: Method,
    /// OpenAPI path template (actix's `{name:regex}` written `{name}`).
    pub path: String,
    pub tag: &'static str,
    errors: Errors,
    op: Op,
}

/// Registers the routes of an API on actix (when serving) and records each with its documentation
/// (always): the document and the router come from the same calls.
pub struct Api<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    tag: &'static str,
    errors: Errors,
    recorded: Vec<Documented>,
}

/// `api.get(path, handler, op)` and the other methods: the route of `web::get().to(handler)`.
macro_rules! verbs {
    ($($verb:ident => $method:ident,)*) => {
        $(
            pub fn $verb<F, Args>(&mut self, path: &str, handler: F, op: Op) -> &mut Self
            where
                F: Handler<Args>,
                Args: FromRequest + 'static,
                F::Output: Responder + 'static,
            {
                self.route(Method::$method, path, web::$verb().to(handler), op)
            }
        )*
    };
}

impl<'a> Api<'a> {
    /// Registers on `cfg`.
    pub fn serving(cfg: &'a mut web::ServiceConfig) -> Self {
        Self {
            cfg: Some(cfg),
            tag: "",
            errors: Errors::Keycloak,
            recorded: Vec::new(),
        }
    }

    /// Only records (to build the document).
    pub fn recording() -> Api<'static> {
        Api {
            cfg: None,
            tag: "",
            errors: Errors::Keycloak,
            recorded: Vec::new(),
        }
    }

    /// The tag and error shape of the operations registered next.
    pub fn section(&mut self, tag: &'static str, errors: Errors) -> &mut Self {
        self.tag = tag;
        self.errors = errors;
        self
    }

    /// Registers `route` (whose method guard must be `method`) at `path`, documented by `op`.
    pub fn route(&mut self, method: Method, path: &str, route: Route, op: Op) -> &mut Self {
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.route(path, route);
        }
        self.recorded.push(Documented {
            method,
            path: openapi_path(path),
            tag: self.tag,
            errors: self.errors,
            op,
        });
        self
    }

    verbs! {
        get => GET,
        post => POST,
        put => PUT,
        patch => PATCH,
        delete => DELETE,
    }

    pub fn recorded(&self) -> &[Documented] {
        &self.recorded
    }
}

/// actix's `{name:regex}` segments as OpenAPI's `{name}`.
pub fn openapi_path(actix: &str) -> String {
    let mut out = String::with_capacity(actix.len());
    let mut in_regex = false;
    for c in actix.chars() {
        match c {
            ':' if out.rfind('{') > out.rfind('}') => in_regex = true,
            '}' if in_regex => {
                in_regex = false;
                out.push('}');
            }
            _ if in_regex => {}
            _ => out.push(c),
        }
    }
    out
}

/// The names of a template's `{…}` segments, in order.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

/// Every documented route of the JSON APIs, as registered.
pub fn documented() -> Vec<Documented> {
    let mut api = Api::recording();
    super::api_routes(&mut api);
    api.recorded
}

const TAGS: &[(&str, &str)] = &[
    ("Realms", "Keycloak admin REST API: realms and their signing keys"),
    ("Clients", "Keycloak admin REST API: clients, secrets, service accounts"),
    ("Users", "Keycloak admin REST API: users, credentials, group membership"),
    (
        "Roles",
        "Keycloak admin REST API: realm and client roles, composites, role mappings",
    ),
    ("Groups", "Keycloak admin REST API: groups and their members"),
    (
        "Client scopes",
        "Keycloak admin REST API: client scopes and client scope links",
    ),
    ("Sessions", "Keycloak admin REST API: user sessions and logout"),
    ("Attack detection", "Keycloak admin REST API: brute-force lockouts"),
    ("Consents", "Keycloak admin REST API: a user's consents"),
    (
        "Events",
        "Keycloak admin REST API: login and API-key events, event settings",
    ),
    ("Approvals", "Dual control: changes waiting for a second administrator"),
    ("API keys", "nexus API keys: a user's own keys, and key for token"),
    (
        "API keys (admin)",
        "nexus API keys of any user, managed by an administrator",
    ),
    (
        "Account",
        "Keycloak account REST API: the signed-in user's applications and consents",
    ),
];

/// Builds the OpenAPI 3.1 document from the registrations.
pub fn document() -> OpenApi {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    collect::<schemas::KeycloakError>(&mut schemas);
    collect::<schemas::ProblemDetails>(&mut schemas);
    let mut paths = Paths::new();
    for doc in documented() {
        let operation = operation(&doc, &mut schemas);
        paths.add_path_operation(doc.path.clone(), vec![http_method(&doc.method)], operation);
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An access token of the realm (or of `master` for the admin API), or an API key's \
                     secret.",
                ))
                .build(),
        ),
    );
    components = components.security_scheme(
        "apiKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization-PSK",
            "An API key's secret (`nx_live_…`); Basic `id:secret` works as well.",
        ))),
    );
    let mut seen = BTreeSet::new();
    for (name, schema) in schemas {
        if seen.insert(name.clone()) {
            components = components.schema(name, schema);
        }
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Nexus API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Keycloak's admin REST API and account API as nexus serves them, and nexus's API-key \
                     API. Generated from the server's route registrations.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .tags(Some(TAGS.iter().map(|(name, text)| {
            TagBuilder::new().name(*name).description(Some(*text)).build()
        })))
        .build()
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn param_description(name: &str) -> &'static str {
    match name {
        "realm" => "Realm name",
        "client" | "client_id" => "Client: the `id` (UUID) for the admin API, the `clientId` for the account API",
        "user" | "user_id" => "User id",
        "id" => "Id of the object",
        "role_name" => "Role name",
        "group_id" => "Group id",
        "scope_id" => "Client scope id",
        "session" => "Session id",
        "path" => "Group path, `/`-separated",
        _ => "Path segment",
    }
}

fn primitive(ty: Ty) -> Schema {
    let ty = match ty {
        Ty::Str => Type::String,
        Ty::Int => Type::Integer,
        Ty::Bool => Type::Boolean,
    };
    ObjectBuilder::new().schema_type(ty).build().into()
}

fn json_content(payload: &Payload) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(payload.schema())).build()
}

fn operation(doc: &Documented, schemas: &mut Vec<(String, RefOr<Schema>)>) -> utoipa::openapi::path::Operation {
    let op = &doc.op;
    let mut builder = OperationBuilder::new()
        .tag(doc.tag)
        .summary(Some(op.summary.clone()))
        .description(op.description.clone())
        .operation_id(Some(operation_id(&doc.method, &doc.path)));
    for name in path_params(&doc.path) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(param_description(name)))
                .schema(Some(primitive(Ty::Str))),
        );
    }
    for (name, ty, description) in &op.query {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(*description))
                .schema(Some(primitive(*ty))),
        );
    }
    for params in &op.params {
        for parameter in params() {
            builder = builder.parameter(parameter);
        }
    }
    if let Some((payload, required)) = &op.body {
        payload.add_to(schemas);
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(if *required { Required::True } else { Required::False }))
                .content("application/json", json_content(payload))
                .build(),
        ));
    }
    for reply in &op.replies {
        let mut response = ResponseBuilder::new().description(reply.description.clone());
        if let Some(payload) = &reply.payload {
            payload.add_to(schemas);
            response = response.content("application/json", json_content(payload));
        }
        if reply.location {
            response = response.header(
                "Location",
                HeaderBuilder::new()
                    .schema(primitive(Ty::Str))
                    .description(Some("URL of the new object"))
                    .build(),
            );
        }
        builder = builder.response(reply.status.to_string(), response.build());
    }
    let (error_type, error_schema) = match doc.errors {
        Errors::Keycloak => ("application/json", "KeycloakError"),
        Errors::Problem => ("application/problem+json", "ProblemDetails"),
    };
    let error = |builder: OperationBuilder, status: &str, text: &str| {
        builder.response(
            status,
            ResponseBuilder::new()
                .description(text)
                .content(
                    error_type,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(error_schema)))
                        .build(),
                )
                .build(),
        )
    };
    if op.body.is_some() || !op.query.is_empty() || !op.params.is_empty() {
        builder = error(builder, "400", "Invalid request");
    }
    if op.public {
        builder = builder.securities(Some(Vec::<SecurityRequirement>::new()));
    } else {
        builder = error(builder, "401", "No valid bearer token");
        builder = error(builder, "403", "The caller may not do this");
        // Either one: an API key also works as a bearer token.
        builder = builder
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .security(SecurityRequirement::new("apiKey", Vec::<String>::new()));
    }
    if !path_params(&doc.path).is_empty() {
        builder = error(builder, "404", "Not found");
    }
    builder.build()
}

/// A stable id: the method and the path's words (`get_admin_realms_realm_users`).
fn operation_id(method: &Method, path: &str) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{}_{}", method.as_str().to_ascii_lowercase(), words.join("_"))
}

/// The document as served (built once).
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document().to_json().unwrap_or_else(|e| {
            // Cannot happen with the types above (all serialize); the tests would show an empty document.
            tracing::error!(error = %e, "serializing the OpenAPI document failed");
            "{}".to_owned()
        })
    })
}

/// `/openapi.json`, `/api-docs` and the page's script.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/openapi.json", openapi_json))
        .service(resource("/api-docs", api_docs_page))
        .service(resource("/resources/api-docs.js", api_docs_script));
}

fn resource<F, Args>(path: &str, handler: F) -> impl HttpServiceFactory
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path).route(web::get().to(handler))
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        // The document changes only with the binary.
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(document_json())
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage;

/// Nexus's own script and stylesheet only; the page fetches the document and calls the API on the
/// same origin (`connect-src 'self'`).
const API_DOCS_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

async fn api_docs_page() -> HttpResponse {
    super::views::page_with_csp(actix_web::http::StatusCode::OK, &ApiDocsPage, API_DOCS_CSP)
}

async fn api_docs_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/api-docs.js"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actix_templates_become_openapi_templates() {
        assert_eq!(
            openapi_path("/admin/realms/{realm}/group-by-path/{path:.*}"),
            "/admin/realms/{realm}/group-by-path/{path}"
        );
        assert_eq!(openapi_path("/a/{b}/c"), "/a/{b}/c");
        assert_eq!(path_params("/a/{b}/c/{d}"), vec!["b", "d"]);
    }
}
