-- Indexes for the sweeper's retention (ARCHITECTURE "Data retention"): each bounded DELETE finds its dead rows through
-- an index instead of reading the whole table every 30 s. `admin_sessions`/`customer_sessions (expires_at)` exist
-- since 0012/0014; the idle half of a session's expiry gets its own (partial, as the TOTP step has no idle timeout).
CREATE INDEX admin_login_failures_updated_idx ON admin_login_failures (updated_at);
CREATE INDEX customer_login_failures_updated_idx ON customer_login_failures (updated_at);
CREATE INDEX admin_account_failures_window_idx ON admin_account_failures (window_start);
CREATE INDEX customer_account_failures_window_idx ON customer_account_failures (window_start);
CREATE INDEX signup_attempts_window_idx ON signup_attempts (window_start);
CREATE INDEX mail_request_counters_window_idx ON mail_request_counters (window_start);
CREATE INDEX admin_sessions_idle_idx ON admin_sessions (last_seen_at) WHERE state <> 'mfa_pending';
CREATE INDEX customer_sessions_idle_idx ON customer_sessions (last_seen_at) WHERE state <> 'mfa_pending';
CREATE INDEX email_tokens_expiry_idx ON email_tokens (expires_at);
CREATE INDEX admin_enrollments_expiry_idx ON admin_enrollments (expires_at);
CREATE INDEX mail_outbox_created_at_idx ON mail_outbox (created_at);
