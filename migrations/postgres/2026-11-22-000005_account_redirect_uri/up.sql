-- The built-in `account` client signs people in to the account page (docs/adr/012-account-page.md):
-- give the realms created before that Keycloak's relative redirect URI `/realms/{realm}/account/*`.
-- Only clients that have none registered are changed; realm names are plain names (no quotes).
UPDATE clients
SET redirect_uris = '["/realms/' || (SELECT realms.name FROM realms WHERE realms.id = clients.realm_id) || '/account/*"]'
WHERE client_id = 'account' AND redirect_uris = '[]';
