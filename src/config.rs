//! Typed settings from the environment (and an optional `KEY=VALUE` file); secrets never print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

/// Nexus: a Keycloak-compatible OAuth 2.0 / OpenID Connect provider.
#[derive(Parser, Debug)]
#[command(name = "nexus", version, about, long_about = None)]
pub struct Cli {
    /// A file of `NAME=value` lines (e.g. `NEXUS_BIND=0.0.0.0:8080`); the environment wins over it.
    #[arg(long, env = "NEXUS_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a realm in Keycloak's realm-export format (client secrets and password hashes
    /// included: keep the file safe).
    Export {
        /// The realm's name.
        #[arg(long)]
        realm: String,
        /// Where to write (default: standard output).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Create a realm from a Keycloak (or nexus) realm export; all or nothing.
    Import {
        /// The realm-export JSON file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Manage realm signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Measure what one password check costs here (argon2id, the parameters logins use) and the
    /// login rate that bounds: cores / seconds per verification.
    PasswordHashCost {
        /// Verifications to time on one thread (then as many on each core at once).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        samples: u32,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum KeysCommand {
    /// Generate a new signing key for a realm; the old key keeps verifying until its tokens expire.
    Rotate {
        /// The realm's name.
        #[arg(long)]
        realm: String,
    },
}

#[derive(Args, Clone)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "NEXUS_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: SocketAddr,

    /// Public base URL (the issuer base); default `http://` + the bind address.
    #[arg(long, env = "NEXUS_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Database: unset = SQLite file in the data dir; a path or `sqlite://PATH` = SQLite;
    /// `postgres://…` = PostgreSQL. Other schemes are refused.
    #[arg(long, env = "NEXUS_DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and the generated master key.
    #[arg(long, env = "NEXUS_DATA_DIR", default_value = "./nexus-data", global = true)]
    pub data_dir: PathBuf,

    /// Redis for ephemeral state (`redis://…`); unset = the in-process store (single node).
    #[arg(long, env = "NEXUS_REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key and channel nexus uses.
    #[arg(long, env = "NEXUS_REDIS_KEY_PREFIX", default_value = "nexus:", global = true)]
    pub redis_key_prefix: String,

    /// Username of the administrator created on the first start against an empty database.
    #[arg(long, env = "NEXUS_BOOTSTRAP_ADMIN_USERNAME", default_value = "admin", global = true)]
    pub bootstrap_admin_username: String,

    /// Password of that administrator; when unset one is generated and printed once.
    #[arg(long, env = "NEXUS_BOOTSTRAP_ADMIN_PASSWORD", hide_env_values = true, global = true)]
    pub bootstrap_admin_password: Option<String>,

    /// 64 hex characters encrypting keys and secrets at rest; unset = `master.key` in the data dir.
    #[arg(long, env = "NEXUS_MASTER_KEY", hide_env_values = true, global = true)]
    pub master_key: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "NEXUS_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,

    /// RSA keys kept generated ahead of time for new realms and rotations (0 = generate on demand).
    #[arg(long, env = "NEXUS_KEY_POOL_SIZE", default_value_t = 4, global = true)]
    pub key_pool_size: usize,

    /// Seconds between two removals of events past their realm's retention (`eventsExpiration`).
    #[arg(long, env = "NEXUS_EVENTS_PURGE_INTERVAL", default_value_t = 900, global = true)]
    pub events_purge_interval: u64,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "NEXUS_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` is believed;
    /// from any other peer the connection's address is the client's.
    #[arg(long, env = "NEXUS_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("database_url", &self.database_url.as_ref().map(|_| "[redacted]"))
            .field("data_dir", &self.data_dir)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[redacted]"))
            .field("bootstrap_admin_username", &self.bootstrap_admin_username)
            .field(
                "bootstrap_admin_password",
                &self.bootstrap_admin_password.as_ref().map(|_| "[redacted]"),
            )
            .field("master_key", &self.master_key.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings for tests and embedding: everything default, data in `data_dir`.
    pub fn for_data_dir(data_dir: &Path) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            database_url: None,
            data_dir: data_dir.to_path_buf(),
            redis_url: None,
            redis_key_prefix: "nexus:".to_owned(),
            bootstrap_admin_username: "admin".to_owned(),
            bootstrap_admin_password: None,
            master_key: None,
            log_format: "text".to_owned(),
            key_pool_size: 0,
            events_purge_interval: 900,
            workers: None,
            trusted_proxies: Vec::new(),
        }
    }

    /// The database URL in effect (the default SQLite file when unset).
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("nexus.db").display()),
        }
    }

    pub fn master_key_secret(&self) -> Option<SecretString> {
        self.master_key
            .as_ref()
            .filter(|k| !k.trim().is_empty())
            .map(|k| SecretString::from(k.clone()))
    }
}

/// Loads `NAME=value` lines into the environment, without overriding what is already set.
pub fn load_config_file(path: &Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            let name = name.trim();
            let value = value.trim().trim_matches('"');
            if std::env::var_os(name).is_none() {
                // Single-threaded at this point: called from main before any runtime starts.
                std::env::set_var(name, value);
            }
        }
    }
    Ok(())
}
