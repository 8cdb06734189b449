//! Secrets shown exactly once on a page (a new API key, a regenerated client secret): the POST that
//! makes one redirects to a GET, and the secret waits for that GET in the ephemeral store.
//!
//! Why not render the secret in the POST's answer: a reload or "back" would re-post the form (and
//! make another secret), and the answer to a POST is what browsers keep for their history. Here the
//! secret waits — encrypted with the master key, bound to the SSO session, five minutes at most —
//! under a random 256-bit name, and the GET *takes* it: the first view shows it, a reload finds
//! nothing, and no page ever repeats it (docs/adr/012-account-page.md).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::secrets::generate_secret;
use crate::state::AppState;

/// How long a new secret waits for the page that shows it.
const TTL: Duration = Duration::from_secs(5 * 60);

#[derive(Serialize, Deserialize)]
struct Held<T> {
    session_id: String,
    value: T,
}

fn store_key(scope: &str, nonce: &str) -> String {
    format!("shown-once:{scope}:{nonce}")
}

/// Keeps `value` for the SSO session `session_id`; the nonce that names it (for the page's URL).
/// `scope` keeps pages and realms apart (`account:{realm id}`, `console:{realm id}`).
pub async fn hold<T: Serialize>(state: &AppState, scope: &str, session_id: &str, value: T) -> anyhow::Result<String> {
    let nonce = generate_secret();
    let held = Held {
        session_id: session_id.to_owned(),
        value,
    };
    let sealed = state.master_key.encrypt(serde_json::to_string(&held)?.as_bytes());
    state.ephemeral.put(&store_key(scope, &nonce), &sealed, TTL).await?;
    Ok(nonce)
}

/// Takes what `hold` kept under `nonce`, if it is this session's; it is gone afterwards either way.
pub async fn take<T: DeserializeOwned>(
    state: &AppState,
    scope: &str,
    session_id: &str,
    nonce: &str,
) -> anyhow::Result<Option<T>> {
    if nonce.is_empty() || nonce.len() > 64 {
        return Ok(None);
    }
    let Some(sealed) = state.ephemeral.take(&store_key(scope, nonce)).await? else {
        return Ok(None);
    };
    let held: Held<T> = serde_json::from_str(&state.master_key.decrypt_string(&sealed)?)?;
    Ok((held.session_id == session_id).then_some(held.value))
}
