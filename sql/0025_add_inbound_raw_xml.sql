-- The callback body as received (decrypted in AES modes), for the webhooks' data.xml. NULL
-- for rows stored before this column (and for a body that is not UTF-8 text): their xml is
-- rebuilt from the stored fields.
ALTER TABLE inbound_events ADD COLUMN raw_xml text;
