import { statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../../config/index.js';
import { AppError } from '../../../lib/errors.js';
import type { App } from '../../app-type.js';
import { setConsoleHeaders } from '../../plugins/admin-session.js';

/**
 * The consoles' pages (API.md §12, §13): the Vite builds in `<CONSOLE_DIR>/admin` and `<CONSOLE_DIR>/console`
 * (default `dist/console/…`) served at `/admin/` (operator console) and `/console/` (customer console). A file that
 * exists is sent (hashed `assets/*` cached for a year, anything else revalidated); any other `GET /admin`, `/admin/*`,
 * `/console` or `/console/*` path outside `api/` and `assets/` answers that app's `index.html` (client-side routing),
 * never cached. All carry the A12 headers. Without a build, the app answers 503 with a page saying how to build it.
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

function notBuilt(title: string, meanwhile: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>genrelay console not built</title></head>
<body><h1>The ${title} is not built</h1>
<p>This install has no console build. Build it from the genrelay directory, then reload this page:</p>
<pre>npm run build:console</pre>
<p>(<code>npm ci</code> builds it too.) ${meanwhile}</p>
</body></html>
`;
}

interface ConsoleApp {
  prefix: '/admin' | '/console';
  directory: 'admin' | 'console';
  title: string;
  meanwhile: string;
}

const APPS: ConsoleApp[] = [
  { prefix: '/admin', directory: 'admin', title: 'operator console', meanwhile: 'The operator API keeps working with the operator key meanwhile.' },
  { prefix: '/console', directory: 'console', title: 'customer console', meanwhile: 'The API keeps working with API keys meanwhile.' },
];

export function registerConsoleStaticRoutes(app: App, deps: ConsoleStaticRouteDeps): void {
  for (const consoleApp of APPS) registerApp(app, deps, consoleApp);
}

function registerApp(app: App, deps: ConsoleStaticRouteDeps, consoleApp: ConsoleApp): void {
  const root = resolve(join(deps.config.consoleDir, consoleApp.directory));
  const config = { face: 'plain' as const };
  const NOT_BUILT = notBuilt(consoleApp.title, consoleApp.meanwhile);

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

    scope.get(consoleApp.prefix, { config, schema: { summary: `The ${consoleApp.title} (single-page app)` } }, async (_request, reply) => serve('', reply));
    scope.get<{ Params: { '*': string } }>(`${consoleApp.prefix}/*`, { config, schema: { summary: `The ${consoleApp.title}'s pages and assets` } }, async (request, reply) =>
      serve(request.params['*'] ?? '', reply));
  });
}
