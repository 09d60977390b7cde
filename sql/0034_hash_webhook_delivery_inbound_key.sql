-- The console finds a stored callback's deliveries by its key (query
-- console_inbound_deliveries, an equality per key): a hash index answers that too, and a new
-- delivery then costs one hashed entry instead of a B-tree descent comparing long text keys
-- (the seed path writes one per event per endpoint, in the callbacks' statement).
CREATE INDEX webhook_deliveries_inbound_hash_idx ON webhook_deliveries USING hash (inbound_key)
    WHERE inbound_key IS NOT NULL;
DROP INDEX webhook_deliveries_inbound_idx;
