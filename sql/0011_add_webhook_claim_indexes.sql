-- The webhook claim goes endpoint by endpoint: each endpoint's due rows in claim order, and
-- its live leases (requests in flight) counted from a small index.
CREATE INDEX webhook_deliveries_endpoint_due_idx
    ON webhook_deliveries (account_id, endpoint_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased_idx
    ON webhook_deliveries (account_id, endpoint_id, lease_until)
    WHERE status = 'pending' AND lease_until IS NOT NULL;
