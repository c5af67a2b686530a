import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The CLI as a user runs it: `genrelay serve` on the embedded default, first-start output, `genrelay migrate`. */
const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-cli-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function run(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['bin/genrelay.mjs', ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function collect(child: ChildProcess): { text: () => string } {
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  return { text: () => text };
}

async function waitForReady(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not become ready');
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('genrelay serve (embedded default)', () => {
  it('prints the operator key and a funded demo test key once, then never again', async () => {
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port) };
    const firstRun = run(['serve'], env);
    const output = collect(firstRun);
    await waitForReady(port, firstRun);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const operatorKey = /Operator API key:\s+(\S+)/.exec(output.text())?.[1];
    const testKey = /Demo test API key:\s+(\S+)/.exec(output.text())?.[1];
    expect(operatorKey).toBeTruthy();
    expect(testKey).toMatch(/^ak_test_[0-9A-Za-z]{49}$/);
    const usage = await fetch(`http://127.0.0.1:${port}/v1/usage`, { headers: { authorization: `Bearer ${testKey}` } });
    expect(await usage.json()).toEqual({ creditsBalance: 1_000_000, creditsReserved: 0, creditsAvailable: 1_000_000, mode: 'test' });
    const customers = await fetch(`http://127.0.0.1:${port}/api/public/customers`, { headers: { authorization: `Bearer ${operatorKey}` } });
    expect(customers.status).toBe(200);
    expect(await stop(firstRun)).toBe(0);

    const secondRun = run(['serve'], env);
    const secondOutput = collect(secondRun);
    await waitForReady(port, secondRun);
    expect(secondOutput.text()).not.toContain('Operator API key');
    expect(secondOutput.text()).not.toContain('Demo test API key');
    const again = await fetch(`http://127.0.0.1:${port}/v1/usage`, { headers: { authorization: `Bearer ${testKey}` } });
    expect(again.status).toBe(200);
    expect(await stop(secondRun)).toBe(0);
  });

  it('fails fast with a clear message on bad configuration', async () => {
    const child = run(['serve'], { DATA_DIR: dataDir, PORT: 'eighty' });
    const output = collect(child);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output.text()).toContain('Invalid configuration: PORT');
  });

  it('genrelay migrate applies migrations and reports an up-to-date database', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'genrelay-migrate-'));
    const first = run(['migrate'], { DATA_DIR: directory });
    const firstOutput = collect(first);
    expect(await new Promise((resolve) => first.once('exit', resolve))).toBe(0);
    expect(firstOutput.text()).toMatch(/applied migrations: 1, 2, 3, 4, 5/);
    const second = run(['migrate'], { DATA_DIR: directory });
    const secondOutput = collect(second);
    expect(await new Promise((resolve) => second.once('exit', resolve))).toBe(0);
    expect(secondOutput.text()).toContain('database is up to date');
    rmSync(directory, { recursive: true, force: true });
  });
});

describe('genrelay mock-upstreams', () => {
  it('serves every family on one port', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const child = run(['mock-upstreams', '--port', String(port)], {});
    const output = collect(child);
    // Waits for the banner's last line (tsx compiles the mocks first: seconds on a busy 2-core machine).
    for (let attempt = 0; attempt < 1200 && !output.text().includes('STRIPE_API_BASE'); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output.text()).toContain(`http://127.0.0.1:${port}/ark/api/v3`);
    // The payment mocks (issue 13): TronGrid under /tron, EVM JSON-RPC under /evm, the fake Stripe at the root.
    expect(output.text()).toContain(`http://127.0.0.1:${port}/tron`);
    expect(output.text()).toContain(`http://127.0.0.1:${port}/evm`);
    for (const family of ['ark', 'xai', 'openai', 'dashscope', 'suno', 'newapi']) {
      const stats = await fetch(`http://127.0.0.1:${port}/${family}/__mock/stats`);
      expect(stats.status, family).toBe(200);
    }
    // Any non-empty key is accepted by default; a missing key is refused in the family's shape.
    const refused = await fetch(`http://127.0.0.1:${port}/dashscope/api/v1/tasks/x`);
    expect(refused.status).toBe(401);
    child.kill('SIGKILL');
  });
});
