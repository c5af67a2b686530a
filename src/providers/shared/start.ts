import type { ProviderContext, ProviderError } from '../spec.js';
import type { UpstreamResponse } from './http.js';
import { networkStartFailure, startFailure, unusableSuccess, type StartFailure } from './start-failure.js';

/**
 * The one start sequence of every HTTP adapter: check the channel, send the create, read the answer in the
 * family's terms, and let the shared classifier (start-failure.ts) decide `rejected` / `unknown`. A family supplies
 * only its wire format: how to send (`send`), how to read an error answer (`readError`, its code → class table) and
 * what a success carries (`accept`). Local validation of the request happens before, in the family's builder, and is
 * a plain `rejected` (nothing was sent).
 */
export interface CreateCall<T> {
  /** Names the call in operator messages: `ark video create`, `suno create`. */
  label: string;
  /** Sends the create; throws `UpstreamNetworkError` on transport failures (as `upstreamRequest` does). */
  send(): Promise<UpstreamResponse>;
  /** The family's reading of an answer that is an error (HTTP status or error envelope), or null for a success. */
  readError(response: UpstreamResponse): CreateError | null;
  /** What a success answer carries (task id, result), or null when it carries nothing usable (quirk 10). */
  accept(response: UpstreamResponse): T | null;
}

export interface CreateError {
  error: ProviderError;
  /** The status that decides, when it is not the HTTP status (a numeric envelope code inside a 2xx). */
  status?: number;
  /** The family's code table says the upstream refused the job before doing any work (start-failure.ts). */
  refused?: boolean;
}

export type CreateAnswer<T> =
  | { ok: true; value: T; response: UpstreamResponse }
  /** `response` is absent when the create failed in transit. */
  | { ok: false; failure: StartFailure; response?: UpstreamResponse };

export async function submitCreate<T>(call: CreateCall<T>): Promise<CreateAnswer<T>> {
  let response: UpstreamResponse;
  try {
    response = await call.send();
  } catch (error) {
    return { ok: false, failure: networkStartFailure(error, call.label) };
  }
  const failed = call.readError(response);
  if (failed) {
    const cause = { kind: 'answer' as const, status: failed.status ?? response.status, ...(failed.refused ? { refused: true } : {}) };
    return { ok: false, failure: startFailure(cause, failed.error), response };
  }
  const value = call.accept(response);
  if (value === null) return { ok: false, failure: unusableSuccess(response, call.label), response };
  return { ok: true, value, response };
}

export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * A channel that cannot be called at all: checked before anything is sent, so the start is surely `rejected`, with
 * class `auth` so the engine fails over and the operator sees the account as unusable. Families with a default
 * base URL pass `{ baseUrl: false }`.
 */
export function missingChannel(context: ProviderContext, provider: string, needs: { baseUrl: boolean }): ProviderError | null {
  if (!context.credential) return { class: 'auth', message: `${provider}: channel has no credential` };
  if (needs.baseUrl && !context.baseUrl) return { class: 'auth', message: `${provider}: channel has no base URL` };
  return null;
}
