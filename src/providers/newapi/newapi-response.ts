import { parseVideoSize } from '../../lib/video-size.js';
import { asObject, asString, type Dialect, type Json, type Snapshot } from './newapi-api-types.js';
import { parseProgress } from './newapi-status.js';

/**
 * Decoders of create and query answers. Forks disagree on envelopes (a bare object, `{"code":"success","data":{…}}`,
 * APIMart's `data` array on create, §10 #28), so each reader tries the shapes it knows and reports "nothing usable"
 * rather than guessing.
 */

/** The upstream task id of a create answer, or undefined when the body has none (treated as an unknown outcome). */
export function createdId(json: unknown): string | undefined {
  const body = asObject(json);
  if (!body) return undefined;
  const data = body.data;
  // §10 #28: APIMart answers `data: [{ task_id, status }]`.
  const first = Array.isArray(data) ? asObject(data[0]) : asObject(data);
  return asString(body.task_id) ?? asString(body.id) ?? asString(first?.task_id) ?? asString(first?.id);
}

/** `Number()` on strings too: `seconds` is `"8"` in new-api and OpenAI video objects (§10 #3). */
function seconds(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

function lowercase(value: unknown): string | undefined {
  return asString(value)?.toLowerCase();
}

/** `error` is an object `{code, message}` at most forks, a bare string at some. */
function errorFields(value: unknown): Pick<Snapshot, 'errorCode' | 'errorMessage'> {
  const text = asString(value);
  if (text) return { errorMessage: text };
  const error = asObject(value);
  if (!error) return {};
  const code = asString(error.code) ?? (typeof error.code === 'number' ? String(error.code) : undefined);
  const message = asString(error.message);
  return { ...(code ? { errorCode: code } : {}), ...(message ? { errorMessage: message } : {}) };
}

function firstUrl(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstUrl(value[0]);
  return asString(value) ?? asString(asObject(value)?.url);
}

function compact(snapshot: Snapshot): Snapshot {
  return Object.fromEntries(Object.entries(snapshot).filter(([, value]) => value !== undefined)) as unknown as Snapshot;
}

function apimart(body: Json): Snapshot | undefined {
  const data = asObject(body.data);
  const rawStatus = asString(data?.status);
  if (!data || !rawStatus) return undefined;
  const result = asObject(data.result);
  const videos = Array.isArray(result?.videos) ? result.videos : [];
  // `result.videos[i].url` is itself an array of URLs.
  const url = firstUrl(asObject(videos[0])?.url) ?? firstUrl(result?.url);
  return compact({
    rawStatus,
    progress: parseProgress(data.progress),
    url,
    ...errorFields(data.error),
    seconds: seconds(data.duration),
    resolution: lowercase(data.resolution),
  });
}

function newapiLike(outer: Json): Snapshot | undefined {
  // Older forks wrap the task in `{"code":"success","data":{…}}`.
  const body = asString(outer.status) ? outer : (asObject(outer.data) ?? outer);
  const rawStatus = asString(body.status);
  if (!rawStatus) return undefined;
  const metadata = asObject(body.metadata);
  const content = asObject(body.content);
  const size = asString(body.size);
  return compact({
    rawStatus,
    progress: parseProgress(body.progress),
    url: asString(body.url) ?? asString(body.video_url) ?? asString(content?.video_url) ?? asString(metadata?.url) ?? asString(body.result_url),
    format: lowercase(body.format),
    ...errorFields(body.error ?? body.fail_reason),
    seconds: seconds(body.seconds) ?? seconds(body.duration) ?? seconds(metadata?.duration),
    resolution: lowercase(body.resolution) ?? lowercase(metadata?.resolution) ?? (size ? parseVideoSize(size)?.resolution : undefined),
  });
}

export function snapshotOf(dialect: Dialect, json: unknown): Snapshot | undefined {
  const body = asObject(json);
  if (!body) return undefined;
  return dialect === 'apimart' ? apimart(body) : newapiLike(body);
}

export function queryPath(dialect: Dialect, id: string): string {
  const encoded = encodeURIComponent(id);
  if (dialect === 'apimart') return `/tasks/${encoded}`;
  if (dialect === 'openai-videos') return `/videos/${encoded}`;
  return `/video/generations/${encoded}`;
}
