-- Indexes for the console's bounded reads: a follower's events, the event log by type, the
-- last hour of callbacks and of sends of one account.
CREATE INDEX inbound_events_console_openid_idx ON inbound_events (account_id, openid, id);
CREATE INDEX inbound_events_console_type_idx
    ON inbound_events (account_id, msg_type, lower(event), id);
CREATE INDEX inbound_events_console_received_idx ON inbound_events (account_id, received_at);
CREATE INDEX deliveries_console_sent_idx ON deliveries (account_id, sent_at)
    WHERE sent_at IS NOT NULL;
