//! Operations: liveness, readiness (database and ephemeral store), Prometheus metrics.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics));
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "UP" }))
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.ping().await.is_ok();
    let ephemeral = state.ephemeral.ping().await.is_ok();
    let body = json!({
        "status": if database && ephemeral { "UP" } else { "DOWN" },
        "checks": [
            { "name": "database", "status": if database { "UP" } else { "DOWN" } },
            { "name": "ephemeral-store", "kind": state.ephemeral.kind(), "status": if ephemeral { "UP" } else { "DOWN" } },
        ]
    });
    if database && ephemeral {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
