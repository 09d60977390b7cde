-- name: oauth_account
-- What the OAuth routes need of an account (secrets stay server-side).
SELECT id, kind, app_id, app_secret, oauth_redirect_hosts, oauth_signing_key
  FROM accounts WHERE id = $1;

-- name: oauth_state_insert
-- A single-use state bound to its target, valid for 10 minutes.
INSERT INTO oauth_states (account_id, state, target, scope, expires_at)
VALUES ($1, $2, $3, $4, now() + interval '10 minutes');

-- name: oauth_state_consume
-- Take a state once: a reused, expired or unknown state returns nothing.
UPDATE oauth_states SET consumed_at = now()
 WHERE account_id = $1 AND state = $2 AND consumed_at IS NULL AND expires_at > now()
RETURNING target, scope;

-- name: oauth_record_grant
-- Remember who authorized, with what scope and profile.
INSERT INTO followers (account_id, openid, oauth_scope, oauth_at, unionid, nickname)
VALUES ($1, $2, $3, now(), $4, $5)
ON CONFLICT (account_id, openid) DO UPDATE
   SET oauth_scope = EXCLUDED.oauth_scope, oauth_at = EXCLUDED.oauth_at,
       unionid = coalesce(EXCLUDED.unionid, followers.unionid),
       nickname = coalesce(EXCLUDED.nickname, followers.nickname),
       updated_at = now();
