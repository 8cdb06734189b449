DROP INDEX events_realm_time;
DROP TABLE events;
DROP INDEX api_keys_previous_secret;
ALTER TABLE api_keys DROP COLUMN last_used_ip;
ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN allowed_ips;
ALTER TABLE api_keys DROP COLUMN previous_secret_expires_at;
ALTER TABLE api_keys DROP COLUMN previous_secret_hash;
