-- Operator console authentication (issue 11, SEMANTICS §10 A1–A12): admins with argon2id passwords and TOTP,
-- one-time recovery codes, enrollment links, database sessions (only the SHA-256 of the cookie id is stored), login
-- throttling per (account, IP) and per account, the security log, and console settings.

CREATE TABLE admins (
  id                    text COLLATE "C" PRIMARY KEY,
  email                 text NOT NULL,
  -- PHC string ($argon2id$v=19$m=19456,t=2,p=1$…, A1); null until the admin enrolls
  password_hash         text,
  role                  text NOT NULL CHECK (role IN ('owner', 'operator', 'viewer')),
  -- pending: not enrolled (no TOTP yet, or after a TOTP reset); active; disabled
  status                text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'disabled')),
  -- AES-256-GCM under a key from configuration (A3), never from the database
  totp_secret_encrypted text,
  -- A4: an accepted code's step must be greater than this
  totp_last_used_step   bigint,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  last_login_at         timestamptz,
  disabled_at           timestamptz
);
CREATE UNIQUE INDEX admins_email_key ON admins (lower(email));

CREATE TABLE admin_recovery_codes (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  admin_id   text NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  code_hash  text NOT NULL,                              -- argon2id PHC string (A5)
  used_at    timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX admin_recovery_codes_admin_idx ON admin_recovery_codes (admin_id) WHERE used_at IS NULL;

CREATE TABLE admin_enrollments (
  token_hash            text PRIMARY KEY,                -- hex sha256 of the link's token
  admin_id              text NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
  purpose               text NOT NULL CHECK (purpose IN ('invite', 'totp_reset')),
  -- the secret offered by the last enroll/start, sealed like the confirmed one; replaced on each start
  pending_secret_encrypted text,
  created_at            timestamptz NOT NULL,
  expires_at            timestamptz NOT NULL,
  used_at               timestamptz
);
CREATE INDEX admin_enrollments_admin_idx ON admin_enrollments (admin_id);

CREATE TABLE admin_sessions (
  id_hash      text PRIMARY KEY,                         -- hex sha256 of the 256-bit cookie id (A6)
  public_id    text COLLATE "C" NOT NULL UNIQUE,         -- what lists and DELETE /admin/api/sessions/:id name
  admin_id     text REFERENCES admins (id) ON DELETE CASCADE,
  state        text NOT NULL CHECK (state IN ('anonymous', 'mfa_pending', 'authenticated')),
  csrf_token   text NOT NULL,                            -- 256-bit synchronizer token, rotates with the id (A8)
  ip           text,
  user_agent   text,
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,                     -- absolute end (mfa_pending: 5 min; otherwise 8 h)
  CONSTRAINT admin_sessions_owner CHECK ((state = 'anonymous') = (admin_id IS NULL))
);
CREATE INDEX admin_sessions_admin_idx ON admin_sessions (admin_id) WHERE admin_id IS NOT NULL;
CREATE INDEX admin_sessions_expiry_idx ON admin_sessions (expires_at);

-- A10: consecutive failures per (account, IP); unknown accounts are keyed by their normalised email the same way.
CREATE TABLE admin_login_failures (
  account_key  text NOT NULL,
  ip           text NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (account_key, ip)
);

-- A10: failures per account in a one-hour window; past 50 an alert is written once per window (no lockout).
CREATE TABLE admin_account_failures (
  account_key  text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  alerted_at   timestamptz
);

-- The security log: lockouts and alerts (A10).
CREATE TABLE security_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL,
  account_key text,
  ip          text,
  detail      jsonb,
  created_at  timestamptz NOT NULL
);
CREATE INDEX security_events_created_idx ON security_events (created_at, id);

-- Console settings (key → JSON value). signup_mode: open | invite | closed, for customer sign-up.
CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);
INSERT INTO settings (key, value, updated_at) VALUES ('signup_mode', '"invite"', now());
