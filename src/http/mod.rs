//! actix only: routes, request reading, middleware. Handlers parse, call one service, render.

pub mod account;
pub mod account_page;
pub mod admin;
pub mod admin_events;
pub mod api_keys;
pub mod body;
pub mod client_address;
pub mod console;
pub mod cookies;
pub mod cors;
pub mod iso_dates;
pub mod key_auth;
pub mod middleware;
pub mod oidc_endpoints;
pub mod openapi;
pub mod ops;
pub mod page_sign_in;
pub mod pages;
pub mod problem;
pub mod protocol;
pub mod rate_limit;
pub mod session_iframes;
pub mod shown_once;
pub mod views;

use actix_web::web;

/// Every route of the server.
pub fn routes(cfg: &mut web::ServiceConfig) {
    ops::routes(cfg);
    protocol::routes(cfg);
    pages::routes(cfg);
    // The JSON APIs register through `openapi::Api`, which documents each route (ADR 020); the
    // order of registration is kept (actix matches in that order).
    api_routes(&mut openapi::Api::serving(cfg));
    account_page::routes(cfg);
    console::routes(cfg);
    openapi::routes(cfg);
}

/// The routes of the documented JSON APIs: the admin API, the API-key API and the account API.
pub fn api_routes(api: &mut openapi::Api) {
    api_keys::routes(api);
    admin::routes(api);
    account::routes(api);
}
