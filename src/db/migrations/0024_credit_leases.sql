-- Credit leases (issue 14): a chat or embeddings request written once.
--
-- Until now every billed text request made two durable writes: its task row and hold when it arrived
-- (gr_reserve_group), the settlement when it ended (gr_resolve_group). With a lease, an instance reserves a slice of a
-- wallet's credit for itself (`credit_leases`, counted in `wallets.reserved` like a hold), admits text requests against
-- that slice in memory, and writes each request once, when it has ended: its final task row, its reservation (already
-- settled or released, naming the lease), its charge entry, and one update of the wallet and of the lease per group
-- (gr_record_group). The request is still answered only after that statement committed.
--
--   wallets.reserved = Σ held reservations + Σ credit_leases.amount              (L2, invariants.ts)
--
-- A lease's amount is credit the customer has not spent: a charge moves out of the lease and out of the balance at
-- once; what is left goes back to the wallet when the instance returns the lease (idle, shutting down), or when the
-- sweeper finds it expired (the instance died: its requests in flight were never recorded, so never charged).
-- A record whose lease is gone (expired and swept while its instance stalled) or short is charged from the wallet's
-- free credit instead, never below zero: the customer is never charged more than the request's hold, nor more
-- than the wallet holds.
--
-- Lock order D6 extended: api_keys → wallets → credit_leases, each in id order.

