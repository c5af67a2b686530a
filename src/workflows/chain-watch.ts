import type { Queryable } from '../db/pool.js';
import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { ChainStore, type TransferRecord } from '../modules/payments/chain-store.js';
import { formatUsdt } from '../modules/payments/pricing.js';
import { REF_TYPES, type TopupOrderRow, type UsdtMethod } from '../modules/payments/types.js';
import { chainSources, chainsConfigured, type ChainSource, type ObservedTransfer } from '../providers/chains/index.js';

/**
 * The USDT watchers (issue 13, "USDT, self-hosted"; SEMANTICS P9 as the issue amends it). For every watched address
 * of every configured chain, one scan:
 *
 * 1. reads the transfers of the USDT contract to the address from the cursor stored in `chain_cursors` (never "the
 *    last N hours");
 * 2. records every *final* transfer in `chain_transfers`, once per (chain, transaction, log index), each in its own
 *    transaction with what it does: a transfer whose exact amount names an order on that address whose window holds
 *    the block time is credited through gr_credit_topup (ref `tron_trc20` / `evm_erc20`, `<txid>:<log index>`);
 *    anything else — late, wrong amount, a second payment of a paid order, unknown — goes to the operator's
 *    `unmatched` queue and is never credited automatically;
 * 3. shows non-final transfers on their orders as `confirming n/N`, and takes an order back to `pending` (or
 *    `expired`, past its window) when the transfer it showed is gone (a reorganisation before finality);
 * 4. only then stores the new cursor. A crash anywhere re-scans from the old cursor and the uniqueness of
 *    (chain, txid, log index) makes the re-scan a no-op for what was recorded.
 */
export type ChainWatchDeps = Pick<Deps, 'db' | 'clock' | 'config' | 'logger' | 'topups' | 'paymentExceptions'>;

export interface AddressScanReport {
  chain: 'tron' | 'evm';
  address: string;
  /** Final transfers recorded for the first time this scan, and what became of them. */
  recorded: number;
  credited: number;
  unmatched: number;
  /** Orders shown as confirming, and orders taken back because their transfer vanished. */
  confirming: number;
  reverted: number;
  cursor: string | null;
  complete: boolean;
  /** The scan stopped at its budget and moved the cursor: scan again at once. */
  more: boolean;
  error?: string;
}

const METHOD: Record<'tron' | 'evm', UsdtMethod> = { tron: 'usdt_tron', evm: 'usdt_evm' };

export { chainsConfigured };

/** One scan of every watched address; a failing chain or address is reported and the others still run. */
export async function scanChains(deps: ChainWatchDeps, sources: ChainSource[] = chainSources(deps.config)): Promise<AddressScanReport[]> {
  const reports: AddressScanReport[] = [];
  for (const source of sources) {
    for (const address of source.addresses) {
      try {
        reports.push(await scanAddress(deps, source, address));
      } catch (error) {
        deps.logger.warn({ err: error, chain: source.chain, address }, 'chain scan failed');
        reports.push({ chain: source.chain, address, recorded: 0, credited: 0, unmatched: 0, confirming: 0, reverted: 0, cursor: null, complete: false, more: false, error: (error as Error).message });
      }
    }
  }
  return reports;
}

async function scanAddress(deps: ChainWatchDeps, source: ChainSource, address: string): Promise<AddressScanReport> {
  const store = new ChainStore(deps.db);
  const method = METHOD[source.chain];
  const cursor = await store.cursor(source.chain, address);
  const hint = cursor === null ? await store.oldestOpen(method, address) : null;
  const scan = await source.scan(address, cursor, hint);
  const report: AddressScanReport = { chain: source.chain, address, recorded: 0, credited: 0, unmatched: 0, confirming: 0, reverted: 0, cursor: scan.cursor.toString(), complete: scan.complete,
    more: !scan.complete && (cursor === null || scan.cursor > cursor) };

  for (const transfer of scan.transfers.filter((candidate) => candidate.final)) {
    const outcome = await recordFinal(deps, store, method, transfer, scan.required);
    if (outcome === 'seen') continue;
    report.recorded += 1;
    report[outcome] += 1;
  }

  const shown = new Set<string>();
  for (const transfer of scan.transfers.filter((candidate) => !candidate.final)) {
    const order = await deps.topups.matchTransfer(method, address, transfer.amountMicro, transfer.blockTime);
    if (!order || order.status === 'expired') continue;
    shown.add(order.id);
    const seen = Math.max(0, Math.min(transfer.confirmations, scan.required - 1));
    await deps.topups.setConfirmations(order.id, 'confirming', seen, deps.clock.now(), undefined, scan.required);
    report.confirming += 1;
  }
  for (const order of await store.confirming(method, address)) {
    if (shown.has(order.id)) continue;
    // Its transfer is no longer on the chain (or no longer final-bound): nothing was credited; the order waits again.
    const now = deps.clock.now();
    if (order.expires_at.getTime() < now.getTime()) await deps.topups.transition(order.id, ['confirming'], 'expired', now);
    else await deps.topups.setConfirmations(order.id, 'pending', 0, now);
    report.reverted += 1;
    deps.logger.warn({ order: order.id, chain: source.chain }, 'a confirming USDT transfer disappeared before finality');
  }

  await store.saveCursor(source.chain, address, scan.cursor, deps.clock.now());
  return report;
}

