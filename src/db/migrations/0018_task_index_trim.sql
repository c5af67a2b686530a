-- Fewer index entries per chat request (issue 14). A chat request inserts a tasks row and updates it once; the
-- status change makes the update a new row version in every index of the table. Two indexes held every task although
-- their only readers look at a few:
--   tasks_poll_idx   served the poller's claim (status IN ('submitted', 'running'), ordered by next_action_at);
--                    it now holds just those tasks, keyed by the claim's order, so the claim reads them in order.
--   tasks_provider_task_idx served provider callbacks (channel + upstream task id); a task without an upstream id
--                    (every chat request, every task not yet submitted) is never looked up through it.
DROP INDEX IF EXISTS tasks_poll_idx;
CREATE INDEX tasks_poll_idx ON tasks (next_action_at) WHERE status IN ('submitted', 'running');
DROP INDEX IF EXISTS tasks_provider_task_idx;
CREATE INDEX tasks_provider_task_idx ON tasks (channel_id, provider_task_id) WHERE provider_task_id IS NOT NULL;
