import type { CanonicalStatus, JsonValue, ProviderError, StatusResult, UsageFacts } from '../spec.js';

/**
 * The operation the engine stores for an xAI task. It holds only what `status()` needs and nothing secret or
 * bulky: no credential, no base URL (both come from the context), no base64 bytes.
 *
 * Once a terminal answer is known it is kept in `final`, so later `status()` calls repeat it without another
 * request: this is how a synchronous image create answers `status()` the same way as `start()`, and how a video
 * task can never move backwards after a terminal state (PROVIDERS §0.2).
 */
export interface FinalOutput {
  url: string;
  contentType: string;
  durationSeconds?: number;
}

export interface FinalRecord {
  status: Exclude<CanonicalStatus, 'queued' | 'running'>;
  outputs?: FinalOutput[];
  usage: UsageFacts;
  error?: ProviderError;
}

export interface XaiImageOperation {
  v: 1;
  kind: 'image';
  taskId: string;
  final: FinalRecord;
}

export interface XaiVideoOperation {
  v: 1;
  kind: 'video';
  requestId: string;
  mode: 'generate' | 'edit';
  /** Requested duration, the fallback fact when the poll omits `video.duration`. */
  seconds?: number;
  /** Effective resolution sent (edits keep the source's, so it is absent there). */
  resolution?: string;
  /** Last non-terminal status reported, so a later, lower one is ignored. */
  seen?: { status: 'queued' | 'running'; progress: number };
  final?: FinalRecord;
}

export type XaiOperation = XaiImageOperation | XaiVideoOperation;

export function toJson(operation: XaiOperation): JsonValue {
  return JSON.parse(JSON.stringify(operation)) as JsonValue;
}

export function readOperation(raw: JsonValue): XaiOperation | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const value = raw as Record<string, unknown>;
  if (value.kind === 'image' && value.final && typeof value.final === 'object') return raw as unknown as XaiImageOperation;
  if (value.kind === 'video' && typeof value.requestId === 'string') return raw as unknown as XaiVideoOperation;
  return null;
}

export function fromFinal(final: FinalRecord): StatusResult {
  const result: StatusResult = { status: final.status, usage: { ...final.usage } };
  if (final.status === 'succeeded') result.progress = 100;
  if (final.outputs) result.outputs = final.outputs.map((output) => ({ ...output }));
  if (final.error) result.error = { ...final.error };
  return result;
}
