-- Issue 13: customers pay. One order table for every method (Stripe Checkout, USDT on TRON, USDT on one EVM chain),
-- the Stripe events seen, the chain transfers seen, the chains' scan cursors, and the operator's queues of payments
-- that were not credited automatically (quarantine: a Stripe payment that does not fit its order; unmatched: a chain
-- transfer with no open order of its exact amount). Credits enter a wallet only through gr_credit_topup (P1).

CREATE TABLE topup_orders (
  id                     text COLLATE "C" PRIMARY KEY,
  customer_id            text NOT NULL REFERENCES customers (id),
  method                 text NOT NULL CHECK (method IN ('stripe', 'usdt_tron', 'usdt_evm')),
  status                 text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'confirming', 'paid', 'expired', 'failed', 'refunded')),
  -- The price in integer minor units of `currency` (cents for USD), fixed at creation.
  amount                 bigint NOT NULL CHECK (amount > 0 AND amount <= 9007199254740991),
  currency               text NOT NULL,
  -- Credits bought (base + bonus), fixed at creation from CREDITS_PER_CURRENCY_UNIT and the bonus tiers.
  credits                bigint NOT NULL CHECK (credits > 0 AND credits <= 9007199254740991),
  bonus_credits          bigint NOT NULL DEFAULT 0 CHECK (bonus_credits >= 0),
  created_at             timestamptz NOT NULL,
  expires_at             timestamptz NOT NULL,
  paid_at                timestamptz,
  -- Who created it: a console user (cus_user id) or an API key (key id).
  created_by             text,
  idempotency_key        text,
  -- Stripe: the Checkout Session and its hosted page; the PaymentIntent (refunds and disputes name it).
  stripe_session_id      text UNIQUE,
  stripe_payment_intent  text UNIQUE,
  checkout_url           text,
  -- USDT: the watch-only receiving address, the exact amount to send in micro-USDT (6 decimals), the network.
  pay_address            text,
  pay_amount_micro       bigint CHECK (pay_amount_micro > 0),
  pay_network            text,
  confirmations_seen     integer NOT NULL DEFAULT 0,
  confirmations_required integer NOT NULL DEFAULT 0,
  -- The payment that credited it (the ledger entry's ref), and what was reversed since.
  payment_ref_type       text,
  payment_ref_id         text,
  refunded_amount        bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
  reversed_credits       bigint NOT NULL DEFAULT 0 CHECK (reversed_credits >= 0),
  failure_reason         text,
  updated_at             timestamptz NOT NULL,
  CONSTRAINT topup_usdt_has_pay_to CHECK (method = 'stripe' OR (pay_address IS NOT NULL AND pay_amount_micro IS NOT NULL))
);
CREATE INDEX topup_orders_customer_idx ON topup_orders (customer_id, created_at DESC, id DESC);
CREATE INDEX topup_orders_status_idx ON topup_orders (status, created_at);
CREATE UNIQUE INDEX topup_orders_idempotency ON topup_orders (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- P9: two open orders never share an exact amount on one address (an order leaves "open" only when its window has
-- passed, it was paid or it failed, so windows sharing an amount never overlap).
CREATE UNIQUE INDEX topup_orders_open_amount ON topup_orders (method, pay_address, pay_amount_micro)
  WHERE status IN ('pending', 'confirming') AND pay_address IS NOT NULL;

-- P5: every Stripe event id once. Stored in the transaction that acts on it, so a crash stores nothing and the
-- retried delivery acts once.
CREATE TABLE stripe_events (
  id           text PRIMARY KEY,
  type         text NOT NULL,
  order_id     text,
  outcome      text NOT NULL,
  received_at  timestamptz NOT NULL
);

-- Every chain transfer to a watched address, once per (chain, transaction, log index), with what became of it.
CREATE TABLE chain_transfers (
  chain          text NOT NULL CHECK (chain IN ('tron', 'evm')),
  txid           text NOT NULL,
  log_index      integer NOT NULL,
  to_address     text NOT NULL,
  from_address   text,
  amount_micro   bigint NOT NULL,
  block_number   bigint,
  block_time     timestamptz NOT NULL,
  order_id       text REFERENCES topup_orders (id),
  disposition    text NOT NULL CHECK (disposition IN ('credited', 'unmatched')),
  seen_at        timestamptz NOT NULL,
  PRIMARY KEY (chain, txid, log_index)
);

-- Where each watcher has scanned up to (a block number, or a TronGrid block timestamp), never "the last N hours".
CREATE TABLE chain_cursors (
  chain      text NOT NULL,
  address    text NOT NULL,
  position   bigint NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (chain, address)
);

-- The operator's queues: never credited automatically; resolved by hand (credit a customer, or mark refunded /
-- dismissed), with an audit entry.
CREATE TABLE payment_exceptions (
  id              text COLLATE "C" PRIMARY KEY,
  queue           text NOT NULL CHECK (queue IN ('quarantine', 'unmatched')),
  kind            text NOT NULL,
  method          text NOT NULL CHECK (method IN ('stripe', 'usdt_tron', 'usdt_evm')),
  order_id        text REFERENCES topup_orders (id),
  customer_id     text REFERENCES customers (id),
  ref_type        text NOT NULL,
  ref_id          text NOT NULL,
  -- What was paid, in minor units of `currency` (cents, or micro-USDT for chain transfers).
  amount          bigint,
  currency        text,
  details         jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'credited', 'refunded', 'dismissed')),
  resolution      jsonb,
  resolved_by     text,
  resolved_at     timestamptz,
  created_at      timestamptz NOT NULL,
  UNIQUE (ref_type, ref_id)
);
CREATE INDEX payment_exceptions_queue_idx ON payment_exceptions (queue, status, created_at DESC);

