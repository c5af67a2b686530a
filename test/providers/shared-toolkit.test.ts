import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { channelProviderIds, createAdapter, isInternalProvider, isProvider, PROVIDERS, TEST_MODE_PROVIDER } from '../../src/providers/registry.js';
import { makePng } from '../../src/providers/sandbox/media.js';
import { upstreamRequest, UpstreamNetworkError, type UpstreamResponse } from '../../src/providers/shared/http.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { withSafeMessages } from '../../src/providers/shared/safe-messages.js';
import { sanitize } from '../../src/providers/shared/sanitize.js';
import { networkStartFailure, startOutcome, unusableSuccess, type StartFailureCause } from '../../src/providers/shared/start-failure.js';
import { missingChannel, submitCreate } from '../../src/providers/shared/start.js';
import { forward, isTerminal, readStatus, type StatusTable } from '../../src/providers/shared/status-table.js';
import type { ProviderAdapter, ProviderContext } from '../../src/providers/spec.js';

/**
 * The provider toolkit (issue 9): the one sanitizer, the one start-failure rule, the one start sequence, status
 * tables as data, the message boundary every adapter goes through, and the registry's internal providers.
 */
const servers: Server[] = [];
afterEach(async () => {
  while (servers.length) await new Promise((resolve) => servers.pop()!.close(resolve));
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A base URL nothing listens on: a server is bound, its port read, and the server closed again. */
async function closedBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function answer(status: number, body: string): UpstreamResponse {
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers: {}, text: body, bytes: Buffer.from(body), json };
}

describe('the shared sanitizer', () => {
  const CREDENTIAL = 'acct-9f8e7d6c5b4a';
  const BASE_URL = 'https://relay.internal-gw.example:8443/v1';

  it.each([
    ['bearer tokens', 'rejected header Authorization: Bearer abc.def-ghi', /abc\.def|def-ghi/, 'Bearer ***'],
    ['basic credentials', 'proxy said: Basic dXNlcjpwYXNz', /dXNlcjpwYXNz/, 'Basic ***'],
    ['OpenAI-style keys', 'Incorrect API key provided: sk-proj-AbC123xyz987.', /AbC123|xyz987/, 'sk-***'],
    ['xAI keys', 'key xai-Zz9YYy8XXx7 is revoked', /Zz9YYy8/, 'xai-***'],
    ['masked echoes of a key', 'Incorrect API key provided: mo***ey. Check it.', /mo\*\*\*ey/, 'API key provided: ***'],
    ['the value after "API key provided"', 'Incorrect API key provided: 0123abcd4567', /0123abcd4567/, 'API key provided: ***'],
    ['URLs', 'could not fetch https://cdn.tos-cn-beijing.volces.com/out/x.mp4?X-Tos-Signature=abc, retry', /volces|X-Tos|x\.mp4/, '[url], retry'],
    ['IPv4 hosts with a port', 'connect ECONNREFUSED 10.1.2.3:443', /10\.1\.2\.3/, 'ECONNREFUSED [host]'],
    ['IPv6 hosts', 'connect ECONNREFUSED ::1:8443 and [fd00::2]:9', /::1|fd00/, 'ECONNREFUSED [host] and [host]'],
    ['DNS names in socket errors', 'getaddrinfo ENOTFOUND gw-7.corp', /gw-7\.corp/, 'ENOTFOUND [host]'],
    ['connect-timeout addresses', 'Connect Timeout Error (attempted address: api.x.ai:443, timeout: 10000ms)', /x\.ai/, 'attempted address: [host]'],
    ['host names', 'upstream dashscope-intl.aliyuncs.com refused; fallback api.openai.com', /aliyuncs|openai\.com/, 'upstream [host] refused; fallback [host]'],
    ['request ids with their label', 'The request failed. Request id: 0217abc-def', /0217abc/, 'The request failed.'],
    ['OpenAI request ids', 'see req_123abc', /req_123abc/, 'see [request]'],
    ['UUIDs', 'Team 5f0c1e2a-7b3d-4c8e-9a10-b2c3d4e5f607 has no credits', /5f0c1e2a/, 'has no credits'],
    ['long hex ids', 'task 8c2f9a0b1d3e4f5a6b7c8d9e0f1a2b3c unknown', /8c2f9a0b/, 'task [id] unknown'],
  ])('masks %s', (_, message, leak, kept) => {
    const clean = sanitize(message);
    expect(clean).not.toMatch(leak);
    expect(clean).toContain(kept);
  });

  it("masks the account's credential and the channel's own host wherever they appear", () => {
    const message = `401 for key ${CREDENTIAL} at relay.internal-gw.example:8443 (host relay.internal-gw.example) via ${BASE_URL}/videos`;
    const clean = sanitize(message, { credential: CREDENTIAL, baseUrl: BASE_URL });
    expect(clean).not.toContain(CREDENTIAL);
    expect(clean).not.toContain('internal-gw');
    expect(clean).toBe('401 for key *** at [host] (host [host]) via [url]');
  });

  it('keeps what operators need: codes, statuses, dotted error codes and file names', () => {
    const message = 'ark HTTP 400 InputTextSensitiveContentDetected.PolicyViolation: parameters.resolution of image.png (code 422, HTTP 503)';
    expect(sanitize(message)).toBe(message);
  });

  it('is idempotent, collapses whitespace and caps the length', () => {
    const noisy = `Bearer tok  ${'x'.repeat(600)}\n sk-abcdef https://a.example/b 127.0.0.1:9 req_9 Request id: 7`;
    const once = sanitize(noisy, { credential: 'tok', baseUrl: 'http://127.0.0.1:9' });
    expect(sanitize(once, { credential: 'tok', baseUrl: 'http://127.0.0.1:9' })).toBe(once);
    expect(once.length).toBeLessThanOrEqual(500);
    expect(once.endsWith('...')).toBe(true);
    for (const message of ['a Bearer ***', 'sk-*** and ***', 'at [host] [url] [id] [request]', 'team [stripped]']) expect(sanitize(message)).toBe(message);
  });

  it('leaves nothing PostgreSQL cannot store: control characters and NULs become spaces, a split surrogate U+FFFD', () => {
    expect(sanitize('bad\u0000 input\u0007here\u001b[0m')).toBe('bad input here [0m');
    // The cap at 500 falls inside an emoji's surrogate pair.
    const capped = sanitize(`${'x'.repeat(496)}\u{1F600}tail`);
    expect(capped).toBe(`${'x'.repeat(496)}\uFFFD...`);
    expect(capped.isWellFormed()).toBe(true);
  });
});

describe('the start-failure classifier: one rule for every adapter', () => {
  const notSent = (code: string) => new UpstreamNetworkError(`connect ${code}`, false, code.includes('TIMEOUT'));
  const cases: Array<[string, StartFailureCause, 'rejected' | 'unknown']> = [
    ['connection refused (nothing sent)', { kind: 'network', error: notSent('ECONNREFUSED') }, 'rejected'],
    ['DNS failure (nothing sent)', { kind: 'network', error: notSent('ENOTFOUND') }, 'rejected'],
    ['connect timeout (nothing sent)', { kind: 'network', error: notSent('UND_ERR_CONNECT_TIMEOUT') }, 'rejected'],
    ['timeout waiting for the answer (sent)', { kind: 'network', error: new UpstreamNetworkError('Headers Timeout Error', true, true) }, 'unknown'],
    ['connection reset after sending', { kind: 'network', error: new UpstreamNetworkError('other side closed', true, false) }, 'unknown'],
    ['a throw that is not a network error', { kind: 'network', error: new TypeError('boom') }, 'unknown'],
    ['a thrown non-error value', { kind: 'network', error: 'weird' }, 'unknown'],
    ['HTTP 400', { kind: 'answer', status: 400 }, 'rejected'],
    ['HTTP 401', { kind: 'answer', status: 401 }, 'rejected'],
    ['HTTP 403', { kind: 'answer', status: 403 }, 'rejected'],
    ['HTTP 404', { kind: 'answer', status: 404 }, 'rejected'],
    ['HTTP 408', { kind: 'answer', status: 408 }, 'rejected'],
    ['HTTP 422', { kind: 'answer', status: 422 }, 'rejected'],
    ['HTTP 429', { kind: 'answer', status: 429 }, 'rejected'],
    ['a 455 maintenance code in an envelope', { kind: 'answer', status: 455 }, 'rejected'],
    ['HTTP 500', { kind: 'answer', status: 500 }, 'unknown'],
    ['HTTP 502', { kind: 'answer', status: 502 }, 'unknown'],
    ['HTTP 503', { kind: 'answer', status: 503 }, 'unknown'],
    ['HTTP 504', { kind: 'answer', status: 504 }, 'unknown'],
    ['a redirect', { kind: 'answer', status: 302 }, 'unknown'],
    ['an error envelope in a 200 the family cannot place', { kind: 'answer', status: 200 }, 'unknown'],
    ['a refusal code inside a 200 (DashScope quirk 8)', { kind: 'answer', status: 200, refused: true }, 'rejected'],
    ["new-api's 503 no channel for this model", { kind: 'answer', status: 503, refused: true }, 'rejected'],
  ];
  it.each(cases)('%s → %s', (_, cause, outcome) => {
    expect(startOutcome(cause)).toBe(outcome);
  });

  it('network failures are class network and say whether anything was sent', () => {
    expect(networkStartFailure(notSent('ECONNREFUSED'), 'x create')).toEqual({
      outcome: 'rejected',
      error: { class: 'network', message: 'x create: network error (not sent): connect ECONNREFUSED' },
    });
    expect(networkStartFailure(new UpstreamNetworkError('Headers Timeout Error', true, true), 'x create')).toMatchObject({
      outcome: 'unknown',
      error: { class: 'network', message: 'x create: timeout: Headers Timeout Error' },
    });
  });

  it('a 2xx without a task id is unknown: network when empty, upstream_error otherwise', () => {
    expect(unusableSuccess(answer(200, ''), 'x create')).toMatchObject({ outcome: 'unknown', error: { class: 'network' } });
    expect(unusableSuccess(answer(200, '{"ok":true}'), 'x create')).toMatchObject({ outcome: 'unknown', error: { class: 'upstream_error' } });
  });

  it('real transport failures: refused → rejected; reset and timeout after sending → unknown', async () => {
    const send = (url: string, timeoutMs = 2_000) => () => upstreamRequest({ method: 'POST', url, body: '{}', timeoutMs });
    const refused = await submitCreate({ label: 't', send: send(`${await closedBaseUrl()}/create`), readError: () => null, accept: () => 'id' });
    expect(refused).toMatchObject({ ok: false, failure: { outcome: 'rejected', error: { class: 'network' } } });
    const reset = await listen((request) => request.on('data', () => request.socket.destroy()));
    expect(await submitCreate({ label: 't', send: send(`${reset}/create`), readError: () => null, accept: () => 'id' })).toMatchObject({
      ok: false,
      failure: { outcome: 'unknown', error: { class: 'network' } },
    });
    const silent = await listen(() => undefined);
    expect(await submitCreate({ label: 't', send: send(`${silent}/create`, 200), readError: () => null, accept: () => 'id' })).toMatchObject({
      ok: false,
      failure: { outcome: 'unknown', error: { class: 'network' } },
    });
  });
});

describe('the start sequence', () => {
  const call = (response: UpstreamResponse) => ({
    label: 'fam create',
    send: async () => response,
    readError: (r: UpstreamResponse) => {
      const body = r.json as { code?: number; refused?: boolean } | undefined;
      if (r.status >= 200 && r.status < 300 && body?.code === undefined) return null;
      return { error: { class: 'invalid_request' as const, message: `fam ${r.status}` }, ...(body?.code ? { status: body.code } : {}), ...(body?.refused ? { refused: true } : {}) };
    },
    accept: (r: UpstreamResponse) => (r.json as { id?: string } | undefined)?.id ?? null,
  });

  it.each([
    [answer(200, '{"id":"t1"}'), { ok: true, value: 't1' }],
    [answer(400, '{}'), { ok: false, failure: { outcome: 'rejected', error: { class: 'invalid_request' } } }],
    [answer(503, '{}'), { ok: false, failure: { outcome: 'unknown' } }],
    [answer(200, '{"code":429}'), { ok: false, failure: { outcome: 'rejected' } }],
    [answer(200, '{"code":500}'), { ok: false, failure: { outcome: 'unknown' } }],
    [answer(503, '{"refused":true}'), { ok: false, failure: { outcome: 'rejected' } }],
    [answer(200, ''), { ok: false, failure: { outcome: 'unknown', error: { class: 'network' } } }],
    [answer(200, '{"other":1}'), { ok: false, failure: { outcome: 'unknown', error: { class: 'upstream_error' } } }],
  ])('answer %# → the family reading, then the shared rule', async (response, expected) => {
    expect(await submitCreate(call(response))).toMatchObject(expected);
  });

  it('a channel without a credential (or a required base URL) is rejected as auth before anything is sent', () => {
    const context: ProviderContext = { clock: new ManualClock(), upstreamModel: 'm', settings: {}, attempt: 1 };
    expect(missingChannel(context, 'fam', { baseUrl: false })).toMatchObject({ class: 'auth' });
    expect(missingChannel({ ...context, credential: 'k' }, 'fam', { baseUrl: true })).toMatchObject({ class: 'auth' });
    expect(missingChannel({ ...context, credential: 'k' }, 'fam', { baseUrl: false })).toBeNull();
  });
});

describe('status tables as data', () => {
  const table: StatusTable = { pending: 'queued', in_progress: 'running', done: 'succeeded', failed: 'failed' };

  it('normalises spellings, and reports unknown ones as running, flagged', () => {
    expect(readStatus(table, ' In-Progress ')).toEqual({ status: 'running', known: true });
    expect(readStatus(table, 'PENDING')).toEqual({ status: 'queued', known: true });
    expect(readStatus(table, 'in progress')).toEqual({ status: 'running', known: true });
    expect(readStatus(table, 'warming_up')).toEqual({ status: 'running', known: false });
    expect(readStatus(table, undefined)).toEqual({ status: 'running', known: false });
    // Inherited object keys are not spellings.
    expect(readStatus(table, 'constructor')).toEqual({ status: 'running', known: false });
  });

  it('never moves backwards; terminal answers are final', () => {
    expect(forward('running', 'queued')).toBe('running');
    expect(forward('queued', 'running')).toBe('running');
    expect(forward(undefined, 'queued')).toBe('queued');
    expect(forward('running', 'failed')).toBe('failed');
    expect(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'].map((status) => isTerminal(status as never))).toEqual([false, false, true, true, true, true]);
  });
});

describe('the message boundary of every adapter', () => {
  const context: ProviderContext = {
    clock: new ManualClock(),
    upstreamModel: 'm',
    baseUrl: 'https://up.example-gw.io/v1',
    credential: 'secret-key-123',
    settings: {},
    attempt: 1,
  };
  const leaky = 'upstream https://up.example-gw.io/v1/x said: key secret-key-123, Bearer zzz, Request id: 42';
  const leaks = /up\.example-gw|secret-key-123|zzz|Request id/;
  const raw: ProviderAdapter = {
    id: 'fake',
    capabilities: { kinds: ['video'], cancel: true, idempotentCreates: false },
    start: async (request) =>
      request.prompt === 'completed'
        ? { outcome: 'accepted', operation: {}, providerTaskId: 'p', completed: { status: 'failed', error: { class: 'upstream_error', message: leaky } } }
        : { outcome: 'unknown', error: { class: 'upstream_error', message: leaky } },
    status: async (operation) => {
      if (operation === 'throw') throw Object.assign(new Error(leaky), { error: { class: 'network', message: leaky } });
      return { status: 'failed', error: { class: 'upstream_error', message: leaky } };
    },
    cancel: async () => {
      throw new Error(leaky);
    },
    text: {
      chat: async () => ({ ok: false, error: { class: 'auth', message: leaky } }),
      embeddings: async () => ({
        ok: true,
        stream: true,
        events: (async function* () {})(),
        usage: () => null,
        error: () => ({ class: 'network', message: leaky }),
        ended: () => true,
        abort: () => undefined,
      }),
    },
  };
  const adapter = withSafeMessages(raw);
  const request = { taskId: 't', kind: 'video' as const, model: 'm', prompt: 'x', references: [] };

  it('sanitizes start, completed, status, thrown and text messages with the call’s credential and host', async () => {
    const started = await adapter.start(request, context);
    expect(started.outcome).toBe('unknown');
    if (started.outcome !== 'accepted') expect(started.error.message).not.toMatch(leaks);
    const completed = await adapter.start({ ...request, prompt: 'completed' }, context);
    if (completed.outcome === 'accepted') expect(completed.completed?.error?.message).not.toMatch(leaks);
    expect((await adapter.status({}, context)).error?.message).not.toMatch(leaks);
    const thrown = await adapter.status('throw', context).catch((error: Error & { error: { message: string } }) => error);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).message).not.toMatch(leaks);
    expect((thrown as Error & { error: { message: string } }).error.message).not.toMatch(leaks);
    expect(await adapter.cancel!({}, context).catch((error: Error) => error.message)).not.toMatch(leaks);
    const chat = await adapter.text!.chat({}, false, context);
    if (!chat.ok) expect(chat.error.message).not.toMatch(leaks);
    const embeddings = await adapter.text!.embeddings!({}, context);
    if (embeddings.ok && embeddings.stream) expect(embeddings.error()?.message).not.toMatch(leaks);
    // Identity and capabilities are the adapter's own.
    expect(adapter).toMatchObject({ id: 'fake', capabilities: raw.capabilities });
  });
});

describe('the registry', () => {
  it('says which providers are internal; operators configure only the others', () => {
    expect(isInternalProvider(TEST_MODE_PROVIDER)).toBe(true);
    expect(Object.keys(PROVIDERS).filter((id) => isInternalProvider(id))).toEqual([TEST_MODE_PROVIDER]);
    expect(channelProviderIds()).not.toContain(TEST_MODE_PROVIDER);
    expect(channelProviderIds().length).toBe(Object.keys(PROVIDERS).length - 1);
    for (const id of [null, undefined, '', 'nope', 'toString', 'constructor']) {
      expect(isInternalProvider(id)).toBe(false);
      expect(isProvider(id)).toBe(false);
    }
    expect(() => createAdapter('toString')).toThrow(/unknown provider/);
  });

  it('builds every registered adapter with its own id', () => {
    for (const id of Object.keys(PROVIDERS)) expect(createAdapter(id).id).toBe(id);
  });

  it('media sniffing is shared, not the sandbox provider’s', () => {
    expect(sniffContentType(makePng('x', { width: 4, height: 4 }))).toBe('image/png');
  });
});
