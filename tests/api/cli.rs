//! The `nexus` command itself: its help, its refusal of unknown database URLs, `migrate`, and the
//! first start that creates the administrator and prints a generated password once.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::Storage;

fn nexus() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nexus"));
    // Only what each test sets: nothing inherited from the developer's environment.
    for (name, _) in std::env::vars() {
        if name.starts_with("NEXUS_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn help_documents_every_configuration_variable() {
    let out = nexus().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "NEXUS_BIND",
        "NEXUS_PUBLIC_URL",
        "NEXUS_DATABASE_URL",
        "NEXUS_DATA_DIR",
        "NEXUS_REDIS_URL",
        "NEXUS_BOOTSTRAP_ADMIN_USERNAME",
        "NEXUS_BOOTSTRAP_ADMIN_PASSWORD",
        "NEXUS_MASTER_KEY",
        "NEXUS_CONFIG",
        "NEXUS_KEY_POOL_SIZE",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
    for command in ["serve", "migrate", "export", "import", "keys", "password-hash-cost"] {
        assert!(help.contains(command), "--help does not list `{command}`");
    }
}

#[test]
fn unknown_database_schemes_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = nexus()
        .arg("migrate")
        .env("NEXUS_DATA_DIR", dir.path())
        .env("NEXUS_DATABASE_URL", "mysql://db/nexus")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unsupported database URL scheme `mysql`"),
        "stderr: {stderr}"
    );
    // Nothing was created under a name derived from the URL.
    assert!(std::fs::read_dir(dir.path()).expect("readable").next().is_none());
}

#[test]
fn a_closed_log_pipe_does_not_stop_the_server() {
    let storage = Storage::fresh();
    let mut cmd = nexus();
    cmd.env("NEXUS_DATA_DIR", storage.data_dir.path())
        .env("NEXUS_BIND", "127.0.0.1:0")
        .env("NEXUS_KEY_POOL_SIZE", "0")
        .env("NEXUS_BOOTSTRAP_ADMIN_PASSWORD", "x")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(url) = &storage.database_url {
        cmd.env("NEXUS_DATABASE_URL", url);
    }
    let mut child = cmd.spawn().expect("starts");
    let mut first = String::new();
    BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut first)
        .expect("a first log line");
    // The reader is gone now: every further log line fails to write.
    std::thread::sleep(Duration::from_millis(1500));
    let status = child.try_wait().expect("status");
    let _ = child.kill();
    let _ = child.wait();
    assert!(status.is_none(), "nexus exited when its log pipe closed: {status:?}");
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    let storage = Storage::fresh();
    let mut cmd = nexus();
    cmd.arg("migrate").env("NEXUS_DATA_DIR", storage.data_dir.path());
    if let Some(url) = &storage.database_url {
        cmd.env("NEXUS_DATABASE_URL", url);
    }
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
    if storage.database_url.is_none() {
        assert!(storage.data_dir.path().join("nexus.db").exists());
    }
    // Running it again is a no-op, not an error.
    let mut again = nexus();
    again.arg("migrate").env("NEXUS_DATA_DIR", storage.data_dir.path());
    if let Some(url) = &storage.database_url {
        again.env("NEXUS_DATABASE_URL", url);
    }
    assert!(again.output().expect("runs").status.success());
}

#[test]
fn password_hash_cost_times_the_login_hash_and_prints_the_ceiling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = nexus()
        .args(["password-hash-cost", "--samples", "2"])
        .env("NEXUS_DATA_DIR", dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("argon2id m=19456 KiB, t=2, p=1"), "stdout: {stdout}");
    assert!(stdout.contains("ms per verification"), "stdout: {stdout}");
    // The machine-readable line scripts/bench.sh parses.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("HASHCOST "))
        .unwrap_or_else(|| panic!("no HASHCOST line: {stdout}"));
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
            .parse()
            .expect("a number")
    };
    assert_eq!(field("samples"), 2.0);
    let cores = field("cores");
    let ms = field("ms_median");
    assert!(cores >= 1.0 && ms > 0.0, "{line}");
    // ceiling = cores / seconds per verification (printed with one decimal).
    assert!((field("ceiling_per_s") - cores / (ms / 1000.0)).abs() < 0.2, "{line}");
    assert!(field("parallel_per_s") > 0.0, "{line}");
    // It touches no database: nothing is created in the data dir.
    assert!(std::fs::read_dir(dir.path()).expect("readable").next().is_none());

    let zero = nexus()
        .args(["password-hash-cost", "--samples", "0"])
        .output()
        .expect("runs");
    assert!(!zero.status.success(), "--samples 0 is refused");
}

/// Starts `nexus serve` on a free port; returns the child, the lines it printed until it was
/// listening, and the port.
fn serve(storage: &Storage) -> (std::process::Child, Vec<String>, u16) {
    let mut cmd = nexus();
    cmd.env("NEXUS_DATA_DIR", storage.data_dir.path())
        .env("NEXUS_BIND", "127.0.0.1:0")
        .env("NEXUS_KEY_POOL_SIZE", "0")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(url) = &storage.database_url {
        cmd.env("NEXUS_DATABASE_URL", url);
    }
    let mut child = cmd.spawn().expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reader = BufReader::new(stderr);
    let port = loop {
        assert!(Instant::now() < deadline, "nexus did not start: {lines:?}");
        let mut line = String::new();
        if reader.read_line(&mut line).expect("read") == 0 {
            panic!("nexus exited: {lines:?}");
        }
        lines.push(line.clone());
        if line.contains("nexus listening") {
            let addr = line
                .split("address=")
                .nth(1)
                .expect("address")
                .split_whitespace()
                .next()
                .expect("addr");
            let plain: String = addr
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            break plain
                .rsplit(':')
                .next()
                .expect("port")
                .parse::<u16>()
                .expect("port number");
        }
    };
    // Keep draining stderr, as a log collector would, for as long as the child writes.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, lines, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_prints_a_generated_admin_password_once() {
    let storage = Storage::fresh();
    let (mut first, lines, port) = serve(&storage);
    let printed = lines.join("");
    let password = lines
        .iter()
        .skip_while(|l| !l.contains("with the generated password"))
        .nth(2)
        .map(|l| l.trim().to_owned())
        .expect("a generated password is printed");
    assert!(password.len() >= 32, "generated password too short: {printed}");
    assert!(
        !printed.contains('\x1b'),
        "logs to a pipe must be plain text: {printed:?}"
    );
    // It logs in as the administrator of master, with rights over the admin API.
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!(
            "http://127.0.0.1:{port}/realms/master/protocol/openid-connect/token"
        ))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", &password),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("json");
    let access = token["access_token"]
        .as_str()
        .expect("admin logs in with the printed password");
    let realms = http
        .get(format!("http://127.0.0.1:{port}/admin/realms"))
        .bearer_auth(access)
        .send()
        .await
        .expect("admin request");
    assert_eq!(realms.status(), 200);
    first.kill().expect("stop");
    let _ = first.wait();

    // A second start on the same database creates nobody and prints no password.
    let (mut second, lines, _) = serve(&storage);
    let printed = lines.join("");
    second.kill().expect("stop");
    let _ = second.wait();
    assert!(!printed.contains("generated password"), "printed again: {printed}");
    assert!(!printed.contains(&password));
}
