import type { Deps } from '../deps.js';
import type { BalanceReading } from '../providers/spec.js';

/**
 * Upstream-reported balances of credential pool accounts (API.md §8 "Accounts"). Adapters whose upstream documents
 * a balance read implement `balance()` (providers/spec.ts); for the others nothing is read and the account shows
 * `balance: null`. A reading is taken on the operator's account test and by the sweeper every BALANCE_INTERVAL_MS;
 * routing skips an account whose last reading is ≤ 0 until a later one is above 0. No transaction is open while the
 * upstream is asked (T3).
 */
export type AccountBalanceDeps = Pick<Deps, 'channels' | 'clock' | 'router'> & { logger?: Deps['logger'] };

export const BALANCE_INTERVAL_MS = 15 * 60_000;
/** Accounts read per sweep, so one sweep never spends long on balances. */
const BALANCE_BATCH = 20;

/** Reads and records one account's balance; null when its adapter cannot read balances or the read failed. */
export async function readAccountBalance(deps: AccountBalanceDeps, credentialId: string): Promise<BalanceReading | null> {
  const credential = await deps.channels.credential(credentialId);
  const channel = await deps.channels.channel(credential.channel_id);
  const model = Object.keys(channel.models)[0] ?? '';
  const route = await deps.router.routeForCredential(credentialId, model);
  if (!route?.adapter.balance) return null;
  let reading: BalanceReading | null;
  try {
    reading = await route.adapter.balance({ ...route.context, clock: deps.clock, attempt: 1 });
  } catch (error) {
    deps.logger?.warn({ err: error, credentialId }, 'upstream balance read failed');
    return null;
  }
  const amount = reading && Number.isFinite(reading.amount) ? reading.amount : null;
  await deps.channels.recordBalance(credentialId, amount, deps.clock.now());
  return amount === null ? null : { ...reading!, amount };
}

/**
 * The sweeper's round: accounts of channels whose adapter reads balances, whose reading is older than the interval
 * (never-read first). A failed read keeps the last figure and is tried again next round.
 */
export async function refreshBalances(deps: AccountBalanceDeps): Promise<number> {
  const { channels, credentials } = await deps.channels.routingSnapshot();
  const reading: string[] = [];
  for (const channel of channels) {
    const any = credentials.find((credential) => credential.channel_id === channel.id && credential.credential_encrypted !== '');
    if (!channel.enabled || !any) continue;
    // The router's adapter of the channel (the one routing uses) says whether its upstream reads balances.
    const route = await deps.router.routeForCredential(any.id, Object.keys(channel.models)[0] ?? '');
    if (route?.adapter.balance) reading.push(channel.id);
  }
  const due = await deps.channels.balanceDue(reading, new Date(deps.clock.now().getTime() - BALANCE_INTERVAL_MS), BALANCE_BATCH);
  let read = 0;
  for (const credential of due) {
    if (await readAccountBalance(deps, credential.id).catch(() => null)) read += 1;
  }
  return read;
}
