import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { useTestApp } from '../harness/setup.js';
import { ConsoleClient, TEST_PASSWORD, enrolledAdmin } from '../harness/console.js';
import { CUSTOMER_PASSWORD, CustomerClient, signedUpUser } from '../harness/customer-console.js';

/**
 * SEMANTICS A13 over real HTTP: each console opens at most `CONSOLE_PRESESSIONS_PER_MINUTE` (30) anonymous
 * pre-sessions per client IP in a fixed minute. The 31st gets 429 `rate_limited` with `Retry-After` and the console
 * error body and inserts no row; a caller with a live session is never counted or refused; other addresses and the
 * other console count apart; once the window ends the address opens pre-sessions again. The limiter is the app's
 * (`rate-limiter-flexible`, in memory here), which reads the system time: the tests move a fake `Date` like C61.
 * TRUSTED_PROXIES lets each test pick the client IP through X-Forwarded-For.
 */
const ctx = useTestApp({ env: { TRUSTED_PROXIES: '127.0.0.1/32', CONSOLE_PRESESSIONS_PER_MINUTE: '30' } });

afterEach(() => {
  vi.useRealTimers();
});

let ipCounter = 0;
const nextIp = () => `198.51.100.${(ipCounter += 1)}`;

interface ConsoleUnderTest {
  name: string;
  path: string;
  table: 'admin_sessions' | 'customer_sessions';
  client(): ConsoleClient | CustomerClient;
  /** A new account of this console (made from another client address). */
  account(): Promise<{ email: string; password: string }>;
  /** The password step, and the state it answers for that account. */
  login: string;
  loginState: string;
}

const consoles: ConsoleUnderTest[] = [
  {
    name: 'operator console',
    path: '/admin/api/auth/session',
    table: 'admin_sessions',
    client: () => new ConsoleClient(ctx.app),
    account: async () => ({ email: (await enrolledAdmin(ctx.app, 'viewer')).email, password: TEST_PASSWORD }),
    login: '/admin/api/auth/login',
    loginState: 'mfa_pending',
  },
  {
    name: 'customer console',
    path: '/console/api/auth/session',
    table: 'customer_sessions',
    client: () => new CustomerClient(ctx.app),
    account: async () => ({ email: (await signedUpUser(ctx.app)).email, password: CUSTOMER_PASSWORD }),
    login: '/console/api/auth/login',
    loginState: 'authenticated',
  },
];

async function sessionRows(table: string, ip: string): Promise<number> {
  return (await ctx.app.deps.db.query(`SELECT 1 FROM ${table} WHERE ip = $1`, [ip])).rows.length;
}

describe.each(consoles)('pre-session limit per client IP (A13): $name', (consoleUnderTest) => {
  const { path, table } = consoleUnderTest;
  const open = (ip: string, client = consoleUnderTest.client()) => client.request('GET', path, { headers: { 'x-forwarded-for': ip } });

  it('the 31st new pre-session in a minute gets 429 + Retry-After + the error body and inserts nothing; the window ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const ip = nextIp();
    for (let index = 0; index < 30; index += 1) {
      const response = await open(ip);
      expect(response.status, response.text).toBe(200);
      expect(response.body.state).toBe('anonymous');
    }
    expect(await sessionRows(table, ip)).toBe(30);

    const limited = await open(ip);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      error: {
        message: 'Too many new console sessions from this address; try again later',
        type: 'rate_limit_error',
        code: 'rate_limited',
        request_id: limited.headers.get('x-request-id'),
      },
    });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, String(retryAfter)).toBe(true);
    expect(limited.headers.get('set-cookie')).toBeNull();
    expect(limited.headers.get('cache-control')).toBe('no-store');
    expect((await open(ip)).status).toBe(429);
    expect(await sessionRows(table, ip)).toBe(30);

    // Retry-After is the rest of the window: then the address opens pre-sessions again (and is counted afresh).
    vi.setSystemTime(Date.now() + retryAfter * 1000);
    const again = await open(ip);
    expect(again.status, again.text).toBe(200);
    expect(again.body.state).toBe('anonymous');
    expect(await sessionRows(table, ip)).toBe(31);
  });

  it('a request with a live session is never limited or counted; other addresses and the other console count apart', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const account = await consoleUnderTest.account();
    const ip = nextIp();
    const early = consoleUnderTest.client();
    const opened = await open(ip, early);
    expect(opened.status).toBe(200);
    for (let index = 1; index < 30; index += 1) expect((await open(ip)).status).toBe(200);
    expect((await open(ip)).status).toBe(429);

    // The client that already holds a session: its cookie is read, nothing is created, nothing counted.
    for (let index = 0; index < 5; index += 1) {
      const own = await open(ip, early);
      expect(own.status, own.text).toBe(200);
      expect(own.headers.get('set-cookie')).toBeNull();
      expect(own.body.csrf_token).toBe(opened.body.csrf_token);
    }
    expect(await sessionRows(table, ip)).toBe(30);
    // …and it signs in from the limited address (the password step replaces the pre-session; no pre-session is opened).
    const login = await early.request('POST', consoleUnderTest.login, { body: account, headers: { 'x-forwarded-for': ip } });
    expect(login.status, login.text).toBe(200);
    expect(login.body.state).toBe(consoleUnderTest.loginState);
    const signedIn = await open(ip, early);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.state).toBe(consoleUnderTest.loginState);
    expect((await open(ip)).status).toBe(429);

    // Another address is not affected, and neither is the other console from the limited address.
    const other = nextIp();
    expect((await open(other)).status).toBe(200);
    expect(await sessionRows(table, other)).toBe(1);
    const otherConsole = consoles.find((candidate) => candidate.table !== table)!;
    const elsewhere = await otherConsole.client().request('GET', otherConsole.path, { headers: { 'x-forwarded-for': ip } });
    expect(elsewhere.status, elsewhere.text).toBe(200);
    expect(await sessionRows(otherConsole.table, ip)).toBe(1);
  });
});

describe('CONSOLE_PRESESSIONS_PER_MINUTE', () => {
  it('defaults to 30; 0 switches the limit off; anything else must be an integer up to 1 000 000', () => {
    expect(parseConfig({}).consolePreSessionsPerMinute).toBe(30);
    expect(parseConfig({ CONSOLE_PRESESSIONS_PER_MINUTE: '0' }).consolePreSessionsPerMinute).toBe(0);
    expect(parseConfig({ CONSOLE_PRESESSIONS_PER_MINUTE: '120' }).consolePreSessionsPerMinute).toBe(120);
    for (const bad of ['-1', '1.5', 'many', '1000001']) {
      expect(() => parseConfig({ CONSOLE_PRESESSIONS_PER_MINUTE: bad }), bad).toThrow(ConfigError);
    }
  });
});
