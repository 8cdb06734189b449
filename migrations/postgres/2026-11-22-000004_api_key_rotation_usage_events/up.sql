-- API keys (issue 4): rotation keeps the previous secret's keyed hash until its grace period
-- ends (unique like the current one, so a presented secret is still one indexed lookup); an
-- optional allowlist of CIDR ranges (space-separated; NULL = from anywhere); the usage record.
ALTER TABLE api_keys ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_secret_expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN allowed_ips TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_ip TEXT;
CREATE UNIQUE INDEX api_keys_previous_secret ON api_keys(previous_secret_hash);

-- Login-type events (Keycloak's EventRepresentation): written off the request path by a bounded
-- queue. No foreign keys on user/client: an event outlives what it names. `time` in milliseconds,
-- as Keycloak's API shows it; `details` is a JSON object of strings.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    time BIGINT NOT NULL,
    type TEXT NOT NULL,
    client_id TEXT,
    user_id TEXT,
    session_id TEXT,
    ip_address TEXT,
    error TEXT,
    details TEXT NOT NULL
);
CREATE INDEX events_realm_time ON events(realm_id, time);
