-- OAuth states are bound to the browser that started the flow (a cookie set at /authorize,
-- checked at /callback: no login CSRF), counted per account (a cap on pending states), and
-- deleted once expired (retention, and as new states arrive).
ALTER TABLE oauth_states ADD COLUMN browser text;  -- sha256 of the cookie; NULL: no binding
CREATE INDEX oauth_states_pending_idx ON oauth_states (account_id, expires_at)
    WHERE consumed_at IS NULL;
CREATE INDEX oauth_states_expiry_idx ON oauth_states (expires_at);
