import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { requireModel, type Principal } from '../modules/keys/authenticator.js';
import { atPercent, textHold, tokenCost, tokenCostFor } from '../modules/catalog/pricing.js';
import type { CatalogModel } from '../modules/catalog/types.js';
import type { TaskRow } from '../modules/tasks/types.js';
import type { ProviderError, TextResult, TokenUsage } from '../providers/spec.js';
import type { Route } from '../modules/routing/router.js';
import type { ResolveResult, ReserveInput } from '../modules/wallet/types.js';
import type { ResolveItem } from '../modules/wallet/groups.js';
import { reserveWithHint } from './create-task.js';
import { taskErrorCode, taskErrorMessage } from './task-errors.js';

/** The services a text (chat, embeddings) request needs. */
export type TextRequestDeps = Pick<Deps, 'catalog' | 'clock' | 'config' | 'db' | 'ids' | 'leases' | 'logger' | 'router' | 'tasks' | 'wallet'>;

/**
 * Chat completions and embeddings (SEMANTICS T15, issue 5). Each request is a task with the M1 hold (prompt bound +
 * output limit), run by this handler. When this instance holds a credit lease of the wallet that can admit it (issue
 * 14, wallet/leases.ts), the hold is taken from the lease in memory and the task is written once, when it ends; else
 * the task is created by the same hot path as a video task, directly `dispatching` under this handler's lease, and
 * resolved when it ends. Failures before any output fail over to the next channel or release the hold (charged 0); a
 * success settles at the usage the upstream reported — or, when none was reported (client gone, no usage chunk), at
 * the tokens genrelay counted — never above the hold. The route that answered (provider, channel, account, and the
 * channels failed over from) is recorded on the task in the transaction that settles or releases it (or writes it),
 * so reports and the dashboard count text requests under their channel like video tasks. Either way the answer waits
 * for that commit.
 */
export type TextKind = 'chat' | 'embedding';
const RUNTIME_MS = 10 * 60_000;
const MAX_ROUTES = 3;

export interface TextRequest {
  principal: Principal;
  kind: TextKind;
  body: Record<string, unknown>;
  stream: boolean;
}

export type TextAnswer =
  | { stream: false; body: Record<string, unknown> }
  | {
      stream: true;
      /** The client's events as JSON texts, in batches (those of one upstream read, to be written at once). */
      events: AsyncIterable<string[]>;
      /** True once the upstream's stream is over: the batch just handed out is the last one. */
      ended(): boolean;
      abort(): void;
      finish(clientGone: boolean): Promise<void>;
    };

