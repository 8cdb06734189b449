//! Login-type events (Keycloak's event store: `LOGIN`, `CODE_TO_TOKEN`, `API_KEY_USED`, …),
//! written off the request's critical path: a request hands its event to a bounded queue and
//! goes on; one writer task stores what arrives in batches, one transaction per batch. When the
//! queue is full the event is dropped and counted (`nexus_events_dropped_total`), never the request
//! failed or slowed. The writer also keeps the API-key usage record (last use time and address),
//! so a key check costs no database write either.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;
use std::sync::mpsc;

use crate::clock::Clock;
use crate::domain::events::EventsConfig;
use crate::store::db::{self, admin_events::AdminEventRow, events::EventRow, Db, DbConnection, DbError};

/// Events waiting for the writer; beyond this they are dropped.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Events stored per transaction at most.
const BATCH: usize = 256;
/// How long the writer waits to fill a batch once an event has arrived. Taking only what is queued
/// at that instant made batches of a few events under load — hundreds of commits a second competing
/// with the requests for the cores; waiting stores up to `BATCH` per commit, at the price of an
/// event being listed up to this much later.
const LINGER: std::time::Duration = std::time::Duration::from_millis(100);

pub const API_KEY_USED: &str = "API_KEY_USED";
pub const LOGIN: &str = "LOGIN";
pub const LOGIN_ERROR: &str = "LOGIN_ERROR";
pub const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";
pub const UPDATE_PASSWORD_ERROR: &str = "UPDATE_PASSWORD_ERROR";
pub const UPDATE_PROFILE: &str = "UPDATE_PROFILE";
pub const REVOKE_GRANT: &str = "REVOKE_GRANT";
pub const API_KEY_REFUSED: &str = "API_KEY_REFUSED";
pub const CLIENT_LOGIN: &str = "CLIENT_LOGIN";
pub const CLIENT_LOGIN_ERROR: &str = "CLIENT_LOGIN_ERROR";
pub const CODE_TO_TOKEN: &str = "CODE_TO_TOKEN";
pub const CODE_TO_TOKEN_ERROR: &str = "CODE_TO_TOKEN_ERROR";
pub const REFRESH_TOKEN: &str = "REFRESH_TOKEN";
pub const REFRESH_TOKEN_ERROR: &str = "REFRESH_TOKEN_ERROR";
pub const LOGOUT: &str = "LOGOUT";
pub const LOGOUT_ERROR: &str = "LOGOUT_ERROR";
pub const INTROSPECT_TOKEN: &str = "INTROSPECT_TOKEN";
pub const INTROSPECT_TOKEN_ERROR: &str = "INTROSPECT_TOKEN_ERROR";
pub const REVOKE_GRANT_ERROR: &str = "REVOKE_GRANT_ERROR";
/// The detail naming the key of an `API_KEY_*` event.
pub const DETAIL_API_KEY_ID: &str = "api_key_id";

/// Event ids grow with time (UUIDv7): each batch appends to the end of the id index instead of
/// splitting pages all over it, which made storing events a visible share of a token's cost.
fn time_ordered_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// One event, as Keycloak's `EventRepresentation` has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub realm_id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub event_type: &'static str,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    pub details: BTreeMap<String, String>,
}

impl Event {
    /// A person's event in `realm_id` now: through `client_id`, from `ip`.
    pub fn of_person(
        realm_id: &str,
        event_type: &'static str,
        now_ms: i64,
        client_id: &str,
        user_id: Option<&str>,
        ip: Option<std::net::IpAddr>,
    ) -> Self {
        let mut event = Self::new(realm_id, event_type, now_ms);
        event.client_id = Some(client_id.to_owned());
        event.user_id = user_id.map(str::to_owned);
        event.ip_address = ip.map(|ip| ip.to_string());
        event
    }

    pub fn new(realm_id: impl Into<String>, event_type: &'static str, time: i64) -> Self {
        Self {
            realm_id: realm_id.into(),
            time,
            event_type,
            client_id: None,
            user_id: None,
            session_id: None,
            ip_address: None,
            error: None,
            details: BTreeMap::new(),
        }
    }

