-- The account's custom menu (SPEC 8; gateway/store/menus.py). Times are the database's
-- `now()`: the API asks and any worker applies, so one clock orders them.

-- name: menu_put
-- A new menu to apply; replaces any earlier one, whatever its state (a newer version wins).
-- Nothing when the account does not exist.
INSERT INTO menus AS m (account_id, body, state)
SELECT id, $2::jsonb, 'pending' FROM accounts WHERE id = $1
ON CONFLICT (account_id) DO UPDATE
   SET body = EXCLUDED.body, state = 'pending', version = m.version + 1, errcode = NULL,
       errmsg = NULL, attempts = 0, next_attempt_at = now(), updated_at = now()
RETURNING account_id, version, state;

-- name: menu_delete
-- Ask for the account's menu to be removed on WeChat (also one wxgate never set).
INSERT INTO menus AS m (account_id, body, state)
SELECT id, NULL, 'deleting' FROM accounts WHERE id = $1
ON CONFLICT (account_id) DO UPDATE
   SET body = NULL, state = 'deleting', version = m.version + 1, errcode = NULL,
       errmsg = NULL, attempts = 0, next_attempt_at = now(), updated_at = now()
RETURNING account_id, version, state;

-- name: menu_get
-- The account's menu with its state.
SELECT account_id, body, state, version, errcode, errmsg, attempts, next_attempt_at,
       applied_at, updated_at
  FROM menus WHERE account_id = $1;

-- name: menu_claim
-- cross-account: a worker claims the next due menu of any account.
-- Lease one due menu no live worker holds (never leased, or its lease ran out: that worker
-- died), oldest first; other workers skip it while this transaction decides. One call per
-- account is in flight at a time: a newer PUT waits for the lease to be given back.
UPDATE menus m
   SET leased_by = $1, lease_until = now() + make_interval(secs => $2),
       attempts = m.attempts + 1
  FROM accounts a
 WHERE m.account_id = (
       SELECT account_id FROM menus
        WHERE state IN ('pending', 'deleting') AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until < now())
        ORDER BY next_attempt_at, account_id
        LIMIT 1
          FOR UPDATE SKIP LOCKED)
   AND a.id = m.account_id
RETURNING m.account_id, m.version, m.state, m.body, m.attempts, a.id, a.kind,
          a.rule_profile, a.app_id, a.app_secret, a.pay_mch_id;

-- name: menu_applied
-- WeChat took the menu, while this worker ($2) held the version it sent ($3).
UPDATE menus
   SET state = 'applied', errcode = NULL, errmsg = NULL, applied_at = now(),
       leased_by = NULL, lease_until = NULL, updated_at = now()
 WHERE account_id = $1 AND leased_by = $2 AND version = $3 AND state = 'pending'
RETURNING account_id;

-- name: menu_deleted
-- WeChat removed the menu: the row goes (GET answers 404).
DELETE FROM menus
 WHERE account_id = $1 AND leased_by = $2 AND version = $3 AND state = 'deleting'
RETURNING account_id;

-- name: menu_failed
-- WeChat refused the menu for good: its errcode and errmsg stay visible.
UPDATE menus
   SET state = 'failed', errcode = $4, errmsg = $5, leased_by = NULL, lease_until = NULL,
       updated_at = now()
 WHERE account_id = $1 AND leased_by = $2 AND version = $3
RETURNING account_id;

-- name: menu_retry
-- A retryable failure: due again after the backoff ($6 seconds), the answer kept.
UPDATE menus
   SET errcode = $4, errmsg = $5, next_attempt_at = now() + make_interval(secs => $6),
       leased_by = NULL, lease_until = NULL, updated_at = now()
 WHERE account_id = $1 AND leased_by = $2 AND version = $3
RETURNING account_id;

-- name: menu_release
-- Give the lease back without an answer (a newer version arrived, or the worker stops).
UPDATE menus SET leased_by = NULL, lease_until = NULL
 WHERE account_id = $1 AND leased_by = $2;
