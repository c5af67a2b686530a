import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllMocks } from '../mock-upstreams/all.js';
import type { RunningMock } from '../mock-upstreams/shared/harness.js';
import { startTestApp, type TestApp } from '../harness/app.js';
import { runLiveUntilDone } from '../harness/flows.js';

/**
 * Issue 4: no response, log line or webhook ever contains an upstream credential, upstream task id or upstream
 * host (SEMANTICS E3). Live tasks succeed, fail and fail over through real adapters while every log line, every
 * response and every webhook body is captured and searched.
 */
const logs: string[] = [];
const hooks: string[] = [];
let app: TestApp;
let mocks: RunningMock;
let receiver: Server;
let receiverUrl = '';
const CREDENTIAL = 'mock-key';

beforeAll(async () => {
  mocks = await startAllMocks(0, { queuedMs: 20, runningMs: 40 });
  app = await startTestApp({ logStream: { write: (line) => void logs.push(line) } });
  await app.deps.catalog.seedDefaults();
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      hooks.push(body);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
});

afterAll(async () => {
  await app?.close();
  await mocks?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

const finish = (taskId: string) => runLiveUntilDone(app, taskId);

describe('no upstream detail leaks', () => {
  it('responses, logs and webhooks never carry upstream credentials, task ids or hosts', async () => {
    const models = { 'seedance-2.0-fast': 'dreamina-seedance-2-0-fast-260128' };
    const bad = await app.request('POST', '/api/admin/channels', { operator: true, body: { name: 'bad', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models, priority: 10 } });
    await app.request('POST', '/api/accounts', { operator: true, body: { channel_id: bad.body.id, credential: 'wrong-upstream-key' } });
    const good = await app.request('POST', '/api/admin/channels', { operator: true, body: { name: 'good', provider: 'ark', base_url: `${mocks.baseUrl}/ark/api/v3`, models, priority: 5 } });
    await app.request('POST', '/api/accounts', { operator: true, body: { channel_id: good.body.id, credential: CREDENTIAL } });
    const customer = await app.createCustomer();
    const key = await app.createKey(customer.id, { mode: 'live' });
    await app.grant(customer.id, 1_000_000, 'live');

    const responses: string[] = [];
    const ids: string[] = [];
    for (const prompt of ['ok', 'x [[scenario:moderation_output]]', 'y [[scenario:server_error]]', 'z [[scenario:expire]]']) {
      const created = await app.request('POST', '/v1/videos', { key: key.key, body: { model: 'seedance-2.0-fast', prompt, seconds: 5, callback_url: receiverUrl } });
      responses.push(created.text);
      if (created.status === 202) ids.push(created.body.id);
    }
    const tasks = [];
    for (const id of ids) tasks.push(await finish(id));
    for (let round = 0; round < 5; round += 1) await app.worker.deliverOnce();
    for (const id of ids) {
      responses.push((await app.request('GET', `/v1/tasks/${id}`, { key: key.key })).text);
      responses.push((await app.request('GET', `/v1/videos/${id}`, { key: key.key })).text);
    }
    expect(tasks.map((task) => task.status).sort()).toEqual(['expired', 'failed', 'failed', 'succeeded'].sort());
    expect(hooks.length).toBeGreaterThanOrEqual(4);
    const upstreamIds = tasks.map((task) => task.provider_task_id).filter((id): id is string => Boolean(id));
    expect(upstreamIds.length).toBeGreaterThan(0);
    const mockHost = mocks.baseUrl.replace('http://', '');
    const forbidden = [CREDENTIAL, 'wrong-upstream-key', mockHost, ...upstreamIds, 'dreamina-seedance', 'cgt-'];
    for (const [where, texts] of [['responses', responses], ['webhooks', hooks], ['logs', logs]] as const) {
      for (const text of texts) {
        for (const needle of forbidden) expect(text.includes(needle), `${where} contain ${needle}: ${text.slice(0, 300)}`).toBe(false);
      }
    }
    expect(logs.length).toBeGreaterThan(10);
  });
});