CREATE TABLE credit_leases (
  id          text PRIMARY KEY,
  wallet_id   text NOT NULL REFERENCES wallets (id),
  owner       text NOT NULL,                       -- the instance that holds it
  amount      bigint NOT NULL CHECK (amount >= 0), -- credit reserved for that instance and not spent
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX credit_leases_wallet_idx ON credit_leases (wallet_id);
CREATE INDEX credit_leases_expiry_idx ON credit_leases (expires_at);

-- The lease a text request was admitted on (NULL: a hold of its own, made when it arrived).
ALTER TABLE reservations ADD COLUMN lease_id text;

-- Takes (or extends) the lease `p_lease` of wallet (customer, mode) for `p_owner`: at least `p_min`, at most `p_want`,
-- and no more than half of the wallet's free credit unless `p_min` needs more, so instances sharing a wallet leave
-- each other room. Nothing is taken when the wallet cannot give `p_min` (the caller then makes a hold of its own,
-- which answers 402 exactly as before). Returns what was taken.
CREATE FUNCTION gr_lease_take(p_lease text, p_customer text, p_mode text, p_owner text, p_min bigint, p_want bigint,
                              p_now timestamptz, p_expires timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_wallet wallets%ROWTYPE;
  v_take bigint;
BEGIN
  IF p_min IS NULL OR p_want IS NULL OR p_min <= 0 OR p_want < p_min THEN
    RAISE EXCEPTION 'a lease needs 0 < min <= want' USING ERRCODE = '22023';
  END IF;
  SELECT * INTO v_wallet FROM wallets w WHERE w.customer_id = p_customer AND w.mode = p_mode FOR UPDATE;
  IF NOT FOUND THEN RETURN 0; END IF;
  v_take := LEAST(p_want, GREATEST(p_min, (v_wallet.balance - v_wallet.reserved) / 2));
  IF v_take > v_wallet.balance - v_wallet.reserved THEN RETURN 0; END IF;
  INSERT INTO credit_leases AS l (id, wallet_id, owner, amount, expires_at, created_at, updated_at)
  VALUES (p_lease, v_wallet.id, p_owner, v_take, p_expires, p_now, p_now)
  ON CONFLICT (id) DO UPDATE SET amount = l.amount + EXCLUDED.amount,
                                 expires_at = GREATEST(l.expires_at, EXCLUDED.expires_at), updated_at = EXCLUDED.updated_at
   WHERE l.wallet_id = EXCLUDED.wallet_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'lease % belongs to another wallet', p_lease USING ERRCODE = '22023';
  END IF;
  UPDATE wallets SET reserved = reserved + v_take, updated_at = p_now WHERE id = v_wallet.id;
  RETURN v_take;
END $$;

-- Gives a lease's credit back to its wallet and ends it. Returns the amount given back (0: no such lease).
CREATE FUNCTION gr_lease_return(p_lease text, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_wallet text;
  v_amount bigint;
BEGIN
  SELECT l.wallet_id INTO v_wallet FROM credit_leases l WHERE l.id = p_lease;
  IF NOT FOUND THEN RETURN 0; END IF;
  PERFORM 1 FROM wallets w WHERE w.id = v_wallet FOR UPDATE;
  DELETE FROM credit_leases l WHERE l.id = p_lease RETURNING l.amount INTO v_amount;
  IF NOT FOUND THEN RETURN 0; END IF;
  UPDATE wallets SET reserved = reserved - v_amount, updated_at = p_now WHERE id = v_wallet;
  RETURN v_amount;
END $$;

-- The sweeper's part (T10): leases past their expiry — their instance stopped renewing them — go back to their
-- wallets, at most `p_limit` wallets' worth per call. Returns how many leases ended and the credit they gave back.
CREATE FUNCTION gr_lease_sweep(p_now timestamptz, p_limit integer)
RETURNS TABLE (leases integer, credit bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_wallets text[];
BEGIN
  SELECT array_agg(w.id ORDER BY w.id) INTO v_wallets FROM (
    SELECT w.id FROM wallets w
     WHERE w.id IN (SELECT l.wallet_id FROM credit_leases l WHERE l.expires_at < p_now)
     ORDER BY w.id LIMIT p_limit FOR UPDATE
  ) w;
  IF v_wallets IS NULL THEN leases := 0; credit := 0; RETURN NEXT; RETURN; END IF;
  WITH gone AS (
    DELETE FROM credit_leases l WHERE l.wallet_id = ANY (v_wallets) AND l.expires_at < p_now
    RETURNING l.wallet_id, l.amount
  ), sums AS (
    SELECT g.wallet_id, count(*) AS n, sum(g.amount) AS total FROM gone g GROUP BY g.wallet_id
  ), updated AS (
    UPDATE wallets w SET reserved = w.reserved - s.total, updated_at = p_now FROM sums s WHERE w.id = s.wallet_id
    RETURNING s.n, s.total
  )
  SELECT COALESCE(sum(u.n), 0)::integer, COALESCE(sum(u.total), 0)::bigint INTO leases, credit FROM updated u;
  RETURN NEXT;
END $$;

-- Ends every lease of a wallet and gives its credit back (the caller holds, or here takes, the wallet's lock): for a
-- reversal or an operator adjustment that the wallet's free credit does not cover, since leased credit is credit the
-- customer has not spent. The instances that held the leases find them gone at their next record or renewal (their
-- requests in flight are then charged from free credit, never below zero) and take new ones. Returns the credit given
-- back.
CREATE FUNCTION gr_lease_reclaim(p_wallet text, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_total bigint;
BEGIN
  -- NO KEY UPDATE: an operator adjustment calls this after its ledger entry share-locked the wallet's key.
  PERFORM 1 FROM wallets w WHERE w.id = p_wallet FOR NO KEY UPDATE;
  WITH gone AS (DELETE FROM credit_leases l WHERE l.wallet_id = p_wallet RETURNING l.amount)
  SELECT COALESCE(sum(g.amount), 0) INTO v_total FROM gone g;
  IF v_total > 0 THEN
    UPDATE wallets SET reserved = reserved - v_total, updated_at = p_now WHERE id = p_wallet;
  END IF;
  RETURN v_total;
END $$;

-- P10 (0016) with one change: a refund or dispute that the free credit does not cover takes back the wallet's leases
-- first, so leased credit never turns into a shortfall (and a suspension).
CREATE OR REPLACE FUNCTION gr_reverse_topup(
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
  -- Credit leased to instances and not spent is the customer's: taken back before a shortfall is declared (0024).
  IF p_credits > v_wallet.balance - v_wallet.reserved THEN
    IF gr_lease_reclaim(v_wallet.id, p_now) > 0 THEN
      SELECT * INTO v_wallet FROM wallets w WHERE w.id = v_wallet.id;
    END IF;
  END IF;
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

-- One finished text request admitted on a lease: its final task row and reservation, written at once.
CREATE TYPE gr_record_item AS (
  id text, reservation_id text, lease text, customer text, mode text, key text, type text, model text, request jsonb,
  hold bigint, actual bigint, outcome text, final_status text, error_code text, cost bigint,
  created timestamptz, now timestamptz, expires timestamptz, deadline timestamptz,
  price_version integer, price_percent integer,
  route_provider text, route_channel text, route_credential text, route_tried text[]
);

-- Records finished text requests admitted on leases, in one statement: each settles at min(actual, hold) (M3) out of
-- its lease — or, past what the lease holds, out of the wallet's free credit, never below it — or is released (charged
-- 0). Writes the task rows (terminal), their reservations (settled or released, naming the lease), the charge entries,
-- the webhook rows of the customer's endpoints (H7), and one update per wallet and per lease. A task id already
-- written answers `already_resolved` and writes nothing (a group run again after its commit was not heard).
-- Per item: outcome, charged, overage (actual above the hold), from_lease (the part of the charge the lease paid),
-- lease_left (the lease's amount after the group; NULL when the lease is gone).
CREATE FUNCTION gr_record_group(p_items jsonb)
RETURNS TABLE (item integer, outcome text, charged bigint, overage bigint, from_lease bigint, lease_left bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_items gr_record_item[];
  v_wallet jsonb := '{}';    -- customer|mode → wallet id
  v_free jsonb := '{}';      -- customer|mode → balance − reserved
  v_lease jsonb := '{}';     -- lease id → amount (leases that exist, of the item's wallet)
  v_lease_wallet jsonb := '{}';
  v_done text[];
  v_charge bigint[];
  v_from bigint[];
  v_write boolean[];
  r gr_record_item;
  rw record;
  rl record;
  v_key text;
  v_settled bigint;
  v_l bigint;
  v_f bigint;
  v_take_l bigint;
  v_take_f bigint;
  v_valid boolean;
  v_holds boolean;
BEGIN
  -- The items, and whether every one is a valid resolution with a hold (checked in the same pass).
  SELECT array_agg(x ORDER BY e.n),
         bool_and(COALESCE((x.outcome = 'settled' AND x.final_status = 'succeeded')
                        OR (x.outcome = 'released' AND x.final_status IN ('failed', 'cancelled', 'expired')), false)),
         bool_and(COALESCE(x.hold >= 0, false))
    INTO v_items, v_valid, v_holds
    FROM jsonb_array_elements(p_items) WITH ORDINALITY e(value, n),
         LATERAL jsonb_populate_record(NULL::gr_record_item, e.value) x;
  IF v_items IS NULL THEN RETURN; END IF;
  IF NOT v_valid THEN RAISE EXCEPTION 'invalid resolution in a record group' USING ERRCODE = '22023'; END IF;
  IF NOT v_holds THEN RAISE EXCEPTION 'hold must not be negative' USING ERRCODE = '22023'; END IF;

  -- D6: the keys the new rows reference (their foreign keys share-lock them), then wallets, then leases.
  PERFORM 1 FROM api_keys k WHERE k.id IN (SELECT i.key FROM unnest(v_items) i) ORDER BY k.id FOR KEY SHARE;
  FOR rw IN SELECT w.id, w.customer_id, w.mode, w.balance - w.reserved AS free FROM wallets w
            WHERE (w.customer_id, w.mode) IN (SELECT i.customer, i.mode FROM unnest(v_items) i) ORDER BY w.id FOR UPDATE LOOP
    v_wallet := v_wallet || jsonb_build_object(rw.customer_id || '|' || rw.mode, rw.id);
    v_free := v_free || jsonb_build_object(rw.customer_id || '|' || rw.mode, rw.free);
  END LOOP;
  FOR rl IN SELECT l.id, l.amount, l.wallet_id FROM credit_leases l
            WHERE l.id IN (SELECT i.lease FROM unnest(v_items) i) ORDER BY l.id FOR UPDATE LOOP
    v_lease := v_lease || jsonb_build_object(rl.id, rl.amount);
    v_lease_wallet := v_lease_wallet || jsonb_build_object(rl.id, rl.wallet_id);
  END LOOP;
  SELECT COALESCE(array_agg(t.id), '{}') INTO v_done FROM tasks t WHERE t.id IN (SELECT i.id FROM unnest(v_items) i);

  v_charge := array_fill(0::bigint, ARRAY[cardinality(v_items)]);
  v_from := v_charge;
  v_write := array_fill(false, ARRAY[cardinality(v_items)]);
  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    v_key := r.customer || '|' || r.mode;
    IF NOT (v_wallet ? v_key) THEN
      RAISE EXCEPTION 'no wallet for %', v_key USING ERRCODE = '22023';
    END IF;
    IF r.id = ANY (v_done) THEN CONTINUE; END IF;
    v_done := v_done || r.id;
    v_write[n] := true;
    v_settled := CASE WHEN r.outcome = 'settled' THEN LEAST(GREATEST(COALESCE(r.actual, 0), 0), r.hold) ELSE 0 END;
    IF r.lease IS NOT NULL AND v_lease ? r.lease AND v_lease_wallet ->> r.lease = v_wallet ->> v_key THEN
      v_l := (v_lease ->> r.lease)::bigint;
    ELSE
      v_l := 0;
    END IF;
    v_take_l := LEAST(v_settled, v_l);
    v_f := (v_free ->> v_key)::bigint;
    v_take_f := LEAST(v_settled - v_take_l, GREATEST(v_f, 0));
    IF v_take_l > 0 THEN v_lease := jsonb_set(v_lease, ARRAY[r.lease], to_jsonb(v_l - v_take_l)); END IF;
    IF v_take_f > 0 THEN v_free := jsonb_set(v_free, ARRAY[v_key], to_jsonb(v_f - v_take_f)); END IF;
    v_charge[n] := v_take_l + v_take_f;
    v_from[n] := v_take_l;
  END LOOP;

  WITH a AS (
    SELECT i.*, c.charge, f.from_lease, v_wallet ->> (i.customer || '|' || i.mode) AS wallet_id
      FROM unnest(v_items) WITH ORDINALITY AS i
      JOIN unnest(v_charge) WITH ORDINALITY AS c(charge, n) ON c.n = i.ordinality
      JOIN unnest(v_from) WITH ORDINALITY AS f(from_lease, n) ON f.n = i.ordinality
      JOIN unnest(v_write) WITH ORDINALITY AS x(write, n) ON x.n = i.ordinality
     WHERE x.write
  ), t AS (
    INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, face, request, hold_amount, charged,
                       cost_credits, error_code, progress, provider, channel_id, credential_id, tried_channels,
                       attempts, created_at, updated_at, completed_at, price_version, price_percent)
    SELECT a.id, a.customer, a.mode, a.key, a.type, a.model, a.final_status, 'native', COALESCE(a.request, '{}'::jsonb),
           a.hold, a.charge,
           CASE WHEN a.outcome = 'released' THEN 0 WHEN a.cost IS NOT NULL THEN LEAST(GREATEST(a.cost, 0), 9007199254740991) END,
           CASE WHEN a.outcome = 'released' THEN a.error_code END,
           CASE WHEN a.outcome = 'settled' THEN 100 ELSE 0 END,
           a.route_provider, a.route_channel, a.route_credential, COALESCE(a.route_tried, '{}'),
           1, a.created, a.now, a.now, a.price_version, a.price_percent
      FROM a ORDER BY a.ordinality
    RETURNING id
  ), h AS (
    INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, settled_amount, expires_at,
                              hard_deadline, created_at, resolved_at, lease_id)
    SELECT a.reservation_id, a.id, a.wallet_id, a.key, a.hold, a.outcome,
           CASE WHEN a.outcome = 'settled' THEN a.charge END, a.expires, a.deadline, a.created, a.now, a.lease
      FROM a JOIN t ON t.id = a.id ORDER BY a.ordinality
  ), l AS (
    INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, created_at)
    SELECT a.wallet_id, 'charge', -a.charge, 'reservation', a.reservation_id, a.now
      FROM a JOIN t ON t.id = a.id WHERE a.charge > 0 ORDER BY a.ordinality
  ), e AS (
    -- H7: the rows of the customer's webhook endpoints, written with the terminal task (as gr_resolve_group does).
    INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status,
                                    next_attempt_at, created_at)
    SELECT 'whd_' || a.id || '_' || w.id, w.customer_id, w.mode, a.id, w.id, w.url, 'task.' || a.final_status,
           'pending', a.now, a.now
      FROM a JOIN t ON t.id = a.id
      JOIN webhook_endpoints w ON w.customer_id = a.customer AND w.mode = a.mode AND w.status = 'enabled'
     WHERE cardinality(w.events) = 0 OR ('task.' || a.final_status) = ANY (w.events)
     ORDER BY a.ordinality, w.id
    ON CONFLICT (id) DO NOTHING
  ), ws AS (
    UPDATE wallets w SET balance = w.balance - s.charge, reserved = w.reserved - s.from_lease, updated_at = s.at
      FROM (SELECT a.wallet_id, sum(a.charge) AS charge, sum(a.from_lease) AS from_lease, max(a.now) AS at
              FROM a GROUP BY a.wallet_id) s
     WHERE w.id = s.wallet_id AND (s.charge > 0 OR s.from_lease > 0)
  )
  UPDATE credit_leases cl SET amount = cl.amount - s.from_lease, updated_at = s.at
    FROM (SELECT a.lease, sum(a.from_lease) AS from_lease, max(a.now) AS at FROM a WHERE a.from_lease > 0 GROUP BY a.lease) s
   WHERE cl.id = s.lease;

  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    item := n;
    outcome := CASE WHEN v_write[n] THEN r.outcome ELSE 'already_resolved' END;
    charged := v_charge[n];
    overage := CASE WHEN v_write[n] THEN GREATEST(COALESCE(r.actual, 0) - r.hold, 0) ELSE 0 END;
    from_lease := v_from[n];
    lease_left := CASE WHEN r.lease IS NOT NULL AND v_lease ? r.lease THEN (v_lease ->> r.lease)::bigint END;
    RETURN NEXT;
  END LOOP;
END $$;

-- Planned as index lookups whatever the statistics say, as the other group functions (0021).
ALTER FUNCTION gr_record_group(jsonb)
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
-- Its statements read the items through unnest() of a composite array: planned again at every call by default (a
-- custom plan each time), which for a lone request cost PostgreSQL more than the writes — 1.4 against 0.9 ms of CPU
-- per request in groups of one (`npm run bench:billing -- 1000 1`); no difference in groups of 10 or 25.
ALTER FUNCTION gr_record_group(jsonb) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION gr_lease_sweep(timestamptz, integer) SET enable_seqscan = off;
