import { statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../../config/index.js';
import { AppError } from '../../../lib/errors.js';
import type { App } from '../../app-type.js';
import { setConsoleHeaders } from '../../plugins/admin-session.js';

/**
 * The operator console's pages (API.md §12): the Vite build in `<CONSOLE_DIR>/admin` (default `dist/console/admin`)
 * served at `/admin/`. A file that exists is sent (hashed `assets/*` cached for a year, anything else revalidated);
 * any other `GET /admin` or `/admin/*` path outside `/admin/api/` and `/admin/assets/` answers `index.html`
 * (client-side routing), never cached. All carry the A12 headers. Without a build, `/admin` answers 503 with a page saying how to build it.
 */
export type ConsoleStaticRouteDeps = { config: Pick<Config, 'consoleDir'> };

const IMMUTABLE = 'public, max-age=31536000, immutable';

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>genrelay console not built</title></head>
<body><h1>The operator console is not built</h1>
<p>This install has no console build. Build it from the genrelay directory, then reload this page:</p>
<pre>npm run build:console</pre>
<p>(<code>npm ci</code> builds it too.) The operator API keeps working with the operator key meanwhile.</p>
</body></html>
`;

export function registerConsoleStaticRoutes(app: App, deps: ConsoleStaticRouteDeps): void {
  const root = resolve(join(deps.config.consoleDir, 'admin'));
  const config = { face: 'plain' as const };

  void app.register(async (scope) => {
    await scope.register(fastifyStatic, { serve: false, decorateReply: true });

    const serve = async (path: string, reply: FastifyReply) => {
      setConsoleHeaders(reply);
      if (path === 'api' || path.startsWith('api/')) throw new AppError('not_found', 'No such route');
      if (!isFile(join(root, 'index.html'))) {
        return reply.status(503).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT);
      }
      const target = resolve(root, path);
      const inside = relative(root, target);
      const servable = path !== '' && !inside.startsWith('..') && !inside.split(sep).some((part) => part.startsWith('.')) && isFile(target);
      if (servable) {
        reply.header('Cache-Control', inside.startsWith(`assets${sep}`) ? IMMUTABLE : 'no-cache');
        return reply.sendFile(inside, root, { cacheControl: false, dotfiles: 'deny' });
      }
      // A missing build file is a 404, not the page (a stale tab asking for an old hashed chunk must fail loudly).
      if (path.startsWith('assets/')) throw new AppError('not_found', 'No such console asset');
      return reply.header('Cache-Control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
    };

    scope.get('/admin', { config, schema: { summary: 'Operator console (single-page app)' } }, async (_request, reply) => serve('', reply));
    scope.get<{ Params: { '*': string } }>('/admin/*', { config, schema: { summary: 'Operator console pages and assets' } }, async (request, reply) =>
      serve(request.params['*'] ?? '', reply));
  });
}
