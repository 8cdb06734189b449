DROP INDEX refresh_tokens_session;
ALTER TABLE refresh_tokens DROP COLUMN offline;
DROP TABLE user_consents;
