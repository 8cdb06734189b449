DROP INDEX pending_approvals_realm;
DROP TABLE pending_approvals;
ALTER TABLE api_keys DROP COLUMN pending_approval_id;
ALTER TABLE clients DROP COLUMN pending_approval_id;
