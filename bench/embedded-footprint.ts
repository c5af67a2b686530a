/**
 * The embedded default's footprint (issue 14): `npm run bench:embedded`. Starts `genrelay serve` as users do — the
 * `npm start` command of package.json, its environment settings and Node flags included (`npmStart`) — on a fresh
 * DATA_DIR without DATABASE_URL (PGlite in the process), creates FOOTPRINT_TASKS tasks (default 100,000) through
 * `POST /v1/videos` with a test key (the sandbox runs each to the end in the same process: dispatch, poll, settle),
 * sampling the resident set size (/proc) every 200 ms, waits until no task is open, stops it gracefully, then starts
 * it again on the same data (a warm start) FOOTPRINT_WARM_STARTS times and times spawn → first `GET /readyz` 200
 * (asked every 10 ms). Prints the figures; the resident set is also split into PGlite's WebAssembly memory and the
 * rest (the process's own JavaScript heap, code and buffers), read from /proc/<pid>/smaps.
 *
 * `npm run bench:embedded -- [tasks]`. Env: FOOTPRINT_TASKS (100000; the argument wins), FOOTPRINT_CONNECTIONS (32),
 * FOOTPRINT_WARM_STARTS (3), FOOTPRINT_SETTLE_SECONDS (30: idle time after the last task ends before the resident set is read again), BENCH_KEEP=1 (keep the data and the logs).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { npmStart, operatorApi, freePort, start, stop, stopAll, waitHttp, type Started } from './peers-procs.js';

const TASKS = Number(process.argv[2] ?? process.env.FOOTPRINT_TASKS ?? 100_000);
const WARM_STARTS = Number(process.env.FOOTPRINT_WARM_STARTS ?? 3);
const CONNECTIONS = Number(process.env.FOOTPRINT_CONNECTIONS ?? 32);
/** Seconds the server is left idle after every task has ended before the resident set is read again. */
const SETTLE_SECONDS = Number(process.env.FOOTPRINT_SETTLE_SECONDS ?? 30);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OPERATOR_KEY = `bench-operator-${randomBytes(16).toString('hex')}`;

