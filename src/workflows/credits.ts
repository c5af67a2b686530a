import type { Deps } from '../deps.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import type { CreditResult } from '../modules/wallet/service.js';
import type { Mode } from '../modules/wallet/types.js';

/** The services an operator credit needs (the audit row is written in its transaction). */
export type CreditsDeps = Pick<Deps, 'db' | 'clock' | 'customers' | 'wallet'>;

export interface OperatorCreditInput {
  amount: bigint;
  reason: string;
  reference: string | null;
  mode: Mode;
}

/** Thrown inside the transaction to roll back the audit row of a credit that turned out to be a repeat. */
class RepeatedCredit {
  constructor(readonly result: CreditResult) {}
}

/**
 * Operator top-up or adjustment (API.md §8, SEMANTICS M6/M7): audit row, ledger entry and balance change in one
 * transaction. A repeated reference answers with the first entry and writes nothing.
 */
export async function creditWallet(
  deps: CreditsDeps,
  customerId: string,
  input: OperatorCreditInput,
  audit: AuditContext,
): Promise<CreditResult> {
  const now = deps.clock.now();
  try {
    return await deps.db.transaction(async (tx) => {
      await deps.customers.get(customerId, tx);
      const auditId = await recordAudit(
        tx,
        audit,
        {
          action: input.amount > 0n ? 'credits.grant' : 'credits.adjust',
          targetType: 'customer',
          targetId: customerId,
          after: { amount: input.amount.toString(), reason: input.reason, reference: input.reference, mode: input.mode },
        },
        now,
      );
      const result = await deps.wallet.credit(tx, { customerId, ...input, auditId, now });
      if (result.duplicate) throw new RepeatedCredit(result);
      return result;
    });
  } catch (error) {
    if (error instanceof RepeatedCredit) return error.result;
    throw error;
  }
}
