import { createHash } from 'node:crypto';
import { makePng, makeWav } from '../../../src/providers/sandbox/media.js';
import type { Scenario } from '../../../src/providers/sandbox/scenario.js';
import { startFamily, type Family, type MockContext, type MockOptions, type MockReply, type MockRequest } from '../shared/harness.js';

/**
 * Mock of the sunoapi.org / kie.ai Suno contract (PROVIDERS §6, §11.3 `suno`). Paths are relative to the family
 * root: `POST /api/v1/generate`, `GET /api/v1/generate/record-info?taskId=…`. Every answer is the
 * `{code,msg,data}` envelope and errors come as HTTP 200 with body `code` ≠ 200 (quirk 6). Lifecycle in mock time:
 * PENDING (queuedMs) → TEXT_SUCCESS (first half of runningMs) → FIRST_SUCCESS → SUCCESS, two tracks, with staged
 * snake_case callbacks `text`, `first`, `complete` (or `error`) to `callBackUrl` while record-info stays camelCase.
 *
 * Scenarios (header `x-mock-scenario` or a `[[scenario:…]]` token in the body; sticky per task):
 *   create: invalid_param (422), unauthorized (401), quota_exhausted (402), rate_limited;retry_after=N (429 +
 *   `retry-after`), server_error (500), overloaded (455 maintenance), empty_200 (task created and counted, empty
 *   body), conn_reset / timeout / slow_headers (harness).
 *   lifecycle: moderation_input (accepted → SENSITIVE_WORD_ERROR + `error` callback), server_error;stage=task
 *   (TEXT_SUCCESS → GENERATE_AUDIO_FAILED errorCode 501 + `error` callback), slow_queue;ms=N, status_synonyms,
 *   double_encoded (`response` sent as a JSON string, quirk 27), url_short_ttl;ms=N (CDN links expire N ms after
 *   SUCCESS), not_found[;ms=N][;shape=kie] (record-info answers code 404 — kie: code 422 "recordInfo is null" —
 *   for good or for the first N ms), callback_duplicate, callback_out_of_order (`first` after
 *   `complete`), callback_fail;times=N (enough retries for a receiver failing N times).
 *   query (header only): the create error scenarios above, not_found, empty_200.
 * Not applicable to Suno: moderation_output (no output-moderation status), expire (no expiry state), cancel.
 */

const MODELS = new Set(['V4', 'V4_5', 'V4_5PLUS', 'V4_5ALL', 'V5', 'V5_5']);
/** Suno keeps files 14–15 days (PROVIDERS §11.1). */
export const SUNO_CDN_TTL_SECONDS = 14 * 86_400;

type Stage = 'PENDING' | 'TEXT_SUCCESS' | 'FIRST_SUCCESS' | 'SUCCESS' | 'SENSITIVE_WORD_ERROR' | 'GENERATE_AUDIO_FAILED';
const TERMINAL = new Set<Stage>(['SUCCESS', 'SENSITIVE_WORD_ERROR', 'GENERATE_AUDIO_FAILED']);
const CALLBACK_TYPE: Record<Stage, string | null> = {
  PENDING: null, TEXT_SUCCESS: 'text', FIRST_SUCCESS: 'first', SUCCESS: 'complete', SENSITIVE_WORD_ERROR: 'error', GENERATE_AUDIO_FAILED: 'error',
};
const CALLBACK_MSG: Record<string, string> = {
  text: 'Text generation completed successfully.', first: 'First track generation completed.', complete: 'All generated successfully.',
};
/** `status_synonyms`: Suno's own clip statuses and lowercase spellings that relays pass through. */
const SYNONYM: Record<Stage, string> = {
  PENDING: 'submitted', TEXT_SUCCESS: 'text_success', FIRST_SUCCESS: 'streaming', SUCCESS: 'complete',
  SENSITIVE_WORD_ERROR: 'sensitive_word_error', GENERATE_AUDIO_FAILED: 'error',
};

interface MockTrack {
  id: string; title: string; tags: string; prompt: string; modelName: string; createTime: string; duration: number;
  audioUrl: string; streamAudioUrl: string; imageUrl: string;
}

export interface SunoMockTask {
  taskId: string;
  acceptedAt: number;
  scenarios: Scenario[];
  /** The create body as received, for tests that check what the adapter sent. */
  body: Record<string, unknown>;
  param: string;
  callBackUrl: string;
  stage: Stage;
  tracks: MockTrack[];
  errorCode: number | null;
  errorMessage: string | null;
}

