-- The worker's claims and task write groups as functions planned as index lookups (issue 14), as 0021 did for the
-- wallet's groups. As plain statements they were planned from the table's statistics, and on a young table (a fresh
-- install, every benchmark, until autovacuum's next ANALYZE) the planner believed few tasks were open: each poll claim
-- bitmap-scanned every due entry of tasks_poll_idx, dead row versions included, and sorted them; each dispatch claim
-- read and sorted every queued task through tasks_waiting_model_idx; each observation or acceptance group hash-joined
-- every submitted and running task to update a dozen. Their cost grew with the work in flight. Measured with
-- auto_explain at 10,000 tasks in flight: a claim of 62 tasks read 10,362 index entries and 1,353 heap pages, an
-- observation group of 9 visited 1,069 heap pages.
--
-- Each function decides exactly what its statement decided (same guards, same order, same rows returned). The
-- dispatch claim reads a queue of its own, tasks_dispatch_idx: the media tasks waiting for a worker or under a
-- dispatch lease, in next_action_at order (tasks_due_idx also holds every running task, whose due status checks a
-- dispatch claim would have to step over). Its scan is bounded by next_action_at: a queued task is due when
-- next_action_at has passed, and a dispatching task's next_action_at is its lease_until (the claim and the reservation
-- group set both together), so `lease_until < now` already implied it. Text requests (chat, embeddings) are never
-- queued and their leases are not the dispatcher's to recover, so they stay out of the index and cost it nothing.
CREATE INDEX IF NOT EXISTS tasks_dispatch_idx ON tasks (next_action_at)
  WHERE status IN ('queued', 'dispatching') AND type IN ('video', 'image', 'music');

CREATE OR REPLACE FUNCTION gr_claim_dispatch(p_owner text, p_until timestamptz, p_now timestamptz, p_limit integer,
                                             p_busy text[], p_held_before timestamptz)
RETURNS SETOF tasks LANGUAGE plpgsql AS $$
BEGIN
  -- Status checks before new work (DISPATCH_HOLD_MS): while a model's running tasks have a status check overdue since
  -- before p_held_before, its queued tasks wait; a lease-expired dispatch (recovery) is never held. Null: no hold.
  RETURN QUERY
  UPDATE tasks SET status = 'dispatching', lease_owner = p_owner, lease_until = p_until, attempts = attempts + 1,
                   next_action_at = p_until, updated_at = p_now
   WHERE tasks.id IN (
     SELECT t.id FROM tasks t
      WHERE t.status IN ('queued', 'dispatching') AND t.type IN ('video', 'image', 'music') AND t.next_action_at <= p_now
        AND ((t.status = 'queued'
              AND (p_held_before IS NULL
                   OR t.model <> ALL (ARRAY(SELECT DISTINCT h.model FROM tasks h
                                             WHERE h.status IN ('submitted', 'running') AND h.next_action_at < p_held_before))))
          OR (t.status = 'dispatching' AND t.lease_until < p_now))
        AND t.id <> ALL (p_busy)
      ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
  RETURNING tasks.*;
END $$;

CREATE OR REPLACE FUNCTION gr_claim_poll(p_now timestamptz, p_until timestamptz, p_limit integer, p_busy text[])
RETURNS SETOF tasks LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  UPDATE tasks SET next_action_at = p_until
   WHERE tasks.id IN (
     SELECT t.id FROM tasks t
      WHERE t.status IN ('submitted', 'running') AND t.next_action_at <= p_now AND t.id <> ALL (p_busy)
      ORDER BY t.next_action_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
  RETURNING tasks.*;
END $$;

-- The write groups touch their rows one by one by primary key, in id order (the order rows are locked in, D6), inside
-- one statement and transaction: a join of the whole group was planned by the statistics, and on a young table the
-- planner walked every dispatching or running task to find a dozen. Each item is decided as its single statement
-- decides it alone (write-groups.ts).

-- Acceptances (T4), each recorded only while its worker still holds the lease: the items recorded.
CREATE OR REPLACE FUNCTION gr_mark_submitted_group(p_items jsonb)
RETURNS TABLE (item integer) LANGUAGE plpgsql AS $$
DECLARE
  v record;
BEGIN
  FOR v IN SELECT * FROM jsonb_to_recordset(p_items)
             AS r(item integer, id text, owner text, provider text, channel_id text, credential_id text,
                  provider_task_id text, operation jsonb, next_poll_at timestamptz, at timestamptz)
            ORDER BY r.id LOOP
    UPDATE tasks t SET status = 'submitted', provider = v.provider, channel_id = v.channel_id,
                       provider_task_id = v.provider_task_id, operation = v.operation -> 'v', lease_owner = NULL,
                       lease_until = NULL, next_action_at = v.next_poll_at, submitted_at = v.at, updated_at = v.at,
                       credential_id = v.credential_id
     WHERE t.id = v.id AND t.status = 'dispatching' AND t.lease_owner = v.owner;
    IF FOUND THEN
      item := v.item;
      RETURN NEXT;
    END IF;
  END LOOP;
END $$;

-- Non-terminal observations, applied only to tasks still submitted or running: the tasks observed.
CREATE OR REPLACE FUNCTION gr_observe_group(p_items jsonb)
RETURNS TABLE (task_id text) LANGUAGE plpgsql AS $$
DECLARE
  v record;
BEGIN
  FOR v IN SELECT * FROM jsonb_to_recordset(p_items)
             AS r(id text, status text, progress integer, operation jsonb, next_poll_at timestamptz, at timestamptz)
            ORDER BY r.id LOOP
    UPDATE tasks t SET status = CASE WHEN t.status = 'submitted' AND v.status = 'running' THEN 'running' ELSE t.status END,
                       progress = GREATEST(t.progress, v.progress), operation = COALESCE(v.operation -> 'v', t.operation),
                       next_action_at = v.next_poll_at, updated_at = v.at
     WHERE t.id = v.id AND t.status IN ('submitted', 'running');
    IF FOUND THEN
      task_id := v.id;
      RETURN NEXT;
    END IF;
  END LOOP;
END $$;

-- The claims planned as index scans whatever the statistics say (plpgsql caches each statement's plan per connection,
-- made under these settings). Sorting is allowed, only priced out where an index gives the order.
ALTER FUNCTION gr_claim_dispatch(text, timestamptz, timestamptz, integer, text[], timestamptz)
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET enable_sort = off;
ALTER FUNCTION gr_claim_poll(timestamptz, timestamptz, integer, text[])
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET enable_sort = off;
