-- Indexes that return due rows in the order the claims take them (README "Performance").

-- The fair claim orders each account's due rows by (release_at, id): with `id` in the key an
-- index scan stops after the claim's limit. Without it, rows due at the same moment (a
-- fan-out) were all read and sorted on every claim: 0.24 s a claim at 200,000 rows.
CREATE INDEX deliveries_account_due_order_idx ON deliveries (account_id, release_at, id)
    WHERE status IN ('queued', 'held') AND release_at IS NOT NULL;
DROP INDEX deliveries_account_due_idx;

-- Unfinished deliveries of a message, in id order: the next rows of a mass message for one
-- openid-list call (its claim orders by id), and whether a large message still has work in
-- flight, so that its status is not re-aggregated over every row on every pass.
CREATE INDEX deliveries_open_idx ON deliveries (account_id, message_id, id)
    WHERE status IN ('queued', 'held', 'sending');
