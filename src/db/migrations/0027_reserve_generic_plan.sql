-- gr_reserve_group (0017, 0021) reuses its statements' plans (issue 14), as gr_record_group does since 0024. Its
-- statements read the items through unnest() of a composite array, and by default PostgreSQL planned them again at
-- every call (a custom plan each time): in small groups that planning was most of the statement's cost. Small groups
-- are what load spread over several customers forms (five customers sharing 32 connections: reservation groups of
-- three). Measured with `npm run bench:billing` (PostgreSQL backend CPU per request, alternating, two runs each):
-- groups of 3, reservation 0.11–0.21 ms against 0.27–0.32; groups of 15, 0.067–0.097 against 0.070–0.090 (the same).
-- The plans stay index lookups: the function's enable_* settings (0021) still rule them out of scans and hash joins.
ALTER FUNCTION gr_reserve_group(jsonb) SET plan_cache_mode = force_generic_plan;
