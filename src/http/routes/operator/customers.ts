import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { CustomerService } from '../../../modules/customers/service.js';
import type { WalletService } from '../../../modules/wallet/service.js';
import { createCustomer, updateCustomer, type CustomersDeps } from '../../../workflows/customers.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { customerView } from '../../presenters.js';
import { IdParam, Pagination, Strict, listPage, pageLimit } from '../../schemas.js';

/** Operator API: customers (API.md §8). Every mutation is audited in its transaction. */
const PlanSchema = Type.Object(
  {
    rate_limit_rpm: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    max_concurrency: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()])),
    allowed_models: Type.Optional(
      Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 1000 }), Type.Null()]),
    ),
  },
  Strict,
);
const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);
const Group = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' });

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    plan: Type.Optional(PlanSchema),
    status: Type.Optional(Status),
    group: Type.Optional(Group),
  },
  Strict,
);
const PatchBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    plan: Type.Optional(PlanSchema),
    status: Type.Optional(Status),
    group: Type.Optional(Group),
  },
  Strict,
);
/** `q`: the exact customer id, or a case-insensitive substring of the name or email (wildcards match literally). */
const ListQuery = Type.Composite([Pagination, Type.Object({ status: Type.Optional(Status), q: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })) })], Strict);

/** What the customer routes use: the customers workflow, operator auth, the client address for the audit, customers and wallets. */
export type CustomerRouteDeps = CustomersDeps & OperatorAuthDeps & ClientIpDeps & { customers: CustomerService; wallet: WalletService };

export function registerCustomerRoutes(app: App, deps: CustomerRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/public/customers',
    { config, onRequest, schema: { body: CreateBody } },
    async (request, reply) => {
      const body = request.body;
      const customer = await createCustomer(
        deps,
        {
          name: body.name,
          email: body.email ?? null,
          status: body.status ?? 'active',
          group: body.group ?? 'default',
          plan: body.plan ?? {},
        },
        auditContext(deps, request, operatorActor(request)),
      );
      const balances = await deps.wallet.balances([customer.id]);
      return reply.status(201).header('Location', `/api/public/customers/${customer.id}`).send(customerView(customer, balances.get(customer.id)));
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/public/customers',
    { config, onRequest, schema: { querystring: ListQuery } },
    async (request) => {
      const limit = pageLimit(request.query);
      const rows = await deps.customers.list(limit + 1, request.query.after ?? null, request.query.status ?? null, request.query.q ?? null);
      const page = listPage(rows, limit);
      const balances = await deps.wallet.balances(page.data.map((row) => row.id));
      return { ...page, data: page.data.map((row) => customerView(row, balances.get(row.id))) };
    },
  );

  app.get<{ Params: Static<typeof IdParam> }>(
    '/api/public/customers/:id',
    { config, onRequest, schema: { params: IdParam } },
    async (request) => {
      const customer = await deps.customers.get(request.params.id);
      const balances = await deps.wallet.balances([customer.id]);
      return customerView(customer, balances.get(customer.id));
    },
  );

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof PatchBody> }>(
    '/api/public/customers/:id',
    { config, onRequest, schema: { params: IdParam, body: PatchBody } },
    async (request) => {
      const customer = await updateCustomer(deps, request.params.id, request.body, auditContext(deps, request, operatorActor(request)));
      const balances = await deps.wallet.balances([customer.id]);
      return customerView(customer, balances.get(customer.id));
    },
  );
}
