import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * One Vite config for the browser apps under console/. Each app is built on its own (its own root, `base` and output
 * directory) so the server can serve `dist/console/<app>/**` at `/<app>/` with no path rewriting:
 *
 *   admin   — console/admin/index.html   → dist/console/admin/   served at /admin/   (operator console, issue 11)
 *   console — console/console/index.html → dist/console/console/ served at /console/ (customer console, issue 12)
 *
 * The app is picked by CONSOLE_APP (default `admin`); the root `build:console` script builds every app, one `vite build`
 * each. Shared code lives in console/src/shared/.
 *
 * `npm run dev:console` serves the admin app on :5173 (`CONSOLE_APP=console npm run dev:console`: the customer console)
 * and proxies its `<base>api` to a running genrelay (GENRELAY_URL, default http://127.0.0.1:8080), so the session
 * cookie and CSRF checks behave as in production.
 */
const APPS = {
  admin: { base: '/admin/' },
  console: { base: '/console/' },
} as const;

type AppName = keyof typeof APPS;

const consoleDir = fileURLToPath(new URL('.', import.meta.url));
const repoDir = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig((): UserConfig => {
  const name = (process.env.CONSOLE_APP ?? 'admin') as AppName;
  const app = APPS[name];
  if (!app) throw new Error(`CONSOLE_APP must be one of ${Object.keys(APPS).join(', ')}`);
  const upstream = process.env.GENRELAY_URL ?? 'http://127.0.0.1:8080';
  return {
    root: `${consoleDir}${name}`,
    base: app.base,
    publicDir: false,
    plugins: [react()],
    build: {
      outDir: `${repoDir}dist/console/${name}`,
      emptyOutDir: true,
      // Never inline assets as data: URLs: the console's CSP (`default-src 'self'`) would refuse them.
      assetsInlineLimit: 0,
      target: 'es2022',
      sourcemap: false,
      chunkSizeWarningLimit: 1500,
    },
    server: {
      fs: { allow: [consoleDir] },
      proxy: { [`${app.base}api`]: { target: upstream, changeOrigin: false } },
    },
  };
});
