/**
 * CPU profile of genrelay under load (issue 14): `npm run bench:profile -- [chat|stream|tasks] [connections=50]
 * [seconds=10] [postgres|embedded] [plain]`. Starts the chat mock and genrelay as `npm start` does, with `--cpu-prof`
 * (PostgreSQL on a fresh database, or the embedded default with `embedded`; `plain`: without the profiler, which costs
 * the server 10–20 %, to compare two versions' throughput and CPU per request), sets it up through the operator API like bench:peers, drives
 * billed chat completions (or `POST /v1/videos` in test mode for `tasks`) with autocannon, stops the server
 * gracefully and prints the functions with the most self time, grouped by source file, from the `.cpuprofile` it
 * wrote. The profile stays in the scratch folder it names (open it in Chrome DevTools for the call tree).
 * `BENCH_CUSTOMERS=N` shares the connections out between N customers, each with its own key and wallet;
 * `BENCH_KEY_CONCURRENCY=N` gives those keys a concurrency limit, which keeps chat off credit leases.
 * `BENCH_QUEUED=N` (tasks only) first creates N tasks the same way, unmeasured, and leaves them queued (the server runs
 * with `GENRELAY_ROLE=api`, so no worker takes them): the measured load then runs against a queue of N tasks, to
 * compare what creating a task costs with an empty queue and with a long one.
 *
 * Figures are the server's own CPU only; the client, the mock and PostgreSQL share the cores, as in bench:peers.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { adminQuery, databaseUrl } from '../test/harness/databases.js';
import { cpuPerRequestMs, cpuSeconds, freePort, npmStart, operatorApi, readyLine, start, stop, stopAll, tableActivity, waitHttp } from './peers-procs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [kind = 'chat', connectionsArg = '50', secondsArg = '10', engine = 'postgres', mode = 'profile'] = process.argv.slice(2);
/** `plain`: no CPU profile (the profiler costs the server 10–20 %), for comparing two versions' throughput. */
const profiling = mode !== 'plain';
const CUSTOMERS = Math.max(1, Number(process.env.BENCH_CUSTOMERS ?? 1) || 1);
/**
 * `BENCH_KEY_CONCURRENCY=N`: the keys get `max_concurrency` N, so chat requests are not admitted on credit leases (the
 * limit counts held reservations in the database) and take the per-request path: a hold written when they arrive, a
 * settlement when they end.
 */
const KEY_CONCURRENCY = Math.max(0, Number(process.env.BENCH_KEY_CONCURRENCY ?? 0) || 0);
/** `BENCH_QUEUED=N`: tasks created and left queued before the measured load (`tasks` only). */
const QUEUED = Math.max(0, Number(process.env.BENCH_QUEUED ?? 0) || 0);
const OPERATOR_KEY = `bench-operator-${randomBytes(16).toString('hex')}`;
const operator = operatorApi(OPERATOR_KEY);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/**
 * Self time per function and per file, and inclusive time of genrelay's own functions, as shares of the samples taken
 * while requests ran (from the first sample inside a route handler to the last; start-up and shutdown are left out).
 */
