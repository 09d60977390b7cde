-- Payments (C2) and marketing events (C5), service accounts only. Keyed by account_id first.

-- WeChat Pay configuration, set by PATCH /api/v1/accounts/{id} and never returned: the merchant
-- id, the APIv3 key (decrypts notification resources) and the platform certificate (verifies
-- their signatures). On rotation the previous certificate is kept: notifications signed with it
-- (named by Wechatpay-Serial) still verify.
ALTER TABLE accounts
    ADD COLUMN pay_mch_id               text,
    ADD COLUMN pay_apiv3_key            text,
    ADD COLUMN pay_cert_pem             text,
    ADD COLUMN pay_cert_serial          text,
    ADD COLUMN pay_previous_cert_pem    text,
    ADD COLUMN pay_previous_cert_serial text;

-- Red packs and coupons are messages too, released by the scheduler to the payment API.
ALTER TABLE messages DROP CONSTRAINT messages_type_check;
ALTER TABLE messages ADD CONSTRAINT messages_type_check
    CHECK (type IN ('customer_service', 'template', 'mass', 'red_pack', 'coupon'));

-- Successful payments from WeChat Pay notifications, stored once per transaction.
CREATE TABLE payments (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id        text NOT NULL,
    out_trade_no          text,
    openid                text NOT NULL,
    amount_total          integer,
    currency              text,
    trade_state           text NOT NULL,
    trade_type            text,
    success_time          timestamptz,
    notification_id       text,
    transaction           jsonb NOT NULL,   -- the decrypted resource, as WeChat sent it
    received_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, transaction_id)
);
CREATE INDEX payments_openid_idx ON payments (account_id, openid);

-- Nonces of accepted notifications: the same nonce twice is a replay (4xx). Only the last few
-- minutes matter (older timestamps are refused anyway); the notify path prunes the rest.
CREATE TABLE pay_notify_nonces (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    nonce                 text NOT NULL,
    seen_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, nonce)
);
CREATE INDEX pay_notify_nonces_seen_idx ON pay_notify_nonces (account_id, seen_at);

CREATE TABLE events (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    name                  text NOT NULL,
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL,
    capacity              integer NOT NULL CHECK (capacity > 0),
    registered            integer NOT NULL DEFAULT 0,
    reminder_offsets      integer[] NOT NULL DEFAULT '{}',
    reminder_template     jsonb,
    welcome_text          text NOT NULL,
    survey_url            text,             -- an external survey; NULL: the gateway's own form
    survey_template       jsonb,
    qr_scene              text NOT NULL,
    qr_ticket             text NOT NULL,
    qr_url                text NOT NULL,
    qr_expires_at         timestamptz NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, qr_scene),
    -- Capacity is a database invariant: the counter cannot pass it.
    CHECK (registered BETWEEN 0 AND capacity),
    CHECK (ends_at > starts_at)
);

-- One row per follower and event: registered (through OAuth), checked in (by scanning the
-- event's QR code), or both. A walk-in who scans without registering has only checked_in_at.
CREATE TABLE event_registrations (
    account_id            text NOT NULL,
    event_id              bigint NOT NULL,
    openid                text NOT NULL,
    registered_at         timestamptz,
    checked_in_at         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, event_id, openid),
    FOREIGN KEY (account_id, event_id) REFERENCES events (account_id, id) ON DELETE CASCADE,
    CHECK (registered_at IS NOT NULL OR checked_in_at IS NOT NULL)
);

-- The messages an event queued (reminders, welcome, survey), for its statistics.
CREATE TABLE event_messages (
    account_id            text NOT NULL,
    event_id              bigint NOT NULL,
    message_id            bigint NOT NULL,
    purpose               text NOT NULL CHECK (purpose IN ('reminder', 'welcome', 'survey')),
    openid                text NOT NULL,
    PRIMARY KEY (account_id, event_id, message_id),
    FOREIGN KEY (account_id, event_id) REFERENCES events (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);
CREATE INDEX event_messages_message_idx ON event_messages (account_id, message_id);

-- Answers of the gateway's own survey form, once per follower and event.
CREATE TABLE survey_answers (
    account_id            text NOT NULL,
    event_id              bigint NOT NULL,
    openid                text NOT NULL,
    answers               jsonb NOT NULL,
    answered_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, event_id, openid),
    FOREIGN KEY (account_id, event_id) REFERENCES events (account_id, id) ON DELETE CASCADE
);
