/**
 * Types of the `newapi` family (PROVIDERS §8): another gateway in the new-api `/v1/video/generations` style. Three
 * dialects share one adapter because resellers fork the same codebase and differ only in paths and envelopes; the
 * dialect is a channel setting because nothing on the wire says which one a reseller speaks (unverified upstream
 * behaviour: keep configurable).
 */
export type Dialect = 'newapi' | 'openai-videos' | 'apimart';

/**
 * Channel settings the adapter reads (all optional):
 * - `dialect`: 'newapi' (default) | 'openai-videos' | 'apimart'.
 * - `timeoutMs`: headers/body timeout of create and query calls (default 30 000).
 * - `downloadTimeoutMs`: timeout of the openai-videos `/content` download (default 120 000).
 * - `callbacks`: forward the engine's callback URL as `metadata.callback_url` (default true; newapi dialect only).
 * - `defaultSeconds` / `defaultResolution`: usage facts when the request and the echo both lack them (5, '720p').
 * - `resolutions`: resolutions the reseller accepts, lowercase (default 480p, 720p, 1080p — RelayDance limits).
 * - `maxImages` / `maxVideos` / `maxAudios`: reference limits (default 9 / 3 / 3 — RelayDance limits).
 * - `generateAudio` / `watermark`: sent when the request does not say (default false / false); always sent
 *   explicitly because the reseller copies metadata into the Ark body, whose defaults differ per field (§10 #17).
 * - `balance`: read the key's remaining balance from the new-api billing routes (newapi-balance.ts, §8.1). Default
 *   true in the `newapi` dialect (new-api / one-api document them), false in the others (APIMart and bare OpenAI
 *   video servers do not); set true for an `openai-videos` channel that is a new-api install.
 */
export interface NewapiSettings {
  dialect: Dialect;
  timeoutMs: number;
  downloadTimeoutMs: number;
  callbacks: boolean;
  defaultSeconds: number;
  defaultResolution: string;
  resolutions: string[];
  maxImages: number;
  maxVideos: number;
  maxAudios: number;
  generateAudio: boolean;
  watermark: boolean;
  balance: boolean;
}

const DIALECTS: readonly Dialect[] = ['newapi', 'openai-videos', 'apimart'];

function numberSetting(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

export function readSettings(raw: Record<string, unknown>): NewapiSettings {
  const dialect = DIALECTS.find((candidate) => candidate === raw.dialect) ?? 'newapi';
  const resolutions = Array.isArray(raw.resolutions) && raw.resolutions.every((item) => typeof item === 'string')
    ? (raw.resolutions as string[]).map((item) => item.toLowerCase())
    : ['480p', '720p', '1080p'];
  return {
    dialect,
    timeoutMs: numberSetting(raw.timeoutMs, 30_000),
    downloadTimeoutMs: numberSetting(raw.downloadTimeoutMs, 120_000),
    callbacks: raw.callbacks !== false,
    defaultSeconds: numberSetting(raw.defaultSeconds, 5),
    defaultResolution: typeof raw.defaultResolution === 'string' ? raw.defaultResolution.toLowerCase() : '720p',
    resolutions,
    maxImages: numberSetting(raw.maxImages, 9),
    maxVideos: numberSetting(raw.maxVideos, 3),
    maxAudios: numberSetting(raw.maxAudios, 3),
    generateAudio: raw.generateAudio === true,
    watermark: raw.watermark === true,
    balance: typeof raw.balance === 'boolean' ? raw.balance : dialect === 'newapi',
  };
}

/**
 * What `start` hands the engine to store. Only what `status` needs after a restart: the dialect (settings may
 * change while a task runs), the upstream id and the requested facts resellers do not echo reliably (§12). Never
 * the credential or the upstream host: those come from the channel on every call.
 */
export interface NewapiOperation {
  v: 1;
  dialect: Dialect;
  id: string;
  seconds?: number;
  resolution?: string;
  /** Highest non-terminal rank seen (0 queued, 1 running), so a reseller's stale answer never moves us backwards. */
  seen?: number;
  /** Last unrecognised upstream status, kept for operators (PROVIDERS §0.2 `unknown_status`). */
  unknownStatus?: string;
}

/** One upstream task answer, reduced to what every dialect can say. */
export interface Snapshot {
  rawStatus: string;
  progress?: number;
  url?: string;
  format?: string;
  errorCode?: string;
  errorMessage?: string;
  seconds?: number;
  resolution?: string;
}

/** Loose JSON access: reseller bodies vary, so every field is read defensively. */
export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
