-- The console's event log filtered by a time that ends far back (issue 20): the page's ids
-- are the callbacks received last before that end plus any higher ids received before it
-- too. This BRIN index keeps, per 32 heap pages, the range of ids and of receipt times, so
-- the second read visits only the block ranges that reach both (where ids ascend with
-- receipt times, those around the end). Small (tens of kB per million rows) and cheap to
-- keep on insert; autosummarize summarizes each range once it is full.
CREATE INDEX inbound_events_console_late_idx ON inbound_events USING brin (id, received_at)
    WITH (pages_per_range = 32, autosummarize = on);
