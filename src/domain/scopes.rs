//! Scope negotiation: what a client asked for against what it may have.

use std::collections::BTreeSet;

use super::ClientScope;

/// The scopes linked to a client.
#[derive(Clone, Debug, Default)]
pub struct ClientScopes {
    pub default: Vec<ClientScope>,
    pub optional: Vec<ClientScope>,
}

/// The outcome of negotiation: the granted scopes and the `scope` string tokens carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantedScopes {
    /// Names of every client scope granted (default ones and requested optional ones).
    pub names: BTreeSet<String>,
    /// The space-separated `scope` value of the token and the response.
    pub scope_param: String,
}

/// The claims a built-in scope adds to tokens (what `oauth::tokens` inserts for it), shown to
/// admins; scopes an admin creates add none (nexus has no protocol mappers yet).
pub fn claims_added_by(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &["name", "preferred_username", "given_name", "family_name"],
        "email" => &["email", "email_verified"],
        "roles" => &["realm_access", "resource_access"],
        "web-origins" => &["allowed-origins"],
        _ => &[],
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("scope `{0}` is not allowed for this client")]
pub struct ScopeNotAllowed(pub String);

/// Grants the client's default scopes plus the requested optional ones; any other requested
/// scope (except `openid`) is refused.
pub fn negotiate(requested: Option<&str>, scopes: &ClientScopes) -> Result<GrantedScopes, ScopeNotAllowed> {
    let mut names = BTreeSet::new();
    let mut in_token: BTreeSet<String> = BTreeSet::new();
    let mut openid = false;
    for scope in &scopes.default {
        names.insert(scope.name.clone());
        if scope.include_in_token_scope() {
            in_token.insert(scope.name.clone());
        }
    }
    for wanted in requested.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        if wanted == "openid" {
            openid = true;
            continue;
        }
        if names.contains(wanted) {
            continue;
        }
        let Some(scope) = scopes.optional.iter().find(|s| s.name == wanted) else {
            return Err(ScopeNotAllowed(wanted.to_owned()));
        };
        names.insert(scope.name.clone());
        if scope.include_in_token_scope() {
            in_token.insert(scope.name.clone());
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if openid {
        parts.push("openid".to_owned());
    }
    parts.extend(in_token);
    Ok(GrantedScopes {
        names,
        scope_param: parts.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn scope(name: &str, in_token: bool) -> ClientScope {
        let mut attributes = Map::new();
        attributes.insert("include.in.token.scope".into(), json!(in_token.to_string()));
        ClientScope {
            id: name.into(),
            realm_id: "r".into(),
            name: name.into(),
            description: None,
            protocol: "openid-connect".into(),
            attributes,
        }
    }

    #[test]
    fn defaults_are_granted_and_optional_only_on_request() {
        let scopes = ClientScopes {
            default: vec![scope("profile", true), scope("roles", false)],
            optional: vec![scope("offline_access", true), scope("read:users", true)],
        };
        let granted = negotiate(None, &scopes).expect("no request is fine");
        assert_eq!(granted.scope_param, "profile");
        let granted = negotiate(Some("openid read:users"), &scopes).expect("optional scope");
        assert_eq!(granted.scope_param, "openid profile read:users");
        assert!(granted.names.contains("roles"));
        assert_eq!(negotiate(Some("admin"), &scopes), Err(ScopeNotAllowed("admin".into())));
    }
}
