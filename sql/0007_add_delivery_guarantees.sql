-- Delivery guarantees (README "Reliability"): idempotency keys unique for the life of the
-- installation, attempts whose outcome is unknown, and a cap on lease take-overs.

-- A random key per delivery, the source of its client_msg_id, clientmsgid and mch_billno: a
-- database restore or a sequence reset can repeat delivery ids, never these. Rows that existed
-- before keep NULL and their old id-derived keys (a retry must reuse the key it went out with);
-- a volatile default on a column added separately rewrites no existing row.
ALTER TABLE deliveries ADD COLUMN send_key uuid;
ALTER TABLE deliveries ALTER COLUMN send_key SET DEFAULT gen_random_uuid();

ALTER TABLE deliveries
    -- When the latest call attempt was leased (the claim's or the take-over's time).
    ADD COLUMN attempted_at timestamptz,
    -- The earliest attempt whose outcome is unknown (a timeout, a dropped connection, a
    -- worker that died with the lease): WeChat may have carried it out.
    ADD COLUMN unknown_since timestamptz,
    -- How many times the row's lease was taken over from a worker that died or stalled.
    ADD COLUMN takeovers integer NOT NULL DEFAULT 0;
