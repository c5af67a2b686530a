import type { Deps } from '../deps.js';
import { createWebhookClient, type WebhookClient } from '../modules/webhooks/client.js';
import {
  FAILING_AFTER,
  HEARTBEAT_MS,
  LEASE_MS,
  MAX_IN_FLIGHT,
  PER_CUSTOMER_IN_FLIGHT,
  PER_TARGET_IN_FLIGHT,
} from '../modules/webhooks/fairness.js';
import type { DeliveryRow } from '../modules/webhooks/service.js';
import { MAX_ATTEMPTS, classifyResponse, nextAttemptAt, parseRetryAfter } from '../modules/webhooks/schedule.js';
import { generateMessageId, webhookHeaders } from '../modules/webhooks/signing.js';
import { Slots } from '../lib/slots.js';
import { callbackBody, nativeTaskView } from './task-views.js';

/** The services the webhook sender needs. */
export type DeliverWebhooksDeps = Pick<Deps, 'clock' | 'config' | 'endpoints' | 'logger' | 'media' | 'tasks' | 'webhooks'>;

/**
 * The webhook sender (H1–H10): claims due deliveries, renders and stores each body once, signs every attempt
 * afresh with the customer's secret(s), POSTs through the guarded client without following redirects, and
 * records the attempt. 2xx delivers; 410 ends it (and disables a registered endpoint); anything else retries on
 * the H10 schedule until the last attempt fails.
 *
 * Fairness (issue 8, numbers in modules/webhooks/fairness.ts): every delivery runs as its own promise, so a slow one
 * holds only its own slot; the sender claims again whenever a slot frees (up to MAX_IN_FLIGHT per process). The
 * claim itself caps deliveries in flight per target and per customer over all processes and skips blocked targets.
 * A claim is a short lease renewed by a heartbeat while the POST runs, so deliveries of a process that died are
 * re-sent by another within LEASE_MS, with the webhook-id and body stored on their first attempt.
 */
export interface WebhookSenderOptions {
  /** The worker id recorded on claimed rows. */
  owner: string;
  /** Called whenever a delivery finishes and its slot is free again (the worker wakes its claim loop). */
  onSlotFree?: () => void;
  /** Injected for tests; default: the webhook client of modules/webhooks/client.ts, opened on first use. */
  client?: WebhookClient;
  maxInFlight?: number;
}

export class WebhookSender {
  private readonly slots: Slots<DeliveryRow>;
  private client: WebhookClient | null;
  private heartbeat: NodeJS.Timeout | null = null;
  private sequence = 0;

  constructor(
    private readonly deps: DeliverWebhooksDeps,
    private readonly options: WebhookSenderOptions,
  ) {
    this.client = options.client ?? null;
    this.slots = new Slots<DeliveryRow>({
      slots: options.maxInFlight ?? MAX_IN_FLIGHT,
      claim: (limit, busy) => {
        this.sequence += 1;
        return deps.webhooks.claimDue({
          owner: options.owner,
          token: `${options.owner}:${this.sequence}`,
          leaseMs: LEASE_MS,
          limit,
          perTarget: PER_TARGET_IN_FLIGHT,
          perCustomer: PER_CUSTOMER_IN_FLIGHT,
          excludeIds: busy,
        });
      },
      run: (delivery) => {
        this.startHeartbeat();
        return deliverOne(deps, this.openClient(), delivery);
      },
      key: (delivery) => delivery.id,
      // The lease runs out and another round retries it with the same webhook-id.
      onError: (error, delivery) => deps.logger.error({ err: error, deliveryId: delivery.id }, 'webhook delivery failed'),
      onSlotFree: () => {
        if (this.slots.inFlight === 0) this.stopHeartbeat();
        options.onSlotFree?.();
      },
    });
  }

  /** Deliveries this process is sending right now. */
  get inFlight(): number {
    return this.slots.inFlight;
  }

  /** Slots free right now: none, and a round would claim nothing (the worker's loop then waits for `onSlotFree`). */
  get free(): number {
    return this.slots.free;
  }