const envelope = (code: number, msg: string, data: unknown = null, headers?: Record<string, string>): MockReply =>
  ({ status: 200, body: { code, msg, data }, ...(headers ? { headers } : {}) });
const find = (scenarios: Scenario[], id: string) => scenarios.find((scenario) => scenario.id === id);
const timestamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** Account/transport-level errors shared by create and query, in sunoapi's body codes. */
function scenarioError(scenarios: Scenario[]): MockReply | null {
  if (find(scenarios, 'unauthorized')) return envelope(401, 'Unauthorized: authentication credentials are missing or invalid');
  if (find(scenarios, 'quota_exhausted')) return envelope(402, 'Insufficient credits: please top up your account');
  const limited = find(scenarios, 'rate_limited');
  if (limited) return envelope(429, 'Rate limited: too many requests', null, { 'retry-after': limited.options.retry_after ?? '10' });
  const server = find(scenarios, 'server_error');
  if (server && server.options.stage !== 'task') return envelope(500, 'Internal server error. Request id: mock-req-1');
  if (find(scenarios, 'overloaded')) return envelope(455, 'System maintenance in progress, please try again later');
  return null;
}

/** The upstream's documented validation (§6 field table); limits depend on the model. */
function validate(body: unknown): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Invalid request body';
  const input = body as Record<string, unknown>;
  const str = (key: string) => (typeof input[key] === 'string' ? (input[key] as string) : undefined);
  if (typeof input.customMode !== 'boolean') return 'customMode is required and must be a boolean';
  if (typeof input.instrumental !== 'boolean') return 'instrumental is required and must be a boolean';
  const model = str('model');
  if (!model || !MODELS.has(model)) return `model must be one of ${[...MODELS].join(', ')}`;
  if (!/^https?:\/\/\S+$/.test(str('callBackUrl') ?? '')) return 'Please enter callBackUrl.';
  const prompt = str('prompt') ?? '';
  if (!input.customMode) {
    if (!prompt.trim()) return 'prompt is required';
    if (prompt.length > 500) return 'prompt length exceeds 500 characters in non-custom mode';
  } else {
    const v4 = model === 'V4';
    const style = str('style') ?? '';
    const title = str('title') ?? '';
    if (!style.trim()) return 'style is required in custom mode';
    if (style.length > (v4 ? 200 : 1000)) return `style length exceeds ${v4 ? 200 : 1000} characters`;
    const titleLimit = v4 || model === 'V4_5ALL' ? 80 : 100;
    if (!title.trim()) return 'title is required in custom mode';
    if (title.length > titleLimit) return `title length exceeds ${titleLimit} characters`;
    if (!input.instrumental && !prompt.trim()) return 'prompt (lyrics) is required in custom mode unless instrumental';
    if (prompt.length > (v4 ? 3000 : 5000)) return `prompt length exceeds ${v4 ? 3000 : 5000} characters`;
  }
  if (input.vocalGender !== undefined && input.vocalGender !== 'm' && input.vocalGender !== 'f') return 'vocalGender must be m or f';
  for (const key of ['styleWeight', 'weirdnessConstraint', 'audioWeight']) {
    const value = input[key];
    if (value !== undefined && (typeof value !== 'number' || value < 0 || value > 1)) return `${key} must be between 0 and 1`;
  }
  return null;
}

/** Callbacks to the reserved `.invalid` TLD (RFC 2606) can never be delivered; the mock skips the DNS attempt. */
function deliverable(url: string): boolean {
  try {
    return !new URL(url).hostname.endsWith('.invalid');
  } catch {
    return false;
  }
}

