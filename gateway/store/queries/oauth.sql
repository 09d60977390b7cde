-- name: oauth_account
-- What the OAuth routes need of an account (secrets stay server-side).
SELECT id, kind, app_id, app_secret, oauth_redirect_hosts, oauth_signing_key
  FROM accounts WHERE id = $1;

-- name: oauth_state_lock
-- Serialize new states of one account, so the pending count below is exact.
SELECT pg_advisory_xact_lock(hashtext('wxgate-oauth-states:' || $1));

-- name: oauth_state_clear_expired
-- Delete up to $2 expired, never used states of one account (each new state clears some).
DELETE FROM oauth_states s
 USING (SELECT state FROM oauth_states
         WHERE account_id = $1 AND consumed_at IS NULL AND expires_at <= now()
         LIMIT $2) old
 WHERE s.account_id = $1 AND s.state = old.state;

-- name: oauth_state_insert_capped
-- A single-use state bound to its target and browser ($5: sha256 of the cookie), valid for
-- 10 minutes, unless the account already has $6 pending states: then nothing is inserted.
INSERT INTO oauth_states (account_id, state, target, scope, expires_at, browser)
SELECT $1, $2, $3, $4, now() + interval '10 minutes', $5
 WHERE (SELECT count(*) FROM oauth_states
         WHERE account_id = $1 AND consumed_at IS NULL AND expires_at > now()) < $6;

-- name: oauth_state_peek
-- A usable state of this browser, without taking it (the target is checked first).
SELECT target, scope FROM oauth_states
 WHERE account_id = $1 AND state = $2 AND browser = $3
   AND consumed_at IS NULL AND expires_at > now();

-- name: oauth_state_consume
-- Take a state once, from the browser it was issued to: a reused, expired, unknown or
-- foreign state returns nothing.
UPDATE oauth_states SET consumed_at = now()
 WHERE account_id = $1 AND state = $2 AND browser = $3
   AND consumed_at IS NULL AND expires_at > now()
RETURNING target, scope;

-- name: oauth_purge_states
-- cross-account: retention sweep, over every account.
-- Retention: expired states (used or not), at most $2 per call.
DELETE FROM oauth_states s
 USING (SELECT account_id, state FROM oauth_states WHERE expires_at < $1 LIMIT $2) old
 WHERE s.account_id = old.account_id AND s.state = old.state;

-- name: oauth_record_grant
-- Remember who authorized, with what scope and profile.
INSERT INTO followers (account_id, openid, oauth_scope, oauth_at, unionid, nickname)
VALUES ($1, $2, $3, now(), $4, $5)
ON CONFLICT (account_id, openid) DO UPDATE
   SET oauth_scope = EXCLUDED.oauth_scope, oauth_at = EXCLUDED.oauth_at,
       unionid = coalesce(EXCLUDED.unionid, followers.unionid),
       nickname = coalesce(EXCLUDED.nickname, followers.nickname),
       updated_at = now();