function summarise(path: string, marker: string): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (node: ProfileNode) => {
    const url = node.callFrame.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
    return { url, name: `${node.callFrame.functionName || '(anonymous)'}  ${url ? `${url}:${node.callFrame.lineNumber + 1}` : ''}` };
  };
  const stack = (id: number) => {
    const ids: number[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) ids.push(at);
    return ids;
  };
  const inWindow = profile.samples.map((id) => stack(id).some((at) => byId.get(at)!.callFrame.functionName === marker));
  const first = inWindow.indexOf(true);
  const last = inWindow.lastIndexOf(true);
  const samples = profile.samples.slice(Math.max(0, first), last + 1);
  const total = samples.length;
  const selfByFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const id of samples) {
    const node = byId.get(id)!;
    const { url, name } = label(node);
    add(selfByFunction, name);
    add(byFile, url.includes('node_modules/') ? url.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1 (dep)') : url || `(${node.callFrame.functionName || 'native'})`);
    const seen = new Set<string>();
    for (const at of stack(id)) {
      const frame = label(byId.get(at)!);
      if (!(frame.url.startsWith('src/') || frame.url.startsWith('dist/server/')) || seen.has(frame.name)) continue;
      seen.add(frame.name);
      add(inclusive, frame.name);
    }
  }
  const top = (map: Map<string, number>, count: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, count)
    .map(([name, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)} %  ${name}`).join('\n');
  return `samples while loaded: ${total}\n\nself, by file or package:\n${top(byFile, 30)}\n\nself, by function:\n${top(selfByFunction, 40)}\n\ninclusive, genrelay functions:\n${top(inclusive, 40)}`;
}

/** Where the machine's CPU went while the load ran, per request (PostgreSQL's exited backends are not counted). */
function cpuPerRequest(before: Map<string, number>, after: Map<string, number>, requests: number): string {
  const parts = Object.entries(cpuPerRequestMs(before, after, requests)).map(([name, spent]) => `${name} ${spent.toFixed(3)} ms`);
  return `CPU per request (${cpus().length} cores): ${parts.join(' · ')}`;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'genrelay-profile-'));
  const logDir = join(scratch, 'logs');
  const profDir = join(scratch, 'profile');
  mkdirSync(logDir);
  const databaseName = `gr_bench_prof_${randomBytes(4).toString('hex')}`;
  const inherit = { ...process.env };
  delete inherit.DATABASE_URL;
  delete inherit.GENRELAY_ROLE;
  let created = false;
  try {
    const mock = start('mock', process.execPath, ['--import', 'tsx', 'bench/peers-mock.ts'], { cwd: ROOT, env: inherit, logDir });
    const mockBase = await readyLine(mock);
    const env: NodeJS.ProcessEnv = { ...inherit, OPERATOR_API_KEY: OPERATOR_KEY, GENRELAY_MASTER_KEY: `bench-master-${randomBytes(24).toString('hex')}`, DEMO: 'false', CONSOLE_DIR: join(scratch, 'no-console') };
    if (engine === 'embedded') env.DATA_DIR = join(scratch, 'embedded');
    else {
      await adminQuery(`CREATE DATABASE ${databaseName}`);
      created = true;
      Object.assign(env, { DATABASE_URL: databaseUrl(databaseName), DATA_DIR: join(scratch, 'files') });
    }
    if (kind === 'tasks') Object.assign(env, { GENRELAY_ROLE: 'api', MAX_QUEUED_PER_MODEL: '10000000' });
    const port = await freePort();
    const npm = npmStart(ROOT, env);
    const server = start('genrelay', process.execPath, [...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), ...npm.args], { cwd: ROOT, env: { ...env, ...npm.env, PORT: String(port) }, logDir });
    const base = `http://127.0.0.1:${port}`;
    await waitHttp(server, `${base}/readyz`, (status) => status === 200);
    const mode = kind === 'tasks' ? 'test' : 'live';
    if (kind !== 'tasks') {
      const channel = await operator(base, 'POST', '/api/admin/channels', { name: 'mock', provider: 'openai-compatible', base_url: mockBase, models: { 'grok-4-fast': 'mock-chat' }, settings: { requests_per_second: 1_000_000 } });
      await operator(base, 'POST', '/api/accounts', { channel_id: channel.id, credential: 'bench-upstream-key', label: 'bench' });
    }
    // BENCH_CUSTOMERS (default 1): the connections are shared out between that many customers, each with its own key
    // and wallet (one autocannon per customer, run together), to compare one wallet's load with several wallets'.
    const keys: string[] = [];
    for (let index = 0; index < CUSTOMERS; index += 1) {
      const customer = await operator(base, 'POST', '/api/public/customers', { name: `profile ${index + 1}` });
      const key = await operator(base, 'POST', `/api/public/customers/${customer.id}/api-keys`, { name: 'profile', mode, ...(KEY_CONCURRENCY ? { max_concurrency: KEY_CONCURRENCY } : {}) });
      await operator(base, 'POST', `/api/public/customers/${customer.id}/credits`, { amount: 1_000_000_000_000, reason: 'profile', mode });
      keys.push(key.key);
    }
    const [path, body] = kind === 'tasks'
      ? ['/v1/videos', { model: 'seedance-2.0-fast', prompt: 'profile clip', seconds: 4 }]
      : ['/v1/chat/completions', { model: 'grok-4-fast', messages: [{ role: 'user', content: 'Say three short words.' }], stream: kind === 'stream' }];
    if (kind === 'tasks' && QUEUED > 0) {
      const fill = await autocannon({
        url: `${base}${path}`, method: 'POST', connections: Number(connectionsArg), amount: QUEUED,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[0]}` }, body: JSON.stringify(body),
      });
      console.log(`queued before the load: ${fill['2xx']} tasks created and left queued (non-2xx ${fill.non2xx}, errors ${fill.errors})`);
    }
    const cpuBefore = cpuSeconds({ genrelay: server.child.pid, mock: mock.child.pid, client: process.pid });
    const runs = await Promise.all(keys.map((key, index) => autocannon({
      url: `${base}${path}`, method: 'POST', duration: Number(secondsArg),
      connections: Math.floor(Number(connectionsArg) / CUSTOMERS) + (index < Number(connectionsArg) % CUSTOMERS ? 1 : 0),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body),
    })));
    const result = { '2xx': 0, non2xx: 0, errors: 0 };
    for (const run of runs) {
      result['2xx'] += run['2xx'];
      result.non2xx += run.non2xx;
      result.errors += run.errors;
    }
    const cpuAfter = cpuSeconds({ genrelay: server.child.pid, mock: mock.child.pid, client: process.pid });
    console.log(`${kind} ${engine} c=${connectionsArg}${CUSTOMERS > 1 ? ` over ${CUSTOMERS} customers` : ''}: ${(result['2xx'] / Number(secondsArg)).toFixed(0)} 2xx/s, non-2xx ${result.non2xx}, errors ${result.errors}`);
    console.log(cpuPerRequest(cpuBefore, cpuAfter, result['2xx'] + result.non2xx));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const groups = metrics.split('\n').filter((line) => line.startsWith('genrelay_group_commit_'));
    console.log(`group commit: ${groups.join(' · ')}`);
    await stop(server);
    await stop(mock);
    if (created) console.log(await tableActivity(databaseName, result['2xx'] + result.non2xx));
    if (!profiling) return;
    const file = readdirSync(profDir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no profile written in ${profDir}`);
    console.log(`profile: ${join(profDir, file)}\n`);
    console.log(summarise(join(profDir, file), kind === 'tasks' ? 'createTask' : 'runTextRequest'));
  } finally {
    await stopAll();
    if (created) await adminQuery(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
