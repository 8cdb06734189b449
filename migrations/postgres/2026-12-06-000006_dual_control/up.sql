-- Dual control (issue 5, seed 003: "additional validation from a separate user account"): in a
-- realm with `dualControl`, a new service account and a new API key of a service account exist
-- but stay unusable until a second administrator approves them (docs/adr/016-dual-control.md).
-- The flag lives on the row the token path already reads (and the realm cache keeps), so checking
-- it costs no query: the id of the request awaiting approval, NULL once active.
ALTER TABLE clients ADD COLUMN pending_approval_id TEXT;
ALTER TABLE api_keys ADD COLUMN pending_approval_id TEXT;

-- The requests themselves. A request goes with its subject (foreign keys cascade) and is removed
-- when decided; the decision is recorded as an event.
CREATE TABLE pending_approvals (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    -- `service-account` or `service-account-api-key`.
    kind TEXT NOT NULL,
    -- The client whose service account waits (service-account).
    client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    -- The key that waits and its owner, a service-account user (service-account-api-key).
    api_key_id TEXT,
    owner_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    -- Whether the request created its subject (a new client): rejecting it deletes the subject,
    -- otherwise rejecting turns the service account off again.
    new_subject BOOLEAN NOT NULL,
    requested_by TEXT NOT NULL,
    requested_by_username TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    summary TEXT NOT NULL,
    FOREIGN KEY (realm_id, api_key_id) REFERENCES api_keys(realm_id, id) ON DELETE CASCADE
);
CREATE INDEX pending_approvals_realm ON pending_approvals(realm_id, requested_at);
