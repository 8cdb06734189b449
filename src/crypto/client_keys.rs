//! Keys that verify a client's own JWTs (RFC 7523 assertions): its secret for HS256, or the
//! public keys registered in its Keycloak attributes for RS256 / ES256. Parsed once per client
//! (the realm cache keeps them); verification is `jsonwebtoken`'s (constant-time HMAC, ring).

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openssl::bn::BigNumContext;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use serde_json::{Map, Value};

use crate::domain::Client;

/// Keycloak's attribute with the client's certificate (base64 DER, or PEM).
pub const ATTR_CERTIFICATE: &str = "jwt.credential.certificate";
/// Keycloak's attribute with a bare public key (base64 DER SubjectPublicKeyInfo, or PEM).
pub const ATTR_PUBLIC_KEY: &str = "jwt.credential.public.key";
pub const ATTR_USE_JWKS_STRING: &str = "use.jwks.string";
pub const ATTR_JWKS_STRING: &str = "jwks.string";
pub const ATTR_USE_JWKS_URL: &str = "use.jwks.url";
/// Keycloak's per-client restriction of the assertion's `alg`.
pub const ATTR_SIGNING_ALG: &str = "token.endpoint.auth.signing.alg";

/// Smallest RSA modulus accepted (ring refuses smaller ones anyway).
const MIN_RSA_BITS: usize = 2048;
/// Longest token looked at: assertions are a few hundred bytes.
const MAX_TOKEN_LEN: usize = 8 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientKeyError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ClientKeyError {
    ClientKeyError::Invalid(msg.into())
}

/// One registered public key.
#[derive(Clone)]
pub struct ClientPublicKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    key: DecodingKey,
}

impl fmt::Debug for ClientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientPublicKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The client secret as an HS256 key. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct ClientSecretKey(DecodingKey);

impl ClientSecretKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(DecodingKey::from_secret(secret))
    }
}

impl fmt::Debug for ClientSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecretKey([redacted])")
    }
}

/// What verifies the assertions of one client.
#[derive(Clone, Debug, Default)]
pub enum AssertionKeys {
    /// The client has no usable key (not configured, or configured wrongly: see the log).
    #[default]
    None,
    Secret(ClientSecretKey),
    Public(Vec<ClientPublicKey>),
}

impl AssertionKeys {
    /// The algorithms these keys can verify.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        match self {
            Self::None => Vec::new(),
            Self::Secret(_) => vec![Algorithm::HS256],
            Self::Public(keys) => {
                let mut algs: Vec<Algorithm> = Vec::new();
                for k in keys {
                    if !algs.contains(&k.alg) {
                        algs.push(k.alg);
                    }
                }
                algs
            }
        }
    }

    /// Verifies the signature of `token` with an `alg` among `allowed`; returns the claims. Claims
    /// are not checked here (the caller does it with nexus's clock).
    pub fn verify(&self, token: &str, allowed: &[Algorithm]) -> Result<Map<String, Value>, ClientKeyError> {
        if token.len() > MAX_TOKEN_LEN || token.split('.').count() != 3 {
            return Err(invalid("Malformed JWT"));
        }
        // `alg: none` (and anything jsonwebtoken does not know) fails here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("Unsupported or malformed JWT header"))?;
        if !allowed.contains(&header.alg) {
            return Err(invalid(format!(
                "Algorithm {:?} not allowed for this client",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let candidates: Vec<&DecodingKey> = match self {
            Self::None => return Err(invalid("No key is registered for this client")),
            Self::Secret(secret) => vec![&secret.0],
            Self::Public(keys) => {
                let same_alg = keys.iter().filter(|k| k.alg == header.alg);
                // A kid in the header picks the key of that kid; keys without a kid stay candidates.
                match &header.kid {
                    Some(kid) => same_alg
                        .filter(|k| k.kid.as_deref().is_none_or(|own| own == kid))
                        .map(|k| &k.key)
                        .collect(),
                    None => same_alg.map(|k| &k.key).collect(),
                }
            }
        };
        for key in candidates {
            if let Ok(data) = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                return Ok(data.claims);
            }
        }
        Err(invalid("Invalid signature"))
    }
}

/// The public keys a `client-jwt` client registered, read from Keycloak's attributes:
/// `use.jwks.string` = "true" with `jwks.string`, else `jwt.credential.certificate` or
/// `jwt.credential.public.key`. `Ok(empty)` when none is configured; an error when one is
/// configured but unusable (or is a JWKS URL, which nexus does not fetch).
pub fn public_keys_of(client: &Client) -> Result<Vec<ClientPublicKey>, ClientKeyError> {
    if client.attribute(ATTR_USE_JWKS_URL).as_deref() == Some("true") {
        return Err(invalid(
            "use.jwks.url is not supported: register jwks.string or a certificate",
        ));
    }
    if client.attribute(ATTR_USE_JWKS_STRING).as_deref() == Some("true") {
        let jwks = client
            .attribute(ATTR_JWKS_STRING)
            .ok_or_else(|| invalid("use.jwks.string is true but jwks.string is empty"))?;
        return parse_jwks(&jwks);
    }
    let mut keys = Vec::new();
    for attr in [ATTR_CERTIFICATE, ATTR_PUBLIC_KEY] {
        if let Some(value) = client.attribute(attr) {
            let pkey = parse_public_key(&value).map_err(|e| invalid(format!("{attr}: {e}")))?;
            keys.push(from_pkey(&pkey, None).map_err(|e| invalid(format!("{attr}: {e}")))?);
        }
    }
    Ok(keys)
}

/// A certificate or public key as Keycloak stores it: PEM (`CERTIFICATE`, `PUBLIC KEY`,
/// `RSA PUBLIC KEY`), or base64 DER of a certificate or a SubjectPublicKeyInfo.
pub fn parse_public_key(value: &str) -> Result<PKey<Public>, ClientKeyError> {
    let value = value.trim();
    if value.starts_with("-----BEGIN") {
        let pem = value.as_bytes();
        if value.starts_with("-----BEGIN CERTIFICATE-----") {
            let cert = X509::from_pem(pem).map_err(|_| invalid("not a PEM certificate"))?;
            return cert.public_key().map_err(|_| invalid("unreadable certificate key"));
        }
        if value.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
            let rsa = openssl::rsa::Rsa::public_key_from_pem_pkcs1(pem).map_err(|_| invalid("not a PEM RSA key"))?;
            return PKey::from_rsa(rsa).map_err(|_| invalid("unreadable RSA key"));
        }
        return PKey::public_key_from_pem(pem).map_err(|_| invalid("not a PEM public key"));
    }
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| invalid("neither PEM nor base64 DER"))?;
    if let Ok(cert) = X509::from_der(&der) {
        return cert.public_key().map_err(|_| invalid("unreadable certificate key"));
    }
    PKey::public_key_from_der(&der).map_err(|_| invalid("neither a DER certificate nor a DER public key"))
}

