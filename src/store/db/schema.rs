//! The one portable schema shared by SQLite and PostgreSQL (written by hand: `print-schema` differs per backend).

diesel::table! {
    realms (id) {
        id -> Text,
        name -> Text,
        display_name -> Nullable<Text>,
        enabled -> Bool,
        access_token_lifespan -> BigInt,
        sso_session_idle_timeout -> BigInt,
        sso_session_max_lifespan -> BigInt,
        refresh_token_lifespan -> BigInt,
        not_before -> BigInt,
        attributes -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        realm_id -> Text,
        algorithm -> Text,
        public_key_pem -> Text,
        private_key_encrypted -> Text,
        status -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        verify_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        realm_id -> Text,
        client_id -> Text,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        enabled -> Bool,
        public_client -> Bool,
        bearer_only -> Bool,
        secret_encrypted -> Nullable<Text>,
        secret_hash -> Nullable<Text>,
        service_accounts_enabled -> Bool,
        direct_access_grants_enabled -> Bool,
        standard_flow_enabled -> Bool,
        implicit_flow_enabled -> Bool,
        consent_required -> Bool,
        full_scope_allowed -> Bool,
        root_url -> Nullable<Text>,
        base_url -> Nullable<Text>,
        admin_url -> Nullable<Text>,
        redirect_uris -> Text,
        web_origins -> Text,
        protocol -> Text,
        access_token_lifespan -> Nullable<BigInt>,
        attributes -> Text,
        created_at -> BigInt,
        client_authenticator_type -> Text,
        pending_approval_id -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        realm_id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        enabled -> Bool,
        service_account_client_id -> Nullable<Text>,
        attributes -> Text,
        not_before -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        user_id -> Text,
        credential_type -> Text,
        secret_data -> Text,
        credential_data -> Text,
        temporary -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        realm_id -> Text,
        container_id -> Text,
        client_role -> Bool,
        name -> Text,
        description -> Nullable<Text>,
        attributes -> Text,
    }
}

diesel::table! {
    composite_roles (parent_id, child_id) {
        parent_id -> Text,
        child_id -> Text,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        realm_id -> Text,
        parent_id -> Nullable<Text>,
        name -> Text,
        attributes -> Text,
    }
}

diesel::table! {
    group_roles (group_id, role_id) {
        group_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    user_groups (user_id, group_id) {
        user_id -> Text,
        group_id -> Text,
    }
}

diesel::table! {
    client_scopes (id) {
        id -> Text,
        realm_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        protocol -> Text,
        attributes -> Text,
    }
}

diesel::table! {
    realm_default_scopes (realm_id, scope_id) {
        realm_id -> Text,
        scope_id -> Text,
        default_scope -> Bool,
    }
}

diesel::table! {
    client_scope_links (client_id, scope_id) {
        client_id -> Text,
        scope_id -> Text,
        default_scope -> Bool,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        family_id -> Text,
        realm_id -> Text,
        client_id -> Text,
        user_id -> Text,
        scope -> Text,
        session_id -> Nullable<Text>,
        issued_at -> BigInt,
        expires_at -> BigInt,
        rotated -> Bool,
        revoked -> Bool,
        offline -> Bool,
    }
}

diesel::table! {
    user_consents (user_id, client_id, scope_name) {
        realm_id -> Text,
        user_id -> Text,
        client_id -> Text,
        scope_name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_keys (realm_id, id) {
        realm_id -> Text,
        id -> Text,
        user_id -> Text,
        role_id -> Nullable<Text>,
        secret_hash -> Text,
        display_prefix -> Text,
        kind -> Text,
        environment -> Text,
        description -> Nullable<Text>,
        permissions -> Text,
        created_at -> BigInt,
        modified_at -> BigInt,
        created_by -> Text,
        modified_by -> Text,
        expires_at -> BigInt,
        revoked -> Bool,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<BigInt>,
        allowed_ips -> Nullable<Text>,
        last_used_at -> Nullable<BigInt>,
        last_used_ip -> Nullable<Text>,
        pending_approval_id -> Nullable<Text>,
    }
}

diesel::table! {
    pending_approvals (id) {
        id -> Text,
        realm_id -> Text,
        kind -> Text,
        client_id -> Nullable<Text>,
        api_key_id -> Nullable<Text>,
        owner_id -> Nullable<Text>,
        new_subject -> Bool,
        requested_by -> Text,
        requested_by_username -> Text,
        requested_at -> BigInt,
        summary -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        realm_id -> Text,
        time -> BigInt,
        #[sql_name = "type"]
        event_type -> Text,
        client_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        error -> Nullable<Text>,
        details -> Text,
    }
}

diesel::joinable!(signing_keys -> realms (realm_id));
diesel::joinable!(clients -> realms (realm_id));
diesel::joinable!(users -> realms (realm_id));
diesel::joinable!(credentials -> users (user_id));
diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(user_roles -> roles (role_id));
diesel::joinable!(group_roles -> groups (group_id));
diesel::joinable!(group_roles -> roles (role_id));
diesel::joinable!(user_groups -> users (user_id));
diesel::joinable!(user_groups -> groups (group_id));
diesel::joinable!(client_scope_links -> client_scopes (scope_id));
diesel::joinable!(client_scope_links -> clients (client_id));
diesel::joinable!(realm_default_scopes -> client_scopes (scope_id));

diesel::table! {
    admin_events (id) {
        id -> Text,
        realm_id -> Text,
        time -> BigInt,
        operation_type -> Text,
        resource_type -> Text,
        resource_path -> Text,
        auth_realm_id -> Nullable<Text>,
        auth_client_id -> Nullable<Text>,
        auth_user_id -> Nullable<Text>,
        auth_ip_address -> Nullable<Text>,
        representation -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    admin_events,
    realms,
    signing_keys,
    clients,
    users,
    credentials,
    roles,
    composite_roles,
    user_roles,
    groups,
    group_roles,
    user_groups,
    client_scopes,
    realm_default_scopes,
    client_scope_links,
    refresh_tokens,
    user_consents,
    api_keys,
    events,
    pending_approvals,
);
