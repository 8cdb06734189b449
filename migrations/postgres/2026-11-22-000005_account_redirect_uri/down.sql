-- Nothing to undo: the redirect URI is what new realms get too.
SELECT 1;
