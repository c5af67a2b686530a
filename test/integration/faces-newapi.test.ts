import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMp4, makePng, makeWav } from '../../src/providers/sandbox/media.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { TASK_ID, faceChecks, pngDataUrl } from '../harness/faces.js';
import { runUntilDone, testCustomer, testWallet } from '../harness/flows.js';
import { expectV1Error, useTestApp } from '../harness/setup.js';

/**
 * The new-api face onto the one task core (API.md §6): `POST /v1/video/generations` with options under metadata
 * and content references fetched by the worker, `GET /v1/video/generations/:task_id`; reference checks made at
 * submission (SEMANTICS S2–S5), each rejection storing nothing (I8). Split from faces.test.ts (issue 9).
 */
const ctx = useTestApp();
const { FILE_URL, expectNothingStored } = faceChecks(ctx);

/** Reference media on loopback (127.0.0.1 is a trusted host in tests, SEMANTICS S11), with a hit log. */
const fixtures: Record<string, [string, Buffer]> = {
  '/a.png': ['image/png', makePng('fixture', { width: 64, height: 36 })],
  '/ref.mp4': ['video/mp4', makeMp4('fixture', { width: 320, height: 180, seconds: 3 })],
  '/ref.wav': ['audio/wav', makeWav('fixture', { seconds: 2 })],
};
const fixtureHits: string[] = [];
let fixtureServer: Server;
let fixtureBase = '';
beforeAll(async () => {
  fixtureServer = createServer((request, response) => {
    fixtureHits.push(request.url ?? '');
    const fixture = fixtures[request.url ?? ''];
    if (!fixture) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': fixture[0], 'content-length': String(fixture[1].length) }).end(fixture[1]);
  });
  await new Promise<void>((resolve) => fixtureServer.listen(0, '127.0.0.1', resolve));
  fixtureBase = `http://127.0.0.1:${(fixtureServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => fixtureServer.close(() => resolve()));
});

describe('new-api face (API.md §6)', () => {
  it('POST /v1/video/generations with metadata options and content references → submitted; GET → succeeded with a genrelay URL', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/video/generations', {
      key: owner.key,
      body: {
        model: 'seedance-2.0', prompt: 'a lighthouse at dusk', seconds: '10',
        images: [`${fixtureBase}/a.png`],
        metadata: {
          ratio: '9:16', resolution: '1080p', generate_audio: false, callback_url: 'https://example.com/hook', order: 'A-1',
          content: [
            { type: 'image_url', image_url: { url: pngDataUrl('content') }, role: 'first_frame' },
            { type: 'video_url', video_url: { url: `${fixtureBase}/ref.mp4` }, role: 'reference_video' },
            { type: 'audio_url', audio_url: { url: `${fixtureBase}/ref.wav` }, role: 'reference_audio' },
          ],
        },
      },
    });
    expect(created.status, created.text).toBe(200); // new-api answers 200 (API.md §6 names no status)
    expect(created.body).toEqual({ task_id: expect.stringMatching(TASK_ID), status: 'submitted' });
    const taskId: string = created.body.task_id;
    // seedance-2.0, 10 s at 1080p = 40 000 credits.
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000, reserved: 40_000 });
    const native = await ctx.app.request('GET', `/v1/tasks/${taskId}`, { key: owner.key });
    expect(native.body).toMatchObject({
      model: 'seedance-2.0', callback_url: 'https://example.com/hook',
      request: { seconds: 10, ratio: '9:16', resolution: '1080p', generate_audio: false },
      credits: { reserved: 40_000, charged: 0 },
    });
    expect(native.body.request.references).toEqual([
      { type: 'image', role: 'reference_image', url: `${fixtureBase}/a.png` },
      { type: 'image', role: 'first_frame', file_id: expect.stringMatching(/^file_/) },
      { type: 'video', role: 'reference_video', url: `${fixtureBase}/ref.mp4` },
      { type: 'audio', role: 'reference_audio', url: `${fixtureBase}/ref.wav` },
    ]);
    fixtureHits.length = 0;

    const pending = await ctx.app.request('GET', `/v1/video/generations/${taskId}`, { key: owner.key });
    expect(pending.status).toBe(200);
    expect(pending.body).toMatchObject({ task_id: taskId, status: 'submitted', url: '', format: 'mp4' });
    expect(pending.body.metadata).toMatchObject({ order: 'A-1', ratio: '9:16', resolution: '1080p' });
    expect(pending.body.error).toBeUndefined();

    const task = await runUntilDone(ctx.app, taskId);
    expect(task.status, task.error_code).toBe('succeeded');
    // The worker fetched each URL reference (the inline one came from storage).
    expect([...fixtureHits].sort()).toEqual(['/a.png', '/ref.mp4', '/ref.wav']);
    const done = await ctx.app.request('GET', `/v1/video/generations/${taskId}`, { key: owner.key });
    expect(done.body).toMatchObject({ task_id: taskId, status: 'succeeded', format: 'mp4', url: expect.stringMatching(FILE_URL()) });
    const bytes = new Uint8Array(await (await fetch(done.body.url)).arrayBuffer());
    expect(sniffContentType(bytes)).toBe('video/mp4');
    expect(await testWallet(ctx.app, owner.customerId)).toEqual({ balance: 1_000_000 - 40_000, reserved: 0 });
  });

  it('a failed new-api task reports failed with its error code', async () => {
    const owner = await testCustomer(ctx.app);
    const created = await ctx.app.request('POST', '/v1/video/generations', {
      key: owner.key, body: { model: 'seedance-2.0-fast', prompt: 'bad [[scenario:moderation_output]]', duration: 5 },
    });
    const task = await runUntilDone(ctx.app, created.body.task_id);
    expect(task.status).toBe('failed');
    const view = await ctx.app.request('GET', `/v1/video/generations/${created.body.task_id}`, { key: owner.key });
    expect(view.body).toMatchObject({ status: 'failed', url: '', error: { code: 'content_policy_violation' } });
  });

  it('new-api validation: unknown top-level field, bad ratio, private URLs → 400, nothing stored', async () => {
    const owner = await testCustomer(ctx.app);
    const base = { model: 'seedance-2.0', prompt: 'p' };
    // Options under metadata are reported under their native names (ratio, references.N, callback_url).
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ ...base, status: 'succeeded' }, 'unknown_parameter', 'status'],
      [{ ...base, customer_id: 'cus_x' }, 'unknown_parameter', 'customer_id'],
      [{ ...base, seconds: '99' }, 'invalid_request', 'seconds'],
      [{ ...base, metadata: { ratio: '5:4' } }, 'invalid_request', 'ratio'],
      [{ ...base, metadata: { resolution: '4k' } }, 'invalid_request', 'resolution'],
      [{ ...base, images: ['https://10.1.2.3/a.png'] }, 'invalid_reference', 'references.0'],
      [{ ...base, metadata: { content: [{ type: 'image_url', image_url: { url: 'https://localhost/a.png' } }] } }, 'invalid_reference', 'references.0'],
      [{ ...base, images: Array.from({ length: 9 }, (_, i) => `https://example.com/${i}.png`), metadata: { content: [{ type: 'image_url', image_url: { url: 'https://example.com/10.png' } }] } }, 'invalid_reference', 'references.9'],
      [{ ...base, metadata: { callback_url: 'https://192.168.0.1/hook' } }, 'invalid_request', 'callback_url'],
    ];
    for (const [body, code, param] of cases) {
      const response = await ctx.app.request('POST', '/v1/video/generations', { key: owner.key, body });
      expectV1Error(response, 400, code);
      expect(response.body.error.param, JSON.stringify(body)).toBe(param);
      expect(response.body.ok).toBeUndefined();
    }
    await expectNothingStored(owner.customerId, owner.key, 1_000_000);
  });
});
