import { createHash } from 'node:crypto';
import type { MockReply, MockRequest } from '../shared/harness.js';
import { moderatesOutput, scenarioError, type ArkMockState } from './ark-mock-shared.js';
import { stagesUpTo, statusAt, view, type ArkStatus, type VideoTask } from './ark-mock-task.js';
import { arkModel, validateVideo } from './ark-mock-validate.js';

/**
 * Seedance task routes (PROVIDERS §2.1–§2.4, §11.3): create, query, cancel/delete, list (1 QPS), and callbacks on
 * every status change. Upstream hours are compressed: one hour of `execution_expires_after` or of the 7-day
 * retention lasts `hourMs` of mock time (default: the queued phase).
 */
export interface ArkMockSettings {
  /** Account concurrency cap: tasks above it wait in `queued` (§2.3). Default 10. */
  concurrency?: number;
  /** Mock milliseconds per upstream hour, for expiry and retention. Default: the family's `queuedMs`. */
  hourMs?: number;
}

const TERMINAL: ArkStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export class ArkVideoMock {
  constructor(
    private readonly state: ArkMockState,
    private readonly settings: ArkMockSettings,
  ) {}

  private get hourMs(): number {
    return this.settings.hourMs ?? this.state.context.options.queuedMs;
  }

  private videoTasks(): VideoTask[] {
    return [...this.state.context.tasks.values()].filter((task): task is VideoTask => task?.kind === 'video');
  }

  /** `cgt-<14 digits>-<5 chars>` from the harness's seeded counter. */
  private newId(): string {
    const hex = this.state.context.id('', 19);
    const digits = [...hex.slice(0, 14)].map((char) => String(parseInt(char, 16) % 10)).join('');
    return `cgt-${digits}-${hex.slice(14)}`;
  }

  /** First moment a slot is free at or after `earliest` (FIFO: later tasks never overtake earlier ones). */
  private slot(earliest: number): number {
    const cap = this.settings.concurrency ?? 10;
    const busy = this.videoTasks().filter((task) => task.startAt !== null && task.cancelledAt === undefined);
    let candidate = earliest;
    for (;;) {
      const overlapping = busy.filter((task) => task.startAt! <= candidate && candidate < task.endAt!);
      if (overlapping.length < cap) return candidate;
      candidate = Math.min(...overlapping.map((task) => task.endAt!));
    }
  }

  create(request: MockRequest): MockReply {
    const { context } = this.state;
    const body = request.json;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return this.state.error(400, 'InvalidParameter', 'The request body must be a JSON object.');
    const hasImages = Array.isArray(body.content) && body.content.some((item: any) => item?.type === 'image_url');
    const forced = scenarioError(this.state, request, hasImages);
    if (forced) return forced;
    if (typeof body.model !== 'string' || !body.model) return this.state.error(400, 'MissingParameter', 'The request is missing the `model` parameter.');
    const model = arkModel(body.model);
    if (!model) return this.state.error(404, 'InvalidEndpointOrModel.NotFound', `The model or endpoint ${body.model} does not exist or you do not have access to it.`);
    const id = this.newId();
    const seed = () => createHash('sha256').update(`seed:${id}`).digest().readUInt32BE(0) % 2 ** 31;
    const effective = validateVideo(body, model, seed);
    if ('code' in effective) return this.state.error(effective.status, effective.code, effective.message);

    context.countCreate(request);
    const now = context.now();
    const slow = context.has(request, 'slow_queue');
    const expiresAt = now + (effective.executionExpiresAfter / 3600) * this.hourMs;
    let startAt: number | null = context.has(request, 'expire') ? null : slow ? now + Number(slow.options.ms ?? 60_000) : this.slot(now + context.options.queuedMs);
    if (startAt !== null && startAt > expiresAt) startAt = null;
    const header = request.headers['idempotency-key'];
    const task: VideoTask = {
      kind: 'video',
      id,
      model: body.model,
      request: body,
      idempotencyKey: (Array.isArray(header) ? header[0] : header) ?? null,
      scenarios: request.scenarios,
      effective,
      acceptedAt: now,
      startAt,
      endAt: startAt === null ? null : startAt + context.options.runningMs,
      expiresAt,
      outcome: moderatesOutput(this.state, request, effective.prompt) ? 'moderation_output' : 'success',
    };
    context.tasks.set(id, task);
    if (effective.callbackUrl) this.watch(task, effective.callbackUrl);
    // Quirk 10: the task exists and is counted, the answer is empty.
    if (context.has(request, 'empty_200')) return { status: 200, headers: { 'content-length': '0' } };
    return { status: 200, body: { id } };
  }

  /** The task if it can be read now; purged records (7 days, scaled) and `not_found[;ms=N]` answer 404. */
  private find(request: MockRequest, id: string): VideoTask | MockReply {
    const task = this.state.context.tasks.get(id) as VideoTask | undefined;
    const notFound = () => this.state.error(404, 'ResourceNotFound', 'The specified task is not found.');
    if (!task || task.kind !== 'video' || this.state.context.has(request, 'not_found')) return notFound();
    if (this.state.context.notFound(task.scenarios, task.acceptedAt)) return notFound();
    if (this.state.context.now() - task.acceptedAt > 7 * 24 * this.hourMs) {
      this.state.context.tasks.delete(id);
      return notFound();
    }
    return task;
  }

  query(request: MockRequest, id: string): MockReply {
    const task = this.find(request, id);
    if ('status' in task) return task;
    return { status: 200, body: view(this.state, task) };
  }

  /** DELETE: cancels a queued task, refuses a running/cancelled one, deletes a terminal record (§2.2). */
  cancel(request: MockRequest, id: string): MockReply {
    const task = this.find(request, id);
    if ('status' in task) return task;
    const status = statusAt(task, this.state.context.now());
    if (status === 'queued') {
      task.cancelledAt = this.state.context.now();
      return { status: 200, body: {} };
    }
    if (status === 'running' || status === 'cancelled') {
      return this.state.error(400, 'InvalidParameter.TaskStatus', `The task cannot be cancelled or deleted in status ${status}.`);
    }
    this.state.context.tasks.delete(id);
    return { status: 200, body: {} };
  }

  /** GET list: filters of §2.2, pages 1–500, and the 1 QPS limit that makes it useless for polling. */
  list(request: MockRequest): MockReply {
    const now = this.state.context.now();
    if (this.state.lastListAt !== null && now - this.state.lastListAt < 1000) {
      return this.state.error(429, 'RateLimitExceeded', 'The request has exceeded the rate limit (1 QPS) of the list API.', { 'retry-after': '1' });
    }
    this.state.lastListAt = now;
    const pageNum = Number(request.query.get('page_num') ?? 1);
    const pageSize = Number(request.query.get('page_size') ?? 10);
    for (const [name, value] of [['page_num', pageNum], ['page_size', pageSize]] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 500) return this.state.error(400, 'InvalidParameter', `The parameter \`${name}\` must be in [1, 500].`);
    }
    const ids = request.query.getAll('filter.task_ids');
    const wanted = request.query.get('filter.status');
    const model = request.query.get('filter.model');
    const tier = request.query.get('filter.service_tier');
    const items = this.videoTasks()
      .filter((task) => now - task.acceptedAt <= 7 * 24 * this.hourMs)
      .filter((task) => (ids.length === 0 || ids.includes(task.id)) && (!model || task.model === model) && (!tier || task.effective.serviceTier === tier))
      .filter((task) => !wanted || statusAt(task, now) === wanted)
      .sort((a, b) => b.acceptedAt - a.acceptedAt)
      .map((task) => view(this.state, task));
    return { status: 200, body: { items: items.slice((pageNum - 1) * pageSize, pageNum * pageSize), total: items.length } };
  }

  /**
   * Callbacks: one POST per status change, in order, body identical to the GET (§2.4); terminal success/failure
   * retried 3 times. A clock jump delivers every stage it skipped. `callback_duplicate` sends each twice,
   * `callback_out_of_order` sends a stale `running` after the terminal one.
   */
  private watch(task: VideoTask, url: string): void {
    const { context } = this.state;
    const has = (id: string) => task.scenarios.some((scenario) => scenario.id === id);
    const delivered: ArkStatus[] = [];
    const since = Date.now();
    let chain: Promise<void> = Promise.resolve();
    const send = (body: Record<string, unknown>, status: ArkStatus) => {
      const retries = status === 'succeeded' || status === 'failed' ? 3 : 0;
      chain = chain.then(() => context.callback(url, body, retries));
    };
    const tick = () => {
      // Stop on reset/delete, and after ten real minutes whatever happens, so no timer outlives a test run.
      if (context.tasks.get(task.id) !== task || Date.now() - since > 600_000) return void clearInterval(timer);
      const current = statusAt(task, context.now());
      for (const stage of stagesUpTo(current).slice(delivered.length)) {
        delivered.push(stage);
        const body = view(this.state, task, stage);
        send(body, stage);
        if (has('callback_duplicate')) send(body, stage);
        if (TERMINAL.includes(stage) && has('callback_out_of_order')) send(view(this.state, task, 'running'), 'running');
      }
      if (TERMINAL.includes(current)) clearInterval(timer);
    };
    const timer = setInterval(tick, 10);
    timer.unref();
    tick();
  }
}
