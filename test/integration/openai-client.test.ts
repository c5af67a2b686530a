import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../../src/providers/sandbox/media.js';
import { sniffContentType } from '../../src/providers/shared/media-sniff.js';
import { startTestApp, type TestApp } from '../harness/app.js';
import { testCustomer } from '../harness/flows.js';

/**
 * The `/v1` face driven by the official `openai` npm client (API.md §4): videos (multipart create, retrieve,
 * list, content download), synchronous image generations, and the SDK's error classes. The worker runs its real-time
 * loops with zero sandbox delays so tasks finish while the SDK polls.
 */
let app: TestApp;
const PRICE_4S_720P = 4 * 1200; // seedance-2.0-fast, 720p
const IMAGE_MEDIUM = 500; // gpt-image-2, medium quality

beforeAll(async () => {
  app = await startTestApp({ env: { SANDBOX_QUEUE_MS: '0', SANDBOX_RUN_MS: '0', WORKER_INTERVAL_MS: '20', POLL_INTERVAL_MS: '0' } });
  app.worker.start();
});

afterAll(async () => {
  await app?.close();
});

function sdk(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${app.baseUrl}/v1`, maxRetries: 0 });
}

async function usage(key: string): Promise<{ creditsBalance: number; creditsReserved: number; creditsAvailable: number; mode: string }> {
  const response = await fetch(`${app.baseUrl}/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as any;
}

async function waitForVideo(client: OpenAI, id: string, status = 'completed'): Promise<OpenAI.Videos.Video> {
  let video = await client.videos.retrieve(id);
  for (let round = 0; round < 200 && video.status !== status && video.status !== 'failed'; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    video = await client.videos.retrieve(id);
  }
  return video;
}

/** The SDK's promise rejected with an error of `type`; returns it for further checks. */
async function rejection<T extends Error>(promise: Promise<unknown>, type: new (...args: any[]) => T): Promise<T> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  return error as T;
}

function isPng(bytes: Uint8Array): boolean {
  return bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

describe('openai client against /v1/videos', () => {
  it('create (multipart) → poll retrieve → downloadContent: a real MP4, charged exactly the price', async () => {
    const owner = await testCustomer(app);
    const client = sdk(owner.key);
    const before = await usage(owner.key);

    const created = await client.videos.create({ model: 'seedance-2.0-fast', prompt: 'a red fox in snow', seconds: '4', size: '1280x720' });
    expect(created.object).toBe('video');
    expect(created.status).toBe('queued');
    expect(created.id).toMatch(/^task_/);
    expect(created).toMatchObject({ model: 'seedance-2.0-fast', seconds: '4', size: '1280x720', progress: 0 });
    expect((created as any).credits).toEqual({ reserved: PRICE_4S_720P, charged: 0 });

    const done = await waitForVideo(client, created.id);
    expect(done.status).toBe('completed');
    expect(done.id).toBe(created.id);
    expect(done.progress).toBe(100);
    expect((done as any).credits).toEqual({ reserved: PRICE_4S_720P, charged: PRICE_4S_720P });

    const response = await client.videos.downloadContent(created.id);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(Buffer.from(bytes.subarray(4, 8)).toString('latin1')).toBe('ftyp');
    expect(sniffContentType(bytes)).toBe('video/mp4');

    const after = await usage(owner.key);
    expect(before.creditsBalance - after.creditsBalance).toBe((done as any).credits.charged);
    expect(after).toMatchObject({ creditsReserved: 0, mode: 'test' });
    expect(await app.invariants()).toEqual({});
  });

  it('create with an input_reference file → accepted, the task keeps it as a first_frame file reference', async () => {
    const owner = await testCustomer(app);
    const client = sdk(owner.key);
    const pngBytes = makePng('seed', { width: 64, height: 64 });
    const created = await client.videos.create({
      model: 'seedance-2.0-fast',
      prompt: 'animate this frame',
      seconds: '4',
      size: '1280x720',
      input_reference: await toFile(pngBytes, 'ref.png', { type: 'image/png' }),
    });
    expect(created).toMatchObject({ object: 'video', status: 'queued' });
    const references = (created as any).request.references;
    expect(references).toHaveLength(1);
    expect(references[0]).toMatchObject({ type: 'image', role: 'first_frame', file_id: expect.stringMatching(/^file_/) });
    expect(JSON.stringify(created)).not.toContain('base64');
    // The uploaded bytes are stored exactly as received (no base64 or data-URL round trip on the way).
    const stored = await app.deps.media.get(references[0].file_id);
    expect(Buffer.compare(await app.deps.media.bytes(stored), pngBytes)).toBe(0);

    const done = await waitForVideo(client, created.id);
    expect(done.status).toBe('completed');
    expect((done as any).request.references).toEqual(references);
    expect(await app.invariants()).toEqual({});
  });

  it('list shows the caller’s videos only; another customer’s video is a NotFoundError', async () => {
    const owner = await testCustomer(app);
    const stranger = await testCustomer(app);
    const client = sdk(owner.key);
    const first = await client.videos.create({ model: 'seedance-2.0-fast', prompt: 'one', seconds: '4', size: '1280x720' });
    const second = await client.videos.create({ model: 'seedance-2.0-fast', prompt: 'two', seconds: '4', size: '1280x720' });

    const page = await client.videos.list();
    const ids = page.data.map((video) => video.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids)).toEqual(new Set([first.id, second.id]));
    expect(page.data.every((video) => video.object === 'video')).toBe(true);
    expect(page.hasNextPage()).toBe(false);

    const strangerClient = sdk(stranger.key);
    const theirs = await strangerClient.videos.list();
    expect(theirs.data).toEqual([]);
    const error = await rejection(strangerClient.videos.retrieve(first.id), OpenAI.NotFoundError);
    expect(error.status).toBe(404);
    expect(error.code).toBe('not_found');
    await rejection(strangerClient.videos.downloadContent(first.id), OpenAI.NotFoundError);

    // Let both finish so the test leaves no reservation behind.
    for (const id of [first.id, second.id]) expect((await waitForVideo(client, id)).status).toBe('completed');
    expect(await app.invariants()).toEqual({});
  });
});

