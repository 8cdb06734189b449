//! Operations: health, readiness, Prometheus metrics, security headers, and no secret in any log.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, stack, Storage};
use crate::token_endpoint::split;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_endpoints_report_the_storage() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/health/live")).send().await.expect("live");
    assert_eq!(resp.status(), 200);
    let resp = app.http.get(app.url("/health/ready")).send().await.expect("ready");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "UP");
    let checks = body["checks"].as_array().expect("checks");
    let by_name = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_name("database")["status"], "UP");
    assert_eq!(by_name("ephemeral-store")["status"], "UP");
    let kind = if stack() == "sqlite+memory" { "memory" } else { "redis" };
    assert_eq!(by_name("ephemeral-store")["kind"], kind);
}

fn metric_value(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_latency_and_tokens() {
    let app = spawn_app().await;
    app.create_realm("metered").await;
    let (_, secret) = app.create_service_client("metered", "svc").await;
    for _ in 0..3 {
        let (status, _, _) = split(app.client_credentials("metered", "svc", &secret).await).await;
        assert_eq!(status, 200);
    }
    let (status, _, _) = split(
        app.client_credentials("metered", "svc", "wrong-secret-0123456789abcdefghijklmnop")
            .await,
    )
    .await;
    assert_eq!(status, 401);
    app.http.get(app.url("/no/such/thing/12345")).send().await.expect("404");

    let resp = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/plain"));
    let metrics = resp.text().await.expect("text");

    assert!(
        metrics.contains("# TYPE nexus_http_requests_total counter"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE nexus_http_request_duration_seconds histogram"),
        "{metrics}"
    );
    assert_eq!(
        metric_value(
            &metrics,
            r#"nexus_tokens_issued_total{grant_type="client_credentials",realm="metered"}"#
        ),
        Some(3.0),
        "{metrics}"
    );
    // Password grants of the admin are counted under their own labels.
    assert!(metric_value(
        &metrics,
        r#"nexus_tokens_issued_total{grant_type="password",realm="master"}"#
    )
    .is_some_and(|v| v >= 1.0));
    let token_route = "/realms/{realm}/protocol/openid-connect/token";
    assert_eq!(
        metric_value(
            &metrics,
            &format!(r#"nexus_http_requests_total{{method="POST",route="{token_route}",status="200"}}"#)
        )
        .map(|v| v >= 3.0),
        Some(true),
        "{metrics}"
    );
    assert!(metric_value(
        &metrics,
        &format!(r#"nexus_http_requests_total{{method="POST",route="{token_route}",status="401"}}"#)
    )
    .is_some());
    assert!(
        metrics.contains(&format!(
            r#"nexus_http_request_duration_seconds_bucket{{method="POST",route="{token_route}",le="0.1"}}"#
        )),
        "{metrics}"
    );
    // Labels are route patterns: no realm name, client id or junk path in them (bounded cardinality).
    for line in metrics.lines().filter(|l| l.starts_with("nexus_http_")) {
        assert!(
            !line.contains("metered") && !line.contains("12345") && !line.contains("svc"),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let responses = vec![
        app.http
            .get(app.url("/realms/master/.well-known/openid-configuration"))
            .send()
            .await
            .expect("r"),
        app.http
            .get(app.url("/realms/master/protocol/openid-connect/certs"))
            .send()
            .await
            .expect("r"),
        app.http
            .post(app.token_url("master"))
            .form(&[("grant_type", "nope")])
            .send()
            .await
            .expect("r"),
        app.http
            .get(app.url("/admin/realms"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("r"),
        app.http.get(app.url("/admin/realms")).send().await.expect("r"),
        app.http.get(app.url("/nothing/here")).send().await.expect("r"),
        app.http.get(app.url("/health/live")).send().await.expect("r"),
    ];
    for resp in responses {
        let url = resp.url().to_string();
        let h = resp.headers();
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert_eq!(get("x-frame-options"), "DENY", "{url}");
        assert!(
            get("content-security-policy").contains("frame-ancestors 'none'"),
            "{url}"
        );
        assert_eq!(get("x-content-type-options"), "nosniff", "{url}");
        assert!(
            h.get("server").is_none_or(|v| !v.to_str().unwrap_or("").contains('/')),
            "{url}: no server version"
        );
    }
    // Token responses and client secrets are never cached.
    let resp = app
        .admin(Method::POST, "/admin/realms", Some(json!({ "realm": "hdr" })))
        .await;
    assert_eq!(resp.status(), 201);
    let (id, _) = app.create_service_client("hdr", "svc").await;
    let resp = app
        .admin(
            Method::GET,
            &format!("/admin/realms/hdr/clients/{id}/client-secret"),
            None,
        )
        .await;
    assert_eq!(
        resp.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
}

/// A `nexus serve` process whose stderr (its log) is collected.
struct Server {
    child: Child,
    log: Arc<Mutex<String>>,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(storage: &Storage, admin_password: &str) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nexus"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NEXUS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("NEXUS_DATA_DIR", storage.data_dir.path())
        .env("NEXUS_BIND", "127.0.0.1:0")
        .env("NEXUS_REDIS_KEY_PREFIX", &storage.redis_prefix)
        .env("NEXUS_BOOTSTRAP_ADMIN_USERNAME", "admin")
        .env("NEXUS_BOOTSTRAP_ADMIN_PASSWORD", admin_password)
        .env("NEXUS_WORKERS", "2")
        // As verbose as an operator could make it.
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &storage.database_url {
        cmd.env("NEXUS_DATABASE_URL", url);
    }
    if let Some(url) = &storage.redis_url {
        cmd.env("NEXUS_REDIS_URL", url);
    }
    let mut child = cmd.spawn().expect("start nexus");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stdout.take().expect("stdout")),
    ] {
        let log = log.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                if let Some(at) = line.find("address=") {
                    let addr: String = line[at + 8..].chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = tx.send(addr);
                }
                let mut log = log.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
    }
    let address = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("nexus did not start: {}", log.lock().expect("log")));
    Server {
        child,
        log,
        address: format!("http://{address}"),
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_password_or_token_reaches_the_log() {
    let storage = Storage::fresh();
    let admin_password = "bootstrap-P4ssw0rd-never-logged";
    let server = tokio::task::block_in_place(|| start_server(&storage, admin_password));
    let http = reqwest::Client::new();
    let base = server.address.clone();
    let token_url = |realm: &str| format!("{base}/realms/{realm}/protocol/openid-connect/token");

    // Wait for readiness.
    let deadline = Instant::now() + Duration::from_secs(30);
    while http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login: Value = http
        .post(token_url("master"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", admin_password),
        ])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let admin = login["access_token"].as_str().expect("admin token").to_owned();
    let refresh = login["refresh_token"].as_str().expect("refresh").to_owned();
    let secret = "client-secret-that-must-never-be-logged-42";
    let resp = http
        .post(format!("{base}/admin/realms"))
        .bearer_auth(&admin)
        .json(&json!({ "realm": "quiet" }))
        .send()
        .await
        .expect("realm");
    assert_eq!(resp.status(), 201);
    let resp = http
        .post(format!("{base}/admin/realms/quiet/clients"))
        .bearer_auth(&admin)
        .json(&json!({ "clientId": "svc", "secret": secret, "serviceAccountsEnabled": true }))
        .send()
        .await
        .expect("client");
    assert_eq!(resp.status(), 201);
    let resp = http
        .post(token_url("quiet"))
        .basic_auth("svc", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("cc");
    let issued: Value = resp.json().await.expect("json");
    let access = issued["access_token"].as_str().expect("token").to_owned();
    // Failures log too: a wrong secret, a wrong password, a bad refresh token.
    let wrong_secret = "wrong-secret-that-must-never-be-logged-77";
    http.post(token_url("quiet"))
        .basic_auth("svc", Some(wrong_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("cc");
    let wrong_password = "wrong-Passw0rd-never-logged";
    http.post(token_url("master"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", wrong_password),
        ])
        .send()
        .await
        .expect("login");
    http.post(token_url("master"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "admin-cli"),
            ("refresh_token", &refresh),
        ])
        .send()
        .await
        .expect("refresh");
    let regenerated: Value = {
        let list: Value = http
            .get(format!("{base}/admin/realms/quiet/clients?clientId=svc"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let id = list[0]["id"].as_str().expect("id").to_owned();
        http.post(format!("{base}/admin/realms/quiet/clients/{id}/client-secret"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("regenerate")
            .json()
            .await
            .expect("json")
    };
    let new_secret = regenerated["value"].as_str().expect("secret").to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let log = server.log.lock().expect("log").clone();
    assert!(log.contains("nexus listening"), "the log was captured: {log}");
    // Parts long enough to be unambiguous: the signature of each token, each secret and password.
    let signature = |t: &str| t.rsplit('.').next().expect("sig").to_owned();
    for (what, needle) in [
        ("admin password", admin_password.to_owned()),
        ("wrong password", wrong_password.to_owned()),
        ("client secret", secret.to_owned()),
        ("wrong client secret", wrong_secret.to_owned()),
        ("regenerated secret", new_secret),
        ("admin access token", signature(&admin)),
        ("refresh token", signature(&refresh)),
        ("service access token", signature(&access)),
    ] {
        assert!(!log.contains(&needle), "the {what} appears in the log");
    }
    drop(server);
}
