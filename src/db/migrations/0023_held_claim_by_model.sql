-- The dispatch claim under a hold (DISPATCH_HOLD_MS, issue 14) reads by model, so its cost follows the tasks it claims
-- and the models that have open work, not the tasks that wait. Before, it walked tasks_dispatch_idx in due order and
-- filtered out the queued tasks of held models one by one: while every due task belonged to a held model — the state
-- the hold exists for, a backlog behind overdue status checks — each claim read the whole backlog to claim nothing,
-- and it found the held models by reading every overdue status check.
--
-- One index by model, status and due time, over the four open statuses, replaces two: tasks_waiting_model_idx (model;
-- queued and dispatching), whose readers — the queue depth count (R6) and a model's open tasks before it is deleted —
-- read the new one by model, and tasks_due_idx (next_action_at; the four open statuses), whose one reader, the
-- dashboard's count of open tasks, reads the new one whole. A chat request's row enters one index fewer. The held
-- claim reads, for each model with open tasks (found by skipping from one model to the next, one probe per model):
--   whether the model is held: a probe for a submitted, and one for a running task whose check is overdue beyond the hold;
--   its tasks in `dispatching` whose lease ran out (T6, never held), in due order, at most the claim's limit;
--   unless it is held, its due `queued` tasks, in due order, at most the claim's limit;
-- each read locking what it returns and skipping rows another worker holds (FOR UPDATE SKIP LOCKED, as the single scan
-- did, so two workers claiming at once take different tasks; a locking clause is not allowed directly under UNION ALL,
-- hence two joins of the models); then it keeps the media tasks among them and claims them earliest due first by
-- primary key, up to the limit (candidates past it are let go when the statement's transaction ends). Each of these
-- reads has one index that serves it, whatever the statistics of a young table say (0022). Without a hold the claim
-- is 0022's statement, unchanged, over tasks_dispatch_idx. The function also runs without JIT: the settings below
-- price whole plan shapes out, and a plan that still needs one (a first draft sorted the candidates) crosses JIT's
-- cost thresholds and compiles for 0.6 s.
DROP INDEX IF EXISTS tasks_waiting_model_idx;
DROP INDEX IF EXISTS tasks_due_idx;
CREATE INDEX IF NOT EXISTS tasks_open_model_idx ON tasks (model, status, next_action_at)
  WHERE status IN ('queued', 'dispatching', 'submitted', 'running');

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
  -- Status checks before new work: a model whose running tasks have a status check overdue since before
  -- p_held_before keeps its queued tasks waiting; a lease-expired dispatch (recovery) is never held. The candidates,
  -- earliest due first: per model, at most p_limit of each kind. Media tasks only, checked after each model's scan
  -- (inside, it would let the planner walk tasks_dispatch_idx instead): a text request is never `queued`, and one in
  -- `dispatching` whose lease ran out was abandoned by a process that stopped, and is ended by the sweeper.
  SELECT array_agg(c.id ORDER BY c.next_action_at) INTO v_candidates
    FROM (
      WITH RECURSIVE models (model) AS (
        SELECT min(o.model) FROM tasks o WHERE o.status IN ('queued', 'dispatching', 'submitted', 'running')
        UNION ALL
        SELECT (SELECT min(o.model) FROM tasks o
                 WHERE o.status IN ('queued', 'dispatching', 'submitted', 'running') AND o.model > m.model)
          FROM models m WHERE m.model IS NOT NULL
      )
      SELECT d.id, d.next_action_at, d.type
        FROM models m
       CROSS JOIN LATERAL (
         SELECT t.id, t.next_action_at, t.type FROM tasks t
          WHERE t.model = m.model AND t.status = 'dispatching' AND t.next_action_at <= p_now
            AND t.lease_until < p_now AND t.id <> ALL (p_busy)
          ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED) d
       WHERE m.model IS NOT NULL
      UNION ALL
      SELECT q.id, q.next_action_at, q.type
        FROM models m
       CROSS JOIN LATERAL (
         SELECT t.id, t.next_action_at, t.type FROM tasks t
          WHERE t.model = m.model AND t.status = 'queued' AND t.next_action_at <= p_now AND t.id <> ALL (p_busy)
            AND NOT EXISTS (SELECT 1 FROM tasks h
                             WHERE h.model = m.model AND h.status = 'submitted' AND h.next_action_at < p_held_before)
            AND NOT EXISTS (SELECT 1 FROM tasks h
                             WHERE h.model = m.model AND h.status = 'running' AND h.next_action_at < p_held_before)
          ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED) q
       WHERE m.model IS NOT NULL
    ) c
   WHERE c.type IN ('video', 'image', 'music');
  -- Claimed by primary key, earliest due first, up to the limit. The candidates are locked (rows another worker
  -- holds were skipped, as the single scan skipped them, so two workers claiming at once take different tasks); the
  -- ones past the limit are let go when this statement's transaction ends.
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

ALTER FUNCTION gr_claim_dispatch(text, timestamptz, timestamptz, integer, text[], timestamptz)
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET enable_sort = off
  SET jit = off;
