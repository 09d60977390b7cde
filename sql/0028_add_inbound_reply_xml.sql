-- The passive reply a callback was answered with (plaintext XML, SPEC 8), stored with the
-- event in the same statement: WeChat's retry of that callback is answered with it again,
-- without evaluating the rules or calling the reply endpoint a second time. NULL: no reply.
ALTER TABLE inbound_events ADD COLUMN reply_xml text;
