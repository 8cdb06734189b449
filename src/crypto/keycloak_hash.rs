//! Keycloak's password credentials (`secretData` / `credentialData`, JSON strings) to and from the
//! PHC strings nexus stores (ADR 019): PBKDF2 (`pbkdf2`, `pbkdf2-sha256`, `pbkdf2-sha512`) and
//! argon2 become `$pbkdf2-sha256$i=…$salt$hash` / `$argon2id$v=19$m=…,t=…,p=…$salt$hash`, so one
//! parser (`password_hash::PasswordHash`) reads every stored password.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// Most PBKDF2 iterations accepted: each sign-in pays them (Keycloak's default is 210 000 for
/// `pbkdf2-sha512`, 27 500 in older versions).
pub const MAX_PBKDF2_ITERATIONS: u64 = 2_000_000;
/// Most argon2 memory accepted, in KiB (Keycloak's default is 7 168).
pub const MAX_ARGON2_MEMORY: u64 = 128 * 1024;

/// A bad field of a Keycloak credential: its path below the credential, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A JSON-in-a-string field (Keycloak exports `secretData` and `credentialData` that way); an
/// object is accepted too.
fn embedded(value: Option<&Value>, field: &str) -> Result<serde_json::Map<String, Value>, FieldError> {
    let parsed = match value {
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|_| bad(field, "must be a JSON object in a string"))?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(bad(field, "is required")),
    };
    match parsed {
        Value::Object(map) => Ok(map),
        _ => Err(bad(field, "must be a JSON object in a string")),
    }
}

fn base64_field(map: &serde_json::Map<String, Value>, field: &str, path: &str) -> Result<Vec<u8>, FieldError> {
    let text = map
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, "is required (base64)"))?;
    STANDARD
        .decode(text.trim())
        .or_else(|_| STANDARD_NO_PAD.decode(text.trim()))
        .map_err(|_| bad(path, "must be base64"))
}

/// Keycloak writes numbers, and `additionalParameters` values as lists of strings.
fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Array(items) if items.len() == 1 => number(items.first()),
        _ => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Array(items) if items.len() == 1 => text(items.first()),
        _ => None,
    }
}

/// The PHC string of a Keycloak password credential, or the first bad field (`secretData.salt`,
/// `credentialData.hashIterations`, …).
pub fn phc_from_keycloak(secret_data: Option<&Value>, credential_data: Option<&Value>) -> Result<String, FieldError> {
    let secret = embedded(secret_data, "secretData")?;
    let data = embedded(credential_data, "credentialData")?;
    let hash = base64_field(&secret, "value", "secretData.value")?;
    let salt = base64_field(&secret, "salt", "secretData.salt")?;
    let algorithm = data
        .get("algorithm")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("credentialData.algorithm", "is required"))?;
    let iterations = number(data.get("hashIterations"));
    // PHC limits (and argon2's minimum salt): what the verifier can parse.
    if !(8..=48).contains(&salt.len()) {
        return Err(bad("secretData.salt", "must decode to 8 to 48 bytes"));
    }
    if !(10..=64).contains(&hash.len()) {
        return Err(bad("secretData.value", "must decode to 10 to 64 bytes"));
    }
    let salt64 = STANDARD_NO_PAD.encode(&salt);
    let hash64 = STANDARD_NO_PAD.encode(&hash);
    match algorithm {
        "pbkdf2" | "pbkdf2-sha256" | "pbkdf2-sha512" => {
            let i = iterations
                .filter(|i| (1..=MAX_PBKDF2_ITERATIONS).contains(i))
                .ok_or_else(|| {
                    bad(
                        "credentialData.hashIterations",
                        format!("must be a whole number from 1 to {MAX_PBKDF2_ITERATIONS}"),
                    )
                })?;
            Ok(format!("${algorithm}$i={i}${salt64}${hash64}"))
        }
        "argon2" => {
            let params = data.get("additionalParameters").and_then(Value::as_object);
            let param = |name: &str| params.and_then(|p| p.get(name));
            let field = |name: &str| format!("credentialData.additionalParameters.{name}");
            let variant = match text(param("type")).as_deref() {
                None | Some("id") => "argon2id",
                Some("i") => "argon2i",
                Some("d") => "argon2d",
                Some(_) => return Err(bad(&field("type"), "must be id, i or d")),
            };
            let version = match text(param("version")).as_deref() {
                None | Some("1.3") => 19,
                Some("1.0") => 16,
                Some(_) => return Err(bad(&field("version"), "must be 1.3 or 1.0")),
            };
            let t = iterations
                .filter(|t| (1..=100).contains(t))
                .ok_or_else(|| bad("credentialData.hashIterations", "must be a whole number from 1 to 100"))?;
            let p = match param("parallelism") {
                None => 1,
                v => number(v)
                    .filter(|p| (1..=16).contains(p))
                    .ok_or_else(|| bad(&field("parallelism"), "must be a whole number from 1 to 16"))?,
            };
            let m = match param("memory") {
                None => 7168,
                v => number(v)
                    .filter(|m| (8 * p..=MAX_ARGON2_MEMORY).contains(m))
                    .ok_or_else(|| {
                        bad(
                            &field("memory"),
                            format!("must be KiB from 8 × parallelism to {MAX_ARGON2_MEMORY}"),
                        )
                    })?,
            };
            if let Some(len) = param("hashLength") {
                if number(Some(len)) != Some(hash.len() as u64) {
                    return Err(bad(&field("hashLength"), "must be the length of secretData.value"));
                }
            }
            Ok(format!("${variant}$v={version}$m={m},t={t},p={p}${salt64}${hash64}"))
        }
        other => Err(bad(
            "credentialData.algorithm",
            format!(
                "unsupported algorithm {} (pbkdf2, pbkdf2-sha256, pbkdf2-sha512, argon2)",
                other.escape_debug()
            ),
        )),
    }
}