    fn to_row(&self) -> EventRow {
        EventRow {
            id: time_ordered_id(),
            realm_id: self.realm_id.clone(),
            time: self.time,
            event_type: self.event_type.to_owned(),
            client_id: self.client_id.clone(),
            user_id: self.user_id.clone(),
            session_id: self.session_id.clone(),
            ip_address: self.ip_address.clone(),
            error: self.error.clone(),
            details: serde_json::to_string(&self.details).unwrap_or_else(|_| "{}".to_owned()),
        }
    }
}

/// One admin event, as Keycloak's `AdminEventRepresentation` has it.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminEvent {
    pub realm_id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub operation: &'static str,
    pub resource_type: &'static str,
    pub resource_path: String,
    /// Who: the administrator's realm, the client they came through, their user id, address.
    pub auth_realm_id: Option<String>,
    pub auth_client_id: Option<String>,
    pub auth_user_id: Option<String>,
    pub auth_ip_address: Option<String>,
    /// JSON, every secret already removed.
    pub representation: Option<String>,
}

impl AdminEvent {
    fn to_row(&self) -> AdminEventRow {
        AdminEventRow {
            id: time_ordered_id(),
            realm_id: self.realm_id.clone(),
            time: self.time,
            operation_type: self.operation.to_owned(),
            resource_type: self.resource_type.to_owned(),
            resource_path: self.resource_path.clone(),
            auth_realm_id: self.auth_realm_id.clone(),
            auth_client_id: self.auth_client_id.clone(),
            auth_user_id: self.auth_user_id.clone(),
            auth_ip_address: self.auth_ip_address.clone(),
            representation: self.representation.clone(),
            error: None,
        }
    }
}

/// What the writer thread stores.
#[derive(Clone, Debug)]
enum Record {
    Event(Event),
    Admin(AdminEvent),
}

/// Where requests leave their events. Cheap to clone.
#[derive(Clone)]
pub struct EventSink {
    queue: mpsc::SyncSender<Record>,
    dropped: IntCounter,
}

impl EventSink {
    /// Starts the writer task and the task removing events past their realm's retention, every
    /// `purge_every` (call inside the runtime).
    pub fn start(db: Db, dropped: IntCounter, clock: Arc<dyn Clock>, purge_every: Duration) -> Self {
        let (queue, incoming) = mpsc::sync_channel(QUEUE_CAPACITY);
        let writer_db = db.clone();
        let started = std::thread::Builder::new()
            .name("nexus-events".into())
            .spawn(move || write_loop(&writer_db, &incoming));
        if let Err(e) = started {
            // Without a writer every event is dropped and counted; requests go on as ever.
            tracing::error!(error = %e, "could not start the events writer");
        }
        tokio::spawn(purge_loop(db, clock, purge_every));
        Self { queue, dropped }
    }

    /// Queues `event`; never waits. A full queue drops it and counts the drop.
    pub fn record(&self, event: Event) {
        self.queue_record(Record::Event(event));
    }

    /// Queues an admin event, as `record` does.
    pub fn record_admin(&self, event: AdminEvent) {
        self.queue_record(Record::Admin(event));
    }

    fn queue_record(&self, record: Record) {
        if self.queue.try_send(record).is_err() {
            self.dropped.inc();
        }
    }
}

/// The niceness of the writer thread: storing events yields the cores to requests (a token's
/// signature first, its event when a core is free). Under sustained overload the queue fills and
/// events are dropped and counted, never a request slowed; docs/adr/018-events-config.md.
const WRITER_NICENESS_PRIORITY: u8 = 22;

/// The writer thread: one transaction per batch (up to `BATCH` events, or what arrived within
/// `LINGER` of the first). Ends when the sink is dropped.
fn write_loop(db: &Db, incoming: &mpsc::Receiver<Record>) {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadPriority,
        ThreadPriorityValue, ThreadSchedulePolicy,
    };
    // Crossplatform 22 of 0..99 is niceness 10 on Linux (thread_priority maps it onto -20..19).
    let lowered = ThreadPriorityValue::try_from(WRITER_NICENESS_PRIORITY)
        .map_err(|e| format!("{e:?}"))
        .and_then(|value| {
            set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
            )
            .map_err(|e| format!("{e:?}"))
        });
    if let Err(e) = lowered {
        tracing::warn!(error = %e, "the events writer runs at normal priority");
    }
    while let Ok(first) = incoming.recv() {
        let mut batch = vec![first];
        let deadline = std::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match incoming.recv_timeout(left) {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        let stored = db.blocking(|conn| db::write_transaction(conn, |conn| store_all(conn, &batch)));
        if let Err(e) = stored {
            // One bad event (its realm deleted meanwhile) must not take the others with it.
            tracing::warn!(error = %e, "storing a batch of events failed; storing them one by one");
            for record in &batch {
                let one = std::slice::from_ref(record);
                if let Err(e) = db.blocking(|conn| db::write_transaction(conn, |conn| store_all(conn, one))) {
                    tracing::warn!(error = %e, "an event could not be stored");
                }
            }
        }
    }
}

