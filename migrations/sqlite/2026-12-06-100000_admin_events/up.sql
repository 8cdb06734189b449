-- Admin events (Keycloak's AdminEventRepresentation): what an administrator changed, written off
-- the request path by the events queue. `resource_path` is relative to the realm's admin API
-- (`users/{id}`); `representation` is the request's JSON with every secret removed (only when the
-- realm's adminEventsDetailsEnabled is on). No foreign keys on the actor: an event outlives them.
CREATE TABLE admin_events (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    time BIGINT NOT NULL,
    operation_type TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_path TEXT NOT NULL,
    auth_realm_id TEXT,
    auth_client_id TEXT,
    auth_user_id TEXT,
    auth_ip_address TEXT,
    representation TEXT,
    error TEXT
);
CREATE INDEX admin_events_realm_time ON admin_events(realm_id, time);
