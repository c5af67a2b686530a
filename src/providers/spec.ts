/**
 * The provider adapter contract. An adapter turns one canonical generation request into upstream calls and
 * upstream answers back into canonical facts. Adapters are pure with respect to genrelay: they receive settings,
 * a credential, a clock and an HTTP client, and never see a database, a Fastify request, a customer or a queue.
 *
 * Lifecycle, driven by the task engine (SEMANTICS §6):
 *   1. `start(request, context)` once per dispatch attempt. The adapter submits the job and returns an opaque,
 *      JSON-serialisable `operation` that the core stores on the task; every later call gets it back. The task id
 *      is passed as the upstream idempotency key / client reference (SEMANTICS T4).
 *   2. `status(operation, context)` whenever the poller (or a callback hint, or the sweeper) asks. It must be safe
 *      to call any number of times, from any process, after restarts: everything it needs is in `operation`.
 *      When the upstream says the task does not exist (HTTP 404 on the read, DashScope `UNKNOWN`, new-api
 *      `task_not_exist`, …) it answers `taskNotFound()` from `shared/task-not-found.ts` (`TaskNotFoundStatus`)
 *      at once, whatever the family: no grace of its own, no guess between `expired` and `failed`, no throw, and
 *      nothing remembered in the operation. The engine owns the grace window and the outcome.
 *   3. `cancel(operation, context)` (optional) when the customer cancels a submitted task.
 *
 * Failures are data, not exceptions: `start` answers `rejected` (surely not accepted upstream) or `unknown` (may
 * have been accepted; SEMANTICS T5) with a canonical error class (PROVIDERS §0.3). Which of the two is decided by
 * one rule for every adapter, `shared/start-failure.ts`, applied by the one start sequence `shared/start.ts`. An
 * adapter may throw only for programming errors; the engine treats a throw from `start` as `unknown` and from
 * `status` as a transient read. Upstream messages, ids, hosts and credentials never leave the adapter in a
 * customer-visible field: `message` is for operators' logs, the customer sees only the canonical task error code
 * (SEMANTICS T14), and every message passes the shared sanitizer on its way out (`shared/safe-messages.ts`).
 *
 * The provider toolkit (`shared/`): `http.ts` / `http-stream.ts` (upstream calls), `start.ts` + `start-failure.ts`
 * (the start sequence and its outcome rule), `status-table.ts` (status tables as data), `task-not-found.ts`,
 * `sanitize.ts` + `safe-messages.ts` (operator-safe messages), `media-sniff.ts`, and `safe-fetch.ts` /
 * `url-policy.ts` (customer and result URLs). A provider folder holds only its wire format and its code → class
 * table; a new provider is one folder, one line in `registry.ts`, one mock and the conformance suite.
 */
import type { Clock } from '../lib/clock.js';

export type GenerationKind = 'video' | 'image' | 'music';

/** PROVIDERS §0.3. */
export type ErrorClass =
  | 'invalid_request'
  | 'moderation_input'
  | 'moderation_output'
  | 'auth'
  | 'upstream_quota'
  | 'rate_limited'
  | 'upstream_error'
  | 'network'
  | 'not_found'
  | 'unsupported';

export interface ProviderError {
  class: ErrorClass;
  /** Operator-facing detail; never shown to customers. */
  message: string;
  retryAfterSeconds?: number;
  /** Set only on the one status answer for a task the upstream does not know (`TaskNotFoundStatus`). */
  kind?: 'task_not_found';
}

export interface ReferenceInput {
  type: 'image' | 'video' | 'audio';
  role: string;
  /** Bytes already fetched through the guarded client (or decoded from inline data) by the engine. */
  bytes: Buffer;
  contentType: string;
  /** A URL the upstream may fetch itself, when the engine has one it may share (a signed genrelay link). */
  url?: string;
  strength?: 'low' | 'mid' | 'high';
}

/** The canonical request, as stored on the task after validation and defaults. */
/**
 * The generation parameters, in one shape from the create-task workflow through the stored task (`tasks.request`)
 * to the adapter: faces translate their own fields into these once, and nothing maps them field by field again.
 */
export interface GenerationParams {
  seconds?: number;
  ratio?: string;
  resolution?: string;
  size?: string;
  quality?: string;
  n?: number;
  generate_audio?: boolean;
  seed?: number;
  style?: string;
  title?: string;
  instrumental?: boolean;
  response_format?: 'url' | 'b64_json';
}

export interface GenerationRequest extends GenerationParams {
  taskId: string;
  kind: GenerationKind;
  /** Public model id; the adapter maps it to an upstream model with `context.upstreamModel`. */
  model: string;
  prompt: string;
  references: ReferenceInput[];
}

