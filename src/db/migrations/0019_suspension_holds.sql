-- Automatic suspensions (SEMANTICS P10, Stripe reversals). A reversal the wallet cannot cover suspends the customer;
-- each such reversal that arrives while the suspension is automatic is recorded here as a hold on it. A won dispute
-- releases its own hold, and the suspension is lifted when no hold is left. An operator's change of the customer's
-- status removes every hold: from then on the status is the operator's. A suspension with no hold (set by an operator)
-- is never lifted automatically.
CREATE TABLE customer_suspension_holds (
  customer_id  text NOT NULL REFERENCES customers (id),
  ref_type     text NOT NULL,
  ref_id       text NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (customer_id, ref_type, ref_id)
);
