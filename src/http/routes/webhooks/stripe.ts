import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../../../lib/errors.js';
import type { Metrics } from '../../../lib/metrics.js';
import type { RateLimiter } from '../../../modules/limits/rate-limiter.js';
import { receiveStripeEvent, type StripeEventDeps } from '../../../workflows/stripe-events.js';
import type { App } from '../../app-type.js';
import { clientIp, type ClientIpDeps } from '../../plugins/api-key-auth.js';

/**
 * `POST /webhooks/stripe` (issue 13, SEMANTICS P4, P5, P11): Stripe's signed events. No API key and no CSRF token:
 * the `Stripe-Signature` header over the raw body is the only authentication. The route lives in its own plugin
 * whose one content-type parser hands the body over as the bytes received (no JSON parser runs before the signature
 * is verified; any content type is taken, since the signature decides). Rate limited per source IP. 404 `not_found`
 * when Stripe is not configured. A body that does not verify → 400 (the `{"error": …}` body, nothing stored); an
 * event that was acted on, ignored or seen before → 200 `{received: true, …}` only after its transaction committed;
 * anything failing → 500, so Stripe delivers it again.
 */
export type StripeWebhookRouteDeps = StripeEventDeps & ClientIpDeps & { rateLimiter: RateLimiter; metrics: Metrics; logger: Logger };

/** Stripe's events are a few kilobytes; a Checkout Session event with long metadata stays far below this. */
export const STRIPE_WEBHOOK_BODY_LIMIT = 512 * 1024;
/** Deliveries per source IP per minute (Stripe sends from a handful of addresses; a backlog drains at this pace). */
export const STRIPE_WEBHOOK_RATE_PER_MINUTE = 600;

export function registerStripeWebhookRoute(app: App, deps: StripeWebhookRouteDeps): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: STRIPE_WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));
    const onRequest = async (request: FastifyRequest) => {
      if (!deps.stripe) throw new AppError('not_found', 'No such route');
      const decision = await deps.rateLimiter.consume(`stripe-webhook:${clientIp(deps, request)}`, STRIPE_WEBHOOK_RATE_PER_MINUTE, 60);
      if (decision.storeError) {
        deps.metrics.increment('genrelay_ratelimit_store_errors_total', 'Rate limiter store failures (requests let through)');
        return;
      }
      if (!decision.allowed) {
        throw new AppError('rate_limited', 'Too many webhook deliveries from this address', { retryAfter: Math.max(1, decision.resetSeconds) });
      }
    };
    (scope as unknown as App).post('/webhooks/stripe', {
      config: { face: 'plain' },
      bodyLimit: STRIPE_WEBHOOK_BODY_LIMIT,
      onRequest,
      schema: {
        summary: 'Stripe webhook (signed events: Checkout, refunds, disputes)',
        description: 'Authenticated by the Stripe-Signature header over the raw body (tolerance 300 s), never by a key. 200 once the event is stored and acted on (or was seen before); 400 when the signature does not verify.',
      },
    }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers['stripe-signature'];
      const result = await receiveStripeEvent(deps, raw, Array.isArray(header) ? header[0] : header);
      return reply.status(200).send({ received: true, id: result.eventId, type: result.type, outcome: result.outcome });
    });
  });
}