  /** Claims as many due deliveries as there are free slots and starts them; returns without waiting for them. */
  pump(): Promise<number> {
    return this.slots.pump();
  }

  /** One round for tests and `drain()`: claims like `pump` and waits for the deliveries it started. */
  deliverOnce(): Promise<number> {
    return this.slots.once();
  }

  /** Waits until nothing is in flight (graceful shutdown: leases keep being renewed meanwhile). */
  idle(): Promise<void> {
    return this.slots.idle();
  }

  /** Renews the leases of everything in flight (run every HEARTBEAT_MS while something is). */
  async renewLeases(): Promise<number> {
    const tokens = [...new Set(this.slots.running().map((delivery) => delivery.lease_token!))];
    try {
      return await this.deps.webhooks.renewLeases(tokens, LEASE_MS);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'webhook lease renewal failed');
      return 0;
    }
  }

  async close(): Promise<void> {
    this.stopHeartbeat();
    const client = this.client;
    this.client = this.options.client ?? null;
    if (client && !this.options.client) await client.close();
  }

  private openClient(): WebhookClient {
    this.client ??= createWebhookClient(this.deps.config);
    return this.client;
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => void this.renewLeases(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

async function renderBody(deps: DeliverWebhooksDeps, delivery: DeliveryRow): Promise<string> {
  const task = delivery.task_id ? await deps.tasks.get(delivery.task_id) : null;
  if (!task) return JSON.stringify({ type: delivery.event_type, timestamp: deps.clock.now().toISOString(), data: {} });
  if (delivery.endpoint_id) {
    return JSON.stringify({ type: delivery.event_type, timestamp: deps.clock.now().toISOString(), data: nativeTaskView(task, deps.media) });
  }
  return JSON.stringify(callbackBody(task, deps.media));
}

async function deliverOne(deps: DeliverWebhooksDeps, client: WebhookClient, delivery: DeliveryRow): Promise<void> {
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
    const response = await client.postWebhook(delivery.url, fixed.body, headers);
    status = response.status;
    if (status === 429 || status === 503) retryAfter = parseRetryAfter(response.headers['retry-after'], deps.clock.now());
  } catch (caught) {
    error = (caught as Error).message.slice(0, 500);
  }
  const durationMs = Date.now() - started;
  const verdict = status === null ? 'retry' : classifyResponse(status);
  const attempt = delivery.attempts + 1;
  const record = (outcome: { status: DeliveryRow['status']; nextAttemptAt: Date | null }) =>
    deps.webhooks.recordAttempt(delivery, { status, error, durationMs }, outcome);
  let result: { recorded: boolean; failures: number };
  if (verdict === 'delivered') {
    result = await record({ status: 'delivered', nextAttemptAt: null });
  } else if (verdict === 'gone') {
    result = await record({ status: 'cancelled', nextAttemptAt: null });
    // H9 holds whoever records the attempt: the receiver itself said the endpoint is gone.
    if (delivery.endpoint_id) await deps.webhooks.disableEndpoint(delivery.endpoint_id, 'endpoint answered 410 Gone');
  } else {
    const next = attempt >= MAX_ATTEMPTS ? null : nextAttemptAt(attempt, deps.clock.now(), { retryAfterSeconds: retryAfter });
    result = await record(next ? { status: 'pending', nextAttemptAt: next } : { status: 'failed', nextAttemptAt: null });
  }
  if (!result.recorded) {
    // Our lease ran out mid-attempt and another sender may have re-sent it; its record is the one that counts.
    deps.logger.warn({ deliveryId: delivery.id, status, error }, 'webhook attempt not recorded: its claim was lost');
    return;
  }
  if (result.failures === FAILING_AFTER) {
    deps.logger.warn({ target: delivery.target_key, customerId: delivery.customer_id }, 'webhook target failing: its deliveries are deferred and probed one at a time');
  }
  if (verdict === 'retry' && delivery.endpoint_id && (await deps.webhooks.disableIfSilent(delivery.endpoint_id))) {
    deps.logger.warn({ endpointId: delivery.endpoint_id, customerId: delivery.customer_id }, 'webhook endpoint disabled: no successful delivery for 5 days');
  }
}
