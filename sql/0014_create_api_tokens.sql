-- Scoped API tokens, the audit log of every change, and the console's sessions (SPEC 10, 11).

-- A token is stored only as the SHA-256 of its text; the text is shown once, at creation.
-- all_accounts: the token reaches every account ("*"), else only those in `accounts`.
CREATE TABLE api_tokens (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    hash                  text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    all_accounts          boolean NOT NULL DEFAULT false,
    accounts              text[] NOT NULL DEFAULT '{}',
    scopes                text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'send', 'manage']
                                                 AND cardinality(scopes) > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    revoked_at            timestamptz,
    last_used_at          timestamptz,
    CHECK (all_accounts OR cardinality(accounts) > 0)
);
CREATE UNIQUE INDEX api_tokens_hash_idx ON api_tokens (hash);

-- Who changed what, when, from where: one row per change made through the API or the console.
CREATE TABLE audit_log (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                    timestamptz NOT NULL DEFAULT now(),
    actor                 text NOT NULL,           -- 'admin', 'anonymous' or the token's name
    token_id              bigint,                  -- NULL for the administrator
    via                   text NOT NULL CHECK (via IN ('api', 'console')),
    method                text NOT NULL,
    route                 text NOT NULL,           -- the route template, e.g. /api/v1/accounts/{id}
    path                  text NOT NULL,
    account_id            text,
    status                integer NOT NULL,
    remote_addr           text,
    summary               text
);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, id) WHERE account_id IS NOT NULL;
CREATE INDEX audit_log_token_idx ON audit_log (token_id, id) WHERE token_id IS NOT NULL;
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- A console session: the SHA-256 of its random id, the token it signed in with (NULL: the
-- administrator's, whose hash is kept so a changed WXGATE_API_TOKEN ends the session) and
-- its CSRF token. Revoking a token deletes its sessions.
CREATE TABLE console_sessions (
    id_hash               text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    token_id              bigint REFERENCES api_tokens (id) ON DELETE CASCADE,
    admin_hash            text,
    csrf                  text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    expires_at            timestamptz NOT NULL,
    CHECK ((token_id IS NULL) <> (admin_hash IS NULL))
);
CREATE INDEX console_sessions_token_idx ON console_sessions (token_id) WHERE token_id IS NOT NULL;
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
