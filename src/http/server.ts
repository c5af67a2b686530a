import Fastify from 'fastify';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { App } from './app-type.js';
import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { randomToken } from '../lib/ids.js';
import { sendError } from './errors.js';
import { registerApiKeyRoutes } from './routes/keys/api-keys.js';
import { registerAuditRoutes } from './routes/operator/audit.js';
import { registerCreditRoutes } from './routes/operator/credits.js';
import { registerCustomerKeyRoutes } from './routes/operator/customer-keys.js';
import { registerCustomerRoutes } from './routes/operator/customers.js';
import { registerHealthRoutes } from './routes/public/health.js';
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
import { registerTextRoutes } from './routes/v1/text.js';
import { registerUpstreamCallbackRoute } from './routes/webhooks/upstream.js';

/**
 * Builds the Fastify app from deps. Validation is strict (no coercion, unknown properties rejected, E4); every
 * response carries `X-Request-Id`; every error goes through `sendError`.
 */
export function buildServer(deps: Deps, options: { apiRoutes?: boolean } = {}): App {
  const app = Fastify({
    loggerInstance: deps.logger,
    genReqId: () => `req_${randomToken(16)}`,
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  // A POST without a body validates as an empty object, so optional-body routes work and required fields are named.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method !== 'GET' && request.method !== 'DELETE' && request.method !== 'HEAD') {
      request.body = {};
    }
  });
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new AppError('not_found', 'No such route')));

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
  registerChannelRoutes(app, deps);
  registerTextRoutes(app, deps);
  registerUpstreamCallbackRoute(app, deps);
  registerApiKeyRoutes(app, deps);
  registerCustomerRoutes(app, deps);
  registerCustomerKeyRoutes(app, deps);
  registerCreditRoutes(app, deps);
  registerAuditRoutes(app, deps);
  return app;
}
