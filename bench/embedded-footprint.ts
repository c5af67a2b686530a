/**
 * The embedded default's footprint (issue 14): `npm run bench:embedded`. Starts `genrelay serve` as users do (a fresh
 * DATA_DIR, no DATABASE_URL, so PGlite in the process), creates FOOTPRINT_TASKS tasks (default 100,000) through
 * `POST /v1/videos` with a test key (the sandbox runs each to the end in the same process: dispatch, poll, settle),
 * sampling the resident set size (/proc) every 200 ms, waits until no task is open, stops it gracefully, then starts
 * it again on the same data (a warm start) and times spawn → first `GET /readyz` 200. Prints the figures.
 *
 * Env: FOOTPRINT_TASKS (100000), FOOTPRINT_CONNECTIONS (32), BENCH_KEEP=1 (keep the data and the logs).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { operatorApi, freePort, start, stop, stopAll, waitHttp, type Started } from './peers-procs.js';

const TASKS = Number(process.env.FOOTPRINT_TASKS ?? 100_000);
const CONNECTIONS = Number(process.env.FOOTPRINT_CONNECTIONS ?? 32);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OPERATOR_KEY = `bench-operator-${randomBytes(16).toString('hex')}`;

function rssMiB(started: Started): number {
  const status = readFileSync(`/proc/${started.child.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

const operator = operatorApi(OPERATOR_KEY);

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'genrelay-footprint-'));
  const logDir = join(scratch, 'logs');
  mkdirSync(logDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env, DATA_DIR: join(scratch, 'data'), DEMO: 'false', LOG_LEVEL: 'warn', OPERATOR_API_KEY: OPERATOR_KEY,
    GENRELAY_MASTER_KEY: `bench-master-${randomBytes(24).toString('hex')}`, MAX_QUEUED_PER_MODEL: '10000000', CONSOLE_DIR: join(scratch, 'no-console'),
  };
  delete env.DATABASE_URL;
  delete env.GENRELAY_ROLE;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const serve = () => start('genrelay-embedded', process.execPath, ['bin/genrelay.mjs', 'serve'], { cwd: ROOT, env: { ...env, PORT: String(port) }, logDir });
  try {
    let server = serve();
    await waitHttp(server, `${base}/readyz`, (status) => status === 200);
    const startRss = rssMiB(server);
    const customer = await operator(base, 'POST', '/api/public/customers', { name: 'footprint' });
    const key = (await operator(base, 'POST', `/api/public/customers/${customer.id}/api-keys`, { name: 'footprint', mode: 'test' })).key as string;
    await operator(base, 'POST', `/api/public/customers/${customer.id}/credits`, { amount: 1_000_000_000_000, reason: 'footprint', mode: 'test' });

    let peak = startRss;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server))), 200);
    const began = Date.now();
    const result = await autocannon({
      url: `${base}/v1/videos`, method: 'POST', connections: CONNECTIONS, amount: TASKS,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'seedance-2.0-fast', prompt: 'footprint clip', seconds: 4 }),
    });
    const createSeconds = (Date.now() - began) / 1000;
    const afterCreate = rssMiB(server);
    // Until every task has ended (the sandbox finishes them), read through the operator API.
    let open = Infinity;
    for (let attempt = 0; attempt < 3_600 && open > 0; attempt += 1) {
      const summary = await operator(base, 'GET', `/api/public/customers/${customer.id}`);
      open = Number(summary.credits.test.reserved) > 0 ? 1 : 0;
      if (open > 0) await new Promise((done) => setTimeout(done, 500));
    }
    const drainedSeconds = (Date.now() - began) / 1000;
    const afterDrain = rssMiB(server);
    clearInterval(sampler);
    await stop(server);

    // Warm start: the same data directory, spawn → first /readyz 200.
    const spawnedAt = performance.now();
    server = serve();
    await waitHttp(server, `${base}/readyz`, (status) => status === 200);
    const warmStartMs = performance.now() - spawnedAt;
    await new Promise((done) => setTimeout(done, 3_000));
    const warmRss = rssMiB(server);
    await stop(server);

    const cores = cpus();
    console.log(`\nEmbedded footprint, ${cores.length} × ${cores[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| tasks created (202) | ${result['2xx'].toLocaleString('en-US')} of ${TASKS.toLocaleString('en-US')} (non-2xx ${result.non2xx}, errors ${result.errors}) |`);
    console.log(`| creation rate, ${CONNECTIONS} connections | ${Math.round(result['2xx'] / createSeconds).toLocaleString('en-US')} tasks/s |`);
    console.log(`| all tasks ended after | ${drainedSeconds.toFixed(0)} s |`);
    console.log(`| resident set: ready / after creating / after all ended / peak | ${startRss} / ${afterCreate} / ${afterDrain} / ${peak} MiB |`);
    console.log(`| warm start, spawn → /readyz 200 | ${Math.round(warmStartMs)} ms |`);
    console.log(`| resident set 3 s after the warm start | ${warmRss} MiB |`);
  } finally {
    await stopAll();
    if (process.env.BENCH_KEEP === '1') console.error(`kept: ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
