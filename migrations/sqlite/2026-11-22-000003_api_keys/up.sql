-- API keys (issue 4): a user's long-lived credential, exchanged for short access tokens. Only a
-- keyed hash (HMAC-SHA256 under the master key) of the secret is stored; `secret_hash` is unique so
-- that a presented secret is found by one indexed lookup. Key ids are unique per realm.
-- `role_id` has no foreign key on purpose: a deleted role leaves a key whose tokens carry no role
-- (never all of the owner's roles).
CREATE TABLE api_keys (
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id TEXT,
    secret_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    kind TEXT NOT NULL,
    environment TEXT NOT NULL,
    description TEXT,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (realm_id, id)
);
CREATE INDEX api_keys_user ON api_keys(user_id);
