-- The console's event log with a time filter reads ids from an index alone, then the page's
-- rows (issue 20: under 200 ms with 1,000,000 stored callbacks): the type index carries
-- received_at (and event, without which an index on lower(event) is never read alone), the
-- time index carries id. Same names, same number of indexes as before.
DROP INDEX inbound_events_console_type_idx;
CREATE INDEX inbound_events_console_type_idx
    ON inbound_events (account_id, msg_type, lower(event), id) INCLUDE (received_at, event);
DROP INDEX inbound_events_console_received_idx;
CREATE INDEX inbound_events_console_received_idx ON inbound_events (account_id, received_at, id);