/// Keycloak's `(secretData, credentialData)` JSON strings for a stored PHC string; `None` for a
/// string that is not one nexus writes.
pub fn keycloak_from_phc(phc: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = phc.split('$').collect();
    let (algorithm, params, salt, hash) = match parts.as_slice() {
        ["", alg, params, salt, hash] => (*alg, vec![*params], *salt, *hash),
        ["", alg, version, params, salt, hash] => (*alg, vec![*version, *params], *salt, *hash),
        _ => return None,
    };
    let salt = STANDARD.encode(STANDARD_NO_PAD.decode(salt).ok()?);
    let hash_bytes = STANDARD_NO_PAD.decode(hash).ok()?;
    let hash = STANDARD.encode(&hash_bytes);
    let value = |key: &str| -> Option<u64> {
        params
            .iter()
            .flat_map(|p| p.split(','))
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
    };
    let secret = json!({ "value": hash, "salt": salt, "additionalParameters": {} }).to_string();
    let credential = match algorithm {
        "pbkdf2" | "pbkdf2-sha256" | "pbkdf2-sha512" => {
            json!({ "hashIterations": value("i")?, "algorithm": algorithm, "additionalParameters": {} })
        }
        "argon2id" | "argon2i" | "argon2d" => {
            let version = if value("v")? == 16 { "1.0" } else { "1.3" };
            json!({
                "hashIterations": value("t")?,
                "algorithm": "argon2",
                "additionalParameters": {
                    "hashLength": [hash_bytes.len().to_string()],
                    "memory": [value("m")?.to_string()],
                    "type": [algorithm.trim_start_matches("argon2")],
                    "version": [version],
                    "parallelism": [value("p")?.to_string()],
                }
            })
        }
        _ => return None,
    };
    Some((secret, credential.to_string()))
}

/// PBKDF2 verification of a PHC string `$pbkdf2[-sha256|-sha512]$i=N$salt$hash`, in constant time;
/// the derived key is as long as the stored hash (Keycloak's default is 512 bits).
pub fn verify_pbkdf2(password: &str, algorithm: &str, iterations: u32, salt: &[u8], expected: &[u8]) -> bool {
    use pbkdf2::pbkdf2_hmac;
    if iterations == 0 || u64::from(iterations) > MAX_PBKDF2_ITERATIONS || expected.is_empty() {
        return false;
    }
    let mut computed = vec![0u8; expected.len()];
    let pw = password.as_bytes();
    match algorithm {
        "pbkdf2" => pbkdf2_hmac::<sha1::Sha1>(pw, salt, iterations, &mut computed),
        "pbkdf2-sha256" => pbkdf2_hmac::<sha2::Sha256>(pw, salt, iterations, &mut computed),
        "pbkdf2-sha512" => pbkdf2_hmac::<sha2::Sha512>(pw, salt, iterations, &mut computed),
        _ => return false,
    }
    subtle::ConstantTimeEq::ct_eq(computed.as_slice(), expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keycloak_pbkdf2(algorithm: &str, password: &str, iterations: u32) -> (Value, Value) {
        let salt = b"0123456789abcdef";
        let mut hash = [0u8; 64];
        match algorithm {
            "pbkdf2" => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), salt, iterations, &mut hash),
            "pbkdf2-sha256" => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, iterations, &mut hash),
            _ => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, iterations, &mut hash),
        }
        (
            json!(
                json!({"value": STANDARD.encode(hash), "salt": STANDARD.encode(salt), "additionalParameters": {}})
                    .to_string()
            ),
            json!(
                json!({"hashIterations": iterations, "algorithm": algorithm, "additionalParameters": {}}).to_string()
            ),
        )
    }

    #[test]
    fn pbkdf2_credentials_convert_verify_and_convert_back() {
        for algorithm in ["pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512"] {
            let (secret, data) = keycloak_pbkdf2(algorithm, "pässword", 1000);
            let phc = phc_from_keycloak(Some(&secret), Some(&data)).expect("converts");
            assert!(phc.starts_with(&format!("${algorithm}$i=1000$")), "{phc}");
            assert!(crate::crypto::password::verify_password("pässword", &phc), "{phc}");
            assert!(!crate::crypto::password::verify_password("password", &phc), "{phc}");
            let (s, d) = keycloak_from_phc(&phc).expect("back");
            assert_eq!(phc_from_keycloak(Some(&json!(s)), Some(&json!(d))).expect("again"), phc);
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let (secret, _) = keycloak_pbkdf2("pbkdf2-sha256", "x", 10);
        let data = json!(r#"{"algorithm":"pbkdf2-sha256","hashIterations":0}"#);
        let err = phc_from_keycloak(Some(&secret), Some(&data)).expect_err("refused");
        assert_eq!(err.field, "credentialData.hashIterations");
        let err = phc_from_keycloak(Some(&json!("{")), Some(&data)).expect_err("refused");
        assert_eq!(err.field, "secretData");
        let data = json!(r#"{"algorithm":"bcrypt","hashIterations":10}"#);
        let err = phc_from_keycloak(Some(&secret), Some(&data)).expect_err("refused");
        assert_eq!(err.field, "credentialData.algorithm");
    }

    #[test]
    fn nexus_argon2id_round_trips_through_keycloak_format() {
        let phc = crate::crypto::password::hash_password("pw");
        let (s, d) = keycloak_from_phc(&phc).expect("converts");
        assert!(d.contains(r#""algorithm":"argon2""#), "{d}");
        assert_eq!(phc_from_keycloak(Some(&json!(s)), Some(&json!(d))).expect("back"), phc);
    }
}
