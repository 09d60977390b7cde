-- The console's event log reads a page's ids from an index alone, then its rows (issue 20:
-- under 200 ms with 1,000,000 stored callbacks). The type index carries received_at (and
-- event: an index on lower(event) is read alone only when event is in it too); the time
-- index carries id and the type, so a time window, with or without a type filter, is one
-- index range. Same names, same number of indexes as before.
DROP INDEX inbound_events_console_type_idx;
CREATE INDEX inbound_events_console_type_idx
    ON inbound_events (account_id, msg_type, lower(event), id) INCLUDE (received_at, event);
DROP INDEX inbound_events_console_received_idx;
CREATE INDEX inbound_events_console_received_idx
    ON inbound_events (account_id, received_at, id) INCLUDE (msg_type, event);
