-- name: api_account_kind_share
-- The account's kind, share-locked so it cannot change while a message is enqueued.
SELECT kind FROM accounts WHERE id = $1 FOR SHARE;

-- name: api_account_exists
-- Whether the account exists (for list routes that answer 404 for unknown accounts).
SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1);

-- name: api_message_by_key
-- The message already stored under an idempotency key, with the hash of its request.
SELECT id, request_hash FROM messages WHERE account_id = $1 AND idempotency_key = $2;

-- name: api_message_insert
-- A new message, queued; release_at is when the scheduler first looks at it.
INSERT INTO messages (account_id, type, recipient, audience, content, template, outside_window,
                      status, release_at, not_before, expires_at, idempotency_key, request_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', greatest(now(), $8::timestamptz), $8, $9, $10, $11)
RETURNING id;

-- name: api_deliveries_insert
-- One queued delivery per element of $3 (a NULL element: an account-level sendall).
INSERT INTO deliveries (account_id, message_id, openid, status, release_at)
SELECT $1, $2, recipient, 'queued', greatest(now(), $4::timestamptz)
  FROM unnest($3::text[]) AS recipient;

-- name: api_deliveries_fan_out
-- Service `all`: one queued delivery per follower subscribed now, in one statement.
INSERT INTO deliveries (account_id, message_id, openid, status, release_at)
SELECT f.account_id, $2, f.openid, 'queued', greatest(now(), $3::timestamptz)
  FROM followers f
 WHERE f.account_id = $1 AND f.subscribed;

-- name: api_message_set_total
-- Record how many deliveries a message has.
UPDATE messages SET recipients_total = $3 WHERE account_id = $1 AND id = $2;

-- name: api_message_fail_empty
-- A message whose audience resolved to nobody fails at once.
UPDATE messages SET status = 'failed', errmsg = $3, release_at = NULL, updated_at = now()
 WHERE account_id = $1 AND id = $2;

-- name: api_transition_insert
-- Append one entry to a message's history.
INSERT INTO message_transitions (account_id, message_id, status, reason, detail)
VALUES ($1, $2, $3, $4, $5);

-- name: api_message_get
-- One message, every column the API shows.
SELECT id, account_id, type, recipient, audience, content, template, outside_window, status,
       reason, release_at, not_before, expires_at, idempotency_key, attempts, wechat_msgid,
       errcode, errmsg, recipients_total, created_at, updated_at
  FROM messages
 WHERE account_id = $1 AND id = $2;

-- name: api_message_counts
-- Deliveries of a message by status.
SELECT status, count(*) AS n FROM deliveries
 WHERE account_id = $1 AND message_id = $2
 GROUP BY status;

-- name: api_message_history
-- Every transition of a message, oldest first.
SELECT at, status, reason, detail FROM message_transitions
 WHERE account_id = $1 AND message_id = $2
 ORDER BY id;

-- name: api_message_list
-- One keyset page of an account's messages, newest first, optionally of one status and
-- one reason ($5).
SELECT id, account_id, type, recipient, status, reason, release_at, not_before, expires_at,
       idempotency_key, attempts, wechat_msgid, errcode, errmsg, created_at, updated_at
  FROM messages
 WHERE account_id = $1
   AND ($2::text IS NULL OR status = $2)
   AND ($3::bigint IS NULL OR id < $3)
   AND ($5::text IS NULL OR reason = $5)
 ORDER BY id DESC
 LIMIT $4;

-- name: api_message_status
-- A message's current status (unlocked: cancel re-checks through the rows it changes).
SELECT status FROM messages WHERE account_id = $1 AND id = $2;

-- name: api_message_enqueue_list
-- A message to a list of recipients in one statement: lock the account's kind (FOR SHARE),
-- insert the message, one queued delivery per element of $12 (NULL: account-level sendall)
-- and the `queued` transition, and wake the scheduler. No row: no such account.
WITH account AS (
    SELECT id FROM accounts WHERE id = $1 FOR SHARE
), message AS (
    INSERT INTO messages (account_id, type, recipient, audience, content, template,
                          outside_window, status, release_at, not_before, expires_at,
                          idempotency_key, request_hash, recipients_total)
    SELECT a.id, $2, $3, $4, $5, $6, $7, 'queued', greatest(now(), $8::timestamptz), $8, $9,
           $10, $11, cardinality($12::text[])
      FROM account a
    RETURNING id, account_id, type, recipient, audience, content, template, outside_window,
              status, reason, release_at, not_before, expires_at, idempotency_key, attempts,
              wechat_msgid, errcode, errmsg, recipients_total, created_at, updated_at
), delivered AS (
    INSERT INTO deliveries (account_id, message_id, openid, status, release_at)
    SELECT m.account_id, m.id, r.openid, 'queued', m.release_at
      FROM message m, unnest($12::text[]) AS r (openid)
), logged AS (
    INSERT INTO message_transitions (account_id, message_id, status, detail)
    SELECT m.account_id, m.id, 'queued', jsonb_build_object('recipients', m.recipients_total)
      FROM message m
    RETURNING at, status, reason, detail
)
SELECT m.*, l.at AS history_at, l.detail AS history_detail,
       pg_notify('wxgate_release', m.account_id) IS NULL AS notified
  FROM message m, logged l;