function rssMiB(started: Started): number {
  const status = readFileSync(`/proc/${started.child.pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
}

/**
 * The resident set split into WebAssembly memory (PGlite's, all but a few hundred KiB) and everything else (the
 * JavaScript heap, code, buffers). V8 reserves each WebAssembly memory as one span of several GiB: the part in use is
 * an anonymous read-write mapping directly followed by the rest of the span, anonymous and inaccessible.
 */
function residentSplit(started: Started): { wasm: number; rest: number } {
  const mappings: Array<{ start: number; end: number; access: string; anonymous: boolean; rssKiB: number }> = [];
  for (const line of readFileSync(`/proc/${started.child.pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      mappings.push({ start: parseInt(head[1]!, 16), end: parseInt(head[2]!, 16), access: head[3]!, anonymous: head[4] === '0' && head[5] === '', rssKiB: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && mappings.length > 0) mappings.at(-1)!.rssKiB = Number(rss[1]);
  }
  let wasmKiB = 0;
  let totalKiB = 0;
  mappings.forEach((mapping, index) => {
    totalKiB += mapping.rssKiB;
    const next = mappings[index + 1];
    const wasm = mapping.anonymous && mapping.access.startsWith('rw') && next !== undefined && next.anonymous && next.access === '---p'
      && next.start === mapping.end && next.end - mapping.start >= 2 ** 32;
    if (wasm) wasmKiB += mapping.rssKiB;
  });
  return { wasm: Math.round(wasmKiB / 1024), rest: Math.round((totalKiB - wasmKiB) / 1024) };
}

const split = (started: Started) => {
  const parts = residentSplit(started);
  return `${parts.wasm} MiB WebAssembly (PGlite) + ${parts.rest} MiB the rest`;
};

/** Spawn → first `GET /readyz` 200, asked every 10 ms. */
async function timedStart(serve: () => Started, url: string): Promise<{ server: Started; ms: number }> {
  const spawnedAt = performance.now();
  const server = serve();
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return { server, ms: performance.now() - spawnedAt };
    } catch {
      // not listening yet
    }
    if (server.child.exitCode !== null) throw new Error(`genrelay exited (${server.child.exitCode}): see ${server.log}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

const operator = operatorApi(OPERATOR_KEY);

/** Bytes of the files under `dir`, recursively. */
function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(path) : entry.isFile() ? statSync(path).size : 0;
  }
  return total;
}

/** The embedded database on disk: its WAL (pg_wal) and the rest (tables, indexes, catalogs), in MiB. */
function onDisk(dataDir: string): string {
  const wal = bytesUnder(join(dataDir, 'pglite', 'pg_wal'));
  const all = bytesUnder(join(dataDir, 'pglite'));
  return `${Math.round(all / 2 ** 20)} MiB (WAL ${Math.round(wal / 2 ** 20)}, the rest ${Math.round((all - wal) / 2 ** 20)})`;
}

/** The embedded upkeep's counters from /metrics (db/upkeep.ts): checkpoints, vacuums, analyzes and the time they took. */
async function upkeepCounters(base: string): Promise<string> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return `${value('genrelay_embedded_checkpoints_total')} checkpoints, ${value('genrelay_embedded_vacuums_total')} vacuums, `
    + `${value('genrelay_embedded_analyzes_total')} analyzes, ${value('genrelay_embedded_upkeep_seconds_total').toFixed(1)} s in all`;
}

/** Upkeep rounds that held the engine a second or more (logged as warnings; the server logs at `warn`). */
function slowUpkeeps(logDir: string): string {
  const lines = readFileSync(join(logDir, 'genrelay-embedded.log'), 'utf8').split('\n').filter((line) => line.includes('embedded database upkeep'));
  const ms = lines.map((line) => {
    const { upkeep } = JSON.parse(line) as { upkeep: { checkpoint: { ms: number } | null; table: { ms: number } | null } };
    return (upkeep.checkpoint?.ms ?? 0) + (upkeep.table?.ms ?? 0);
  });
  return ms.length === 0 ? 'none' : `${ms.length} (longest ${Math.max(...ms)} ms)`;
}

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
  const npm = npmStart(ROOT, env);
  const serve = () => start('genrelay-embedded', process.execPath, npm.args, { cwd: ROOT, env: { ...env, ...npm.env, PORT: String(port) }, logDir });
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
    const drainedSplit = split(server);
    const diskRunning = onDisk(env.DATA_DIR!);
    // Idle for SETTLE_SECONDS: what the process gives back once the burst is over (V8 shrinks its heap when idle).
    await new Promise((done) => setTimeout(done, SETTLE_SECONDS * 1000));
    const settled = rssMiB(server);
    const settledSplit = split(server);
    const upkeep = await upkeepCounters(base);
    clearInterval(sampler);
    await stop(server);
    const diskStopped = onDisk(env.DATA_DIR!);

    // Warm starts: the same data directory, spawn → first /readyz 200.
    const warmStarts: number[] = [];
    let warmRss = 0;
    let warmSplit = '';
    for (let run = 0; run < WARM_STARTS; run += 1) {
      const started = await timedStart(serve, `${base}/readyz`);
      server = started.server;
      warmStarts.push(Math.round(started.ms));
      await new Promise((done) => setTimeout(done, 3_000));
      warmRss = rssMiB(server);
      warmSplit = split(server);
      await stop(server);
    }
    const warmMedian = [...warmStarts].sort((a, b) => a - b)[Math.floor(warmStarts.length / 2)];

    const cores = cpus();
    console.log(`\nEmbedded footprint, ${cores.length} × ${cores[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| tasks created (202) | ${result['2xx'].toLocaleString('en-US')} of ${TASKS.toLocaleString('en-US')} (non-2xx ${result.non2xx}, errors ${result.errors}) |`);
    console.log(`| creation rate, ${CONNECTIONS} connections | ${Math.round(result['2xx'] / createSeconds).toLocaleString('en-US')} tasks/s |`);
    console.log(`| all tasks ended after | ${drainedSeconds.toFixed(0)} s |`);
    console.log(`| resident set: ready / after creating / after all ended / peak | ${startRss} / ${afterCreate} / ${afterDrain} / ${peak} MiB |`);
    console.log(`| resident set after all ended, split | ${drainedSplit} |`);
    console.log(`| resident set ${SETTLE_SECONDS} s later, idle | ${settled} MiB (${settledSplit}) |`);
    console.log(`| database on disk: after all ended / after the stop | ${diskRunning} / ${diskStopped} |`);
    console.log(`| embedded upkeep while it ran | ${upkeep}; rounds of 1 s or more: ${slowUpkeeps(logDir)} |`);
    console.log(`| warm start, spawn → /readyz 200 (median of ${warmStarts.length}) | ${warmMedian} ms (${warmStarts.join(', ')}) |`);
    console.log(`| resident set 3 s after the (last) warm start | ${warmRss} MiB (${warmSplit}) |`);
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
