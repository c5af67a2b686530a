-- Customer accounts and the customer console (issue 12, SEMANTICS §10 applied to customers): users of a customer with
-- roles owner/member, argon2id passwords and optional TOTP, their own database sessions (cookie __Host-gr_customer),
-- login throttling, one-time email tokens (verification, password reset, invitations), the mail outbox, the sign-up
-- throttle per IP and the one-grant-per-email claim of the sign-up test credits.

CREATE TABLE customer_users (
  id                    text COLLATE "C" PRIMARY KEY,
  customer_id           text NOT NULL REFERENCES customers (id),
  email                 text NOT NULL,
  password_hash         text NOT NULL,                   -- PHC string (A1)
  role                  text NOT NULL CHECK (role IN ('owner', 'member')),
  email_verified_at     timestamptz,
  totp_secret_encrypted text,                            -- AES-256-GCM (A3); null: TOTP not enabled
  totp_pending_encrypted text,                           -- offered by account/totp/start, until confirmed
  totp_last_used_step   bigint,                          -- A4
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  last_login_at         timestamptz
);
CREATE UNIQUE INDEX customer_users_email_key ON customer_users (lower(email));
CREATE INDEX customer_users_customer_idx ON customer_users (customer_id, created_at);

CREATE TABLE customer_recovery_codes (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    text NOT NULL REFERENCES customer_users (id) ON DELETE CASCADE,
  code_hash  text NOT NULL,
  used_at    timestamptz,
  created_at timestamptz NOT NULL
);
CREATE INDEX customer_recovery_codes_user_idx ON customer_recovery_codes (user_id) WHERE used_at IS NULL;

CREATE TABLE customer_sessions (
  id_hash      text PRIMARY KEY,                         -- hex sha256 of the 256-bit cookie id
  public_id    text COLLATE "C" NOT NULL UNIQUE,
  user_id      text REFERENCES customer_users (id) ON DELETE CASCADE,
  state        text NOT NULL CHECK (state IN ('anonymous', 'mfa_pending', 'authenticated')),
  csrf_token   text NOT NULL,
  ip           text,
  user_agent   text,
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  CONSTRAINT customer_sessions_owner CHECK ((state = 'anonymous') = (user_id IS NULL))
);
CREATE INDEX customer_sessions_user_idx ON customer_sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX customer_sessions_expiry_idx ON customer_sessions (expires_at);

-- A10 for customer sign-ins: the same counters as the operator console's, in their own tables.
CREATE TABLE customer_login_failures (
  account_key  text NOT NULL,
  ip           text NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (account_key, ip)
);
CREATE TABLE customer_account_failures (
  account_key  text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  alerted_at   timestamptz
);

-- One-time links sent by mail: verify (24 h), reset (1 h), invitation (7 days). Only the token's SHA-256 is stored.
-- An invitation names the customer it joins (null: the operator invites a new customer) and the role.
CREATE TABLE email_tokens (
  token_hash  text PRIMARY KEY,
  public_id   text COLLATE "C" NOT NULL UNIQUE,
  purpose     text NOT NULL CHECK (purpose IN ('verify', 'reset', 'invitation')),
  email       text NOT NULL,
  user_id     text REFERENCES customer_users (id) ON DELETE CASCADE,
  customer_id text REFERENCES customers (id),
  role        text CHECK (role IN ('owner', 'member')),
  created_by  text,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX email_tokens_customer_idx ON email_tokens (customer_id, purpose) WHERE used_at IS NULL;

-- Mail written when no SMTP server is configured (SMTP_URL unset): the operator reads it at /api/admin/mail-outbox.
CREATE TABLE mail_outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recipient  text NOT NULL,
  subject    text NOT NULL,
  body       text NOT NULL,
  link       text,
  kind       text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX mail_outbox_created_idx ON mail_outbox (id DESC);

-- Sign-ups per client address and hour (the throttle counts attempts that passed validation).
CREATE TABLE signup_attempts (
  ip           text NOT NULL,
  window_start timestamptz NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  PRIMARY KEY (ip)
);

-- The sign-up test credits are granted once per normalised email (lowercase, +tag removed), whatever the customer.
CREATE TABLE signup_credit_claims (
  email_key   text PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers (id),
  user_id     text NOT NULL,
  claimed_at  timestamptz NOT NULL
);
