import type { Deps } from '../deps.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { deleteCustomerSessions } from '../modules/customer-auth/users.js';
import type { CustomerChanges, CustomerRow, CustomerStatus, Plan } from '../modules/customers/service.js';

/** The services of the customer workflows. */
export type CustomersDeps = Pick<Deps, 'db' | 'clock' | 'ids' | 'customers' | 'wallet' | 'keyCache' | 'invalidation' | 'catalog'>;

export interface CreateCustomerInput {
  name: string;
  email: string | null;
  status: CustomerStatus;
  group: string;
  plan: Plan;
}

/**
 * A customer comes with its live and test wallets, in one transaction with its audit row. Its group must exist
 * (400 `param: group`; customers.group_name references customer_groups).
 */
export async function createCustomer(deps: CustomersDeps, input: CreateCustomerInput, audit: AuditContext): Promise<CustomerRow> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    await deps.catalog.requireGroup(tx, input.group);
    const customer = await deps.customers.insert(tx, { id: deps.ids('cus'), ...input, now });
    await deps.wallet.createWallets(tx, customer.id, now);
    await recordAudit(tx, audit, { action: 'customer.create', targetType: 'customer', targetId: customer.id, after: customer }, now);
    return customer;
  });
}

/**
 * Status, plan and group feed every key's effective limits, so a change evicts the customer's keys from the
 * key cache here and in every other process (K7, K12). A suspension also ends every customer console session of the
 * customer's users in the same transaction (the console's session check still refuses any that slips in meanwhile).
 * A change of status drops the holds of an automatic suspension (the status is the operator's from then on).
 */
export async function updateCustomer(
  deps: CustomersDeps,
  customerId: string,
  changes: CustomerChanges,
  audit: AuditContext,
): Promise<CustomerRow> {
  const now = deps.clock.now();
  const updated = await deps.db.transaction(async (tx) => {
    const before = await deps.customers.get(customerId, tx, true);
    if (changes.group !== undefined) await deps.catalog.requireGroup(tx, changes.group);
    const after = await deps.customers.update(tx, customerId, changes, now);
    if (after.status !== 'active') await deleteCustomerSessions(tx, customerId);
    // An operator who changes the status takes it over: a won dispute no longer lifts it (SEMANTICS P10).
    if (after.status !== before.status) await deps.customers.clearSuspensionHolds(tx, customerId);
    await recordAudit(tx, audit, { action: 'customer.update', targetType: 'customer', targetId: customerId, before, after }, now);
    return after;
  });
  deps.keyCache.evictCustomer(customerId);
  await deps.invalidation.publish({ kind: 'customer', customerId });
  return updated;
}
