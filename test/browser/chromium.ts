import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium through playwright-core (nothing downloaded), and the console build to serve. Used by the browser
 * tests (harness.ts) and by `npm run screenshots` (scripts/screenshots.ts); no test-runner imports here.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE = join(REPO, 'console');
const DIST = join(REPO, 'dist', 'console');
/** The browser apps of console/vite.config.ts (the operator console and the customer console), each built on its own. */
const APPS = ['admin', 'console'] as const;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The console tests need Chromium at ${CHROMIUM_PATH} and it is missing. Install it with: apt-get install -y chromium ` +
        '(.ci/run does this), or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else files.push(path);
  }
  return files.sort();
}

/**
 * The directory to serve as CONSOLE_DIR. `dist/console` when its build is newer than every file under console/
 * (`npm ci` builds it); otherwise a private build of the current sources in the temp directory, named by a hash of
 * their paths, sizes and times, so it is built once and never races with anyone rebuilding dist/ meanwhile.
 */
export function consoleBuildDir(): string {
  const files = sourceFiles(SOURCE);
  const stats = files.map((file) => ({ file, stat: statSync(file) }));
  const newest = Math.max(...stats.map((entry) => entry.stat.mtimeMs), statSync(join(REPO, 'package-lock.json')).mtimeMs);
  const fresh = (dir: string) => APPS.every((app) => existsSync(join(dir, app, 'index.html')) && statSync(join(dir, app, 'index.html')).mtimeMs >= newest);
  if (fresh(DIST)) return DIST;

  const fingerprint = createHash('sha256');
  for (const { file, stat } of stats) fingerprint.update(`${relative(SOURCE, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  const target = join(tmpdir(), `genrelay-console-${fingerprint.digest('hex').slice(0, 16)}`);
  pruneOldBuilds(target);
  if (APPS.every((app) => existsSync(join(target, app, 'index.html')))) return target;
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    for (const app of APPS) {
      execFileSync(join(REPO, 'node_modules', '.bin', 'vite'), ['build', '--config', 'console/vite.config.ts', '--outDir', join(partial, app), '--emptyOutDir', '--logLevel', 'warn'], {
        cwd: REPO,
        env: { ...process.env, CONSOLE_APP: app },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 180_000,
      });
    }
  } catch (error) {
    const output = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`Building the console failed (npm run build:console):\n${output.stdout?.toString() ?? ''}${output.stderr?.toString() ?? ''}`);
  }
  try {
    renameSync(partial, target);
  } catch {
    // Another process finished the same build first: use its copy.
    rmSync(partial, { recursive: true, force: true });
  }
  return target;
}

/** Private builds of older sources, untouched for a day, are removed (a run in progress never uses them). */
function pruneOldBuilds(keep: string): void {
  const dayAgo = Date.now() - 86_400_000;
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (!name.startsWith('genrelay-console-') || path === keep) continue;
    try {
      if (statSync(path).mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}
