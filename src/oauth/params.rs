//! Form parameters of protocol endpoints, read per RFC 6749 §3.1: empty values count as omitted,
//! repeated parameters are refused.

use std::collections::HashMap;

use super::OAuthError;

#[derive(Debug, Default)]
pub struct FormParams {
    values: HashMap<String, String>,
}

impl FormParams {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| OAuthError::invalid_request("Malformed form body"))?;
        let mut values = HashMap::with_capacity(pairs.len());
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        for (name, value) in pairs {
            if !seen.insert(name.clone()) {
                return Err(OAuthError::invalid_request(format!("Duplicated parameter: {name}")));
            }
            if !value.is_empty() {
                values.insert(name, value);
            }
        }
        Ok(Self { values })
    }

    /// The value, or `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing parameter: {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_omitted_and_duplicates_refused() {
        let p = FormParams::parse(b"grant_type=client_credentials&username=&password=&scope=a+b").expect("parses");
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("username"), None);
        assert_eq!(p.get("scope"), Some("a b"));
        assert!(FormParams::parse(b"a=1&a=2").is_err());
    }
}