function maxOutput(body: Record<string, unknown>): number | null {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

/**
 * The request's hold and the way it will be written: on this instance's credit lease of the wallet when there is one
 * to admit it (written once, when it ends: gr_record_group), else as a task row and hold written now (gr_reserve_group)
 * and resolved when it ends. Keys with a concurrency limit always take the second way (the limit counts held rows).
 */
interface Billing {
  task: TaskRow;
  resolve(item: Outcome, route: Route | null): Promise<ResolveResult>;
}

type Outcome = Pick<ResolveItem, 'outcome' | 'actual' | 'errorCode' | 'cost'> & { finalStatus: 'succeeded' | 'failed' };

async function reserve(deps: TextRequestDeps, request: TextRequest, model: CatalogModel, promptBytes: number): Promise<Billing> {
  const { principal } = request;
  // M9, M10: priced at the version in force and the customer's group percent, both stored on the task.
  const pricePercent = await deps.catalog.percentFor(principal.group);
  const cost = textHold(atPercent(model, pricePercent), promptBytes, maxOutput(request.body));
  const now = deps.clock.now();
  const leaseUntil = new Date(now.getTime() + RUNTIME_MS);
  const input: ReserveInput = {
    taskId: deps.ids('task'), reservationId: deps.ids('res'), customerId: principal.customerId, mode: principal.mode,
    apiKeyId: principal.keyId, maxConcurrency: principal.maxConcurrency, idempotencyKey: null, fingerprint: null, cost, now,
    expiresAt: leaseUntil, hardDeadline: new Date(leaseUntil.getTime() + 60_000), type: request.kind, model: model.id,
    request: { prompt: '', references: [] }, initialStatus: 'dispatching', leaseOwner: 'http', leaseUntil,
    priceVersion: model.price_version, pricePercent,
  };
  const leases = principal.maxConcurrency === null ? deps.leases : null;
  const admission = leases ? await leases.admit(input.customerId, input.mode, cost) : null;
  if (leases && admission) {
    const task = openTask(input);
    return {
      task,
      resolve: (item, route) => leases.record(admission, input, { ...item, now: deps.clock.now(), route: routeRecord(task, route) }),
    };
  }
  const task = (await reserveWithHint(deps, input)).task;
  return { task, resolve: (item, route) => resolveWithRoute(deps, task, route, { ...item, result: null }) };
}

/**
 * The task of a request admitted on a lease, as it stands while it runs (it is written only when it ends). Every field
 * is spelled out: an object literal that spread the arguments first and added the rest cost 5 % of the server's CPU
 * under load (each added property a transition of a spread-made object).
 */
function openTask(input: ReserveInput): TaskRow {
  return {
    id: input.taskId, customer_id: input.customerId, mode: input.mode, api_key_id: input.apiKeyId, type: input.type as TaskRow['type'],
    model: input.model, status: 'dispatching', idempotency_key: null, fingerprint: null, face: 'native', request: { prompt: '', references: [] },
    callback_url: null, metadata: null, progress: 0, result: null, hold_amount: input.cost, charged: 0n, cost_credits: null,
    price_version: input.priceVersion ?? null, price_percent: input.pricePercent ?? null, error_code: null, channel_id: null,
    credential_id: null, tried_channels: [], provider: null, provider_task_id: null, operation: null, upstream_error: null,
    lease_owner: 'http', lease_until: null, attempts: 1, next_action_at: null, submitted_at: null, created_at: input.now,
    updated_at: input.now, completed_at: null,
  };
}

function routeRecord(task: TaskRow, route: Route | null): NonNullable<ResolveItem['route']> | null {
  return route ? { provider: route.providerId, channelId: route.channelId, credentialId: route.credentialId, triedChannels: task.tried_channels } : null;
}

/** The first answer that is not a failover-able failure, trying up to three routes (API.md §8). */
async function call(deps: TextRequestDeps, task: TaskRow, request: TextRequest): Promise<{ result: TextResult; route: Route | null }> {
  let last: { result: TextResult; route: Route | null } = { result: { ok: false, error: { class: 'unsupported', message: 'no route' } }, route: null };
  for (let attempt = 0; attempt < MAX_ROUTES; attempt += 1) {
    const route = await deps.router.routeFor(task, request.principal.group);
    if (!route?.adapter.text) return last;
    const context = { ...route.context, clock: deps.clock, attempt: attempt + 1 };
    const body = { ...request.body, model: route.context.upstreamModel };
    await route.budget();
    const result = request.kind === 'chat'
      ? await route.adapter.text.chat(body, request.stream, context)
      : route.adapter.text.embeddings
        ? await route.adapter.text.embeddings(body, context)
        : ({ ok: false, error: { class: 'unsupported', message: 'no embeddings on this upstream' } } as TextResult);
    await deps.router.report(route, result.ok ? null : result.error);
    last = { result, route };
    if (result.ok || !route.channelId || !route.failoverOn.includes(result.error.class)) return last;
    task.tried_channels = [...task.tried_channels, route.channelId];
  }
  return last;
}

function failureError(error: ProviderError): AppError {
  const code = taskErrorCode(error.class);
  return new AppError(code === 'provider_error' ? 'provider_error' : code, taskErrorMessage(code));
}

/** Estimated usage when the upstream reported none: about four characters per token. */
function counted(model: CatalogModel, promptBytes: number, outputChars: number): TokenUsage {
  return { tokens_in: Math.ceil(promptBytes / 4), tokens_out: model.type === 'embedding' ? 0 : Math.ceil(outputChars / 4) };
}

/**
 * Resolves the task (settle or release) with the record of the route that served it, in one statement committed
 * with the other resolutions of its group (issue 14).
 */
function resolveWithRoute(deps: TextRequestDeps, task: TaskRow, route: Route | null, item: Omit<ResolveItem, 'taskId' | 'now' | 'onlyIfStatus' | 'route'>): Promise<ResolveResult> {
  return deps.wallet.resolveInGroup({ ...item, taskId: task.id, now: deps.clock.now(), onlyIfStatus: null, route: routeRecord(task, route) });
}

async function fail(billing: Billing, errorCode: string, route: Route | null): Promise<void> {
  await billing.resolve({ outcome: 'released', finalStatus: 'failed', actual: 0n, errorCode, cost: null }, route);
}

async function settle(deps: TextRequestDeps, billing: Billing, model: CatalogModel, usage: TokenUsage, route: Route | null): Promise<void> {
  // The request's model is the version the hold was priced at (M9); the task's percent is the customer's (M10); the
  // upstream cost is the same usage at the serving channel's cost rule (M11), stored in the settling statement.
  const cost = tokenCostFor(model, route?.cost, usage);
  const actual = tokenCost(atPercent(model, billing.task.price_percent ?? 100), usage);
  const result = await billing.resolve({ outcome: 'settled', finalStatus: 'succeeded', actual, errorCode: null, cost }, route);
  if (result.overage > 0n) deps.logger.warn({ taskId: billing.task.id, overage: String(result.overage) }, 'pricing_overage');
}

/** Public ids and model names replace the upstream's (E3). */
function rewrite(json: Record<string, unknown>, task: TaskRow, model: CatalogModel): Record<string, unknown> {
  const { system_fingerprint: _fingerprint, ...rest } = json;
  return { ...rest, ...(rest.id !== undefined || model.type === 'chat' ? { id: `chatcmpl-${task.id.slice(5)}` } : {}), model: model.id };
}

export async function runTextRequest(deps: TextRequestDeps, request: TextRequest): Promise<TextAnswer> {
  const model = await deps.catalog.get(String(request.body.model));
  if (model.type !== request.kind) throw new AppError('invalid_request', `The model "${model.id}" is not a ${request.kind} model`, { param: 'model' });
  requireModel(request.principal, model.id);
  if (!(await deps.router.hasRoute(request.principal.mode, model, request.principal.group))) {
    throw new AppError('provider_capacity_unavailable', `No provider can serve ${model.id} right now`, { retryAfter: 30 });
  }
  const promptBytes = Buffer.byteLength(JSON.stringify(request.kind === 'chat' ? request.body.messages : request.body.input));
  const billing = await reserve(deps, request, model, promptBytes);
  const { task } = billing;
  let outcome: { result: TextResult; route: Route | null };
  try {
    outcome = await call(deps, task, request);
  } catch (error) {
    await fail(billing, 'internal_error', null);
    throw error;
  }
  const { result } = outcome;
  if (!result.ok) {
    await fail(billing, taskErrorCode(result.error.class), outcome.route);
    throw failureError(result.error);
  }
  if (!result.stream) {
    const body = rewrite(result.body, task, model);
    // The answer's text is measured only when the upstream reported no usage.
    const usage = result.usage ?? counted(model, promptBytes, JSON.stringify((result.body as { choices?: unknown }).choices ?? '').length);
    await settle(deps, billing, model, usage, outcome.route);
    return { stream: false, body: model.type === 'embedding' ? { ...result.body, model: model.id } : body };
  }
  const wantsUsage = (request.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  let produced = 0;
  let sawOutput = false;
  const streamError = () => JSON.stringify({ error: { message: 'The upstream failed while streaming the answer.', type: 'api_error', code: 'provider_error' } });
  /** The client's events, a batch per upstream batch (one write each), as JSON texts. */
  async function* events(): AsyncIterable<string[]> {
    for await (const batch of result.ok && result.stream ? result.events : []) {
      const out: string[] = [];
      for (const event of batch) {
        if ('error' in event.json) {
          out.push(streamError());
          yield out;
          return;
        }
        const choices = event.json.choices as Array<{ delta?: { content?: string; reasoning_content?: string } }> | undefined;
        if (Array.isArray(choices) && choices.length === 0 && event.json.usage && !wantsUsage) continue;
        for (const choice of choices ?? []) {
          const length = (choice.delta?.content?.length ?? 0) + (choice.delta?.reasoning_content?.length ?? 0);
          produced += length;
          if (length > 0) sawOutput = true;
        }
        out.push(JSON.stringify(rewrite(event.json, task, model)));
      }
      if (out.length > 0) yield out;
    }
    // The adapter keeps the upstream's error text to itself; the client gets a generic error event.
    if (result.ok && result.stream && result.error()) yield [streamError()];
  }
  return {
    stream: true,
    events: events(),
    ended: () => !result.ok || !result.stream || result.ended(),
    abort() {
      if (result.ok && result.stream) result.abort();
    },
    async finish(clientGone: boolean) {
      if (!result.ok || !result.stream) return;
      if (clientGone) result.abort();
      const usage = result.usage();
      if (!usage && !sawOutput && result.error()) {
        await fail(billing, 'provider_error', outcome.route);
        return;
      }
      await settle(deps, billing, model, usage ?? counted(model, promptBytes, produced), outcome.route);
    },
  };
}
