import type { Deps } from '../deps.js';
import { createCustomer, type CustomersDeps } from './customers.js';
import { creditWallet, type CreditsDeps } from './credits.js';
import { createKey, type KeysDeps } from './keys.js';

/** Seeding runs the customer, credit and key workflows, under a lock of its own. */
export type SeedDemoDeps = Pick<Deps, 'db' | 'clock'> & CustomersDeps & CreditsDeps & KeysDeps;

/**
 * First start of a demo install (API.md §10): a demo customer with test credits and one test key, created once.
 * Returns the key to print, or null when the demo already exists. Runs under an advisory lock so two instances
 * starting together seed once.
 */
export const DEMO_TEST_CREDITS = 1_000_000n;

export interface DemoSeed {
  customerId: string;
  testKey: string;
}

const SYSTEM_ACTOR = { actor: 'system:bootstrap', ip: null, userAgent: null };

export async function seedDemo(deps: SeedDemoDeps): Promise<DemoSeed | null> {
  const claimed = await deps.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7341002)');
    const existing = await tx.query("SELECT 1 FROM system_state WHERE key = 'demo_seeded'");
    if (existing.rows.length > 0) return false;
    await tx.query("INSERT INTO system_state (key, value, updated_at) VALUES ('demo_seeded', 'true', $1)", [
      deps.clock.now(),
    ]);
    return true;
  });
  if (!claimed) return null;
  const customer = await createCustomer(
    deps,
    { name: 'Demo customer', email: null, status: 'active', group: 'default', plan: {} },
    SYSTEM_ACTOR,
  );
  await creditWallet(
    deps,
    customer.id,
    { amount: DEMO_TEST_CREDITS, reason: 'demo test credits', reference: 'demo-seed', mode: 'test' },
    SYSTEM_ACTOR,
  );
  const key = await createKey(
    deps,
    {
      customerId: customer.id,
      name: 'Demo test key',
      mode: 'test',
      scopes: [],
      allowedModels: null,
      ipAllowlist: [],
      rateLimitRpm: null,
      maxConcurrency: null,
      expiresAt: null,
      createdBy: SYSTEM_ACTOR.actor,
      rotatedFrom: null,
    },
    SYSTEM_ACTOR,
  );
  return { customerId: customer.id, testKey: key.plaintext };
}
