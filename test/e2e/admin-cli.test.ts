import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The console's first owner as a user gets it (issue 11): `genrelay admin create --email …` prints a one-time
 * enrollment link, and the embedded default's first start prints one for ADMIN_EMAIL beside the operator key. The
 * link is then used over HTTP like the console does (pre-session, enroll/start, enroll/finish with a real TOTP code).
 */
const directories: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function dataDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'genrelay-admin-cli-'));
  directories.push(directory);
  return directory;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/genrelay.mjs', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout?.on('data', (chunk) => (text += chunk));
  child.stderr?.on('data', (chunk) => (text += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

/** Starting the embedded database takes seconds (tens on a loaded machine): generous waits. */
async function waitForReady(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 1800; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not become ready');
}

/** Enrolls through the console's JSON routes with the link's token, like the console's enrollment page does. */
async function enroll(base: string, link: string): Promise<{ status: number; body: any }> {
  const token = new URL(link).hash.replace('#token=', '');
  const session = await fetch(`${base}/admin/api/auth/session`);
  const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
  const headers = { cookie, 'x-csrf-token': ((await session.json()) as { csrf_token: string }).csrf_token, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' };
  const start = (await (await fetch(`${base}/admin/api/auth/enroll/start`, { method: 'POST', headers, body: JSON.stringify({ token }) })).json()) as { secret: string };
  const code = new TOTP({ secret: Secret.fromBase32(start.secret) }).generate();
  const finish = await fetch(`${base}/admin/api/auth/enroll/finish`, { method: 'POST', headers, body: JSON.stringify({ token, password: 'first owner password', code }) });
  return { status: finish.status, body: await finish.json() };
}

const LINK = /(http:\/\/127\.0\.0\.1:\d+\/admin\/enroll#token=[A-Za-z0-9_-]{43})/;

describe('genrelay admin create', () => {
  it('creates a pending owner and prints a link that enrolls it; refuses an enrolled email and bad options', async () => {
    const directory = dataDir();
    const port = await freePort();
    const env = { DATA_DIR: directory, PORT: String(port) };
    const created = run(['admin', 'create', '--email', 'Boss@Example.com'], env);
    expect(await created.exit).toBe(0);
    expect(created.output()).toContain('Boss@Example.com: owner created (pending)');
    const link = LINK.exec(created.output())?.[1];
    expect(link, created.output()).toBeTruthy();
    expect(link!.startsWith(`http://127.0.0.1:${port}/admin/enroll#token=`)).toBe(true);

    // The embedded default does not add its own owner once an admin exists.
    const server = run(['serve'], env);
    await waitForReady(port, server.child);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.output()).toContain('Operator API key');
    expect(server.output()).not.toContain('Console owner');
    // While the server holds the embedded database, the CLI refuses to open it.
    const busy = run(['admin', 'create', '--email', 'late@example.com'], env);
    expect(await busy.exit).toBe(1);
    expect(busy.output()).toContain('cannot be opened twice');
    const enrolled = await enroll(`http://127.0.0.1:${port}`, link!);
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    expect(enrolled.body).toMatchObject({ state: 'authenticated', admin: { email: 'Boss@Example.com', role: 'owner' } });
    expect(enrolled.body.recovery_codes).toHaveLength(10);
    server.child.kill('SIGTERM');
    expect(await server.exit).toBe(0);

    const again = run(['admin', 'create', '--email', 'boss@example.com'], env);
    expect(await again.exit).toBe(1);
    expect(again.output()).toContain('already exists (active)');
    const role = run(['admin', 'create', '--email', 'x@example.com', '--role', 'root'], env);
    expect(await role.exit).toBe(2);
    expect(role.output()).toContain('--role must be one of owner, operator, viewer');
    const viewer = run(['admin', 'create', '--email', 'viewer@example.com', '--role', 'viewer'], env);
    expect(await viewer.exit).toBe(0);
    expect(viewer.output()).toContain('viewer@example.com: viewer created (pending)');
  }, 360_000);
});

describe('first start of the embedded default', () => {
  it('creates a pending owner (ADMIN_EMAIL) and prints its link beside the operator key, once', async () => {
    const directory = dataDir();
    const port = await freePort();
    const env = { DATA_DIR: directory, PORT: String(port), ADMIN_EMAIL: 'first@example.com' };
    const first = run(['serve'], env);
    await waitForReady(port, first.child);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(first.output()).toMatch(/Operator API key:\s+\S+/);
    expect(first.output()).toContain('Console owner:      first@example.com');
    const link = LINK.exec(first.output())?.[1];
    expect(link).toBeTruthy();
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const second = run(['serve'], env);
    await waitForReady(port, second.child);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(second.output()).not.toContain('Console owner');
    const enrolled = await enroll(`http://127.0.0.1:${port}`, link!);
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    expect(enrolled.body.admin).toMatchObject({ email: 'first@example.com', role: 'owner' });
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  }, 360_000);
});
