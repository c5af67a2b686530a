-- Operator views (issue 10). Credentials get a sha256 fingerprint so a pool import can skip the ones a channel
-- already holds (the secrets themselves are encrypted at rest and never compared in SQL); rows written before this
-- migration are fingerprinted on the first import into their channel. The upstream-reported balance
-- (remaining_balance, migration 0004) gets the time it was read. Deliveries are listed per customer and mode.
ALTER TABLE upstream_credentials ADD COLUMN credential_sha256 text;
ALTER TABLE upstream_credentials ADD COLUMN balance_checked_at timestamptz;
CREATE INDEX upstream_credentials_fingerprint_idx ON upstream_credentials (channel_id, credential_sha256);
CREATE INDEX webhook_deliveries_customer_idx ON webhook_deliveries (customer_id, mode, id);
