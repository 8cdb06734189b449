//! Parse-don't-validate for the names that become URL segments and identifiers.

/// Longest realm name, client id or username accepted (Keycloak's columns are 255).
pub const MAX_NAME_LEN: usize = 255;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("{0} is longer than 255 characters")]
    TooLong(&'static str),
    #[error("{0} contains characters that are not allowed")]
    BadCharacters(&'static str),
}

/// A realm name: URL-safe, as it appears in `/realms/{realm}`.
pub fn parse_realm_name(name: &str) -> Result<String, NameError> {
    let name = name.trim();
    check_len("realm", name)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(NameError::BadCharacters("realm"));
    }
    Ok(name.to_owned())
}

/// A client id: printable, no whitespace or control characters.
pub fn parse_client_id(client_id: &str) -> Result<String, NameError> {
    check_len("clientId", client_id)?;
    if client_id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NameError::BadCharacters("clientId"));
    }
    Ok(client_id.to_owned())
}

/// A username, lower-cased as Keycloak stores it.
pub fn parse_username(username: &str) -> Result<String, NameError> {
    let username = username.trim();
    check_len("username", username)?;
    if username.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NameError::BadCharacters("username"));
    }
    Ok(username.to_lowercase())
}

/// A role, group or scope name.
pub fn parse_plain_name(what: &'static str, name: &str) -> Result<String, NameError> {
    check_len(what, name)?;
    if name.chars().any(char::is_control) {
        return Err(NameError::BadCharacters(what));
    }
    Ok(name.to_owned())
}

fn check_len(what: &'static str, value: &str) -> Result<(), NameError> {
    if value.is_empty() {
        return Err(NameError::Empty(what));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong(what));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_names_are_url_safe() {
        assert_eq!(parse_realm_name("acme-prod").as_deref(), Ok("acme-prod"));
        assert!(parse_realm_name("a/b").is_err());
        assert!(parse_realm_name("").is_err());
        assert!(parse_realm_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn usernames_are_lower_cased() {
        assert_eq!(parse_username("Alice").as_deref(), Ok("alice"));
        assert!(parse_username("a b").is_err());
    }
}
