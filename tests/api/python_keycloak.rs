//! Keycloak-client compatibility: the unmodified python-keycloak library drives a running nexus
//! through `tests/compat/python_keycloak_compat.py` (see tests/compat/README.md).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{repo_path, spawn_app, ADMIN_PASSWORD, ADMIN_USER};

const DEFAULT_VENV_PYTHON: &str = "/root/.cache/nexus/venv/bin/python";

/// `NEXUS_TEST_PYTHON` (set by scripts/test.sh), else the venv scripts/test.sh creates. Missing
/// both is a failure, not a skip: the compatibility promise must not go silently untested.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("NEXUS_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let fallback = PathBuf::from(DEFAULT_VENV_PYTHON);
    assert!(
        fallback.exists(),
        "no Python with python-keycloak: NEXUS_TEST_PYTHON is unset and {DEFAULT_VENV_PYTHON} does not exist. \
         Run the suite through scripts/test.sh (it creates that venv), or create it as tests/compat/README.md says."
    );
    fallback
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_keycloak_drives_nexus_unmodified() {
    let python = python();
    let app = spawn_app().await;
    let script = repo_path("tests/compat/python_keycloak_compat.py");
    let args = [
        script.display().to_string(),
        "--server-url".to_owned(),
        format!("{}/", app.address),
        "--admin-username".to_owned(),
        ADMIN_USER.to_owned(),
        "--admin-password".to_owned(),
        ADMIN_PASSWORD.to_owned(),
    ];
    // The server keeps running on this runtime's workers while the script runs on a blocking thread.
    let program = python.clone();
    let output = tokio::task::spawn_blocking(move || run_with_deadline(&program, &args, Duration::from_secs(300)))
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().any(|l| l.trim() == "compat: ok"),
        "python-keycloak compat script failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );
}

/// Runs `program args…`, killing it if it outlives `deadline` (its output so far is kept).
fn run_with_deadline(program: &PathBuf, args: &[String], deadline: Duration) -> std::io::Result<Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}