-- P1: the only way paid credits enter a wallet. The order turns paid and the ledger entry is written in one
-- transaction, behind the payment's unique reference, into the customer's live wallet.
-- Outcomes: credited | duplicate (this payment already credited) | already_paid (the order was paid by another
-- payment) | not_creditable (refunded or unknown order) | balance_limit (the wallet would pass 2^53 − 1).
CREATE FUNCTION gr_credit_topup(
  p_order text, p_ref_type text, p_ref_id text, p_now timestamptz, p_audit bigint DEFAULT NULL
) RETURNS TABLE (outcome text, ledger_id bigint, wallet_id text, credits bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_order topup_orders%ROWTYPE;
  v_wallet text;
  v_entry bigint;
BEGIN
  SELECT l.id, l.wallet_id, l.amount INTO v_entry, v_wallet, credits FROM ledger_entries l
   WHERE l.ref_type = p_ref_type AND l.ref_id = p_ref_id AND l.kind = 'topup';
  IF FOUND THEN
    outcome := 'duplicate'; ledger_id := v_entry; wallet_id := v_wallet; RETURN NEXT; RETURN;
  END IF;

  UPDATE topup_orders o
     SET status = 'paid', paid_at = p_now, payment_ref_type = p_ref_type, payment_ref_id = p_ref_id,
         failure_reason = NULL, updated_at = p_now
   WHERE o.id = p_order AND o.status IN ('pending', 'confirming', 'expired', 'failed')
  RETURNING * INTO v_order;
  IF NOT FOUND THEN
    -- A concurrent twin of this payment may have just committed: look again with a fresh snapshot.
    SELECT l.id, l.wallet_id, l.amount INTO v_entry, v_wallet, credits FROM ledger_entries l
     WHERE l.ref_type = p_ref_type AND l.ref_id = p_ref_id AND l.kind = 'topup';
    IF FOUND THEN
      outcome := 'duplicate'; ledger_id := v_entry; wallet_id := v_wallet; RETURN NEXT; RETURN;
    END IF;
    SELECT * INTO v_order FROM topup_orders o WHERE o.id = p_order;
    outcome := CASE WHEN FOUND AND v_order.status = 'paid' THEN 'already_paid' ELSE 'not_creditable' END;
    ledger_id := NULL; wallet_id := NULL; credits := 0; RETURN NEXT; RETURN;
  END IF;

  UPDATE wallets w SET balance = balance + v_order.credits, updated_at = p_now
   WHERE w.customer_id = v_order.customer_id AND w.mode = 'live' AND w.balance + v_order.credits <= 9007199254740991
  RETURNING w.id INTO v_wallet;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'top-up % would take the live wallet past 2^53 - 1', p_order USING ERRCODE = 'GR010';
  END IF;
  INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, reason, audit_id, created_at)
  VALUES (v_wallet, 'topup', v_order.credits, p_ref_type, p_ref_id, 'top-up ' || v_order.id, p_audit, p_now)
  RETURNING id INTO v_entry;
  outcome := 'credited'; ledger_id := v_entry; wallet_id := v_wallet; credits := v_order.credits; RETURN NEXT;
END $$;

-- P10: a refund or dispute of a paid top-up takes back credits in proportion (negative `refund` entry, once per
-- reversal reference). What the wallet cannot cover (balance − reserved) is not taken; the shortfall is returned so
-- the caller suspends the customer and alerts the operator. p_credits < 0 gives credits back (a dispute won).
-- Outcomes: reversed | duplicate | not_paid.
CREATE FUNCTION gr_reverse_topup(
  p_order text, p_ref_type text, p_ref_id text, p_credits bigint, p_refunded_amount bigint, p_now timestamptz
) RETURNS TABLE (outcome text, applied bigint, shortfall bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_order topup_orders%ROWTYPE;
  v_wallet wallets%ROWTYPE;
  v_take bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM ledger_entries l WHERE l.ref_type = p_ref_type AND l.ref_id = p_ref_id) THEN
    outcome := 'duplicate'; applied := 0; shortfall := 0; RETURN NEXT; RETURN;
  END IF;
  SELECT * INTO v_order FROM topup_orders o WHERE o.id = p_order AND o.status IN ('paid', 'refunded') FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'not_paid'; applied := 0; shortfall := 0; RETURN NEXT; RETURN;
  END IF;
  SELECT * INTO v_wallet FROM wallets w WHERE w.customer_id = v_order.customer_id AND w.mode = 'live' FOR UPDATE;
  IF p_credits >= 0 THEN
    v_take := LEAST(p_credits, GREATEST(v_wallet.balance - v_wallet.reserved, 0));
  ELSE
    v_take := GREATEST(p_credits, v_wallet.balance - 9007199254740991);
  END IF;
  IF v_take <> 0 THEN
    UPDATE wallets w SET balance = balance - v_take, updated_at = p_now WHERE w.id = v_wallet.id;
    INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, reason, created_at)
    VALUES (v_wallet.id, CASE WHEN v_take > 0 THEN 'refund' ELSE 'adjustment' END, -v_take, p_ref_type, p_ref_id,
            CASE WHEN v_take > 0 THEN 'reversal of top-up ' ELSE 'restored top-up ' END || v_order.id, p_now);
  END IF;
  UPDATE topup_orders o
     SET reversed_credits = GREATEST(o.reversed_credits + v_take, 0),
         refunded_amount = GREATEST(o.refunded_amount, p_refunded_amount),
         status = CASE WHEN GREATEST(o.refunded_amount, p_refunded_amount) >= o.amount THEN 'refunded' ELSE 'paid' END,
         updated_at = p_now
   WHERE o.id = p_order;
  outcome := 'reversed'; applied := v_take; shortfall := GREATEST(p_credits - v_take, 0); RETURN NEXT;
END $$;