/// Every `every`, removes the events older than their realm's `eventsExpiration`. A failure is
/// logged and tried again next time; the requests never wait for it.
async fn purge_loop(db: Db, clock: Arc<dyn Clock>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now_ms = clock.now().saturating_mul(1000);
        let purged = db
            .transaction(move |conn| -> Result<usize, DbError> { purge_expired(conn, now_ms) })
            .await;
        match purged {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "removed events past their realm's retention"),
            Err(e) => tracing::warn!(error = %e, "removing expired events failed"),
        }
    }
}

/// Removes, in every realm with a retention, the events older than it; how many.
pub fn purge_expired(conn: &mut DbConnection, now_ms: i64) -> Result<usize, DbError> {
    let mut removed = 0;
    for realm in db::realms::list(conn, 0, i64::MAX)? {
        let config = EventsConfig::of(&realm);
        if let Some(seconds) = config.expiration {
            removed += db::events::delete_before(conn, &realm.id, now_ms - seconds.saturating_mul(1000))?;
        }
        if let Some(seconds) = config.admin_expiration {
            removed += db::admin_events::delete_before(conn, &realm.id, now_ms - seconds.saturating_mul(1000))?;
        }
    }
    Ok(removed)
}

fn store_all(conn: &mut DbConnection, batch: &[Record]) -> Result<(), DbError> {
    if matches!(conn, DbConnection::Postgresql(_)) {
        // An event may be lost in a crash within a fraction of a second of its commit (events
        // are dropped under overload anyway); the commit does not wait for the WAL flush.
        diesel::connection::SimpleConnection::batch_execute(conn, "SET LOCAL synchronous_commit TO OFF")?;
    }
    // The latest use of each key in this batch updates its usage record once.
    let mut last_uses: BTreeMap<(String, String), (i64, Option<String>)> = BTreeMap::new();
    // Each realm's settings say which events it keeps (read once per realm and batch).
    let mut configs: HashMap<String, Option<EventsConfig>> = HashMap::new();
    let mut rows = Vec::with_capacity(batch.len());
    let mut admin_rows = Vec::new();
    for record in batch {
        let event = match record {
            Record::Event(event) => event,
            // Admin events were filtered by the realm's settings when recorded.
            Record::Admin(event) => {
                admin_rows.push(event.to_row());
                continue;
            }
        };
        if event.event_type == API_KEY_USED {
            if let Some(key_id) = event.details.get(DETAIL_API_KEY_ID) {
                let seconds = event.time.div_euclid(1000);
                let entry = last_uses
                    .entry((event.realm_id.clone(), key_id.clone()))
                    .or_insert((seconds, None));
                if seconds >= entry.0 {
                    *entry = (seconds, event.ip_address.clone());
                }
            }
        }
        if !configs.contains_key(&event.realm_id) {
            let config = db::realms::find(conn, &event.realm_id)?.map(|r| EventsConfig::of(&r));
            configs.insert(event.realm_id.clone(), config);
        }
        // The usage record above is kept whatever the settings: it is the key's, not a log.
        if configs[&event.realm_id]
            .as_ref()
            .is_some_and(|c| c.records(event.event_type))
        {
            rows.push(event.to_row());
        }
    }
    db::events::insert_all(conn, &rows)?;
    db::admin_events::insert_all(conn, &admin_rows)?;
    for ((realm_id, key_id), (at, ip)) in last_uses {
        db::api_keys::record_use(conn, &realm_id, &key_id, at, ip.as_deref())?;
    }
    Ok(())
}
