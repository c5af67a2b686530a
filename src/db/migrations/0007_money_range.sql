-- Issue 8: every amount and balance stays within what JSON and JavaScript carry exactly (±(2^53 − 1), SEMANTICS D7).
-- reserved ≤ balance and the ledger sum = balance already follow from the existing rules, so bounding the balance and
-- each ledger amount bounds every total. NOT VALID: rows written before this migration are not re-checked (they are
-- still displayed, as decimal strings); every new or changed row is.
ALTER TABLE wallets ADD CONSTRAINT wallets_balance_json_safe CHECK (balance <= 9007199254740991) NOT VALID;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_amount_json_safe
  CHECK (amount BETWEEN -9007199254740991 AND 9007199254740991) NOT VALID;
ALTER TABLE reservations ADD CONSTRAINT reservations_amount_json_safe CHECK (amount <= 9007199254740991) NOT VALID;