/// RSA (at least 2048 bits, RS256) or EC P-256 (ES256); anything else is refused.
fn from_pkey(pkey: &PKey<Public>, kid: Option<String>) -> Result<ClientPublicKey, ClientKeyError> {
    if let Ok(rsa) = pkey.rsa() {
        if (rsa.n().num_bits() as usize) < MIN_RSA_BITS {
            return Err(invalid(format!("RSA keys must have at least {MIN_RSA_BITS} bits")));
        }
        return Ok(ClientPublicKey {
            kid,
            alg: Algorithm::RS256,
            key: DecodingKey::from_rsa_raw_components(&rsa.n().to_vec(), &rsa.e().to_vec()),
        });
    }
    if let Ok(ec) = pkey.ec_key() {
        if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
            return Err(invalid("EC keys must be on P-256 (ES256)"));
        }
        let mut ctx = BigNumContext::new().map_err(|_| invalid("EC key"))?;
        let mut x = openssl::bn::BigNum::new().map_err(|_| invalid("EC key"))?;
        let mut y = openssl::bn::BigNum::new().map_err(|_| invalid("EC key"))?;
        ec.public_key()
            .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
            .map_err(|_| invalid("EC key"))?;
        let coord = |n: &openssl::bn::BigNum| n.to_vec_padded(32).map(|b| URL_SAFE_NO_PAD.encode(b));
        let (x, y) = (
            coord(&x).map_err(|_| invalid("EC key"))?,
            coord(&y).map_err(|_| invalid("EC key"))?,
        );
        let key = DecodingKey::from_ec_components(&x, &y).map_err(|_| invalid("EC key"))?;
        return Ok(ClientPublicKey {
            kid,
            alg: Algorithm::ES256,
            key,
        });
    }
    Err(invalid("only RSA and EC P-256 keys are supported"))
}

