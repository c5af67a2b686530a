import type { Deps } from '../deps.js';
import { creditsToJson } from '../lib/money.js';
import { isoOrNull } from '../lib/time.js';
import { accountsNeedingAttention, channelHealth, liveTraffic, openTasks, type AttentionRow, type TrafficRow } from '../modules/reports/dashboard.js';

/**
 * The operator dashboard (API.md §8 "Dashboard"): live traffic over a window in continuous buckets (empty ones
 * present with zeros), per model and in total, with credits charged, upstream cost and margin; open tasks; channel
 * health; and the accounts that need the operator. "Now" is the injected clock.
 */
export type DashboardDeps = Pick<Deps, 'db' | 'clock' | 'topups' | 'paymentExceptions'>;

export type DashboardWindow = '24h' | '7d' | '30d';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Per window: the bucket and how many of them, the last one being the current (partial) hour or UTC day. */
const WINDOWS: Record<DashboardWindow, { bucket: 'hour' | 'day'; size: number; count: number }> = {
  '24h': { bucket: 'hour', size: HOUR_MS, count: 24 },
  '7d': { bucket: 'day', size: DAY_MS, count: 7 },
  '30d': { bucket: 'day', size: DAY_MS, count: 30 },
};

/** An account whose upstream-reported balance is below this (in the upstream's unit) is listed, unless its channel sets `settings.low_balance_threshold`. */
export const DEFAULT_LOW_BALANCE_THRESHOLD = 10;
/** At most this many accounts are listed for attention (disabled first, then cooling, then low balance). */
export const MAX_ATTENTION_ACCOUNTS = 100;

const credits = (value: bigint) => creditsToJson(value);
/** A share in [0, 1], four decimals; null without a denominator. */
const rate = (part: bigint, whole: bigint) => (whole === 0n ? null : Math.round((Number(part) / Number(whole)) * 10_000) / 10_000);

function figures(row: TrafficRow | undefined) {
  return {
    requests: Number(row?.requests ?? 0n), succeeded: Number(row?.succeeded ?? 0n), failed: Number(row?.failed ?? 0n),
    charged: credits(row?.charged ?? 0n), cost: credits(row?.cost ?? 0n), margin: credits(row?.margin ?? 0n),
  };
}

function attentionView(row: AttentionRow) {
  const reason = row.state === 'disabled' ? row.disabled_reason
    : row.state === 'cooling' ? 'rate limited by the upstream'
      : Number(row.balance) <= 0 ? 'upstream balance exhausted: routing skips this account' : `upstream balance below ${Number(row.threshold)}`;
  return {
    id: row.id, channel_id: row.channel_id, label: row.label, state: row.state, reason,
    until: row.state === 'cooling' ? isoOrNull(row.cooldown_until) : null,
    balance: row.balance === null ? null : Number(row.balance),
  };
}

export async function operatorDashboard(deps: DashboardDeps, window: DashboardWindow) {
  const now = deps.clock.now();
  const spec = WINDOWS[window];
  // Buckets are aligned to UTC hours or days: [from, to) ends with the bucket holding now.
  const current = Math.floor(now.getTime() / spec.size) * spec.size;
  const from = new Date(current - (spec.count - 1) * spec.size);
  const to = new Date(current + spec.size);
  const [traffic, open, channels, attention, revenue, exceptions] = await Promise.all([
    liveTraffic(deps.db, { from, to, bucketMs: spec.size }),
    openTasks(deps.db),
    channelHealth(deps.db, now, new Date(now.getTime() - DAY_MS)),
    accountsNeedingAttention(deps.db, now, DEFAULT_LOW_BALANCE_THRESHOLD, MAX_ATTENTION_ACCOUNTS),
    deps.topups.revenue(from, to),
    deps.paymentExceptions.openCounts(),
  ]);
  const buckets = new Map(traffic.filter((row) => row.bucket !== null).map((row) => [row.bucket!, row]));
  const series = Array.from({ length: spec.count }, (_, index) => {
    const { requests, succeeded, failed, charged, cost, margin } = figures(buckets.get(index));
    return { at: new Date(from.getTime() + index * spec.size).toISOString(), requests, succeeded, failed, charged, cost, margin };
  });
  const byModel = traffic
    .filter((row) => row.model !== null)
    .sort((a, b) => (a.requests === b.requests ? (a.model! < b.model! ? -1 : 1) : a.requests > b.requests ? -1 : 1))
    .map((row) => {
      const { requests, failed, charged, cost, margin } = figures(row);
      return { model: row.model!, requests, failed, failure_rate: rate(row.failed, row.requests) ?? 0, charged, cost, margin };
    });
  const total = figures(traffic.find((row) => row.bucket === null && row.model === null));
  const queued = Number(open.queued);
  const running = Number(open.running);
  return {
    object: 'dashboard',
    window,
    from: from.toISOString(),
    to: to.toISOString(),
    bucket: spec.bucket,
    series,
    by_model: byModel,
    totals: { requests: total.requests, failed: total.failed, charged: total.charged, cost: total.cost, margin: total.margin },
    in_flight: { queued, running, total: queued + running },
    channels: channels.map((row) => ({
      id: row.id, name: row.name, enabled: row.enabled,
      accounts_total: Number(row.accounts_total), accounts_active: Number(row.accounts_active),
      accounts_cooling: Number(row.accounts_cooling), accounts_disabled: Number(row.accounts_disabled),
      success_rate_24h: rate(row.succeeded, row.finished),
    })),
    accounts_attention: attention.map(attentionView),
    // Paid top-ups in the window (issue 13), net of refunds, per currency; and the payments waiting for the operator.
    topups: {
      revenue: revenue.map((row) => ({ currency: row.currency, amount: Number(row.amount), orders: row.orders, credits: credits(BigInt(row.credits)) })),
      open_exceptions: exceptions,
    },
  };
}
