-- Requests that send mail to an address the requester names or holds (resend verification, password reset), counted
-- per hour so nobody can flood an inbox: one row per subject (`<purpose>:email:<email key>` or
-- `<purpose>:ip:<client address>`), a fixed one-hour window per row, like signup_attempts.
CREATE TABLE mail_request_counters (
  subject      text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  attempts     integer NOT NULL DEFAULT 0
);
