-- Queue depth per model (SEMANTICS R6): counting tasks that wait for a worker stays an index-only scan.
CREATE INDEX tasks_waiting_model_idx ON tasks (model) WHERE status IN ('queued', 'dispatching');
