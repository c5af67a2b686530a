import type { ProviderError, StartResult } from '../spec.js';
import { UpstreamNetworkError, type UpstreamResponse } from './http.js';

/**
 * The one classifier of start (create / submit) failures, the same rule for every adapter (issue 9, PROVIDERS §0.4,
 * SEMANTICS T5). A failed start is either
 *
 * - `rejected`: the job certainly never reached the upstream's generation, so it cannot have been created or
 *   billed, and the engine may retry it elsewhere. That is:
 *     - a network failure before any byte of the request was sent (`UpstreamNetworkError.sent === false`:
 *       connection refused, DNS failure, unreachable network, connect timeout);
 *     - an HTTP 4xx answer (400–499, 408 and 429 included): the upstream refused the request itself;
 *     - an error the family's code table identifies as a refusal although the status does not say so
 *       (`refused: true`): an error code inside a 2xx envelope that names a validation, auth, quota or rate
 *       problem (DashScope, quirk 8), or new-api's 503 "no channel for this model", decided before it relays.
 *       Families whose envelope carries a numeric, HTTP-like code (Suno, APIMart) pass that code as the status.
 * - `unknown`: the job may have landed (and may be billed), so it is never resubmitted blindly. That is everything
 *   else: a network failure after the request was (or may have been) sent — a timeout waiting for the answer, a
 *   reset, an abort —, any error that is not a network error (thrown while sending; we cannot tell how far the
 *   request got), a 5xx, a 1xx/3xx, an error carried in a 2xx that the family cannot place, and a 2xx without
 *   the id or result a success must carry (quirk 10: never a success, never a rejection).
 *
 * The error class stays the family's (its own code → class table); only the outcome is decided here. Network
 * failures are always class `network`; a 2xx without a usable body is `network` when empty, else `upstream_error`.
 */
export type StartFailure = Extract<StartResult, { outcome: 'rejected' | 'unknown' }>;

export type StartFailureCause =
  /** Thrown while sending the create (normally an `UpstreamNetworkError`). */
  | { kind: 'network'; error: unknown }
  /**
   * An answer that is not a usable success. `status` is the status that decides: the HTTP status, or the numeric
   * code of an error envelope carried in a 2xx. `refused` marks a family-known refusal (see above).
   */
  | { kind: 'answer'; status: number; refused?: boolean };

export function startOutcome(cause: StartFailureCause): StartFailure['outcome'] {
  if (cause.kind === 'network') return cause.error instanceof UpstreamNetworkError && !cause.error.sent ? 'rejected' : 'unknown';
  if (cause.refused) return 'rejected';
  return cause.status >= 400 && cause.status < 500 ? 'rejected' : 'unknown';
}

export function startFailure(cause: StartFailureCause, error: ProviderError): StartFailure {
  return { outcome: startOutcome(cause), error };
}

/** A create that failed in transit. `label` names the call in the operator message (`ark video create`). */
export function networkStartFailure(error: unknown, label: string): StartFailure {
  const detail =
    error instanceof UpstreamNetworkError
      ? `${error.timedOut ? 'timeout' : 'network error'}${error.sent ? '' : ' (not sent)'}: ${error.message}`
      : `request failed: ${error instanceof Error ? error.message : String(error)}`;
  return startFailure({ kind: 'network', error }, { class: 'network', message: `${label}: ${detail}` });
}

/** A 2xx that carries no task id or result (quirk 10): the job may exist upstream, so the outcome is unknown. */
export function unusableSuccess(response: UpstreamResponse, label: string): StartFailure {
  const empty = response.text.trim() === '';
  const message = `${label}: HTTP ${response.status} with ${empty ? 'an empty body' : 'a body without a task id or result'}`;
  return startFailure({ kind: 'answer', status: response.status }, { class: empty ? 'network' : 'upstream_error', message });
}