type Outcome = 'seen' | 'credited' | 'unmatched';

/** Records one final transfer and credits or files it, all in one transaction. */
async function recordFinal(deps: ChainWatchDeps, store: ChainStore, method: UsdtMethod, transfer: ObservedTransfer, required: number): Promise<Outcome> {
  const chain = method === 'usdt_tron' ? 'tron' : 'evm';
  const record: TransferRecord = {
    chain,
    txid: transfer.txid,
    logIndex: transfer.logIndex,
    to: transfer.to,
    from: transfer.from,
    amountMicro: transfer.amountMicro,
    blockNumber: transfer.blockNumber,
    blockTime: transfer.blockTime,
    now: deps.clock.now(),
  };
  const refType = REF_TYPES[method];
  const refId = `${transfer.txid}:${transfer.logIndex}`;
  try {
    return await deps.db.transaction(async (tx): Promise<Outcome> => {
      if (!(await store.claim(tx, record))) return 'seen';
      const order = await deps.topups.matchTransfer(method, transfer.to, transfer.amountMicro, transfer.blockTime, tx);
      let kind: string;
      let related: TopupOrderRow | null = order;
      let candidates: string[] = [];
      if (order) {
        await deps.topups.setConfirmations(order.id, 'confirming', required, record.now, tx, required);
        const credit = await deps.topups.credit(tx, order.id, refType, refId, record.now);
        if (credit.outcome === 'credited' || credit.outcome === 'duplicate') {
          await store.settle(tx, record, 'credited', order.id);
          return 'credited';
        }
        kind = credit.outcome === 'already_paid' ? 'already_paid' : 'unknown';
      } else {
        ({ kind, related, candidates } = await classify(store, method, transfer, tx));
      }
      await deps.paymentExceptions.open({
        queue: 'unmatched',
        kind,
        method,
        orderId: related?.id ?? null,
        customerId: related?.customer_id ?? null,
        refType,
        refId,
        amount: transfer.amountMicro,
        currency: 'USDT',
        details: details(transfer, chain, candidates),
        now: record.now,
      }, tx);
      await store.settle(tx, record, 'unmatched', related?.id ?? null);
      return 'unmatched';
    });
  } catch (error) {
    // The credit itself was refused (the wallet would pass 2^53 − 1): file the transfer for the operator instead.
    if (!(error instanceof AppError)) throw error;
    return deps.db.transaction(async (tx): Promise<Outcome> => {
      if (!(await store.claim(tx, record))) return 'seen';
      const order = await deps.topups.matchTransfer(method, transfer.to, transfer.amountMicro, transfer.blockTime, tx);
      await deps.paymentExceptions.open({
        queue: 'unmatched', kind: 'not_creditable', method, orderId: order?.id ?? null, customerId: order?.customer_id ?? null,
        refType, refId, amount: transfer.amountMicro, currency: 'USDT',
        details: { ...details(transfer, chain, []), reason: error.message }, now: record.now,
      }, tx);
      await store.settle(tx, record, 'unmatched', order?.id ?? null);
      return 'unmatched';
    });
  }
}

/**
 * Why a final transfer names no creditable order: `already_paid` (its exact amount belongs to an order that another
 * payment already paid), `late` (its amount's order had closed its window before the block time), `wrong_amount`
 * (an unpaid order on the address was open then, for another amount), `unknown` (nothing on the address fits).
 */
async function classify(store: ChainStore, method: UsdtMethod, transfer: ObservedTransfer, tx: Queryable): Promise<{ kind: string; related: TopupOrderRow | null; candidates: string[] }> {
  const same = await store.sameAmount(method, transfer.to, transfer.amountMicro, transfer.blockTime, tx);
  if (same && same.status === 'paid') return { kind: 'already_paid', related: same, candidates: [] };
  if (same && same.expires_at.getTime() < transfer.blockTime.getTime()) return { kind: 'late', related: same, candidates: [] };
  const open = await store.openAt(method, transfer.to, transfer.blockTime, tx);
  if (open.length > 0) return { kind: 'wrong_amount', related: open.length === 1 ? open[0]! : null, candidates: open.map((order) => order.id) };
  return { kind: 'unknown', related: null, candidates: [] };
}

function details(transfer: ObservedTransfer, chain: 'tron' | 'evm', candidates: string[]): Record<string, unknown> {
  return {
    chain,
    txid: transfer.txid,
    log_index: transfer.logIndex,
    to: transfer.to,
    from: transfer.from,
    amount: formatUsdt(transfer.amountMicro),
    block_number: transfer.blockNumber.toString(),
    block_time: transfer.blockTime.toISOString(),
    ...(candidates.length > 0 ? { candidate_orders: candidates } : {}),
  };
}