export interface ProviderContext {
  clock: Clock;
  /** Upstream model id for this channel (the channel's model mapping); the public id when there is none. */
  upstreamModel: string;
  baseUrl?: string;
  credential?: string;
  settings: Record<string, unknown>;
  /** Where the upstream may POST progress callbacks, when the adapter supports them. */
  callbackUrl?: string;
  /** 1-based dispatch attempt number of this task. */
  attempt: number;
  signal?: AbortSignal;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type StartResult =
  /** `completed` is set by synchronous upstreams (images) whose create already carries the result. */
  | { outcome: 'accepted'; operation: JsonValue; providerTaskId: string; completed?: StatusResult }
  | { outcome: 'rejected'; error: ProviderError }
  | { outcome: 'unknown'; error: ProviderError };

export type CanonicalStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/** A produced file: bytes the adapter already holds, or a URL the engine downloads through the SSRF guard. */
export interface ProviderOutput {
  contentType: string;
  bytes?: Buffer;
  url?: string;
  width?: number;
  height?: number;
  durationSeconds?: number;
}

/** Usage facts (PROVIDERS §12); pricing turns them into credits. Adapters never compute credits. */
export interface UsageFacts {
  video_seconds?: number;
  video_resolution?: string;
  image_count?: number;
  image_size?: string;
  image_quality?: string;
  music_tracks?: number;
  music_seconds?: number;
  generations?: number;
  billable: boolean;
}

export interface StatusResult {
  status: CanonicalStatus;
  /** 0–100 when known. */
  progress?: number;
  outputs?: ProviderOutput[];
  usage?: UsageFacts;
  error?: ProviderError;
  /** A replacement operation to store (e.g. upstream ids learned late). */
  operation?: JsonValue;
}

/**
 * `status()`'s answer when the upstream does not know the task (purged, lost, never created, another account):
 * always exactly this shape, built by `taskNotFound()` (shared/task-not-found.ts). The engine treats it as "no news"
 * for a grace window after acceptance (replication lag right after a create), then releases the task `failed`
 * with `provider_error`, charged 0 (README, "Upstreams, channels and accounts").
 */
export interface TaskNotFoundStatus extends StatusResult {
  status: 'failed';
  usage: { billable: false };
  error: ProviderError & { class: 'not_found'; kind: 'task_not_found' };
}

export interface AdapterCapabilities {
  kinds: GenerationKind[];
  /** The upstream POSTs status changes to `context.callbackUrl`; `parseCallback` reads them. */
  callbacks?: boolean;
  /** Supports `cancel` of a submitted task. */
  cancel: boolean;
  /** Re-submitting with the same task id cannot create a second upstream job (SEMANTICS T5, T6). */
  idempotentCreates: boolean;
}

export interface ProviderAdapter {
  readonly id: string;
  readonly capabilities: AdapterCapabilities;
  start(request: GenerationRequest, context: ProviderContext): Promise<StartResult>;
  status(operation: JsonValue, context: ProviderContext): Promise<StatusResult>;
  cancel?(operation: JsonValue, context: ProviderContext): Promise<{ cancelled: boolean }>;
  /**
   * Reads an upstream callback body (a hint, SEMANTICS T7): returns the upstream task id it is about, or null when
   * the body is not one of this upstream's callbacks. The engine then re-reads the status with `status()`.
   */
  parseCallback?(body: unknown, headers: Record<string, string | string[] | undefined>): { providerTaskId: string } | null;
  /** Chat and embeddings, for adapters whose upstream serves text. */
  readonly text?: TextAdapter;
  /**
   * The remaining balance of the account behind `context.credential`, for upstreams whose wire contract documents a
   * balance read (PROVIDERS §1.4, §8.1: new-api's billing routes). Optional: only such adapters have it. The engine
   * reads it on the operator's account test and on a schedule, and routes around an account whose balance is ≤ 0.
   * Null when the upstream answered without a usable figure.
   */
  balance?(context: ProviderContext): Promise<BalanceReading | null>;
}

/** An upstream-reported remaining balance, in the upstream's own unit (money or credits). */
export interface BalanceReading {
  amount: number;
  currency?: string;
}

/**
 * Text (chat completions and embeddings, PROVIDERS §4.2, §4.3, §7). These are synchronous passthroughs: the engine
 * sends the client's OpenAI body (model replaced by `context.upstreamModel`, `stream_options.include_usage` forced
 * on for metering) and relays the answer. Failures before any output are `{ ok: false }` with a canonical class
 * (the engine may fail over); after output has started, a stream simply ends with `error` set.
 */
export interface TokenUsage {
  tokens_in: number;
  tokens_in_cached?: number;
  /** Output tokens excluding reasoning (PROVIDERS quirk 21). */
  tokens_out: number;
  tokens_reasoning?: number;
}

/** One server-sent event from the upstream, already split: `data` is the raw JSON text (never `[DONE]`). */
export interface TextStreamEvent {
  data: string;
  /** Parsed `data`; adapters normalise usage out of it. */
  json: Record<string, unknown>;
}

export type TextResult =
  | { ok: false; error: ProviderError; status?: number }
  | { ok: true; stream: false; body: Record<string, unknown>; usage: TokenUsage | null }
  | {
      ok: true;
      stream: true;
      /**
       * Events as they arrive, in batches (those that came in one read of the upstream, never empty); ends at the
       * upstream's `[DONE]` or when the connection drops.
       */
      events: AsyncIterable<TextStreamEvent[]>;
      /** Usage the upstream reported (the final `choices: []` chunk), once the stream has ended; null if none. */
      usage(): TokenUsage | null;
      /** Set when the stream ended with an error event or a dropped connection. */
      error(): ProviderError | null;
      /**
       * True once the upstream's stream is over ([DONE], an error event, the connection dropped or its body ended):
       * the batch just handed out is the last one (the relay writes it with its own end, in one write).
       */
      ended(): boolean;
      abort(): void;
    };

export interface TextAdapter {
  chat(body: Record<string, unknown>, stream: boolean, context: ProviderContext): Promise<TextResult>;
  embeddings?(body: Record<string, unknown>, context: ProviderContext): Promise<TextResult>;
}

/** Builds an adapter from operator settings; the registry maps provider ids to factories. */
export type AdapterFactory = (settings: Record<string, unknown>) => ProviderAdapter;
