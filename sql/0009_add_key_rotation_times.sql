-- When the AES key and the pay platform certificate were last replaced: the replaced one (kept
-- in previous_aes_key / pay_previous_cert_*) is trusted only for a grace period after that
-- (gateway.domain.rotation.GRACE), not until the next rotation.
ALTER TABLE accounts
    ADD COLUMN aes_key_rotated_at  timestamptz,
    ADD COLUMN pay_cert_rotated_at timestamptz;

-- Keys replaced before this migration: their grace period starts now.
UPDATE accounts SET aes_key_rotated_at = now() WHERE previous_aes_key IS NOT NULL;
UPDATE accounts SET pay_cert_rotated_at = now() WHERE pay_previous_cert_pem IS NOT NULL;
