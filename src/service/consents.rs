//! Consent: which of the scopes a client asks for the user has already granted it.

use crate::state::AppState;
use crate::store::db::{self, DbError};

/// The scopes among `requested` that still need the user's consent for this client (internal id).
pub async fn missing_consent(
    state: &AppState,
    user_id: &str,
    client_id: &str,
    requested: Vec<String>,
) -> Result<Vec<String>, DbError> {
    let user_id = user_id.to_owned();
    let client_id = client_id.to_owned();
    state
        .db
        .run(move |conn| -> Result<_, DbError> {
            let granted = db::consents::granted_scopes(conn, &user_id, &client_id)?;
            Ok(requested.into_iter().filter(|s| !granted.contains(s)).collect())
        })
        .await
}

/// Records that the user granted `scopes` to the client.
pub async fn grant(
    state: &AppState,
    realm_id: &str,
    user_id: &str,
    client_id: &str,
    scopes: Vec<String>,
) -> Result<(), DbError> {
    let (realm_id, user_id, client_id) = (realm_id.to_owned(), user_id.to_owned(), client_id.to_owned());
    let now = state.now();
    state
        .db
        .transaction(move |conn| -> Result<_, DbError> {
            db::consents::grant(conn, &realm_id, &user_id, &client_id, &scopes, now)?;
            Ok(())
        })
        .await
}
