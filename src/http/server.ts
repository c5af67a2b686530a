import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { App } from './app-type.js';
import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { randomToken } from '../lib/ids.js';
import { trackCommits, type CommitScope } from '../db/commit-tracker.js';
import { sendClientError, sendError, toAppError, type Face } from './errors.js';
import { inspectInput, inspectParameters } from './input-guard.js';
import { BodyBudget } from './body-budget.js';
import { compileOnFirstUse } from './lazy-validators.js';
import { InflightHandlers } from './shutdown.js';
import { registerApiKeyRoutes } from './routes/keys/api-keys.js';
import { registerAuditRoutes } from './routes/operator/audit.js';
import { registerCreditRoutes } from './routes/operator/credits.js';
import { registerCustomerKeyRoutes } from './routes/operator/customer-keys.js';
import { registerCustomerRoutes } from './routes/operator/customers.js';
import { registerHealthRoutes } from './routes/public/health.js';
import { registerPricingRoutes } from './routes/public/pricing.js';
import { registerReferenceRoutes } from './routes/public/reference.js';
import { registerUsageRoute } from './routes/v1/usage.get.js';
import { registerJobRoutes } from './routes/jobs/jobs.js';
import { registerWebhookSecretRoutes } from './routes/keys/webhook-secret.js';
import { registerNewApiRoutes } from './routes/newapi/video-generations.js';
import { registerFileRoutes } from './routes/v1/files.js';
import { registerImageGenerationRoute } from './routes/v1/images.generations.js';
import { registerModelRoutes } from './routes/v1/models.js';
import { registerMusicGenerationRoute } from './routes/v1/music.generations.js';
import { registerTaskRoutes } from './routes/v1/tasks.js';
import { registerVideoCreateRoute } from './routes/v1/videos.create.js';
import { registerVideoReadRoutes } from './routes/v1/videos.read.js';
import { registerWebhookEndpointRoutes } from './routes/v1/webhook-endpoints.js';
import { registerChannelRoutes } from './routes/operator/channels.js';
import { registerGroupRoutes } from './routes/operator/groups.js';
import { registerModelAdminRoutes } from './routes/operator/models.js';
import { registerTextRoutes } from './routes/v1/text.js';
import { registerUpstreamCallbackRoute } from './routes/webhooks/upstream.js';
import { registerStripeWebhookRoute } from './routes/webhooks/stripe.js';
import { registerOperatorTaskRoutes } from './routes/operator/tasks.js';
import { registerProviderRoutes } from './routes/operator/providers.js';
import { registerReportRoutes } from './routes/operator/reports.js';
import { registerDashboardRoutes } from './routes/operator/dashboard.js';
import { registerSettingsRoutes } from './routes/operator/settings.js';
import { registerOperatorDeliveryRoutes } from './routes/operator/webhook-deliveries.js';
import { registerAccountImportRoute } from './routes/operator/account-import.js';
import { registerWebhookDeliveryRoutes } from './routes/v1/webhook-deliveries.js';
import { registerBillingRoutes } from './routes/v1/billing.js';
import { registerTopupAdminRoutes } from './routes/operator/topups.js';
import { registerAdminAuthRoutes } from './routes/admin/auth.js';
import { registerAdminRoutes } from './routes/admin/admins.js';
import { registerAdminSessionRoutes } from './routes/admin/sessions.js';
import { registerConsoleStaticRoutes } from './routes/console/static.js';
import { CONSOLE_PREFIX, adminSession, isConsoleRoute, setConsoleHeaders } from './plugins/admin-session.js';
import { dummyHash } from '../modules/admin-auth/passwords.js';
import { registerCustomerAuthRoutes } from './routes/customer/auth.js';
import { registerCustomerConsoleRoutes } from './routes/customer/index.js';
import { registerMailOutboxRoutes } from './routes/operator/mail-outbox.js';
import { registerCustomerInvitationRoutes } from './routes/operator/customer-invitations.js';

