ALTER TABLE clients DROP COLUMN client_authenticator_type;
