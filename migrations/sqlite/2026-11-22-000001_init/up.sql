-- Portable schema: TEXT ids, BIGINT epoch seconds, BOOLEAN, TEXT JSON.
-- The same statements run on SQLite and PostgreSQL; keep both copies identical unless a backend needs otherwise.
CREATE TABLE realms (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT,
    enabled BOOLEAN NOT NULL,
    access_token_lifespan BIGINT NOT NULL,
    sso_session_idle_timeout BIGINT NOT NULL,
    sso_session_max_lifespan BIGINT NOT NULL,
    refresh_token_lifespan BIGINT NOT NULL,
    not_before BIGINT NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    private_key_encrypted TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    verify_until BIGINT
);
CREATE INDEX signing_keys_realm ON signing_keys(realm_id);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    enabled BOOLEAN NOT NULL,
    public_client BOOLEAN NOT NULL,
    bearer_only BOOLEAN NOT NULL,
    secret_encrypted TEXT,
    secret_hash TEXT,
    service_accounts_enabled BOOLEAN NOT NULL,
    direct_access_grants_enabled BOOLEAN NOT NULL,
    standard_flow_enabled BOOLEAN NOT NULL,
    implicit_flow_enabled BOOLEAN NOT NULL,
    consent_required BOOLEAN NOT NULL,
    full_scope_allowed BOOLEAN NOT NULL,
    root_url TEXT,
    base_url TEXT,
    admin_url TEXT,
    redirect_uris TEXT NOT NULL,
    web_origins TEXT NOT NULL,
    protocol TEXT NOT NULL,
    access_token_lifespan BIGINT,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (realm_id, client_id)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    email TEXT,
    email_verified BOOLEAN NOT NULL,
    first_name TEXT,
    last_name TEXT,
    enabled BOOLEAN NOT NULL,
    service_account_client_id TEXT REFERENCES clients(id) ON DELETE CASCADE,
    attributes TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (realm_id, username)
);
CREATE INDEX users_realm_email ON users(realm_id, email);
CREATE INDEX users_service_account ON users(service_account_client_id);

CREATE TABLE credentials (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_type TEXT NOT NULL,
    secret_data TEXT NOT NULL,
    credential_data TEXT NOT NULL,
    temporary BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_user ON credentials(user_id);

-- container_id is the realm id for realm roles and the client id (uuid) for client roles.
CREATE TABLE roles (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    container_id TEXT NOT NULL,
    client_role BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    attributes TEXT NOT NULL,
    UNIQUE (container_id, name)
);
CREATE INDEX roles_realm ON roles(realm_id);

CREATE TABLE composite_roles (
    parent_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    child_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (parent_id, child_id)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles(role_id);

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES groups(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX groups_realm ON groups(realm_id);

CREATE TABLE group_roles (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);

CREATE TABLE user_groups (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups(group_id);

CREATE TABLE client_scopes (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    protocol TEXT NOT NULL,
    attributes TEXT NOT NULL,
    UNIQUE (realm_id, name)
);

-- Which scopes a realm gives to new clients (default or optional).
CREATE TABLE realm_default_scopes (
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    scope_id TEXT NOT NULL REFERENCES client_scopes(id) ON DELETE CASCADE,
    default_scope BOOLEAN NOT NULL,
    PRIMARY KEY (realm_id, scope_id)
);

CREATE TABLE client_scope_links (
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope_id TEXT NOT NULL REFERENCES client_scopes(id) ON DELETE CASCADE,
    default_scope BOOLEAN NOT NULL,
    PRIMARY KEY (client_id, scope_id)
);

-- Refresh-token state: only a keyed hash of each token is kept.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    session_id TEXT,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated BOOLEAN NOT NULL,
    revoked BOOLEAN NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
