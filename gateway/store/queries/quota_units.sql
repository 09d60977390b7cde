-- Queries of mass quota units (gateway/store/quota_units.py). Times come in as parameters (the worker's clock), so that
-- tests can move time; `now()` is not used here.

-- name: get_follower_usage
-- Mass units used by followers in the given periods.
SELECT account_id, openid, period, used
  FROM follower_mass_usage
 WHERE (account_id, openid, period) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::date[]));

-- name: get_account_usage
-- Mass units used by accounts in the given periods.
SELECT account_id, period, used
  FROM account_mass_usage
 WHERE (account_id, period) IN (SELECT * FROM unnest($1::text[], $2::date[]));

-- name: consume_follower_units
-- Take n units per follower and period unless that passes the limit $5; the rows that took nothing are absent from the result.
INSERT INTO follower_mass_usage AS u (account_id, openid, period, used)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::integer[])
ON CONFLICT (account_id, openid, period) DO UPDATE
   SET used = u.used + EXCLUDED.used
 WHERE u.used + EXCLUDED.used <= $5
RETURNING account_id, openid, period;

-- name: consume_account_units
-- Take n units per account and period unless that passes the limit $4.
INSERT INTO account_mass_usage AS u (account_id, period, used)
SELECT * FROM unnest($1::text[], $2::date[], $3::integer[])
ON CONFLICT (account_id, period) DO UPDATE
   SET used = u.used + EXCLUDED.used
 WHERE u.used + EXCLUDED.used <= $4
RETURNING account_id, period;

-- name: give_back_follower_units
-- Return units WeChat did not use (one row per key; never below zero).
UPDATE follower_mass_usage u
   SET used = greatest(u.used - g.n, 0)
  FROM unnest($1::text[], $2::text[], $3::date[], $4::integer[]) AS g (account_id, openid, period, n)
 WHERE u.account_id = g.account_id AND u.openid = g.openid AND u.period = g.period;

-- name: give_back_account_units
-- Return account units WeChat did not use.
UPDATE account_mass_usage u
   SET used = greatest(u.used - g.n, 0)
  FROM unnest($1::text[], $2::date[], $3::integer[]) AS g (account_id, period, n)
 WHERE u.account_id = g.account_id AND u.period = g.period;

-- name: fill_account_usage
-- WeChat said the account has no mass quota left (45028): our count was stale; mark the period used up.
INSERT INTO account_mass_usage AS u (account_id, period, used)
SELECT * FROM unnest($1::text[], $2::date[], $3::integer[])
ON CONFLICT (account_id, period) DO UPDATE SET used = EXCLUDED.used;
