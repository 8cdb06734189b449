//! The browser cookies of an SSO session, with Keycloak's names, paths and attributes.
//!
//! - `KEYCLOAK_IDENTITY` (`{sessionId}.{secret}`, HttpOnly): proves the session; the login pages set it.
//! - `KEYCLOAK_SESSION` (not HttpOnly): read by the session-status iframe that keycloak-js embeds,
//!   which compares it with the `sid` of the app's tokens. Since Keycloak 26.1 its value is the
//!   base64url SHA-256 of the session id, so the id itself never sits in a script-readable cookie.
//!
//! Both live under the realm's path `/realms/{realm}/`, so realms never see each other's cookies.

use actix_web::cookie::{time, Cookie, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub const IDENTITY: &str = "KEYCLOAK_IDENTITY";
pub const SESSION: &str = "KEYCLOAK_SESSION";

/// The path every SSO cookie of a realm is set on (Keycloak's realm cookie path).
pub fn realm_path(realm_name: &str) -> String {
    format!("/realms/{realm_name}/")
}

/// Whether cookies must be `Secure`: the server is reached over https.
pub fn secure(public_url: &str) -> bool {
    public_url.starts_with("https://")
}

/// The value of `KEYCLOAK_SESSION` for a session: Keycloak 26.1+'s format, the unpadded base64url
/// SHA-256 of the session id (the tokens' `sid`), which the status iframe recomputes from the
/// `sid` keycloak-js gives it. The realm and user are not part of that format any more (Keycloak
/// before 26.1 used `realm/userId/sessionId`); they are taken so that callers need not change if
/// the format ever has to carry them again.
pub fn session_status_cookie_value(_realm_name: &str, _user_id: &str, session_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(session_id.as_bytes()))
}

/// The whole `KEYCLOAK_SESSION` cookie to set at login: readable by scripts (the iframe needs
/// it), on the realm path, for the session's maximum lifespan. `SameSite=None; Secure` over https
/// so that the iframe, embedded by an app on another site, can read it; `Lax` over plain http,
/// where browsers refuse `SameSite=None` without `Secure`.
pub fn session_status_cookie(
    realm_name: &str,
    user_id: &str,
    session_id: &str,
    max_age_seconds: i64,
    public_url: &str,
) -> Cookie<'static> {
    let secure = secure(public_url);
    Cookie::build(SESSION, session_status_cookie_value(realm_name, user_id, session_id))
        .path(realm_path(realm_name))
        .http_only(false)
        .secure(secure)
        .same_site(if secure { SameSite::None } else { SameSite::Lax })
        .max_age(time::Duration::seconds(max_age_seconds.max(0)))
        .finish()
}

/// Cookies that remove both SSO cookies of a realm from the browser (logout).
pub fn expired_session_cookies(realm_name: &str, public_url: &str) -> [Cookie<'static>; 2] {
    let secure = secure(public_url);
    [(IDENTITY, true), (SESSION, false)].map(|(name, http_only)| {
        let mut cookie = Cookie::build(name, "")
            .path(realm_path(realm_name))
            .http_only(http_only)
            .secure(secure)
            .finish();
        cookie.make_removal();
        cookie
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_value_is_keycloaks_hash_of_the_session_id() {
        // base64url(SHA-256("abc")), as the iframe computes it with crypto.subtle.
        assert_eq!(
            session_status_cookie_value("r", "u", "abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        let cookie = session_status_cookie("acme", "u", "abc", 36000, "https://id.example");
        assert_eq!(cookie.path(), Some("/realms/acme/"));
        assert_eq!(cookie.http_only(), Some(false));
        assert_eq!(cookie.same_site(), Some(SameSite::None));
        assert_eq!(cookie.secure(), Some(true));
        let plain = session_status_cookie("acme", "u", "abc", 36000, "http://127.0.0.1:8080");
        assert_eq!(plain.same_site(), Some(SameSite::Lax));
    }

    #[test]
    fn removal_cookies_match_the_login_cookies_path() {
        let [identity, session] = expired_session_cookies("acme", "http://localhost");
        assert_eq!(identity.name(), IDENTITY);
        assert_eq!(session.name(), SESSION);
        for cookie in [&identity, &session] {
            assert_eq!(cookie.path(), Some("/realms/acme/"));
            assert_eq!(cookie.value(), "");
            assert_eq!(cookie.max_age(), Some(time::Duration::ZERO));
        }
    }
}
