//! The test harness: `spawn_app()` starts a real nexus on a random loopback port, on the storage
//! stack this run is for (SQLite + in-process store by default; PostgreSQL + Redis when
//! `NEXUS_TEST_DATABASE_URL` / `NEXUS_TEST_REDIS_URL` are set by `scripts/test.sh`).

#![allow(dead_code)]
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use jsonwebtoken::{DecodingKey, Validation};
use nexus::clock::SettableClock;
use nexus::config::Settings;
use nexus::startup::Application;
use serde_json::{json, Value};

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// Which storage stack this test run exercises.
pub fn stack() -> &'static str {
    if std::env::var("NEXUS_TEST_DATABASE_URL").is_ok() {
        "postgres+redis"
    } else {
        "sqlite+memory"
    }
}

/// Everything needed to start the same node again, or a second node on the same storage.
#[derive(Clone)]
pub struct Storage {
    pub data_dir: Arc<tempfile::TempDir>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
}

impl Storage {
    /// A fresh database (a new PostgreSQL database, or a new SQLite file) and a fresh Redis prefix.
    pub fn fresh() -> Self {
        let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let database_url = std::env::var("NEXUS_TEST_DATABASE_URL").ok().map(|admin_url| {
            use diesel::{Connection, RunQueryDsl};
            let mut conn = diesel::PgConnection::establish(&admin_url).expect("connect to the test PostgreSQL");
            let name = format!("nexus_test_{unique}");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create test database");
            let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
            format!("{base}/{name}")
        });
        Self {
            data_dir,
            database_url,
            redis_url: std::env::var("NEXUS_TEST_REDIS_URL").ok(),
            redis_prefix: format!("test-{unique}:"),
        }
    }

    pub fn settings(&self) -> Settings {
        let mut settings = Settings::for_data_dir(self.data_dir.path());
        settings.database_url = self.database_url.clone();
        settings.redis_url = self.redis_url.clone();
        settings.redis_key_prefix = self.redis_prefix.clone();
        settings.bootstrap_admin_username = ADMIN_USER.to_owned();
        settings.bootstrap_admin_password = Some(ADMIN_PASSWORD.to_owned());
        settings.workers = Some(2);
        settings
    }
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub http: reqwest::Client,
    pub clock: SettableClock,
    pub storage: Storage,
    handle: ServerHandle,
}

pub async fn spawn_app() -> TestApp {
    spawn_on(Storage::fresh(), SettableClock::default(), |_| {}).await
}

/// Starts a node on `storage` with `clock`, after `customize` adjusts the settings.
pub async fn spawn_on(storage: Storage, clock: SettableClock, customize: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let mut settings = storage.settings();
    customize(&mut settings);
    let app = Application::build_with_clock(settings, Arc::new(clock.clone()))
        .await
        .expect("nexus starts");
    let port = app.port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        clock,
        storage,
        handle,
    }
}

fn init_test_logging() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}

impl TestApp {
    /// Stops this node and starts a new one on the same storage (a restart).
    pub async fn restart(self) -> TestApp {
        self.handle.stop(true).await;
        let storage = self.storage.clone();
        let clock = self.clock.clone();
        spawn_on(storage, clock, |_| {}).await
    }

