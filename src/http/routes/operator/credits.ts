import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { CustomerService } from '../../../modules/customers/service.js';
import { AppError } from '../../../lib/errors.js';
import { toBalance, type WalletService } from '../../../modules/wallet/service.js';
import { creditWallet, type CreditsDeps } from '../../../workflows/credits.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { balanceView, ledgerEntryView } from '../../presenters.js';
import { Credits, IdParam, ModeSchema, Pagination, Strict, pageLimit } from '../../schemas.js';

/** Operator API: credits (API.md §8, SEMANTICS M6/M7). */
const CreditBody = Type.Object(
  {
    amount: Credits,
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    reference: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9._:-]+$' })),
    mode: Type.Optional(ModeSchema),
  },
  Strict,
);
const LedgerQuery = Type.Composite([Pagination, Type.Object({ mode: Type.Optional(ModeSchema) })], Strict);

/** What the credit routes use: the credits workflow, operator auth, the client address for the audit, customers and wallets. */
export type CreditRouteDeps = CreditsDeps & OperatorAuthDeps & ClientIpDeps & { customers: CustomerService; wallet: WalletService };

export function registerCreditRoutes(app: App, deps: CreditRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);

  app.post<{ Params: Static<typeof IdParam>; Body: Static<typeof CreditBody> }>(
    '/api/public/customers/:id/credits',
    { config, onRequest, schema: { params: IdParam, body: CreditBody } },
    async (request, reply) => {
      const body = request.body;
      if (body.amount === 0) throw new AppError('invalid_request', 'amount must not be zero', { param: 'amount' });
      const mode = body.mode ?? 'live';
      const result = await creditWallet(
        deps,
        request.params.id,
        { amount: BigInt(body.amount), reason: body.reason, reference: body.reference ?? null, mode },
        auditContext(deps, request, operatorActor(request)),
      );
      if (result.duplicate) reply.header('Idempotent-Replayed', 'true');
      return reply.status(result.duplicate ? 200 : 201).send({
        entry: ledgerEntryView(result.entry, mode),
        mode,
        ...balanceView(toBalance(result.wallet)),
      });
    },
  );

  app.get<{ Params: Static<typeof IdParam>; Querystring: Static<typeof LedgerQuery> }>(
    '/api/public/customers/:id/credits',
    { config, onRequest, schema: { params: IdParam, querystring: LedgerQuery } },
    async (request) => {
      const mode = request.query.mode ?? 'live';
      await deps.customers.get(request.params.id);
      const limit = pageLimit(request.query);
      const after = parseEntryCursor(request.query.after);
      const balance = await deps.wallet.balance(request.params.id, mode);
      const walletId = await deps.wallet.walletId(request.params.id, mode);
      const rows = await deps.wallet.ledger(walletId, limit + 1, after);
      return {
        mode,
        ...balanceView(balance),
        entries: rows.slice(0, limit).map((row) => ledgerEntryView(row, mode)),
        has_more: rows.length > limit,
      };
    },
  );
}

function parseEntryCursor(after: string | undefined): bigint | null {
  if (after === undefined) return null;
  const match = /^le_(\d{1,18})$/.exec(after);
  if (!match) throw new AppError('invalid_request', 'after must be a ledger entry id (le_…)', { param: 'after' });
  return BigInt(match[1]!);
}
