-- Webhooks out (SPEC 7): the business's endpoints, the events that are not callbacks, the
-- outbox of deliveries written in the transaction that stores the event, and the attempts.
-- Keyed by account_id first like every table (Citus).

CREATE TABLE webhook_endpoints (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                    text NOT NULL,            -- 'ep_' + 24 hex digits
    url                   text NOT NULL CHECK (length(url) <= 2048),
    description           text,
    event_types           text[],                   -- NULL: every type
    disabled              boolean NOT NULL DEFAULT false,
    disabled_reason       text,
    rate_limit            integer CHECK (rate_limit > 0),
    mode                  text NOT NULL DEFAULT 'deliver' CHECK (mode IN ('deliver', 'reply')),
    secret                text NOT NULL,            -- 'whsec_' + base64 of 32 bytes
    previous_secret       text,
    previous_expires_at   timestamptz,              -- rotation + 24 h
    failing_since         timestamptz,              -- first failed attempt since the last 2xx
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

-- Events that are not callbacks (outbound.*, payment.*, oauth.*, marketing.*). A callback's
-- event is its inbound_events row: its payload is built from that row, nothing is copied.
CREATE TABLE webhook_events (
    account_id            text NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    type                  text NOT NULL,
    openid                text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    data                  jsonb NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX webhook_events_created_idx ON webhook_events (account_id, created_at, id);
CREATE INDEX webhook_events_purge_idx ON webhook_events (created_at);

-- One row per (event, endpoint): the unit the worker claims.
CREATE TABLE webhook_deliveries (
    account_id            text NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    endpoint_id           text NOT NULL,
    inbound_key           text,                     -- inbound_events (account_id, dedupe_key)
    event_id              bigint,                   -- webhook_events (account_id, id)
    event_type            text NOT NULL,
    openid                text NOT NULL DEFAULT '', -- per-follower order key ('' for none)
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts              integer NOT NULL DEFAULT 0,
    next_attempt_at       timestamptz NOT NULL DEFAULT now(),
    lease_until           timestamptz,
    leased_by             text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhook_endpoints (account_id, id)
        ON DELETE CASCADE,
    CHECK ((inbound_key IS NULL) <> (event_id IS NULL))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
-- A follower's earlier, never attempted delivery to the same endpoint holds back later ones.
CREATE INDEX webhook_deliveries_order_idx
    ON webhook_deliveries (account_id, endpoint_id, openid, id)
    WHERE status = 'pending' AND attempts = 0;
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (account_id, endpoint_id, id);

CREATE TABLE webhook_attempts (
    account_id            text NOT NULL,
    delivery_id           bigint NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    at                    timestamptz NOT NULL,
    http_status           integer,
    error                 text,
    latency_ms            double precision NOT NULL,
    response              text,                     -- the first 1 KiB of the answer
    PRIMARY KEY (account_id, delivery_id, id),
    FOREIGN KEY (account_id, delivery_id) REFERENCES webhook_deliveries (account_id, id)
        ON DELETE CASCADE
);

-- The event type of a callback: message.<msgtype> or event.<event in lower case>.
CREATE FUNCTION wxgate_inbound_type(msg_type text, event text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN msg_type = 'event' THEN 'event.' || lower(coalesce(event, ''))
                ELSE 'message.' || lower(msg_type) END;

-- An endpoint's filter: NULL (every type), an exact name, or `family.*`.
CREATE FUNCTION wxgate_webhook_matches(types text[], event_type text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN types IS NULL OR event_type = ANY (types)
           OR (split_part(event_type, '.', 1) || '.*') = ANY (types);

-- Store one non-callback event and its deliveries to every matching enabled endpoint, in the
-- caller's transaction.
CREATE FUNCTION wxgate_webhook_emit(p_account text, p_type text, p_openid text, p_data jsonb)
    RETURNS void LANGUAGE sql AS $$
    WITH ev AS (
        INSERT INTO webhook_events (account_id, type, openid, data)
        VALUES (p_account, p_type, p_openid, p_data)
        RETURNING account_id, id, type, openid
    )
    INSERT INTO webhook_deliveries (account_id, endpoint_id, event_id, event_type, openid)
    SELECT ev.account_id, ep.id, ev.id, ev.type, coalesce(ev.openid, '')
      FROM ev
      JOIN webhook_endpoints ep ON ep.account_id = ev.account_id
     WHERE NOT ep.disabled AND ep.mode = 'deliver'
       AND wxgate_webhook_matches(ep.event_types, ev.type)
     ORDER BY ep.id;
$$;

-- outbound.<status>: every path that changes a message's status appends a transition (API
-- cancel, the scheduler's recompute, expiry), so the event is written where the status changes.
CREATE FUNCTION wxgate_webhook_outbound() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m record;
BEGIN
    IF EXISTS (SELECT 1 FROM message_transitions t
                WHERE t.account_id = NEW.account_id AND t.message_id = NEW.message_id
                  AND t.id < NEW.id AND t.status = NEW.status) THEN
        RETURN NULL;  -- a reason change within the same status is not a new outcome
    END IF;
    SELECT type, recipient, audience, errcode, errmsg INTO m
      FROM messages WHERE account_id = NEW.account_id AND id = NEW.message_id;
    PERFORM wxgate_webhook_emit(
        NEW.account_id, 'outbound.' || NEW.status, m.recipient,
        jsonb_build_object('message_id', NEW.message_id, 'message_type', m.type,
                           'to', m.recipient, 'audience', m.audience, 'status', NEW.status,
                           'reason', NEW.reason, 'errcode', m.errcode, 'errmsg', m.errmsg));
    RETURN NULL;
END $$;
CREATE TRIGGER message_transitions_webhooks AFTER INSERT ON message_transitions
    FOR EACH ROW WHEN (NEW.status IN ('sent', 'delivered', 'failed', 'expired', 'canceled'))
    EXECUTE FUNCTION wxgate_webhook_outbound();

-- New deliveries wake the workers at commit, whichever path wrote them (at most one NOTIFY
-- per statement that inserted any; Postgres folds repeats within a transaction).
CREATE FUNCTION wxgate_webhook_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows) THEN
        PERFORM pg_notify('wxgate_webhooks', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wxgate_webhook_notify();