/// A JWKS document: its RSA and EC P-256 signing keys. Keys for encryption (`use` = `enc`) and of
/// other types are skipped; a document with no usable key is an error.
pub fn parse_jwks(json: &str) -> Result<Vec<ClientPublicKey>, ClientKeyError> {
    let doc: Value = serde_json::from_str(json).map_err(|_| invalid("jwks.string is not JSON"))?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("jwks.string has no keys array"))?;
    let mut keys = Vec::new();
    for jwk in entries {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        if field("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let kid = field("kid").map(str::to_owned);
        let bytes = |name: &str| -> Result<Vec<u8>, ClientKeyError> {
            let v = field(name).ok_or_else(|| invalid(format!("JWK without {name}")))?;
            URL_SAFE_NO_PAD
                .decode(v.trim_end_matches('='))
                .map_err(|_| invalid(format!("JWK {name} is not base64url")))
        };
        let pkey = match (field("kty"), field("alg")) {
            (Some("RSA"), None | Some("RS256")) => {
                let n = openssl::bn::BigNum::from_slice(&bytes("n")?).map_err(|_| invalid("JWK n"))?;
                let e = openssl::bn::BigNum::from_slice(&bytes("e")?).map_err(|_| invalid("JWK e"))?;
                let rsa = openssl::rsa::Rsa::from_public_components(n, e).map_err(|_| invalid("JWK RSA key"))?;
                PKey::from_rsa(rsa).map_err(|_| invalid("JWK RSA key"))?
            }
            (Some("EC"), None | Some("ES256")) => {
                if field("crv") != Some("P-256") {
                    continue;
                }
                let group = openssl::ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(|_| invalid("EC"))?;
                let x = openssl::bn::BigNum::from_slice(&bytes("x")?).map_err(|_| invalid("JWK x"))?;
                let y = openssl::bn::BigNum::from_slice(&bytes("y")?).map_err(|_| invalid("JWK y"))?;
                // Checks that the point is on the curve.
                let ec = openssl::ec::EcKey::from_public_key_affine_coordinates(&group, &x, &y)
                    .map_err(|_| invalid("JWK EC point is not on P-256"))?;
                PKey::from_ec_key(ec).map_err(|_| invalid("JWK EC key"))?
            }
            _ => continue,
        };
        keys.push(from_pkey(&pkey, kid)?);
    }
    if keys.is_empty() {
        return Err(invalid("jwks.string has no RSA or EC P-256 signing key"));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    fn claims() -> Value {
        json!({ "iss": "svc", "sub": "svc", "exp": 10 })
    }

    #[test]
    fn hs256_verifies_with_the_secret_only() {
        let keys = AssertionKeys::Secret(ClientSecretKey::new(b"the-secret"));
        let good = encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"the-secret"),
        )
        .expect("sign");
        assert_eq!(keys.verify(&good, &[Algorithm::HS256]).expect("valid")["sub"], "svc");
        let bad = encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"other"),
        )
        .expect("sign");
        assert!(keys.verify(&bad, &[Algorithm::HS256]).is_err());
        // HS256 is not allowed when the caller allows only RS256.
        assert!(keys.verify(&good, &[Algorithm::RS256]).is_err());
        // alg none never verifies.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert!(keys.verify(&none, &[Algorithm::HS256]).is_err());
        assert!(format!("{keys:?}").contains("redacted"));
    }

    #[test]
    fn keys_parse_from_certificates_pem_and_jwks() {
        let rsa = openssl::rsa::Rsa::generate(2048).expect("rsa");
        let pkey = PKey::from_rsa(rsa).expect("pkey");
        let pem = String::from_utf8(pkey.public_key_to_pem().expect("pem")).expect("utf8");
        let parsed = parse_public_key(&pem).expect("PEM public key");
        assert_eq!(from_pkey(&parsed, None).expect("RS256").alg, Algorithm::RS256);
        let der = STANDARD.encode(pkey.public_key_to_der().expect("der"));
        assert!(parse_public_key(&der).is_ok());

        let small = PKey::from_rsa(openssl::rsa::Rsa::generate(1024).expect("rsa")).expect("pkey");
        let small_pem = String::from_utf8(small.public_key_to_pem().expect("pem")).expect("utf8");
        assert!(from_pkey(&parse_public_key(&small_pem).expect("parses"), None).is_err());

        let group = openssl::ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("group");
        let ec = openssl::ec::EcKey::generate(&group).expect("ec");
        let mut ctx = BigNumContext::new().expect("ctx");
        let (mut x, mut y) = (
            openssl::bn::BigNum::new().expect("x"),
            openssl::bn::BigNum::new().expect("y"),
        );
        ec.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .expect("coords");
        let b64 = |n: &openssl::bn::BigNum| URL_SAFE_NO_PAD.encode(n.to_vec_padded(32).expect("pad"));
        let jwks = json!({ "keys": [
            { "kty": "EC", "crv": "P-256", "x": b64(&x), "y": b64(&y), "kid": "k1", "use": "sig" },
            { "kty": "oct", "k": "AAAA" },
        ]});
        let keys = parse_jwks(&jwks.to_string()).expect("jwks");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].alg, Algorithm::ES256);
        assert_eq!(keys[0].kid.as_deref(), Some("k1"));
        assert!(parse_jwks(r#"{"keys":[]}"#).is_err());
        assert!(parse_public_key("not a key").is_err());
    }
}
