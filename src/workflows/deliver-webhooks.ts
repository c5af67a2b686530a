import type { Deps } from '../deps.js';
import type { DeliveryRow } from '../modules/webhooks/service.js';
import { MAX_ATTEMPTS, classifyResponse, nextAttemptAt, parseRetryAfter } from '../modules/webhooks/schedule.js';
import { generateMessageId, webhookHeaders } from '../modules/webhooks/signing.js';
import { callbackBody, nativeTaskView } from './task-views.js';

/**
 * The webhook sender (H1–H10): claims due deliveries, renders and stores each body once, signs every attempt
 * afresh with the customer's secret(s), POSTs through the guarded client without following redirects, and
 * records the attempt. 2xx delivers; 410 ends it (and disables a registered endpoint); anything else retries on
 * the H10 schedule until the last attempt fails.
 */
export async function deliverDueWebhooks(deps: Deps, limit: number): Promise<number> {
  const due = await deps.webhooks.claimDue(limit);
  await Promise.all(due.map((delivery) => deliverOne(deps, delivery)));
  return due.length;
}

async function renderBody(deps: Deps, delivery: DeliveryRow): Promise<string> {
  const task = delivery.task_id ? await deps.tasks.get(delivery.task_id) : null;
  if (!task) return JSON.stringify({ type: delivery.event_type, timestamp: deps.clock.now().toISOString(), data: {} });
  if (delivery.endpoint_id) {
    return JSON.stringify({ type: delivery.event_type, timestamp: deps.clock.now().toISOString(), data: nativeTaskView(task, deps.media) });
  }
  return JSON.stringify(callbackBody(task, deps.media));
}

async function deliverOne(deps: Deps, delivery: DeliveryRow): Promise<void> {
  const fixed = delivery.body && delivery.message_id
    ? { messageId: delivery.message_id, body: delivery.body }
    : await deps.webhooks.fixBody(delivery.id, generateMessageId(), await renderBody(deps, delivery));
  // H3: a registered endpoint signs with its own secret; a task's callback_url with the customer's per-mode one.
  const secrets = delivery.endpoint_id
    ? await deps.endpoints.signingSecrets(delivery.endpoint_id)
    : await deps.webhooks.signingSecrets(delivery.customer_id, delivery.mode);
  const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
  const headers = webhookHeaders(secrets, fixed.messageId, timestamp, fixed.body);
  const started = Date.now();
  let status: number | null = null;
  let error: string | null = null;
  let retryAfter: number | null = null;
  try {
    const response = await deps.safeFetch.postWebhook(delivery.url, fixed.body, headers);
    status = response.status;
    if (status === 429 || status === 503) retryAfter = parseRetryAfter(response.headers['retry-after'], deps.clock.now());
  } catch (caught) {
    error = (caught as Error).message.slice(0, 500);
  }
  const durationMs = Date.now() - started;
  const verdict = status === null ? 'retry' : classifyResponse(status);
  const attempt = delivery.attempts + 1;
  if (verdict === 'delivered') {
    await deps.webhooks.recordAttempt(delivery, { status, error, durationMs }, { status: 'delivered', nextAttemptAt: null });
    return;
  }
  if (verdict === 'gone') {
    await deps.webhooks.recordAttempt(delivery, { status, error, durationMs }, { status: 'cancelled', nextAttemptAt: null });
    if (delivery.endpoint_id) await deps.webhooks.disableEndpoint(delivery.endpoint_id, 'endpoint answered 410 Gone');
    return;
  }
  const next = attempt >= MAX_ATTEMPTS ? null : nextAttemptAt(attempt, deps.clock.now(), { retryAfterSeconds: retryAfter });
  await deps.webhooks.recordAttempt(delivery, { status, error, durationMs }, next ? { status: 'pending', nextAttemptAt: next } : { status: 'failed', nextAttemptAt: null });
  if (delivery.endpoint_id && (await deps.webhooks.disableIfSilent(delivery.endpoint_id))) {
    deps.logger.warn({ endpointId: delivery.endpoint_id, customerId: delivery.customer_id }, 'webhook endpoint disabled: no successful delivery for 5 days');
  }
}
