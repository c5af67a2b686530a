import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { upstreamStream } from '../../src/providers/shared/http-stream.js';

/**
 * upstreamStream against a real loopback server: what happens to the upstream connection when the reader stops
 * early (every chat stream stops at `[DONE]`), reads to the end, or the caller aborts.
 */
let server: Server;
let base: string;
/** The server's side of each request: its socket's local port pair, and whether it saw the client go away. */
const seen: Array<{ socket: string; closedEarly: boolean }> = [];
/** Requests whose response the test ends by hand (`/hold`): they stay open until the client leaves. */
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry = { socket: `${req.socket.remotePort}`, closedEarly: false };
    seen.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.closedEarly = true;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    if (req.url === '/hold') {
      held.push(res);
      return;
    }
    if (req.url === '/late-end') {
      // [DONE] now; the body's end when the test says so (held).
      res.write('data: [DONE]\n\n');
      held.push(res);
      return;
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  seen.length = 0;
  for (const res of held.splice(0)) res.destroy();
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function until(check: () => boolean): Promise<void> {
  for (let round = 0; round < 500 && !check(); round += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe('upstreamStream: closing the upstream', () => {
  it('a reader that stops while the upstream is still sending closes that connection, and it is no caller abort', async () => {
    const dispatcher = new Agent({ connections: 4 });
    const stream = await upstreamStream({ method: 'GET', url: `${base}/hold` }, dispatcher);
    for await (const chunk of stream.body) {
      expect(chunk.toString()).toContain('data: one');
      break;
    }
    await until(() => seen[0]?.closedEarly === true);
    expect(stream.aborted).toBe(false);
    // The pool is still usable afterwards.
    const next = await upstreamStream({ method: 'GET', url: `${base}/done` }, dispatcher);
    let text = '';
    for await (const chunk of next.body) text += chunk.toString();
    expect(text).toContain('[DONE]');
    await dispatcher.close();
  });

  it('a body read to its end leaves the connection open for the next stream', async () => {
    const dispatcher = new Agent({ connections: 1 });
    for (let round = 0; round < 3; round += 1) {
      const stream = await upstreamStream({ method: 'GET', url: `${base}/done` }, dispatcher);
      let text = '';
      for await (const chunk of stream.body) text += chunk.toString();
      expect(text).toBe('data: one\n\ndata: [DONE]\n\n');
    }
    expect(new Set(seen.map((entry) => entry.socket)).size).toBe(1);
    expect(seen.some((entry) => entry.closedEarly)).toBe(false);
    await dispatcher.close();
  });

  it('abort() while the body is being read ends the read with an error, closes the connection and reports aborted', async () => {
    const dispatcher = new Agent({ connections: 4 });
    const stream = await upstreamStream({ method: 'GET', url: `${base}/hold` }, dispatcher);
    const reader = stream.body[Symbol.asyncIterator]();
    expect((await reader.next()).value.toString()).toContain('data: one');
    const pending = reader.next();
    stream.abort();
    await expect(pending).rejects.toBeTruthy();
    expect(stream.aborted).toBe(true);
    await until(() => seen[0]?.closedEarly === true);
    await dispatcher.close();
  });
});

/** Reads a stream until its `[DONE]`, then stops reading the way a chat stream does (drain first, then return). */
async function readToDone(stream: Awaited<ReturnType<typeof upstreamStream>>): Promise<string> {
  let text = '';
  for await (const chunk of stream.body) {
    text += chunk.toString();
    if (text.includes('[DONE]')) {
      stream.drain();
      break;
    }
  }
  return text;
}

describe('upstreamStream: drain() after the last event', () => {
  it('a body whose end comes a moment after [DONE] is read to its end, and its connection serves the next stream', async () => {
    const dispatcher = new Agent({ connections: 1 });
    const first = await upstreamStream({ method: 'GET', url: `${base}/late-end` }, dispatcher);
    expect(await readToDone(first)).toBe('data: one\n\ndata: [DONE]\n\n');
    await until(() => held.length === 1);
    held[0]!.end();
    for (let round = 0; round < 2; round += 1) {
      const next = await upstreamStream({ method: 'GET', url: `${base}/done` }, dispatcher);
      let text = '';
      for await (const chunk of next.body) text += chunk.toString();
      expect(text).toBe('data: one\n\ndata: [DONE]\n\n');
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((entry) => entry.socket)).size, 'one connection for all three').toBe(1);
    expect(seen.some((entry) => entry.closedEarly)).toBe(false);
    expect(first.aborted).toBe(false);
    await dispatcher.close();
  });

  it('a body that has not ended within drainMs has its connection closed', async () => {
    const dispatcher = new Agent({ connections: 4 });
    const stream = await upstreamStream({ method: 'GET', url: `${base}/late-end`, drainMs: 30 }, dispatcher);
    await readToDone(stream);
    await until(() => seen[0]?.closedEarly === true);
    expect(stream.aborted).toBe(false);
    await dispatcher.close();
  });

  it('a body that goes on sending after [DONE] has its connection closed past the byte bound, before drainMs', async () => {
    const dispatcher = new Agent({ connections: 4 });
    const stream = await upstreamStream({ method: 'GET', url: `${base}/late-end`, drainMs: 600_000 }, dispatcher);
    await readToDone(stream);
    await until(() => held.length === 1);
    const res = held[0]!;
    const filler = `data: ${'x'.repeat(16 * 1024)}\n\n`;
    // Writes until the client goes away (it drops at most 64 KiB past what it read); 100 writes would be 1.6 MB.
    for (let index = 0; index < 100 && !res.destroyed && !seen[0]!.closedEarly; index += 1) {
      await new Promise<void>((resolve) => {
        res.once('close', resolve);
        res.write(filler, () => {
          res.off('close', resolve);
          resolve();
        });
      });
    }
    await until(() => seen[0]?.closedEarly === true);
    await dispatcher.close();
  });

  it('without drain(), a reader that stops at [DONE] before the body ends closes the connection (as before)', async () => {
    const dispatcher = new Agent({ connections: 4 });
    const stream = await upstreamStream({ method: 'GET', url: `${base}/late-end` }, dispatcher);
    for await (const chunk of stream.body) if (chunk.toString().includes('[DONE]')) break;
    await until(() => seen[0]?.closedEarly === true);
    await dispatcher.close();
  });
});
