//! Building the server from settings: storage, keys, bootstrap, then the HTTP listener.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::{password, secrets::MasterKey};
use crate::metrics::Metrics;
use crate::service::realm_cache::RealmCache;
use crate::service::{keys, provisioning};
use crate::state::AppState;
use crate::store::db::{self, DatabaseLocation, Db};
use crate::store::ephemeral::{EphemeralStore, MemoryStore, RedisStore};

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

/// Opens and migrates the configured database.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let location = DatabaseLocation::parse(&settings.effective_database_url())?;
    let db =
        Db::connect(location.clone()).with_context(|| format!("cannot open the database {}", location.redacted()))?;
    db.migrate().context("database migrations failed")?;
    Ok(db)
}

pub fn load_master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    Ok(match settings.master_key_secret() {
        Some(hex) => MasterKey::from_hex(&hex)?,
        None => MasterKey::load_or_create(&settings.data_dir)?,
    })
}

pub async fn open_ephemeral(settings: &Settings) -> anyhow::Result<EphemeralStore> {
    Ok(match settings.redis_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => {
            if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://")) {
                anyhow::bail!("NEXUS_REDIS_URL must start with redis:// or rediss://");
            }
            EphemeralStore::Redis(
                RedisStore::connect(url, &settings.redis_key_prefix)
                    .await
                    .context("cannot connect to Redis")?,
            )
        }
        None => EphemeralStore::Memory(MemoryStore::new()),
    })
}

/// Creates realm `master`, its admin and `admin-cli` on an empty database. A generated password is
/// printed once to the terminal (not to the log).
/// On an empty database: realm `master` and its administrator (the server's first start, and
/// `nexus import` into a new database, which must not leave it without an administrator).
pub fn bootstrap(db: &Db, master: &MasterKey, settings: &Settings, now: i64) -> anyhow::Result<()> {
    let empty = db.blocking(|conn| db::realms::count(conn).map_err(db::DbError::from))? == 0;
    if !empty {
        return Ok(());
    }
    let (password_text, generated) = match &settings.bootstrap_admin_password {
        Some(p) if !p.is_empty() => (p.clone(), false),
        _ => (crate::crypto::secrets::generate_secret(), true),
    };
    let username = crate::domain::names::parse_username(&settings.bootstrap_admin_username)
        .map_err(|e| anyhow::anyhow!("NEXUS_BOOTSTRAP_ADMIN_USERNAME: {e}"))?;
    let key = keys::new_key(master)?;
    let hash = password::hash_password(&password_text);
    let created = db.blocking(|conn| {
        db::write_transaction(conn, |conn| {
            provisioning::bootstrap(conn, key, &username, hash, now).map_err(db::DbError::from)
        })
    })?;
    if let Some(username) = created {
        tracing::info!(%username, "created realm master and its administrator");
        if generated {
            // Written to the terminal, not the log; a closed stderr must not abort the start.
            let _ = writeln!(
                std::io::stderr(),
                "\n  nexus: created administrator `{username}` in realm `master` with the generated password:\n\n      {password_text}\n\n  It is shown only this once.\n"
            );
        }
    }
    Ok(())
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = open_database(&settings)?;
        let master = Arc::new(load_master_key(&settings)?);
        bootstrap(&db, &master, &settings, clock.now())?;
        let ephemeral = open_ephemeral(&settings).await?;

        let listener =
            TcpListener::bind(settings.bind).with_context(|| format!("cannot listen on {}", settings.bind))?;
        let address = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_owned();

        let realms = Arc::new(RealmCache::new(
            db.clone(),
            master.clone(),
            clock.clone(),
            public_url.clone(),
        ));
        realms.spawn_listener(&ephemeral);
        let metrics = Metrics::new();
        let events = crate::service::events::EventSink::start(
            db.clone(),
            metrics.events_dropped.clone(),
            clock.clone(),
            std::time::Duration::from_secs(settings.events_purge_interval.max(1)),
        );
        let state = web::Data::new(AppState {
            db,
            ephemeral,
            master_key: master.clone(),
            realms,
            key_pool: keys::KeyPool::start(master.clone(), settings.key_pool_size),
            clock,
            password_hashing: crate::crypto::password::HashSlots::new(
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            ),
            public_url,
            metrics,
            trusted_proxies: settings.trusted_proxies.clone().into(),
            events,
        });

        let app_state = state.clone();
        let mut server =
            HttpServer::new(move || {
                App::new()
                    .app_data(app_state.clone())
                    .app_data(web::PayloadConfig::new(crate::http::body::MAX_BODY))
                    .app_data(web::QueryConfig::default().error_handler(|err, _| {
                        crate::error::AppError::bad_request(format!("Invalid query parameters: {err}")).into()
                    }))
                    .app_data(web::PathConfig::default().error_handler(|err, _| {
                        crate::error::AppError::bad_request(format!("Invalid path: {err}")).into()
                    }))
                    .wrap(from_fn(crate::http::admin_events::record_admin_writes))
                    .wrap(from_fn(crate::http::iso_dates::rewrite))
                    .wrap(from_fn(crate::http::middleware::observe))
                    .configure(crate::http::routes)
                    .default_service(web::to(not_found))
            })
            .listen(listener)?
            .shutdown_timeout(5);
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        let server = server.run();
        tracing::info!(%address, issuer_base = %state.public_url, "nexus listening");
        Ok(Self {
            port: address.port(),
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn not_found() -> actix_web::HttpResponse {
    actix_web::HttpResponse::NotFound().json(serde_json::json!({ "error": "Not Found" }))
}
