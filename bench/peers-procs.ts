/**
 * Process plumbing for `npm run bench:peers` (bench/peers.ts): starting the peers as separate processes the way
 * their users start them, waiting for them, stopping them, installing the pinned Portkey gateway into a scratch
 * folder with npm, and running pgbench. Nothing here is installed into genrelay or committed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { databaseUrl } from '../test/harness/databases.js';

export interface Started {
  name: string;
  child: ChildProcess;
  /** The file its stdout and stderr go to (read it when something fails). */
  log: string;
}

const running = new Set<Started>();

/** A free loopback port (bound and released; the peer binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
    server.on('error', reject);
  });
}

/** Starts `command args` with its output in `<logDir>/<name>.log`. */
export function start(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; logDir: string }): Started {
  const log = join(options.logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd] });
  const started = { name, child, log };
  running.add(started);
  child.once('exit', () => running.delete(started));
  return started;
}

/**
 * `npm start` as package.json spells it — `[NAME=value …] node [flags] bin/genrelay.mjs serve` — as what to spawn:
 * the environment it sets (a value may be `${NAME:-default}`, resolved against `env` as `sh` would) and the
 * arguments after `node`. Throws when the script has another shape, so a bench never starts genrelay some other way.
 */
export function npmStart(root: string, env: NodeJS.ProcessEnv = process.env): { env: Record<string, string>; args: string[] } {
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start ?? '';
  const words = script.trim().split(/\s+/);
  const assigned: Record<string, string> = {};
  for (let word = words[0]; word !== undefined && /^[A-Za-z_]\w*=/.test(word); word = words[0]) {
    words.shift();
    const [, name, value] = /^(\w+)=(.*)$/.exec(word)!;
    const fallback = /^\$\{(\w+):-([^}]*)\}$/.exec(value!);
    if (fallback) assigned[name!] = env[fallback[1]!] || fallback[2]!;
    else if (/[$`"'\\]/.test(value!)) throw new Error(`npm start sets ${name} in a way this bench does not read: ${script}`);
    else assigned[name!] = value!;
  }
  const [command, ...args] = words;
  if (command !== 'node' || !args.includes('bin/genrelay.mjs')) throw new Error(`npm start is not "[NAME=value …] node … bin/genrelay.mjs …": ${script}`);
  return { env: assigned, args };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/** Waits for a `ready <url>` line in the process's log (the bench's own helpers print one). */
export async function readyLine(started: Started, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /^ready (\S+)$/m.exec(existsSync(started.log) ? readFileSync(started.log, 'utf8') : '');
    if (match) return match[1]!;
    if (started.child.exitCode !== null) throw new Error(`${started.name} exited (${started.child.exitCode}):\n${tail(started.log)}`);
    if (Date.now() > deadline) throw new Error(`${started.name} did not start in ${timeoutMs / 1000} s:\n${tail(started.log)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until `url` answers with a status `ok` accepts (any answer by default). */
export async function waitHttp(started: Started, url: string, ok: (status: number) => boolean = () => true, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (ok(response.status)) return;
    } catch {
      // not listening yet
    }
    if (started.child.exitCode !== null) throw new Error(`${started.name} exited (${started.child.exitCode}):\n${tail(started.log)}`);
    if (Date.now() > deadline) throw new Error(`${started.name} did not answer ${url} in ${timeoutMs / 1000} s:\n${tail(started.log)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stop(started: Started, graceMs = 15_000): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every process this bench started that is still running (on the way out, also after a failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((started) => stop(started, 5000)));
}

/**
 * Installs the Portkey gateway at `version` from npm into `dir` (reused when already there) and returns its start
 * script. @hono/node-server is held at 1.13.8 through npm `overrides`: with the newer 1.x that `^1.3.3` resolves to
 * today, the gateway's streaming answers fail with `TypeError: immutable` on Node (Portkey-AI/gateway#1389).
 */
export function installPortkey(dir: string, version: string): string {
  const script = join(dir, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  if (existsSync(script)) return script;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'genrelay-bench-portkey', private: true,
    dependencies: { '@portkey-ai/gateway': version },
    overrides: { '@hono/node-server': '1.13.8' },
  }, null, 2));
  console.error(`installing @portkey-ai/gateway@${version} into ${dir} (npm install) …`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0 || !existsSync(script)) throw new Error(`npm install of @portkey-ai/gateway@${version} failed (exit ${result.status})`);
  return script;
}

export interface PgbenchResult {
  tps: number;
  meanMs: number;
  p99Ms: number;
  transactions: number;
}

/** Runs pgbench with one custom script against `url` and reads its per-transaction log for the percentiles. */
export function pgbench(url: string, scriptPath: string, clients: number, seconds: number, logDir: string): PgbenchResult {
  mkdirSync(logDir, { recursive: true });
  const args = ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', scriptPath, '-l', `--log-prefix=${join(logDir, 'pgbench')}`, url];
  const result = spawnSync('pgbench', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`pgbench failed (exit ${result.status}):\n${result.stderr}\n${result.stdout}`);
  const tps = Number(/tps = ([\d.]+)/.exec(result.stdout)?.[1] ?? NaN);
  const latencies: number[] = [];
  for (const file of readdirSync(logDir)) {
    if (!file.startsWith('pgbench')) continue;
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      // client_id transaction_no time(µs) script_no time_epoch time_us
      const fields = line.split(' ');
      if (fields.length >= 6) latencies.push(Number(fields[2]) / 1000);
    }
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? NaN;
  return { tps, meanMs: latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length), p99Ms: p99, transactions: latencies.length };
}

/**
 * CPU seconds (user + system, from /proc) used so far by the named processes, by each of PostgreSQL's processes
 * (`postgres:<pid>`, summed by cpuPerRequestMs), and by the whole machine (`machine busy`, steal included, and
 * `machine idle`). Linux only: elsewhere only what /proc would give is missing.
 */
export function cpuSeconds(pids: Record<string, number | undefined>): Map<string, number> {
  const ticks = 100; // USER_HZ
  const seconds = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
  };
  const read = (pid: number | string) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
  };
  const used = new Map<string, number>();
  for (const [name, pid] of Object.entries(pids)) {
    const stat = pid === undefined ? null : read(pid);
    if (stat) used.set(name, seconds(stat));
  }
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return used;
  }
  for (const pid of entries) {
    const stat = read(pid);
    if (stat?.includes('(postgres)')) used.set(`postgres:${pid}`, seconds(stat));
  }
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  used.set('machine busy', (user! + nice! + system! + irq! + softirq! + steal!) / ticks);
  used.set('machine idle', (idle! + iowait!) / ticks);
  return used;
}

/**
 * Milliseconds of CPU per request between two `cpuSeconds` readings, by name; PostgreSQL's processes summed as
 * `postgres` (a backend that exited in between is not counted, one that started counts from its start).
 */
export function cpuPerRequestMs(before: Map<string, number>, after: Map<string, number>, requests: number): Record<string, number> {
  const spent: Record<string, number> = {};
  const per = (seconds: number) => (seconds * 1000) / Math.max(1, requests);
  for (const [name, value] of after) {
    const key = name.startsWith('postgres:') ? 'postgres' : name;
    spent[key] = (spent[key] ?? 0) + per(value - (before.get(name) ?? 0));
  }
  return spent;
}

export function hasPgbench(): boolean {
  return spawnSync('pgbench', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** A caller of genrelay's operator API with `key`: answers the parsed JSON, throws on any status ≥ 300. */
export function operatorApi(key: string): (base: string, method: string, path: string, body?: unknown) => Promise<any> {
  return async (base, method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`operator API ${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/**
 * What PostgreSQL did for the database, per request (or task): transactions, and per table rows written and rows read by
 * sequential scans (a hot statement that scans a growing table shows here). Read after the server stopped, when
 * its sessions have reported their counts; set-up requests are included, so small figures are rounded noise.
 */
export async function tableActivity(database: string, requests: number): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl(database) });
  await client.connect();
  try {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const xacts = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
    const tables = await client.query<{ relname: string; ins: string; upd: string; seq_scan: string; seq_read: string; idx_scan: string }>(
      `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, seq_scan, seq_tup_read AS seq_read, coalesce(idx_scan, 0) AS idx_scan
         FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + seq_tup_read > 0 ORDER BY relname`);
    const per = (value: string) => (Number(value) / Math.max(1, requests)).toFixed(2);
    const lines = tables.rows
      .filter((row) => Number(row.ins) + Number(row.upd) + Number(row.seq_read) >= requests / 100)
      .map((row) => `  ${row.relname.padEnd(22)} inserted ${per(row.ins)} · updated ${per(row.upd)} · index scans ${per(row.idx_scan)} · seq scans ${per(row.seq_scan)} reading ${per(row.seq_read)} rows`);
    return `PostgreSQL per request: ${per(xacts.rows[0]!.n)} transactions\n${lines.join('\n')}`;
  } finally {
    await client.end();
  }
}