/** One registered route, as the fuzz suite and the API reference enumerate them. */
export interface RouteEntry {
  method: string;
  url: string;
  face: Face | undefined;
  /** The route's schema (body, querystring, params, headers, summary): the OpenAPI document is built from it. */
  schema?: FastifySchema | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on this app, in registration order. */
    routeTable: RouteEntry[];
    /** The route handlers still running, for a graceful shutdown (shutdown.ts). */
    inflight: InflightHandlers;
  }
}

/**
 * One access line per request, written when the answer has been sent: method, path, client address, status and time.
 * Fastify's default writes two (one on arrival), a measurable share of the CPU under load (issue 14).
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Path parameters longer than this are refused before routing (ids are at most 64 characters). */
const MAX_PARAM_LENGTH = 100;

/**
 * Builds the Fastify app from deps. Validation is strict (no coercion, unknown properties rejected, E4); every
 * response carries `X-Request-Id`; every error goes through `sendError`.
 */
export function buildServer(deps: Deps, options: { apiRoutes?: boolean } = {}): App {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new AccessLog(),
    genReqId: () => `req_${randomToken(16)}`,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Malformed percent-encoding and over-long path parameters, found before routing: the one error mapper answers.
    frameworkErrors: (error, request, reply) => sendError(request, reply, error),
    // Requests Node's HTTP parser refuses (bad header bytes, oversized headers) never reach a route.
    clientErrorHandler: sendClientError,
    // Requests that arrive once shutdown has begun get the documented error body (the onRequest hook below).
    return503OnClosing: false,
    // Each route's validators are compiled when a request first reaches it, not at listen (lazy-validators.ts).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false }, plugins: [compileOnFirstUse] },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  // With TRACK_COMMITS every request runs in its own commit scope (db/commit-tracker.ts); callback style, so the whole
  // pipeline runs inside.
  const tracking = deps.config.trackCommits;
  app.decorate('routeTable', [] as RouteEntry[]);
  const inflight = new InflightHandlers();
  app.decorate('inflight', inflight);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') app.routeTable.push({ method, url: route.url, face: route.config?.face, schema: route.schema });
    }
    // Every handler is counted while it runs, also after its client went away: shutdown waits for them (shutdown.ts).
    const handler = route.handler;
    route.handler = function tracked(this: unknown, request: FastifyRequest, reply: FastifyReply) {
      const result: unknown = handler.call(this as never, request, reply);
      return result instanceof Promise ? inflight.track(result) : result;
    } as typeof route.handler;
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    if (inflight.closing) {
      reply.header('Connection', 'close');
      done(new AppError('shutting_down', 'This server is shutting down; retry the request', { retryAfter: 1 }));
      return;
    }
    if (!tracking) {
      done();
      return;
    }
    const scope: CommitScope = { committed: false };
    request.commits = scope;
    trackCommits(scope, done);
  });
  const bodies = new BodyBudget(deps.config.maxInflightBodyBytes);
  app.addHook('preParsing', async (request, reply) => {
    bodies.hold(request, reply);
  });
  // Only JSON (and multipart where a route reads it) is accepted; text/plain bodies get 415.
  app.removeContentTypeParser('text/plain');
  // A POST without a body validates as an empty object, so optional-body routes work and required fields are named.
  // Every parameter and body is checked for text PostgreSQL cannot store and for excessive nesting (input-guard.ts).
  app.addHook('preValidation', async (request) => {
    inspectParameters(request.params);
    inspectParameters(request.query);
    if (request.body === undefined && request.method !== 'GET' && request.method !== 'DELETE' && request.method !== 'HEAD') {
      request.body = {};
    }
    inspectInput(request.body);
  });
  app.setErrorHandler((error, request, reply) => {
    if (toAppError(error).code === 'internal_error' && request.commits?.committed) {
      // A change was committed and the client is about to be told it failed: it may retry and apply it twice.
      deps.metrics.increment('genrelay_committed_then_failed_total', 'Internal errors answered after the request had committed a change');
      request.log.error({ err: error }, 'committed change answered with an internal error');
    }
    return sendError(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    // Unrouted console paths (e.g. /admin/api/nothing) are console responses too (A12).
    if (isConsoleRoute(request.url.split('?')[0] ?? '')) setConsoleHeaders(reply);
    return sendError(request, reply, new AppError('not_found', 'No such route'));
  });

  registerHealthRoutes(app, deps);
  // A worker-only process serves health and metrics, nothing else.
  if (options.apiRoutes === false) return app;
  void app.register(multipart, { limits: { fileSize: 64 * 1024 * 1024, files: 4, fields: 64 } });
  registerUsageRoute(app, deps);
  registerVideoCreateRoute(app, deps);
  registerVideoReadRoutes(app, deps);
  registerImageGenerationRoute(app, deps);
  registerMusicGenerationRoute(app, deps);
  registerTaskRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerFileRoutes(app, deps);
  registerJobRoutes(app, deps);
  registerNewApiRoutes(app, deps);
  registerWebhookSecretRoutes(app, deps);
  registerWebhookEndpointRoutes(app, deps);
  registerTextRoutes(app, deps);
  registerUpstreamCallbackRoute(app, deps);
  registerStripeWebhookRoute(app, deps);
  registerApiKeyRoutes(app, deps);
  registerWebhookDeliveryRoutes(app, deps);
  registerBillingRoutes(app, deps);
  // Public, no key: the price list and the API reference (built from routeTable on first request, so routes
  // registered below are included).
  registerPricingRoutes(app, deps);
  registerReferenceRoutes(app, deps);
  // The operator API with the operator key, and the same routes again under /admin for console sessions.
  registerOperatorApi(app, deps);
  // The consoles' session cookies are parsed in their own scopes only: /v1 and the bearer faces never read a cookie
  // (A11), and their requests skip the plugin's hooks.
  void app.register(async (scope) => {
    await scope.register(cookie);
    scope.addHook('onRequest', adminSession(deps, { require: 'authenticated' }));
    registerOperatorApi(scope as unknown as App, deps);
  }, { prefix: CONSOLE_PREFIX });
  // The console's own JSON (sign-in, admins, sessions) and its pages.
  void app.register(async (scope) => {
    await scope.register(cookie);
    const consoleApp = scope as unknown as App;
    registerAdminAuthRoutes(consoleApp, deps);
    registerAdminRoutes(consoleApp, deps);
    registerAdminSessionRoutes(consoleApp, deps);
  });
  // The customer console's JSON (/console/api: sign-up, sign-in, the customer's own data), behind its own cookie.
  void app.register(async (scope) => {
    await scope.register(cookie);
    registerCustomerAuthRoutes(scope as unknown as App, deps);
    registerCustomerConsoleRoutes(scope as unknown as App, deps);
  });
  registerConsoleStaticRoutes(app, deps);
  // The dummy password hash is made now, so the first sign-in of an unknown account costs what any other does (A2).
  void dummyHash();
  return app;
}

/**
 * Every operator-API route (paths under /api/, face `operator`). Registered twice by buildServer: as is, behind the
 * operator key, and inside the `/admin` prefix, where the admin-session hook has authenticated a console session
 * before the routes' own `operatorAuth` runs (which then accepts the admin principal). Same handlers, same workflows.
 */
function registerOperatorApi(app: App, deps: Deps): void {
  registerChannelRoutes(app, deps);
  registerProviderRoutes(app, deps);
  registerCustomerRoutes(app, deps);
  registerCustomerKeyRoutes(app, deps);
  registerCreditRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerModelAdminRoutes(app, deps);
  registerGroupRoutes(app, deps);
  registerOperatorTaskRoutes(app, deps);
  registerOperatorDeliveryRoutes(app, deps);
  registerAccountImportRoute(app, deps);
  registerReportRoutes(app, deps);
  registerDashboardRoutes(app, deps);
  registerSettingsRoutes(app, deps);
  registerMailOutboxRoutes(app, deps);
  registerCustomerInvitationRoutes(app, deps);
  registerTopupAdminRoutes(app, deps);
}
