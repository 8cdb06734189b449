DROP INDEX api_keys_user;
DROP TABLE api_keys;
