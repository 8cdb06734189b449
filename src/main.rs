//! The `nexus` command: `serve` (default), `migrate`, `export`, `import`, `keys rotate`,
//! `password-hash-cost`.

use std::process::ExitCode;

use clap::Parser;
use nexus::config::{Cli, Command, KeysCommand, Settings};
use nexus::startup::{self, Application};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // A config file named by --config/NEXUS_CONFIG fills the environment before the real parse.
    if let Some(path) = config_file_from_args() {
        if let Err(e) = nexus::config::load_config_file(&path) {
            eprintln!("nexus: cannot read config file {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let cli = Cli::parse();
    init_tracing(&cli.settings);
    let runtime = match actix_web::rt::System::new().block_on(async { run(cli).await }) {
        Ok(()) => return ExitCode::SUCCESS,
        Err(e) => e,
    };
    eprintln!("nexus: {runtime:#}");
    ExitCode::FAILURE
}

fn config_file_from_args() -> Option<std::path::PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(Into::into);
        }
        if let Some(v) = arg.strip_prefix("--config=") {
            return Some(v.into());
        }
    }
    std::env::var_os("NEXUS_CONFIG").map(Into::into)
}

fn init_tracing(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal; log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        // A failed log write is reported with eprintln!, which panics when stderr itself is gone:
        // a closed log pipe must not take the server down.
        .log_internal_errors(false);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(cli.settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            startup::open_database(&cli.settings)?;
            println!("migrations applied");
        }
        Command::Keys {
            action: KeysCommand::Rotate { realm },
        } => rotate(&cli.settings, &realm).await?,
        Command::PasswordHashCost { samples } => password_hash_cost(samples),
        Command::Export { realm, file } => export(&cli.settings, &realm, file.as_deref())?,
        Command::Import { file } => import(&cli.settings, &file).await?,
    }
    Ok(())
}

/// Prints the cost of one login's password verification, for scripts/bench.sh and capacity planning.
fn password_hash_cost(samples: u32) {
    use nexus::crypto::password;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (m, t, p) = password::PARAMS;
    let cost = password::measure_verify_cost(samples);
    let parallel = password::measure_parallel_verify_rate(cores, samples);
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let ceiling = cost.ceiling_per_second(cores);
    println!(
        "argon2id m={m} KiB, t={t}, p={p}: {:.2} ms per verification (median of {samples} on one thread; mean {:.2}, min {:.2})",
        ms(cost.median),
        ms(cost.mean),
        ms(cost.min),
    );
    println!(
        "ceiling: {cores} cores / {:.4} s = {ceiling:.1} logins/s",
        cost.median.as_secs_f64()
    );
    println!("measured with {cores} threads hashing at once: {parallel:.1} verifications/s");
    println!(
        "HASHCOST samples={samples} cores={cores} ms_median={:.3} ms_mean={:.3} ms_min={:.3} ceiling_per_s={ceiling:.1} parallel_per_s={parallel:.1}",
        ms(cost.median),
        ms(cost.mean),
        ms(cost.min),
    );
}

async fn rotate(settings: &Settings, realm_name: &str) -> anyhow::Result<()> {
    use nexus::clock::{Clock, SystemClock};
    use nexus::store::db;
    let database = startup::open_database(settings)?;
    let master = startup::load_master_key(settings)?;
    let now = SystemClock.now();
    let realm = database
        .blocking(|conn| db::realms::find_by_name(conn, realm_name).map_err(db::DbError::from))?
        .ok_or_else(|| anyhow::anyhow!("realm `{realm_name}` does not exist"))?;
    let key = nexus::service::keys::new_key(&master)?;
    let record = database.blocking(|conn| {
        db::write_transaction(conn, |conn| {
            nexus::service::keys::rotate(conn, &realm, key, now).map_err(db::DbError::from)
        })
    })?;
    // Running nodes drop their cached keys now (with Redis) or within a minute (embedded store).
    let ephemeral = startup::open_ephemeral(settings).await?;
    ephemeral.publish_invalidation(realm_name).await?;
    println!("realm {realm_name}: new signing key {}", record.kid);
    Ok(())
}

/// `nexus export`: the realm with secrets and password hashes (ADR 019).
fn export(settings: &Settings, realm_name: &str, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use nexus::http::admin::transfer::{export_realm, ExportOptions};
    use nexus::store::db;
    let database = startup::open_database(settings)?;
    let master = startup::load_master_key(settings)?;
    let document = database.blocking(|conn| -> anyhow::Result<serde_json::Value> {
        let realm = db::realms::find_by_name(conn, realm_name)?
            .ok_or_else(|| anyhow::anyhow!("realm `{realm_name}` does not exist"))?;
        Ok(export_realm(conn, &master, &realm, ExportOptions::FULL)?)
    })?;
    let text = serde_json::to_string_pretty(&document)?;
    match file {
        Some(path) => {
            write_private(path, &text)?;
            eprintln!("realm {realm_name} exported to {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// The export holds client secrets and password hashes: readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    Ok(())
}

/// `nexus import`: one transaction; the first bad field is named by its JSON path.
async fn import(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    use nexus::clock::{Clock, SystemClock};
    use nexus::http::admin::transfer::{import_realm, plan_realm};
    use nexus::service::approvals::Requester;
    use nexus::store::db;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let document: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", file.display()))?;
    let mut warnings = Vec::new();
    let plan = plan_realm(document, &mut warnings)?;
    let name = plan.spec.name.clone();
    let database = startup::open_database(settings)?;
    let master = startup::load_master_key(settings)?;
    if database
        .blocking(|conn| db::realms::find_by_name(conn, &name).map_err(db::DbError::from))?
        .is_some()
    {
        anyhow::bail!("realm `{name}` already exists");
    }
    let now = SystemClock.now();
    startup::bootstrap(&database, &master, settings, now)?;
    let key = nexus::service::keys::new_key(&master)?;
    // The operator at the host is trusted to import, but not to skip dual control: service
    // accounts of a realm with it wait for an administrator, requested by the command line.
    let requester = Requester {
        id: "nexus-cli".to_owned(),
        username: "nexus import (command line)".to_owned(),
    };
    let (realm, outcome) = database
        .blocking(|conn| db::write_transaction(conn, |conn| import_realm(conn, &master, plan, key, now, requester)))?;
    let ephemeral = startup::open_ephemeral(settings).await?;
    ephemeral.publish_invalidation(&realm.name).await?;
    for warning in warnings.iter().chain(&outcome.warnings) {
        eprintln!("warning: {warning}");
    }
    println!(
        "realm {} imported: {} objects added, {} overwritten",
        realm.name,
        outcome.count("ADDED"),
        outcome.count("OVERWRITTEN")
    );
    Ok(())
}
