/**
 * Memory under a burst of large and malformed requests (issue 8). Starts `genrelay serve` as users do (embedded
 * database, demo key), samples its resident set size from /proc every 50 ms, and fires one burst:
 * 48 concurrent 16 MiB JSON bodies (video requests carrying an inline data-URL reference, chat requests with a
 * 16 MiB message), 64 concurrent 1 MiB malformed bodies (100 000-deep nesting, NUL characters, broken multipart),
 * then waits. It runs once with the in-flight body budget off (MAX_INFLIGHT_BODY_MB=0) and once with the default
 * (256 MiB), and prints RSS before, at the peak and after, with the answers' status counts.
 *
 *   npm run bench:memory
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const MiB = 1024 * 1024;
const ROOT = join(import.meta.dirname, '..');

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

async function start(budgetMb: string, port: number): Promise<{ child: ChildProcess; key: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-mem-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/genrelay.mjs'), 'serve'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), DEMO: 'true', LOG_LEVEL: 'error', MAX_INFLIGHT_BODY_MB: budgetMb, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (let wait = 0; wait < 600; wait += 1) {
    const key = /(ak_test_[0-9A-Za-z]{49})/.exec(output)?.[1];
    if (key) {
      for (let ready = 0; ready < 100; ready += 1) {
        const ok = await send(port, 'GET', '/readyz', {}, undefined).then((answer) => answer === 200, () => false);
        if (ok) return { child, key, dataDir };
        await sleep(100);
      }
    }
    await sleep(100);
  }
  throw new Error(`genrelay did not start: ${output}`);
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<number> {
  return new Promise((resolve) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', () => resolve(-1));
    request.end(body);
  });
}

async function run(label: string, budgetMb: string, port: number) {
  const { child, key, dataDir } = await start(budgetMb, port);
  const pid = child.pid!;
  await sleep(1000);
  const before = rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // process gone
    }
  }, 50);

  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const big = 'A'.repeat(16 * MiB - 200);
  const video = Buffer.from(JSON.stringify({ model: 'seedance-2.0-fast', prompt: 'x', references: [{ type: 'image', url: `data:image/png;base64,${big}` }] }));
  const chat = Buffer.from(JSON.stringify({ model: 'gpt-5-mini', messages: [{ role: 'user', content: big }] }));
  const deep = Buffer.from(`{"model":"x","prompt":"y","metadata":${'['.repeat(MiB / 2)}${']'.repeat(MiB / 2)}}`);
  const nul = Buffer.from(JSON.stringify({ model: 'seedance-2.0-fast', prompt: `a\u0000${'b'.repeat(MiB)}` }));
  const multipart = Buffer.from(`--XX\r\nContent-Disposition: form-data; name="input_reference"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${'z'.repeat(MiB)}`);

  const started = Date.now();
  const answers = await Promise.all([
    ...Array.from({ length: 24 }, () => send(port, 'POST', '/v1/videos', auth, video)),
    ...Array.from({ length: 24 }, () => send(port, 'POST', '/v1/chat/completions', auth, chat)),
    ...Array.from({ length: 24 }, () => send(port, 'POST', '/v1/videos', auth, deep)),
    ...Array.from({ length: 20 }, () => send(port, 'POST', '/v1/videos', auth, nul)),
    ...Array.from({ length: 20 }, () => send(port, 'POST', '/v1/videos', { ...auth, 'content-type': 'multipart/form-data; boundary=XX' }, multipart)),
  ]);
  const burstMs = Date.now() - started;
  await sleep(5000);
  clearInterval(sampler);
  const after = rssMiB(pid);
  const statuses: Record<string, number> = {};
  for (const status of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  rmSync(dataDir, { recursive: true, force: true });
  return { run: label, rss_before_mib: before, rss_peak_mib: peak, rss_after_5s_mib: after, burst_ms: burstMs, statuses: JSON.stringify(statuses) };
}

async function main(): Promise<void> {
  const rows = [];
  rows.push(await run('no body budget (MAX_INFLIGHT_BODY_MB=0)', '0', 18_431));
  rows.push(await run('default body budget (256 MiB)', '256', 18_432));
  console.table(rows);
}

void main();
