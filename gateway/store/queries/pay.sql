-- Payments (C2): WeChat Pay configuration, notifications, and the payment's window.

-- name: pay_account
-- What the notify path needs of an account: kind, profile, app id and the pay configuration.
SELECT id, kind, rule_profile, app_id, pay_mch_id, pay_apiv3_key, pay_cert_pem,
       pay_cert_serial, pay_previous_cert_pem, pay_previous_cert_serial, pay_cert_rotated_at
  FROM accounts WHERE id = $1;

-- name: pay_config_set
-- Set the given pay fields (NULL: unchanged); a new certificate keeps the old one as previous
-- and records the rotation time (the previous one is trusted for a grace period after it).
UPDATE accounts
   SET pay_mch_id = coalesce($2, pay_mch_id),
       pay_apiv3_key = coalesce($3, pay_apiv3_key),
       pay_previous_cert_pem = CASE WHEN $5::text IS DISTINCT FROM pay_cert_serial
                                     AND $4::text IS NOT NULL AND pay_cert_pem IS NOT NULL
                                    THEN pay_cert_pem ELSE pay_previous_cert_pem END,
       pay_previous_cert_serial = CASE WHEN $5::text IS DISTINCT FROM pay_cert_serial
                                        AND $4::text IS NOT NULL AND pay_cert_pem IS NOT NULL
                                       THEN pay_cert_serial ELSE pay_previous_cert_serial END,
       pay_cert_rotated_at = CASE WHEN $5::text IS DISTINCT FROM pay_cert_serial
                                   AND $4::text IS NOT NULL AND pay_cert_pem IS NOT NULL
                                  THEN now() ELSE pay_cert_rotated_at END,
       pay_cert_pem = coalesce($4, pay_cert_pem),
       pay_cert_serial = coalesce($5, pay_cert_serial),
       updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: pay_nonce_prune
-- Forget nonces older than $2: notifications that old are refused by their timestamp anyway.
DELETE FROM pay_notify_nonces WHERE account_id = $1 AND seen_at < $2;

-- name: pay_nonce_insert
-- Remember a notification's nonce; no row back means it was seen before (a replay).
INSERT INTO pay_notify_nonces (account_id, nonce, seen_at) VALUES ($1, $2, $3)
ON CONFLICT (account_id, nonce) DO NOTHING
RETURNING nonce;

-- name: pay_insert
-- Store a payment once per transaction id; no row back means it is already stored.
INSERT INTO payments (account_id, transaction_id, out_trade_no, openid, amount_total, currency,
                      trade_state, trade_type, success_time, notification_id, transaction)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (account_id, transaction_id) DO NOTHING
RETURNING id;

-- name: pay_follower_window
-- The payer's window after the payment (computed by the domain on the locked row).
UPDATE followers
   SET window_ends_at = $3, window_remaining = $4,
       last_interaction = CASE WHEN last_interaction_at IS NULL OR $5 >= last_interaction_at
                               THEN 'payment' ELSE last_interaction END,
       last_interaction_at = greatest(last_interaction_at, $5),
       updated_at = now()
 WHERE account_id = $1 AND openid = $2;

-- name: pay_list
-- One keyset page of an account's payments, newest first, optionally of one payer.
SELECT id, transaction_id, out_trade_no, openid, amount_total, currency, trade_state,
       trade_type, success_time, received_at
  FROM payments
 WHERE account_id = $1
   AND ($2::text IS NULL OR openid = $2)
   AND ($3::bigint IS NULL OR id < $3)
 ORDER BY id DESC
 LIMIT $4;
