-- The rows every billed request writes no longer have their parents checked row by row (issue 14). A foreign key
-- check is a query of its own per inserted row (and a row lock on the parent): a chat request on a credit lease made
-- six of them (its task's customer and key, its reservation's task, wallet and key, its charge's wallet), about a
-- fifth of the database's work per request. Measured through the server, alternating with this file moved away,
-- `bench:profile -- chat 50 8 … plain`: PostgreSQL 6,445 and 6,410 requests/s against 5,265 and 4,954 (0.064 against
-- 0.083–0.085 ms of PostgreSQL's CPU per request); embedded 4,431 and 4,532 against 3,723 and 3,711.
--
-- What each check guarded is decided by the statements that write these rows, all of them in the money functions:
-- - tasks.customer_id: every writer (gr_create_task, gr_reserve_group, gr_record_group/gr_record_many) takes the
--   customer's wallet by (customer, mode) in the same statement and refuses or raises when there is none; a wallet
--   references its customer (kept).
-- - reservations.task_id: written in the same statement as its task, from the task's own id.
-- - reservations.wallet_id and ledger_entries.wallet_id: taken from the wallet row the statement read and locked.
-- - reservations.api_key_id: the task's key, and tasks.api_key_id keeps its foreign key (the record functions only
--   share-lock the key, so that check still decides that the key exists).
-- Nothing deletes wallets, customers, keys or tasks. The invariant query L11_references_exist (modules/wallet/
-- invariants.ts, run after every test) reports any such row whose parent is missing.
ALTER TABLE tasks DROP CONSTRAINT tasks_customer_id_fkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_task_id_fkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_wallet_id_fkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_api_key_id_fkey;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_wallet_id_fkey;
