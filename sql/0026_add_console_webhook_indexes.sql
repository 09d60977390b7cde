-- The console's webhook and sync pages read index ranges only: attempts of the last hour
-- (the deliveries-per-minute chart), the deliveries of the callbacks on one event-log page,
-- and an endpoint's deliveries of one status in keyset order.
CREATE INDEX webhook_attempts_at_idx ON webhook_attempts (account_id, at);
CREATE INDEX webhook_deliveries_inbound_idx ON webhook_deliveries (account_id, inbound_key, id)
    WHERE inbound_key IS NOT NULL;
CREATE INDEX webhook_deliveries_status_idx
    ON webhook_deliveries (account_id, endpoint_id, status, id);
