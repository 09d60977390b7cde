-- Unfinished deliveries of a message: whether a large message still has work in flight, so
-- that its status is not re-aggregated over every row on every pass (README "Performance").
CREATE INDEX deliveries_open_idx ON deliveries (account_id, message_id)
    WHERE status IN ('queued', 'held', 'sending');
