-- Scopes a user granted to a client on the consent page (one row per scope), so that the page is
-- not shown again for them.
CREATE TABLE user_consents (
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id, scope_name)
);
CREATE INDEX user_consents_client ON user_consents(client_id);

-- Offline tokens (scope offline_access) outlive the SSO session: logout does not revoke them.
ALTER TABLE refresh_tokens ADD COLUMN offline BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
