-- Service JWTs (issue 4): how a confidential client authenticates at the token endpoint, with
-- Keycloak's names: `client-secret` (Basic or client_secret_post), `client-secret-jwt` (an HS256
-- assertion signed with the secret) or `client-jwt` (an RS256/ES256 assertion verified with the
-- key registered in the client's attributes).
ALTER TABLE clients ADD COLUMN client_authenticator_type TEXT NOT NULL DEFAULT 'client-secret';
