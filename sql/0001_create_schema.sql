-- The whole product's schema. Every table is keyed by account_id first and every query filters
-- by it, so the schema can be distributed by account (Citus) when one Postgres is not enough.

CREATE TABLE accounts (
    id                    text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    kind                  text NOT NULL CHECK (kind IN ('service', 'subscription')),
    app_id                text NOT NULL UNIQUE,
    app_secret            text NOT NULL,
    token                 text NOT NULL,
    encoding_aes_key      text,
    previous_aes_key      text,
    original_id           text,
    rule_profile          text NOT NULL DEFAULT 'seed' CHECK (rule_profile IN ('seed', 'wechat-2023')),
    oauth_redirect_hosts  text[] NOT NULL DEFAULT '{}',
    oauth_signing_key     text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    upgraded_at           timestamptz
);

-- One row per (account, follower): subscription and customer-service window state.
CREATE TABLE followers (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    openid                text NOT NULL,
    subscribed            boolean NOT NULL DEFAULT false,
    subscribed_at         timestamptz,
    unsubscribed_at       timestamptz,
    last_interaction_at   timestamptz,
    last_interaction      text,
    window_ends_at        timestamptz,
    window_remaining      integer,          -- NULL: unlimited (seed profile, payments)
    first_qr_scene        text,
    latest_qr_scene       text,
    oauth_scope           text,
    oauth_at              timestamptz,
    unionid               text,
    nickname              text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, openid)
);
CREATE INDEX followers_window_idx ON followers (account_id, window_ends_at);

-- Raw inbound callbacks, deduplicated: WeChat retries an unanswered callback with the same body.
CREATE TABLE inbound_events (
    account_id            text NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    dedupe_key            text NOT NULL,
    openid                text NOT NULL,
    msg_type              text NOT NULL,
    event                 text,
    event_key             text,
    msg_id                text,             -- up to 2^64-1: wider than bigint
    create_time           timestamptz NOT NULL,
    received_at           timestamptz NOT NULL DEFAULT now(),
    fields                jsonb NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, dedupe_key)
);
CREATE INDEX inbound_events_received_idx ON inbound_events (received_at);

-- A message the business queued. Per-recipient state lives in deliveries.
CREATE TABLE messages (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    type                  text NOT NULL CHECK (type IN ('customer_service', 'template', 'mass')),
    recipient             text,
    audience              jsonb,
    content               jsonb,
    template              jsonb,
    outside_window        text NOT NULL DEFAULT 'hold' CHECK (outside_window IN ('hold', 'reach')),
    status                text NOT NULL DEFAULT 'queued',
    reason                text,
    release_at            timestamptz,
    not_before            timestamptz,
    expires_at            timestamptz NOT NULL,
    idempotency_key       text,
    request_hash          text,
    attempts              integer NOT NULL DEFAULT 0,
    wechat_msgid          text,
    errcode               integer,
    errmsg                text,
    recipients_total      integer NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    CHECK (status IN ('queued', 'held', 'sending', 'sent', 'delivered', 'failed', 'expired', 'canceled'))
);
CREATE UNIQUE INDEX messages_idempotency_idx ON messages (account_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_list_idx ON messages (account_id, status, id);
CREATE INDEX messages_wechat_msgid_idx ON messages (account_id, wechat_msgid)
    WHERE wechat_msgid IS NOT NULL;

-- One row per (message, recipient); a sendall (tag or all on a subscription account, tag on a
-- service account) has one delivery with openid NULL. This is the unit the scheduler claims.
CREATE TABLE deliveries (
    account_id            text NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    message_id            bigint NOT NULL,
    openid                text,
    status                text NOT NULL DEFAULT 'queued',
    reason                text,
    channel               text,
    release_at            timestamptz,      -- due time; NULL while waiting for an event
    wait_for              text,             -- 'interaction' | 'subscribe' while waiting for an event
    lease_until           timestamptz,
    leased_by             text,
    attempts              integer NOT NULL DEFAULT 0,
    quota_kind            text,             -- 'follower_month' | 'account_day' when a unit was consumed
    quota_key             date,
    client_msg_id         text,
    wechat_msgid          text,
    errcode               integer,
    errmsg                text,
    sent_at               timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE,
    CHECK (status IN ('queued', 'held', 'sending', 'sent', 'delivered', 'failed', 'expired', 'canceled'))
);
-- The due-work claim: queued or time-held rows whose release time has come.
CREATE INDEX deliveries_due_idx ON deliveries (release_at)
    WHERE status IN ('queued', 'held') AND release_at IS NOT NULL;
-- Rows waiting for the follower to interact or re-subscribe (some also wait for a time).
CREATE INDEX deliveries_waiting_idx ON deliveries (account_id, openid)
    WHERE status = 'held' AND wait_for IS NOT NULL;
-- Expired leases of dead workers.
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_message_idx ON deliveries (account_id, message_id);

-- Every transition of a message, with why: the API's `history`.
CREATE TABLE message_transitions (
    account_id            text NOT NULL,
    message_id            bigint NOT NULL,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    at                    timestamptz NOT NULL DEFAULT now(),
    status                text NOT NULL,
    reason                text,
    detail                jsonb,
    PRIMARY KEY (account_id, message_id, id),
    FOREIGN KEY (account_id, message_id) REFERENCES messages (account_id, id) ON DELETE CASCADE
);

-- Mass quota: a service follower's units per calendar month, a subscription account's per day.
-- The CHECK makes the limit a database invariant: two workers can never both take the last unit.
CREATE TABLE follower_mass_usage (
    account_id            text NOT NULL,
    openid                text NOT NULL,
    period                date NOT NULL,    -- first day of the month in the quota time zone
    used                  integer NOT NULL CHECK (used BETWEEN 0 AND 4),
    PRIMARY KEY (account_id, openid, period)
);
CREATE TABLE account_mass_usage (
    account_id            text NOT NULL,
    period                date NOT NULL,    -- the day in the quota time zone
    used                  integer NOT NULL CHECK (used BETWEEN 0 AND 1),
    PRIMARY KEY (account_id, period)
);

CREATE TABLE qr_codes (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                    bigint GENERATED ALWAYS AS IDENTITY,
    scene                 text NOT NULL,
    scene_is_int          boolean NOT NULL,
    permanent             boolean NOT NULL,
    ticket                text NOT NULL,
    url                   text NOT NULL,
    expires_at            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX qr_codes_scene_idx ON qr_codes (account_id, scene);
-- The 100,000 permanent-code limit, enforced by a conditional counter.
CREATE TABLE qr_permanent_counts (
    account_id            text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    used                  integer NOT NULL CHECK (used BETWEEN 0 AND 100000)
);

CREATE TABLE oauth_states (
    account_id            text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state                 text NOT NULL,
    target                text NOT NULL,
    scope                 text NOT NULL,
    expires_at            timestamptz NOT NULL,
    consumed_at           timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, state)
);

-- The cached stable_token per account; refreshed by one worker at a time under an advisory lock.
CREATE TABLE access_tokens (
    account_id            text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    token                 text NOT NULL,
    expires_at            timestamptz NOT NULL,
    fetched_at            timestamptz NOT NULL DEFAULT now(),
    generation            integer NOT NULL DEFAULT 1
);
