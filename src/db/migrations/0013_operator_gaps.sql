-- Operator console gaps (issue 11). An operator's account test (POST /api/accounts/:id/test) stores what the test
-- generation produced, so the console can show it through a signed file link like any task result: such files
-- belong to no customer and no task (purpose `account_test`; the orphan reaper deletes them after an hour). Every
-- other file keeps its customer.
ALTER TABLE files ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE files DROP CONSTRAINT files_purpose_check;
ALTER TABLE files ADD CONSTRAINT files_purpose_check CHECK (purpose IN ('result', 'reference', 'account_test'));
ALTER TABLE files ADD CONSTRAINT files_owner_check CHECK ((customer_id IS NULL) = (purpose = 'account_test'));