    /// A second node on the same database and ephemeral store.
    pub async fn spawn_peer(&self) -> TestApp {
        spawn_on(self.storage.clone(), self.clock.clone(), |_| {}).await
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn token_url(&self, realm: &str) -> String {
        self.url(&format!("/realms/{realm}/protocol/openid-connect/token"))
    }

    pub fn issuer(&self, realm: &str) -> String {
        self.url(&format!("/realms/{realm}"))
    }

    /// A password-grant token of the bootstrap admin in realm master.
    pub async fn admin_token(&self) -> String {
        self.password_token("master", "admin-cli", ADMIN_USER, ADMIN_PASSWORD)
            .await
    }

    pub async fn password_token(&self, realm: &str, client_id: &str, username: &str, password: &str) -> String {
        let (status, body) = self.password_grant(realm, client_id, username, password).await;
        assert_eq!(status, 200, "password grant for {username} failed");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// A password-grant request: the status and the JSON answer, whatever they are.
    pub async fn password_grant(&self, realm: &str, client_id: &str, username: &str, password: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(self.token_url(realm))
            .form(&[
                ("grant_type", "password"),
                ("client_id", client_id),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("token request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json"))
    }

    /// An admin API request with the bootstrap admin's token.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let token = self.admin_token().await;
        self.admin_as(&token, method, path, body).await
    }

    pub async fn admin_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("admin request")
    }

    pub async fn create_realm(&self, name: &str) {
        let resp = self
            .admin(
                reqwest::Method::POST,
                "/admin/realms",
                Some(json!({ "realm": name, "enabled": true })),
            )
            .await;
        assert_eq!(resp.status(), 201, "create realm {name}");
    }

    /// Creates a confidential client with a service account; returns (internal id, secret).
    /// Changes realm settings (representation fields) through the admin API.
    pub async fn update_realm(&self, name: &str, fields: Value) {
        let resp = self
            .admin(reqwest::Method::PUT, &format!("/admin/realms/{name}"), Some(fields))
            .await;
        assert_eq!(resp.status(), 204, "update realm {name}");
    }

    pub async fn create_service_client(&self, realm: &str, client_id: &str) -> (String, String) {
        let secret = format!("{}-secret-0123456789abcdefghijklmnop", client_id);
        let resp = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/realms/{realm}/clients"),
                Some(json!({ "clientId": client_id, "secret": secret, "serviceAccountsEnabled": true, "publicClient": false })),
            )
            .await;
        assert_eq!(resp.status(), 201, "create client {client_id}");
        let id = location_id(&resp);
        (id, secret)
    }

    pub async fn client_credentials(&self, realm: &str, client_id: &str, secret: &str) -> reqwest::Response {
        self.http
            .post(self.token_url(realm))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request")
    }

    pub async fn jwks(&self, realm: &str) -> Value {
        self.http
            .get(self.url(&format!("/realms/{realm}/protocol/openid-connect/certs")))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json")
    }

    /// Verifies `token` with an independent JWT implementation (`jsonwebtoken`) against the realm's
    /// JWKS fetched over HTTP; returns the claims.
    pub async fn verify(&self, realm: &str, token: &str) -> Result<Value, String> {
        let jwks = self.jwks(realm).await;
        verify_with_jwks(&jwks, token, &self.issuer(realm))
    }
}

pub fn verify_with_jwks(jwks: &Value, token: &str, issuer: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let key = jwks["keys"]
        .as_array()
        .ok_or("no keys")?
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or("kid not in JWKS")?;
    let decoding = DecodingKey::from_rsa_components(key["n"].as_str().ok_or("n")?, key["e"].as_str().ok_or("e")?)
        .map_err(|e| e.to_string())?;
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// The id at the end of a 201's `Location` header.
pub fn location_id(resp: &reqwest::Response) -> String {
    let location = resp
        .headers()
        .get("location")
        .expect("Location header")
        .to_str()
        .expect("ascii");
    location.rsplit('/').next().expect("segment").to_owned()
}

/// Path of the repository (for scripts and fixtures).
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The JSON list an admin GET of `path` answers, waiting up to 2 s for at least `at_least` items:
/// events are stored by a writer that batches for up to 0.1 s. With 0, the list as it is now.
pub async fn list_after_writer(app: &TestApp, path: &str, at_least: usize) -> Vec<Value> {
    let mut list = Vec::new();
    for _ in 0..40 {
        let resp = app.admin(reqwest::Method::GET, path, None).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        list = resp
            .json::<Value>()
            .await
            .expect("json")
            .as_array()
            .expect("list")
            .clone();
        if list.len() >= at_least {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    list
}
