//! Schemas of JSON that handlers build with `json!` (responses, error bodies): these structs exist
//! only to describe those shapes in the OpenAPI document; the field names are the ones the
//! handlers write. Request bodies use the handlers' own `Deserialize` structs instead.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;

/// The admin and account APIs' error body (Keycloak's shapes): `errorMessage` for invalid or
/// conflicting representations, `error` otherwise.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct KeycloakError {
    pub error: Option<String>,
    pub error_message: Option<String>,
}

/// RFC 7807 problem details (`application/problem+json`), the API-key API's error body.
#[derive(ToSchema)]
pub struct ProblemDetails {
    /// `https://nexus.dev/problems/{slug}`.
    #[schema(rename = "type")]
    pub kind: String,
    pub title: String,
    pub detail: String,
    pub status: u16,
    /// The request path.
    pub instance: String,
}

/// Keycloak's `KeysMetadataRepresentation`: the realm's active keys.
#[derive(ToSchema)]
pub struct KeysMetadataRepresentation {
    /// Algorithm → key id of the active key.
    pub active: BTreeMap<String, String>,
    pub keys: Vec<Value>,
}

/// A client secret (`CredentialRepresentation` of type `secret`).
#[derive(ToSchema)]
pub struct ClientSecret {
    #[schema(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// A count (`/users/count`, `/groups/count` answer a bare number).
#[derive(ToSchema)]
#[schema(value_type = i64)]
pub struct Count(pub i64);

/// Keycloak's `UserSessionRepresentation`; times in epoch milliseconds.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UserSessionRepresentation {
    pub id: String,
    pub username: String,
    pub user_id: String,
    pub ip_address: String,
    pub start: i64,
    pub last_access: i64,
    pub remember_me: bool,
    /// Client id → clientId of the clients holding tokens of the session.
    pub clients: BTreeMap<String, String>,
}

/// Keycloak's brute-force status of a user.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BruteForceStatus {
    pub disabled: bool,
    pub num_failures: i64,
    /// Epoch milliseconds.
    pub last_failure: i64,
    #[schema(rename = "lastIPFailure")]
    pub last_ip_failure: String,
}

/// Keycloak's `UserConsentRepresentation`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UserConsentRepresentation {
    pub client_id: String,
    pub granted_client_scopes: Vec<String>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

/// Keycloak's `EventRepresentation`; `time` in epoch milliseconds.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct EventRepresentation {
    pub time: i64,
    #[schema(rename = "type")]
    pub kind: String,
    pub realm_id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    pub details: BTreeMap<String, Value>,
}

/// Keycloak's `AdminEventRepresentation`; `time` in epoch milliseconds.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AdminEventRepresentation {
    pub id: String,
    pub time: i64,
    pub realm_id: String,
    /// The acting administrator: `{realmId, clientId, userId, ipAddress}`.
    pub auth_details: Value,
    /// `CREATE`, `UPDATE`, `DELETE` or `ACTION`.
    pub operation_type: String,
    pub resource_type: String,
    pub resource_path: String,
    /// The request body without secrets, when the realm keeps details.
    pub representation: Option<String>,
    pub error: Option<String>,
}

/// Keycloak's `RealmEventsConfigRepresentation`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RealmEventsConfigRepresentation {
    pub events_enabled: Option<bool>,
    pub events_expiration: Option<i64>,
    pub events_listeners: Option<Vec<String>>,
    pub enabled_event_types: Option<Vec<String>>,
    pub admin_events_enabled: Option<bool>,
    pub admin_events_details_enabled: Option<bool>,
    /// Seconds; `null` keeps admin events for ever.
    pub admin_events_expiration: Option<i64>,
}

/// A change waiting for a second administrator (dual control, ADR 016).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApprovalRequest {
    pub id: String,
    /// `client-secret`, `api-key`, …
    pub kind: String,
    pub summary: String,
    pub client: Option<Value>,
    pub api_key: Option<Value>,
    pub new_subject: Option<String>,
    pub requested_by: Value,
    /// RFC 3339.
    pub requested_at: String,
    /// What the caller may do with it: `{approve, reject}`.
    pub access: Value,
}

/// An API key as the API-key API shows it; `secret` only in the answer that made it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApiKeyRepresentation {
    pub id: String,
    pub role_id: Option<String>,
    pub user_id: String,
    /// RFC 3339, as all dates of a key.
    pub created: String,
    pub modified: String,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    pub expires_at: String,
    pub description: Option<String>,
    /// Space-separated scopes.
    pub permissions: String,
    /// `secret` or `publishable`.
    pub kind: String,
    /// `live` or `test` (the realm's accepted environments).
    pub environment: String,
    pub display_prefix: String,
    pub revoked: bool,
    pub allowed_ips: Vec<String>,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    pub previous_secret_expires_at: Option<String>,
    pub pending_approval: bool,
    pub pending_approval_id: Option<String>,
    /// Only when the key was just created, rotated or regenerated.
    pub secret: Option<String>,
}

/// The key-for-token answer (`Accept: text/plain` gets the bare token).
#[derive(ToSchema)]
pub struct ApiKeyTokenResponse {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: i64,
}

/// Keycloak's account API `ClientRepresentation` of an application the user uses.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AccountApplication {
    pub client_id: String,
    pub client_name: Option<String>,
    pub description: Option<String>,
    pub user_consent_required: bool,
    pub in_use: bool,
    pub offline_access: bool,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub effective_url: Option<String>,
    pub consent: Option<AccountConsent>,
}

/// Keycloak's account API `ConsentRepresentation`; dates in epoch milliseconds.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AccountConsent {
    pub granted_scopes: Vec<AccountConsentScope>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AccountConsentScope {
    pub id: String,
    pub name: String,
    pub display_text: String,
}

/// Keycloak's `PartialImportRepresentation` (`policy` is accepted for `ifResourceExists`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PartialImportRepresentation {
    /// `FAIL` (default), `SKIP` or `OVERWRITE`.
    pub if_resource_exists: Option<String>,
    pub users: Option<Vec<Value>>,
    pub clients: Option<Vec<Value>>,
    pub groups: Option<Vec<Value>>,
    /// `{realm: [...], client: {clientId: [...]}}`.
    pub roles: Option<Value>,
}

/// Keycloak's `PartialImportResults`, plus what of the file nexus ignored.
#[derive(ToSchema)]
pub struct PartialImportResults {
    pub overwritten: usize,
    pub added: usize,
    pub skipped: usize,
    pub results: Vec<PartialImportResult>,
    pub warnings: Vec<String>,
}

/// One imported resource.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PartialImportResult {
    /// `ADDED`, `SKIPPED` or `OVERWRITTEN`.
    pub action: String,
    pub resource_type: String,
    pub resource_name: String,
    pub id: String,
}
