import type { GenerationKind, GenerationParams, JsonValue } from '../../providers/spec.js';

/** Internal task states (SEMANTICS §6); faces show `dispatching` and `submitted` as `queued`. */
export type TaskStatus = 'queued' | 'dispatching' | 'submitted' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
/**
 * The API face a task was created through, which decides the shape of its views and callbacks (stored in
 * `tasks.face`). Two face names equal provider ids by coincidence (the OpenAI-compatible and the new-api wire formats);
 * this is the one place they are spelled, and the source rules allow it.
 */
export const FACES = { native: 'native', openai: 'openai', jobs: 'jobs', newapi: 'newapi' } as const;
export type Face = (typeof FACES)[keyof typeof FACES];

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export interface StoredReference {
  type: 'image' | 'video' | 'audio';
  role: string;
  /** A customer URL, fetched by the worker through the SSRF guard. */
  url?: string;
  /** Inline media written to storage before the hot path (SEMANTICS R8). */
  file_id?: string;
  strength?: 'low' | 'mid' | 'high';
}

/**
 * The canonical request kept on the task (`tasks.request`), after validation and defaults: the adapter's
 * `GenerationParams` as they are, plus the prompt and the references as stored (URLs or file ids).
 */
export interface StoredRequest extends GenerationParams {
  prompt: string;
  references: StoredReference[];
  /** Fields a face accepted and echoes back but the engine does not act on (e.g. OpenAI `user`). */
  extra?: Record<string, JsonValue>;
}

export interface ResultFile {
  id: string;
  content_type: string;
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
}

export interface TaskRow {
  id: string;
  customer_id: string;
  mode: 'live' | 'test';
  api_key_id: string;
  type: GenerationKind | 'chat' | 'embedding';
  model: string;
  status: TaskStatus;
  idempotency_key: string | null;
  fingerprint: string | null;
  face: Face;
  request: StoredRequest;
  callback_url: string | null;
  metadata: Record<string, JsonValue> | null;
  progress: number;
  result: { files: ResultFile[] } | null;
  hold_amount: bigint;
  charged: bigint;
  /** Upstream cost in credits (M11, migration 0010): null while open or when the route had no cost for the model; 0 when released. */
  cost_credits: bigint | null;
  /** The catalogue price version and group percent the task was reserved under (M9, M10); null before migration 0009. */
  price_version: number | null;
  price_percent: number | null;
  error_code: string | null;
  channel_id: string | null;
  credential_id: string | null;
  tried_channels: string[];
  provider: string | null;
  provider_task_id: string | null;
  operation: JsonValue | null;
  upstream_error: JsonValue | null;
  lease_owner: string | null;
  lease_until: Date | null;
  attempts: number;
  next_action_at: Date | null;
  submitted_at: Date | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}
