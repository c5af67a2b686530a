import type {
  SunoCallback,
  SunoCallbackTrackWire,
  SunoEnvelope,
  SunoRecord,
  SunoRecordTrackWire,
  SunoRecordWire,
  SunoTrack,
} from './suno-api-types.js';

/**
 * Two decoders feeding one model (PROVIDERS §10 quirk 5): record-info answers in camelCase, callbacks in
 * snake_case. Both parse JSON-in-strings defensively (quirk 27: `param`, and resellers that double-encode
 * `response` or the whole body), and never throw: a shape they cannot read decodes to null.
 */

type Loose = Record<string, unknown>;

/** Parses a value that may be JSON text, JSON text of JSON text, or already an object. */
export function parseMaybeJson(value: unknown, depth = 2): unknown {
  let current = value;
  for (let level = 0; level < depth && typeof current === 'string'; level += 1) {
    const text = current.trim();
    if (!text || !/^[[{"]/.test(text)) break;
    try {
      current = JSON.parse(text) as unknown;
    } catch {
      break;
    }
  }
  return current;
}

function asObject(value: unknown): Loose | null {
  const parsed = parseMaybeJson(value);
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Loose) : null;
}

function asArray(value: unknown): unknown[] {
  const parsed = parseMaybeJson(value);
  return Array.isArray(parsed) ? parsed : [];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Durations come as numbers or numeric strings; anything else is unknown, never 0. */
function seconds(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

/** Body `code` as a number; a missing code is "no envelope" (undefined), not success. */
export function envelopeCode(body: unknown): number | undefined {
  const envelope = asObject(body) as SunoEnvelope<unknown> | null;
  if (!envelope || envelope.code === undefined || envelope.code === null) return undefined;
  const code = Number(envelope.code);
  return Number.isFinite(code) ? code : undefined;
}

export function envelopeMessage(body: unknown): string | undefined {
  return text((asObject(body) as SunoEnvelope<unknown> | null)?.msg);
}

export function envelopeData(body: unknown): unknown {
  return asObject(body)?.data;
}

function track(id: string | undefined, fields: Omit<SunoTrack, 'id'>): SunoTrack | null {
  if (!id) return null;
  const result: SunoTrack = { id };
  for (const [key, value] of Object.entries(fields) as Array<[keyof Omit<SunoTrack, 'id'>, unknown]>) {
    if (value !== undefined) (result as unknown as Loose)[key] = value;
  }
  return result;
}

function recordTrack(raw: unknown): SunoTrack | null {
  const wire = asObject(raw) as SunoRecordTrackWire | null;
  if (!wire) return null;
  return track(text(wire.id), {
    audioUrl: text(wire.audioUrl),
    streamAudioUrl: text(wire.streamAudioUrl),
    imageUrl: text(wire.imageUrl),
    title: text(wire.title),
    tags: text(wire.tags),
    modelName: text(wire.modelName),
    durationSeconds: seconds(wire.duration),
  });
}

function callbackTrack(raw: unknown): SunoTrack | null {
  const wire = asObject(raw) as SunoCallbackTrackWire | null;
  if (!wire) return null;
  return track(text(wire.id), {
    audioUrl: text(wire.audio_url),
    streamAudioUrl: text(wire.stream_audio_url),
    imageUrl: text(wire.image_url),
    title: text(wire.title),
    tags: text(wire.tags),
    modelName: text(wire.model_name),
    durationSeconds: seconds(wire.duration),
  });
}

/** `data` of a record-info answer → the internal record, or null when it is not one. */
export function decodeRecordInfo(data: unknown): SunoRecord | null {
  const wire = asObject(data) as SunoRecordWire | null;
  if (!wire) return null;
  const response = asObject(wire.response);
  const taskId = text(wire.taskId) ?? text(response?.taskId);
  const status = text(wire.status);
  if (!taskId || !status) return null;
  const record: SunoRecord = {
    taskId,
    status,
    tracks: asArray(response?.sunoData).map(recordTrack).filter((item): item is SunoTrack => item !== null),
  };
  const errorCode = text(wire.errorCode);
  const errorMessage = text(wire.errorMessage);
  if (errorCode) record.errorCode = errorCode;
  if (errorMessage) record.errorMessage = errorMessage;
  return record;
}

/** A callback body (object, JSON text or bytes) → the internal callback, or null when it is not a Suno callback. */
export function decodeCallback(body: unknown): SunoCallback | null {
  const envelope = asObject(Buffer.isBuffer(body) ? body.toString('utf8') : body);
  if (!envelope) return null;
  const data = asObject(envelope.data);
  // The id is snake_case in callbacks; camelCase is accepted too because some relays re-encode the body.
  const taskId = text(data?.task_id) ?? text(data?.taskId) ?? text(envelope.task_id) ?? text(envelope.taskId);
  const callbackType = text(data?.callbackType) ?? text(data?.callback_type);
  const code = envelopeCode(envelope);
  if (!taskId || (callbackType === undefined && code === undefined)) return null;
  const callback: SunoCallback = {
    taskId,
    callbackType: callbackType ?? (code === 200 ? 'complete' : 'error'),
    code: code ?? 200,
    tracks: asArray(data?.data).map(callbackTrack).filter((item): item is SunoTrack => item !== null),
  };
  const message = text(envelope.msg);
  if (message) callback.message = message;
  return callback;
}
