-- The held dispatch claim (DISPATCH_HOLD_MS) found whether a model is held with two EXISTS probes, a submitted and a
-- running task whose status check is overdue since before the hold. On a fresh install's statistics (0023's test) the
-- planner read each probe from tasks_open_model_idx (model, status, next_action_at): one entry. Once autovacuum had
-- analyzed a table with real open work, it read the running probe from tasks_poll_idx (next_action_at, over submitted
-- and running tasks) instead, filtering by model: for a model with no overdue check it stepped over every overdue
-- check of every other model (about 320 index entries where 0023's test allows 68, with 300 overdue checks).
--
-- Now the claim walks tasks_open_model_idx once, one probe per (model, status) pair with open tasks: the first entry
-- of each pair is its earliest next_action_at, so a model is held when its `submitted` or `running` pair starts before
-- the hold's bound. Each probe orders by (model, status, next_action_at) from a row comparison on (model, status),
-- which only that index can give without a sort (sorting is priced out below), so no statistics send it elsewhere.
-- The two lateral reads of each model's candidates are 0023's; the queued one is gated on the model not being held,
-- a one-time filter, so a held model's queue is never read. Same rows claimed, same order, same locking.
CREATE OR REPLACE FUNCTION gr_claim_dispatch(p_owner text, p_until timestamptz, p_now timestamptz, p_limit integer,
                                             p_busy text[], p_held_before timestamptz)
RETURNS SETOF tasks LANGUAGE plpgsql AS $$
DECLARE
  v_candidates text[];
  v_id text;
  v_task tasks%ROWTYPE;
  v_claimed integer := 0;
BEGIN
  IF p_held_before IS NULL THEN
    RETURN QUERY
    UPDATE tasks SET status = 'dispatching', lease_owner = p_owner, lease_until = p_until, attempts = attempts + 1,
                     next_action_at = p_until, updated_at = p_now
     WHERE tasks.id IN (
       SELECT t.id FROM tasks t
        WHERE t.status IN ('queued', 'dispatching') AND t.type IN ('video', 'image', 'music') AND t.next_action_at <= p_now
          AND (t.status = 'queued' OR t.lease_until < p_now)
          AND t.id <> ALL (p_busy)
        ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING tasks.*;
    RETURN;
  END IF;
  SELECT array_agg(c.id ORDER BY c.next_action_at) INTO v_candidates
    FROM (
      WITH RECURSIVE pairs (model, status, first_due) AS (
        (SELECT o.model, o.status, o.next_action_at FROM tasks o
          WHERE o.status IN ('queued', 'dispatching', 'submitted', 'running')
          ORDER BY o.model, o.status, o.next_action_at LIMIT 1)
        UNION ALL
        SELECT n.model, n.status, n.next_action_at
          FROM pairs p
         CROSS JOIN LATERAL (
           SELECT o.model, o.status, o.next_action_at FROM tasks o
            WHERE o.status IN ('queued', 'dispatching', 'submitted', 'running') AND (o.model, o.status) > (p.model, p.status)
            ORDER BY o.model, o.status, o.next_action_at LIMIT 1) n
      ),
      models AS (
        SELECT p.model, COALESCE(bool_or(p.status IN ('submitted', 'running') AND p.first_due < p_held_before), false) AS held
          FROM pairs p GROUP BY p.model
      )
      SELECT d.id, d.next_action_at, d.type
        FROM models m
       CROSS JOIN LATERAL (
         SELECT t.id, t.next_action_at, t.type FROM tasks t
          WHERE t.model = m.model AND t.status = 'dispatching' AND t.next_action_at <= p_now
            AND t.lease_until < p_now AND t.id <> ALL (p_busy)
          ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED) d
      UNION ALL
      SELECT q.id, q.next_action_at, q.type
        FROM models m
       CROSS JOIN LATERAL (
         SELECT t.id, t.next_action_at, t.type FROM tasks t
          WHERE NOT m.held AND t.model = m.model AND t.status = 'queued' AND t.next_action_at <= p_now
            AND t.id <> ALL (p_busy)
          ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED) q
    ) c
   WHERE c.type IN ('video', 'image', 'music');
  FOREACH v_id IN ARRAY coalesce(v_candidates, '{}') LOOP
    UPDATE tasks SET status = 'dispatching', lease_owner = p_owner, lease_until = p_until, attempts = attempts + 1,
                     next_action_at = p_until, updated_at = p_now
     WHERE tasks.id = v_id
       AND ((tasks.status = 'queued' AND tasks.next_action_at <= p_now)
            OR (tasks.status = 'dispatching' AND tasks.lease_until < p_now))
    RETURNING tasks.* INTO v_task;
    IF FOUND THEN
      RETURN NEXT v_task;
      v_claimed := v_claimed + 1;
      EXIT WHEN v_claimed >= p_limit;
    END IF;
  END LOOP;
END $$;

-- CREATE OR REPLACE FUNCTION keeps no SET clause of the function it replaces: 0023's settings, again.
ALTER FUNCTION gr_claim_dispatch(text, timestamptz, timestamptz, integer, text[], timestamptz)
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET enable_sort = off
  SET jit = off;
