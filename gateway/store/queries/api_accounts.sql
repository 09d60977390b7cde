-- name: api_account_insert
-- Create an account; unique violations on id or app_id become AccountExists.
INSERT INTO accounts (id, kind, app_id, app_secret, token, encoding_aes_key, original_id,
                      rule_profile, oauth_redirect_hosts, oauth_signing_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: api_account_list
-- One keyset page of accounts ordered by id, after the cursor id ($1) if given; $3: only
-- these ids (a scoped token's accounts), NULL for all.
SELECT * FROM accounts
 WHERE ($1::text IS NULL OR id > $1)
   AND ($3::text[] IS NULL OR id = ANY ($3::text[]))
 ORDER BY id
 LIMIT $2;

-- name: api_account_get
-- One account with its secrets (callers strip them before answering).
SELECT * FROM accounts WHERE id = $1;

-- name: api_account_lock
-- The account row, locked for a read-modify-write PATCH.
SELECT * FROM accounts WHERE id = $1 FOR UPDATE;

-- name: api_account_update
-- Write every changeable field of an account at once; $11: this change upgrades the kind.
UPDATE accounts
   SET kind = $2, app_secret = $3, token = $4, encoding_aes_key = $5, previous_aes_key = $6,
       original_id = $7, rule_profile = $8, oauth_redirect_hosts = $9, oauth_signing_key = $10,
       upgraded_at = CASE WHEN $11::boolean THEN now() ELSE upgraded_at END,
       updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: api_account_wake_held
-- After an upgrade every held delivery is due at once, so the scheduler re-decides it.
UPDATE deliveries SET release_at = now(), updated_at = now()
 WHERE account_id = $1 AND status = 'held';

-- name: api_notify_release
-- Wake the release scheduler for one account.
SELECT pg_notify('wxgate_release', $1::text);