export const sunoFamily: Family = (context: MockContext) => {
  const chains = new Map<string, Promise<void>>();
  const heldFirst = new Map<string, unknown>();
  let timer: ReturnType<typeof setInterval> | undefined;
  const tasks = () => [...context.tasks.values()] as SunoMockTask[];
  const has = (task: SunoMockTask, id: string) => find(task.scenarios, id);

  function queuedMs(task: SunoMockTask): number {
    const slow = has(task, 'slow_queue');
    return slow ? Number(slow.options.ms ?? 60_000) : context.options.queuedMs;
  }

  function pathOf(task: SunoMockTask): Stage[] {
    if (has(task, 'moderation_input')) return ['SENSITIVE_WORD_ERROR'];
    if (has(task, 'server_error')?.options.stage === 'task') return ['TEXT_SUCCESS', 'GENERATE_AUDIO_FAILED'];
    return ['TEXT_SUCCESS', 'FIRST_SUCCESS', 'SUCCESS'];
  }

  /** Stage in mock time: the queue, then the running window split into lyrics-ready and first-track-ready. */
  function targetIndex(task: SunoMockTask): number {
    const elapsed = context.now() - task.acceptedAt;
    const queue = queuedMs(task);
    if (elapsed < queue) return -1;
    const half = context.options.runningMs / 2;
    return Math.min(pathOf(task).length - 1, elapsed < queue + half ? 0 : elapsed < queue + 2 * half ? 1 : 2);
  }

  function ttlMs(task: SunoMockTask): number {
    const short = has(task, 'url_short_ttl');
    if (!short) return context.options.cdnTtlSeconds * 1000;
    const successAt = task.acceptedAt + queuedMs(task) + context.options.runningMs;
    return Math.max(0, successAt + Number(short.options.ms ?? 1000) - context.now());
  }

  function publish(task: SunoMockTask, index: number): void {
    const track = task.tracks[index]!;
    const audio = makeWav(`${task.taskId}:${index}`, { seconds: track.duration });
    track.audioUrl = context.cdnUrl(`${track.id}.wav`, audio, 'audio/wav', ttlMs(task));
    track.imageUrl = context.cdnUrl(`${track.id}.png`, makePng(`${task.taskId}:${index}`, { width: 16, height: 16 }), 'image/png', ttlMs(task));
  }

  const camel = (track: MockTrack) => ({
    id: track.id, audioUrl: track.audioUrl, streamAudioUrl: track.streamAudioUrl, imageUrl: track.imageUrl, prompt: track.prompt,
    modelName: track.modelName, title: track.title, tags: track.tags, createTime: track.createTime, duration: track.audioUrl ? track.duration : null,
  });
  const snake = (track: MockTrack) => ({
    id: track.id, audio_url: track.audioUrl, stream_audio_url: track.streamAudioUrl, image_url: track.imageUrl, prompt: track.prompt,
    model_name: track.modelName, title: track.title, tags: track.tags, createTime: track.createTime, duration: track.audioUrl ? track.duration : null,
  });

  function send(task: SunoMockTask, body: unknown): void {
    if (!deliverable(task.callBackUrl)) return;
    const failing = Number(has(task, 'callback_fail')?.options.times ?? 0);
    const previous = chains.get(task.taskId) ?? Promise.resolve();
    chains.set(task.taskId, previous.then(() => context.callback(task.callBackUrl, body, Math.max(3, failing))).catch(() => undefined));
  }

  /** Staged callbacks, snake_case (quirk 5), with the duplicate / out-of-order scenarios of §11.2. */
  function notify(task: SunoMockTask, stage: Stage): void {
    const type = CALLBACK_TYPE[stage];
    if (!type) return;
    const body = type === 'error'
      ? { code: task.errorCode, msg: task.errorMessage, data: { callbackType: 'error', task_id: task.taskId, data: null } }
      : { code: 200, msg: CALLBACK_MSG[type], data: { callbackType: type, task_id: task.taskId, data: task.tracks.map(snake) } };
    if (type === 'first' && has(task, 'callback_out_of_order')) return void heldFirst.set(task.taskId, body);
    const times = has(task, 'callback_duplicate') ? 2 : 1;
    for (let index = 0; index < times; index += 1) send(task, body);
    const held = heldFirst.get(task.taskId);
    if (type === 'complete' && held) {
      heldFirst.delete(task.taskId);
      send(task, held);
    }
  }

  function enter(task: SunoMockTask, stage: Stage): void {
    if (stage === 'TEXT_SUCCESS') {
      task.tracks.forEach((track, index) => {
        track.streamAudioUrl = context.cdnUrl(`${track.id}-stream.wav`, makeWav(`${task.taskId}:${index}:stream`, { seconds: 1 }), 'audio/wav', ttlMs(task));
      });
    }
    if (stage === 'FIRST_SUCCESS') publish(task, 0);
    if (stage === 'SUCCESS') task.tracks.forEach((track, index) => (track.audioUrl ? undefined : publish(task, index)));
    if (stage === 'SENSITIVE_WORD_ERROR') {
      task.errorCode = 400;
      task.errorMessage = 'Your prompt contains sensitive words, please modify it and try again.';
    }
    if (stage === 'GENERATE_AUDIO_FAILED') {
      task.errorCode = 501;
      task.errorMessage = 'Audio generation failed.';
    }
    task.stage = stage;
    notify(task, stage);
  }

  /** Moves a task to its mock-time stage, entering every skipped stage in order (so no callback is lost). */
  function advance(task: SunoMockTask): void {
    const path = pathOf(task);
    const target = targetIndex(task);
    for (let index = path.indexOf(task.stage) + 1; index <= target; index += 1) enter(task, path[index]!);
  }

  /** Callbacks fire as mock time passes even when nobody polls; the timer runs only while tasks are live. */
  function tick(): void {
    const live = tasks().filter((task) => !TERMINAL.has(task.stage));
    live.forEach(advance);
    if (timer && !tasks().some((task) => !TERMINAL.has(task.stage) && deliverable(task.callBackUrl))) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  function createTask(request: MockRequest): SunoMockTask {
    const body = request.json as Record<string, unknown>;
    const taskId = context.id('', 32);
    const model = String(body.model);
    const words = String(body.prompt ?? '').replace(/\[\[[^\]]*\]\]/g, '').trim().split(/\s+/).slice(0, 4).join(' ');
    const tracks = [0, 1].map((index): MockTrack => {
      const digest = createHash('sha256').update(`${taskId}:${index}`).digest();
      return {
        id: context.uuid(), title: typeof body.title === 'string' ? body.title : words || 'Untitled',
        tags: typeof body.style === 'string' ? body.style : 'pop, upbeat', modelName: `chirp-${model.toLowerCase().replace(/_/g, '-')}`,
        prompt: body.customMode ? String(body.prompt ?? '') : `[Verse]\n${words}\n[Chorus]\n${words}`,
        createTime: timestamp(context.now()), duration: 2 + (digest[0]! % 200) / 100, audioUrl: '', streamAudioUrl: '', imageUrl: '',
      };
    });
    const task: SunoMockTask = {
      taskId, acceptedAt: context.now(), scenarios: request.scenarios, body, param: JSON.stringify(body),
      callBackUrl: String(body.callBackUrl), stage: 'PENDING', tracks, errorCode: null, errorMessage: null,
    };
    context.tasks.set(taskId, task);
    if (deliverable(task.callBackUrl) && !timer) {
      timer = setInterval(tick, 10);
      timer.unref();
    }
    return task;
  }

  function record(task: SunoMockTask): unknown {
    const started = task.stage !== 'PENDING' && task.stage !== 'SENSITIVE_WORD_ERROR';
    const response = started ? { taskId: task.taskId, sunoData: task.tracks.map(camel) } : null;
    return {
      taskId: task.taskId, parentMusicId: '', param: task.param,
      response: has(task, 'double_encoded') && response ? JSON.stringify(response) : response,
      status: has(task, 'status_synonyms') ? SYNONYM[task.stage] : task.stage,
      type: 'GENERATE', operationType: 'generate', errorCode: task.errorCode, errorMessage: task.errorMessage,
      createTime: task.acceptedAt,
    };
  }

  return [
    {
      method: 'POST',
      path: /^\/api\/v1\/generate$/,
      name: 'create',
      handle(request) {
        const failure = scenarioError(request.scenarios);
        if (failure) return failure;
        if (request.json === undefined) return envelope(400, 'Invalid JSON body');
        if (context.has(request, 'invalid_param')) return envelope(422, 'Invalid parameter: prompt length exceeds the limit');
        const problem = validate(request.json);
        if (problem) return envelope(422, problem);
        const task = createTask(request);
        context.countCreate(request);
        if (context.has(request, 'empty_200')) return { status: 200, headers: { 'content-length': '0' } };
        return envelope(200, 'success', { taskId: task.taskId });
      },
    },
    {
      method: 'GET',
      path: /^\/api\/v1\/generate\/record-info$/,
      name: 'query',
      handle(request) {
        tick();
        const failure = scenarioError(request.scenarios);
        if (failure) return failure;
        if (context.has(request, 'empty_200')) return { status: 200, headers: { 'content-length': '0' } };
        const taskId = request.query.get('taskId');
        if (!taskId) return envelope(422, 'taskId is required');
        const task = context.tasks.get(taskId) as SunoMockTask | undefined;
        const missing = context.has(request, 'not_found') ?? (task ? context.notFound(task.scenarios, task.acceptedAt) : undefined);
        // kie answers a task it does not know with code 422 "recordInfo is null" (also for a moment after a create).
        if (!task || missing) return missing?.options.shape === 'kie' ? envelope(422, 'recordInfo is null') : envelope(404, 'Task not found');
        advance(task);
        return envelope(200, 'success', record(task));
      },
    },
  ];
};

/** One Suno mock on its own port; the CDN TTL defaults to Suno's 14 days. */
export function startSunoMock(options: MockOptions = {}) {
  return startFamily(sunoFamily, 'suno', { cdnTtlSeconds: SUNO_CDN_TTL_SECONDS, ...options });
}