describe('openai client against /v1/images/generations', () => {
  it('url and b64_json answers are real PNGs; n = 2 charges 2 × the medium price', async () => {
    const owner = await testCustomer(app);
    const client = sdk(owner.key);
    const start = await usage(owner.key);

    const byUrl = await client.images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse at dusk', size: '1024x1024' });
    expect(byUrl.created).toEqual(expect.any(Number));
    expect(byUrl.data).toHaveLength(1);
    const url = byUrl.data![0]!.url!;
    expect(url).toMatch(new RegExp(`^${app.baseUrl}/v1/files/file_[0-9A-Za-z]+/content\\?expires=\\d+&sig=`));
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(isPng(new Uint8Array(await download.arrayBuffer()))).toBe(true);
    expect((byUrl.usage as any).credits).toBe(IMAGE_MEDIUM);

    const inline = await client.images.generate({ model: 'gpt-image-2', prompt: 'a lighthouse at dawn', size: '1024x1024', response_format: 'b64_json' });
    expect(inline.data).toHaveLength(1);
    expect(inline.data![0]!.url).toBeUndefined();
    expect(isPng(Buffer.from(inline.data![0]!.b64_json!, 'base64'))).toBe(true);

    const beforePair = await usage(owner.key);
    const pair = await client.images.generate({ model: 'gpt-image-2', prompt: 'two lighthouses', size: '1024x1024', n: 2 });
    expect(pair.data).toHaveLength(2);
    expect(new Set(pair.data!.map((image) => image.url)).size).toBe(2);
    for (const image of pair.data!) expect(isPng(new Uint8Array(await (await fetch(image.url!)).arrayBuffer()))).toBe(true);
    expect((pair.usage as any).credits).toBe(2 * IMAGE_MEDIUM);
    const afterPair = await usage(owner.key);
    expect(beforePair.creditsBalance - afterPair.creditsBalance).toBe(2 * IMAGE_MEDIUM);
    expect(start.creditsBalance - afterPair.creditsBalance).toBe(4 * IMAGE_MEDIUM);
    expect(afterPair.creditsReserved).toBe(0);
    expect(await app.invariants()).toEqual({});
  });
});

