-- name: api_token_insert
-- A new scoped token; only the SHA-256 of its text ($2) is stored.
INSERT INTO api_tokens (name, hash, all_accounts, accounts, scopes)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, all_accounts, accounts, scopes, created_at, revoked_at, last_used_at;

-- name: api_token_list
-- cross-account: API tokens are global (a token spans accounts); a reference table on Citus.
-- One keyset page of tokens by id, after $1 if given, revoked ones included.
SELECT id, name, all_accounts, accounts, scopes, created_at, revoked_at, last_used_at
  FROM api_tokens
 WHERE ($1::bigint IS NULL OR id > $1)
 ORDER BY id
 LIMIT $2;

-- name: api_token_revoke
-- cross-account: API tokens are global (a token spans accounts); a reference table on Citus.
-- Revoke a token (kept, with revoked_at, for the audit trail); a second revoke keeps the time.
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
 WHERE id = $1
RETURNING id, name, all_accounts, accounts, scopes, created_at, revoked_at, last_used_at;

-- name: api_token_end_sessions
-- cross-account: console sessions are global (a token spans accounts); a reference table on Citus.
-- A revoked token's console sessions end with it.
DELETE FROM console_sessions WHERE token_id = $1;

-- name: api_token_find
-- cross-account: API tokens are global (a token spans accounts); a reference table on Citus.
-- The live token with this hash, looked up on every request (so a revoke is effective at
-- once); last_used_at is written at most once a minute.
WITH found AS (
    SELECT id, name, all_accounts, accounts, scopes, last_used_at
      FROM api_tokens
     WHERE hash = $1 AND revoked_at IS NULL
), touched AS (
    UPDATE api_tokens t SET last_used_at = now()
      FROM found f
     WHERE t.id = f.id AND (f.last_used_at IS NULL OR f.last_used_at < now() - interval '1 minute')
    RETURNING t.id
)
SELECT f.id, f.name, f.all_accounts, f.accounts, f.scopes,
       (SELECT count(*) FROM touched) AS touched
  FROM found f;

-- name: api_token_get
-- cross-account: API tokens are global (a token spans accounts); a reference table on Citus.
-- One live token by id (a console session's token).
SELECT id, name, all_accounts, accounts, scopes FROM api_tokens
 WHERE id = $1 AND revoked_at IS NULL;
