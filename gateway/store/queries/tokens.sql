-- name: token_get
-- The cached access token of an account, if any.
SELECT token, expires_at, generation FROM access_tokens WHERE account_id = $1;

-- name: token_lock
-- Serializes refreshes of one account's token across processes (released at commit).
SELECT pg_advisory_xact_lock(hashtext('wxgate-token:' || $1));

-- name: token_put
-- Store a freshly fetched token.
INSERT INTO access_tokens (account_id, token, expires_at, fetched_at, generation)
VALUES ($1, $2, $3, now(), 1)
ON CONFLICT (account_id) DO UPDATE
   SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, fetched_at = now(),
       generation = access_tokens.generation + 1
RETURNING generation;

-- name: token_invalidate
-- Forget a token WeChat called stale, only if it is still the cached one.
DELETE FROM access_tokens WHERE account_id = $1 AND token = $2;

-- name: list_expiring_tokens
-- cross-account: the access-token refresh sweep, over every account.
-- Accounts whose cached access token expires before $1 (the refresh job renews them early).
SELECT a.id, a.kind, a.rule_profile, a.app_id, a.app_secret
  FROM access_tokens t
  JOIN accounts a ON a.id = t.account_id
 WHERE t.expires_at < $1;