describe('errors map onto the SDK error classes', () => {
  it('bad key → AuthenticationError; unknown body field → 400 unknown_parameter (JSON and multipart)', async () => {
    const owner = await testCustomer(app);
    const auth = await rejection(sdk('gr_test_not_a_real_key').images.generate({ model: 'gpt-image-2', prompt: 'x' }), OpenAI.AuthenticationError);
    expect(auth.status).toBe(401);
    expect(auth.code).toBe('invalid_api_key');
    await rejection(sdk('gr_test_not_a_real_key').videos.list(), OpenAI.AuthenticationError);

    const client = sdk(owner.key);
    const before = await usage(owner.key);
    const unknownJson = await rejection(
      client.images.generate({ model: 'gpt-image-2', prompt: 'x', frobnicate: true } as OpenAI.Images.ImageGenerateParamsNonStreaming),
      OpenAI.BadRequestError,
    );
    expect(unknownJson.status).toBe(400);
    expect(unknownJson.code).toBe('unknown_parameter');
    expect(unknownJson.param).toBe('frobnicate');

    const unknownMultipart = await rejection(
      client.videos.create({ model: 'seedance-2.0-fast', prompt: 'x', seconds: '4', frobnicate: 'yes' } as OpenAI.Videos.VideoCreateParams),
      OpenAI.BadRequestError,
    );
    expect(unknownMultipart.code).toBe('unknown_parameter');
    expect(unknownMultipart.param).toBe('frobnicate');

    // The same through a raw fetch, to pin the error body itself.
    const raw = await fetch(`${app.baseUrl}/v1/images/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-image-2', prompt: 'x', frobnicate: true }),
    });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as any).error).toMatchObject({ code: 'unknown_parameter', type: expect.any(String), message: expect.any(String) });

    // /v1/videos validates JSON (Fastify), multipart and bodiless POSTs (the route) with the same answers.
    const post = (body: RequestInit['body'], headers: Record<string, string> = {}) =>
      fetch(`${app.baseUrl}/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${owner.key}`, ...headers }, body });
    const jsonUnknown = await post(JSON.stringify({ model: 'seedance-2.0-fast', prompt: 'x', frobnicate: 1 }), { 'content-type': 'application/json' });
    expect(jsonUnknown.status).toBe(400);
    expect(((await jsonUnknown.json()) as any).error).toMatchObject({ code: 'unknown_parameter', param: 'frobnicate' });
    const form = new FormData();
    form.set('prompt', 'no model');
    for (const response of [await post(undefined), await post(JSON.stringify({ prompt: 'no model' }), { 'content-type': 'application/json' }), await post(form)]) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as any).error).toMatchObject({ code: 'invalid_request', param: 'model', message: 'Missing required parameter: model' });
    }

    expect(await usage(owner.key)).toEqual(before);
    expect(await app.invariants()).toEqual({});
  });

  it('moderated image prompt → BadRequestError content_policy_violation, nothing charged', async () => {
    const owner = await testCustomer(app);
    const client = sdk(owner.key);
    const before = await usage(owner.key);
    const error = await rejection(client.images.generate({ model: 'gpt-image-2', prompt: 'bad [[scenario:moderation_input]]', size: '1024x1024' }), OpenAI.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.code).toBe('content_policy_violation');
    expect(error.message).not.toMatch(/sandbox|sbx_/);
    expect(await usage(owner.key)).toEqual(before);
    expect(await app.invariants()).toEqual({});
  });

  it('upstream server errors on every attempt → InternalServerError 502 provider_error, nothing charged', async () => {
    const owner = await testCustomer(app);
    const client = sdk(owner.key);
    const before = await usage(owner.key);
    let settled = false;
    const pending = client.images.generate({ model: 'gpt-image-2', prompt: 'flaky [[scenario:server_error]]', size: '1024x1024' }).finally(() => {
      settled = true;
    });
    pending.catch(() => {});
    // The dispatch backoff (2 s, 4 s, … capped at 60 s) runs on the manual clock: step it past each wait.
    for (let round = 0; round < 400 && !settled; round += 1) {
      app.clock.advance(61_000);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const error = await rejection(pending, OpenAI.InternalServerError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('provider_error');
    const tasks = await app.request('GET', '/v1/tasks?type=image', { key: owner.key });
    expect(tasks.body.data).toHaveLength(1);
    expect(tasks.body.data[0]).toMatchObject({ status: 'failed', error: { code: 'provider_error' }, credits: { charged: 0 } });
    expect((await app.deps.tasks.get(tasks.body.data[0].id))!.attempts).toBe(5);
    expect(await usage(owner.key)).toEqual(before);
    expect(await app.invariants()).toEqual({});
  });
});
