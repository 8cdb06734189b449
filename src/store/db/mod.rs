//! The database: one `MultiConnection` over SQLite (embedded default) and PostgreSQL, a pool, migrations.
//!
//! Diesel is synchronous: callers run these functions on the blocking pool (`Db::run`).

pub mod admin_events;
pub mod api_keys;
pub mod approvals;
pub mod clients;
pub mod consents;
pub mod events;
pub mod keys;
pub mod models;
pub mod realms;
pub mod refresh;
pub mod roles;
pub mod schema;
pub mod scopes;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Where the database lives, decided from the configured URL's scheme (never by trial and error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseLocation {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("unsupported database URL scheme `{0}`: use `postgres://…`, `sqlite://PATH` or a plain file path")]
    UnsupportedScheme(String),
    #[error("empty SQLite path in the database URL")]
    EmptySqlitePath,
}

impl DatabaseLocation {
    /// Parses `NEXUS_DATABASE_URL`: `postgres://` / `postgresql://` → PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` or a plain path → SQLite; any other `scheme://` is refused.
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(DatabaseUrlError::UnsupportedScheme(scheme.to_owned()));
        } else if url.contains('=') && url.contains(' ') {
            // A libpq key=value conninfo string would otherwise silently become a file name.
            return Err(DatabaseUrlError::UnsupportedScheme("key=value conninfo".to_owned()));
        } else {
            url
        };
        if path.is_empty() {
            return Err(DatabaseUrlError::EmptySqlitePath);
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }

    /// A description safe to log (no password).
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparsable)".to_owned(),
            },
        }
    }
}

/// Opens connections of the variant the URL names, with the per-connection settings each backend needs.
#[derive(Clone, Debug)]
pub struct ConnectionManager {
    location: DatabaseLocation,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match &self.location {
            DatabaseLocation::Postgres(url) => Ok(DbConnection::Postgresql(PgConnection::establish(url)?)),
            DatabaseLocation::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the single writer; busy_timeout makes writers queue, not fail.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), diesel::ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database task failed: {0}")]
    Join(String),
    #[error("migrations: {0}")]
    Migration(String),
}

/// The database handle shared by the whole server.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    location: DatabaseLocation,
}

impl Db {
    pub fn connect(location: DatabaseLocation) -> Result<Self, DbError> {
        if let DatabaseLocation::Sqlite(path) = &location {
            if let Some(parent) = path.parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| DbError::Migration(e.to_string()))?;
                }
            }
        }
        let max_size = if location.is_sqlite() { 8 } else { 16 };
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(ConnectionManager {
                location: location.clone(),
            })?;
        Ok(Self { pool, location })
    }

    pub fn location(&self) -> &DatabaseLocation {
        &self.location
    }

    /// Applies pending migrations of the backend in use.
    pub fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.pool.get()?;
        let migrations = if self.location.is_sqlite() {
            SQLITE_MIGRATIONS
        } else {
            POSTGRES_MIGRATIONS
        };
        conn.run_pending_migrations(migrations)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(())
    }

    /// Runs `f` with a pooled connection on the blocking pool, never on an async worker.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| DbError::Join(e.to_string()))?
    }

    /// Runs `f` inside one transaction on the blocking pool: all or nothing.
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }

    /// Synchronous access for start-up and CLI commands (not for request handlers).
    pub fn blocking<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let mut conn = self.pool.get().map_err(DbError::from)?;
        f(&mut conn)
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
            .await
    }
}

/// A transaction that takes the write lock before its first read. On SQLite a deferred transaction
/// that reads, then writes after another writer committed, fails at once with SQLITE_BUSY ("database
/// is locked") instead of waiting out `busy_timeout`; an empty write first gives BEGIN IMMEDIATE
/// semantics. PostgreSQL needs nothing of the kind.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if matches!(conn, DbConnection::Sqlite(_)) {
            conn.batch_execute("UPDATE realms SET id = id WHERE 0")?;
        }
        f(conn)
    })
}

/// True when a diesel error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_chosen_by_the_url_scheme() {
        assert_eq!(
            DatabaseLocation::parse("postgres://u:p@db/nexus"),
            Ok(DatabaseLocation::Postgres("postgres://u:p@db/nexus".into()))
        );
        assert!(matches!(
            DatabaseLocation::parse("postgresql://db/nexus"),
            Ok(DatabaseLocation::Postgres(_))
        ));
        assert_eq!(
            DatabaseLocation::parse("sqlite:///var/lib/nexus.db"),
            Ok(DatabaseLocation::Sqlite("/var/lib/nexus.db".into()))
        );
        assert_eq!(
            DatabaseLocation::parse("data/nexus.db"),
            Ok(DatabaseLocation::Sqlite("data/nexus.db".into()))
        );
        assert_eq!(
            DatabaseLocation::parse("mysql://db/nexus"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".into()))
        );
        assert!(DatabaseLocation::parse("host=db user=nexus dbname=nexus").is_err());
        assert_eq!(
            DatabaseLocation::parse("sqlite://"),
            Err(DatabaseUrlError::EmptySqlitePath)
        );
    }

    #[test]
    fn redacted_locations_hide_the_password() {
        let location = DatabaseLocation::parse("postgres://nexus:s3cret@db:5432/nexus").expect("parses");
        assert!(!location.redacted().contains("s3cret"));
    }
}
