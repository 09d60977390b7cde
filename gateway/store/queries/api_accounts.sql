-- name: api_account_insert
-- Create an account; unique violations on id or app_id become AccountExists.
INSERT INTO accounts (id, kind, app_id, app_secret, token, encoding_aes_key, original_id,
                      rule_profile, oauth_redirect_hosts, oauth_signing_key, encoding_mode)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
-- A new AES key records the rotation time (the previous key's grace period starts there).
UPDATE accounts
   SET kind = $2, app_secret = $3, token = $4, encoding_aes_key = $5, previous_aes_key = $6,
       aes_key_rotated_at = CASE WHEN $5::text IS DISTINCT FROM encoding_aes_key THEN now()
                                 ELSE aes_key_rotated_at END,
       original_id = $7, rule_profile = $8, oauth_redirect_hosts = $9, oauth_signing_key = $10,
       encoding_mode = $12,
       upgraded_at = CASE WHEN $11::boolean THEN now() ELSE upgraded_at END,
       updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: api_account_fan_out_all
-- After an upgrade to service: each waiting subscription `all` mass (one account-level
-- delivery) becomes the service `all`, one queued delivery per follower subscribed now, with
-- a `queued` transition; one with nobody subscribed fails as at enqueue ($2: its errmsg).
WITH waiting AS (
    SELECT d.account_id, d.id, d.message_id
      FROM deliveries d
      JOIN messages m ON m.account_id = d.account_id AND m.id = d.message_id
     WHERE d.account_id = $1 AND d.openid IS NULL AND d.status IN ('queued', 'held')
       AND m.type = 'mass' AND m.audience ? 'all'
       FOR UPDATE OF d
), gone AS (
    DELETE FROM deliveries d
     USING waiting w
     WHERE d.account_id = w.account_id AND d.id = w.id
    RETURNING d.account_id, d.message_id
), fanned AS (
    INSERT INTO deliveries (account_id, message_id, openid, status, release_at)
    SELECT f.account_id, g.message_id, f.openid, 'queued', now()
      FROM gone g
      JOIN followers f ON f.account_id = g.account_id AND f.subscribed
    RETURNING message_id
), totals AS (
    SELECT g.account_id, g.message_id,
           (SELECT count(*) FROM fanned x WHERE x.message_id = g.message_id) AS n
      FROM gone g
), updated AS (
    UPDATE messages m
       SET recipients_total = t.n,
           status = CASE WHEN t.n > 0 THEN 'queued' ELSE 'failed' END,
           reason = NULL, errmsg = CASE WHEN t.n = 0 THEN $2 END,
           release_at = CASE WHEN t.n > 0 THEN now() END, updated_at = now()
      FROM totals t
     WHERE m.account_id = t.account_id AND m.id = t.message_id
    RETURNING m.account_id, m.id, m.status, t.n
)
INSERT INTO message_transitions (account_id, message_id, status, reason, detail)
SELECT u.account_id, u.id, u.status, NULL,
       CASE WHEN u.n > 0 THEN jsonb_build_object('recipients', u.n, 'upgraded', 'service')
            ELSE jsonb_build_object('error', $2::text, 'upgraded', 'service') END
  FROM updated u;

-- name: api_account_wake_held
-- After an upgrade every held delivery is due at once, so the scheduler re-decides it.
UPDATE deliveries SET release_at = now(), updated_at = now()
 WHERE account_id = $1 AND status = 'held';

-- name: api_notify_release
-- Wake the release scheduler for one account.
SELECT pg_notify('wxgate_release', $1::text);
