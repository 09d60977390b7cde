-- SPEC 2.2: which callback forms an account accepts. `safe` takes only the encrypted form
-- (the URL signature covers no body, so a captured URL cannot carry forged plaintext);
-- `compatible` and `plaintext` take both. Accounts with a key are migrated as `compatible`,
-- so nothing WeChat sends them today is refused (README: switch them to `safe`).
ALTER TABLE accounts ADD COLUMN encoding_mode text NOT NULL DEFAULT 'plaintext'
    CHECK (encoding_mode IN ('plaintext', 'compatible', 'safe'));
UPDATE accounts SET encoding_mode = 'compatible' WHERE encoding_aes_key IS NOT NULL;
-- An encrypted mode needs the key to decrypt with.
ALTER TABLE accounts ADD CONSTRAINT accounts_encoding_mode_key_check
    CHECK (encoding_mode = 'plaintext' OR encoding_aes_key IS NOT NULL);
