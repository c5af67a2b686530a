import { createHash } from 'node:crypto';
import type { MockContext, MockReply, MockRequest } from '../shared/harness.js';

/**
 * What the Ark video and image mocks share: the error body (PROVIDERS §2.3, with the trailing "Request id"),
 * the scenario errors every create answers (§11.3), and the per-server state that is not a task.
 */
export class ArkMockState {
  private requests = 0;
  /** Prompts already moderated once (`moderation_output_once`: the resubmission passes). */
  readonly moderatedOnce = new Set<string>();
  lastListAt: number | null = null;
  images = 0;

  constructor(readonly context: MockContext) {}

  /** Deterministic "0217…" request ids, from a counter of their own so task ids stay stable. */
  requestId(): string {
    this.requests += 1;
    return `0217${createHash('sha256').update(`ark-request:${this.requests}`).digest('hex').slice(0, 28)}`;
  }

  error(status: number, code: string, message: string, headers?: Record<string, string>): MockReply {
    return {
      status,
      body: { error: { code, message: `${message} Request id: ${this.requestId()}`, param: '', type: '' } },
      ...(headers ? { headers } : {}),
    };
  }
}

/** Account- and request-level failures a create can be told to answer, in Ark's own codes (§11.3). */
export function scenarioError(state: ArkMockState, request: MockRequest, hasImages: boolean): MockReply | null {
  const has = (id: string) => state.context.has(request, id);
  if (has('unauthorized')) return state.error(401, 'AuthenticationError', 'The API key in the request is missing or invalid.');
  if (has('quota_exhausted')) return state.error(403, 'AccountOverdueError', 'The request failed because your account has an overdue balance.');
  const limited = has('rate_limited');
  if (limited) {
    const seconds = limited.options.retry_after ?? '1';
    return state.error(429, 'RateLimitExceeded.EndpointRPMExceeded', 'The request has exceeded the rate limit (RPM) of the endpoint.', { 'retry-after': seconds });
  }
  if (has('overloaded')) return state.error(429, 'ServerOverloaded', 'The service is currently unable to handle additional requests due to server overload.');
  if (has('server_error')) return state.error(500, 'InternalServiceError', 'The service encountered an unexpected internal error.');
  if (has('invalid_param')) return state.error(400, 'InvalidParameter', 'The parameter `content` specified in the request is not valid: mixed first frame and reference modes.');
  if (has('moderation_input')) {
    return hasImages
      ? state.error(400, 'InputImageSensitiveContentDetected.PrivacyInformation', 'The request failed because the input image may contain real person.')
      : state.error(400, 'InputTextSensitiveContentDetected', 'The request failed because the input text may contain sensitive information.');
  }
  return null;
}

/** The `moderation_output[_once]` decision for one accepted create of `prompt`. */
export function moderatesOutput(state: ArkMockState, request: MockRequest, prompt: string): boolean {
  if (state.context.has(request, 'moderation_output')) return true;
  if (!state.context.has(request, 'moderation_output_once')) return false;
  const key = prompt.replace(/\[\[scenario:[^\]]*\]\]/g, '').trim();
  if (state.moderatedOnce.has(key)) return false;
  state.moderatedOnce.add(key);
  return true;
}

/** `timeout` / `conn_reset` for routes the harness does not treat as `create` (the image route). */
export function transport(state: ArkMockState, request: MockRequest): MockReply | null {
  const found = request.scenarios.find((scenario) => scenario.id === 'conn_reset' || scenario.id === 'timeout');
  return found ? { status: 0, behaviour: found.id as 'conn_reset' | 'timeout' } : null;
}

/** Signed TOS-flavoured CDN link (§11.1: Ark adds `X-Tos-Expires=86400`), expiring `ttlMs` after `from`. */
export function tosUrl(state: ArkMockState, name: string, bytes: Buffer, contentType: string, from: number, request: { scenarios: Array<{ id: string; options: Record<string, string> }> }): string {
  const short = request.scenarios.find((scenario) => scenario.id === 'url_short_ttl');
  const ttlMs = short ? Number(short.options.ms ?? 1000) : state.context.options.cdnTtlSeconds * 1000;
  return state.context.cdnUrl(name, bytes, contentType, from + ttlMs - state.context.now(), '&X-Tos-Expires=86400');
}

export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}
