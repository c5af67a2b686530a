import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { isoOrNull } from '../lib/time.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { attemptsOf, endpointStatus, listDeliveries, ownedDelivery, requeueDelivery, type AttemptRow, type DeliveryFilter } from '../modules/webhooks/deliveries.js';
import type { DeliveryRow } from '../modules/webhooks/service.js';

/**
 * Webhook deliveries as customers and the operator see them (API.md §9 "Deliveries"). A delivery names its target by
 * host only (`scheme://host:port` is what receives it; callback paths and queries often carry the customer's own
 * ids or tokens, so they are never echoed). The customer's retry puts a failed or cancelled delivery back in the
 * outbox with the same webhook-id, audited in the same transaction, and wakes the sender.
 */
export type WebhookDeliveriesDeps = Pick<Deps, 'db' | 'clock' | 'events'>;

export function targetHost(url: string): string | null {
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}

export function deliveryView(row: DeliveryRow, attempts: AttemptRow[], operator = false) {
  const host = targetHost(row.url);
  return {
    id: row.id,
    object: 'webhook_delivery',
    ...(operator ? { customer_id: row.customer_id } : {}),
    mode: row.mode,
    webhook_id: row.message_id,
    event_type: row.event_type,
    task_id: row.task_id,
    endpoint_id: row.endpoint_id,
    target_host: host,
    status: row.status,
    attempt_count: row.attempts,
    last_status_code: row.last_status,
    next_attempt_at: row.status === 'pending' ? isoOrNull(row.next_attempt_at) : null,
    created_at: isoOrNull(row.created_at),
    completed_at: isoOrNull(row.completed_at),
    attempts: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      attempted_at: isoOrNull(attempt.attempted_at),
      target_host: host,
      status_code: attempt.response_status,
      duration_ms: attempt.duration_ms,
      error: attempt.error,
    })),
  };
}

export async function listDeliveryViews(deps: Pick<Deps, 'db'>, filter: DeliveryFilter, operator = false) {
  const rows = await listDeliveries(deps.db, { ...filter, limit: filter.limit + 1 });
  const page = rows.slice(0, filter.limit);
  const attempts = await attemptsOf(deps.db, page.map((row) => row.id));
  return { object: 'list' as const, data: page.map((row) => deliveryView(row, attempts.get(row.id) ?? [], operator)), has_more: rows.length > filter.limit };
}

/**
 * `POST /v1/webhook-deliveries/:id/retry`: 404 unless the delivery is the caller's (customer and mode), 409 when it
 * was delivered or is still pending, or when its registered endpoint is disabled or deleted.
 */
export async function retryDelivery(deps: WebhookDeliveriesDeps, id: string, owner: { customerId: string; mode: string }, audit: AuditContext) {
  const row = await deps.db.transaction(async (tx) => {
    const current = await ownedDelivery(tx, id, owner.customerId, owner.mode);
    if (!current) throw new AppError('not_found', 'No such webhook delivery');
    if (current.status === 'delivered') throw new AppError('conflict', 'The delivery was delivered; only a failed or cancelled delivery can be retried');
    if (current.status === 'pending') throw new AppError('conflict', 'The delivery is still pending; only a failed or cancelled delivery can be retried');
    if (current.endpoint_id) {
      const status = await endpointStatus(tx, current.endpoint_id);
      if (status !== 'enabled') throw new AppError('conflict', `The webhook endpoint ${current.endpoint_id} is ${status ?? 'gone'}; enable a new endpoint instead`);
    }
    const now = deps.clock.now();
    const requeued = await requeueDelivery(tx, id, now);
    if (!requeued) throw new AppError('conflict', 'The delivery changed meanwhile; read it again');
    await recordAudit(tx, audit, {
      action: 'webhook_delivery.retry', targetType: 'webhook_delivery', targetId: id,
      before: { status: current.status, attempts: current.attempts }, after: { status: requeued.status },
    }, now);
    return requeued;
  });
  deps.events.emit('webhook.due', row.id);
  const attempts = await attemptsOf(deps.db, [row.id]);
  return deliveryView(row, attempts.get(row.id) ?? []);
}
