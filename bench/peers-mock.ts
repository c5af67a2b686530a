/**
 * The trivial OpenAI-style upstream of `npm run bench:peers`, as its own process: the chat mock of the test suite
 * (test/mock-upstreams/openai-compatible) on a free loopback port, any non-empty key accepted. Prints
 * `ready <base url>` once it listens; SIGTERM stops it. `POST /__mock/reset` drops its request log between points.
 *
 *   node --import tsx bench/peers-mock.ts
 */
import { startChatMock } from '../test/mock-upstreams/openai-compatible/server.js';

const mock = await startChatMock({ key: null });
process.stdout.write(`ready ${mock.baseUrl}\n`);
process.on('SIGTERM', () => void mock.close().then(() => process.exit(0)));
process.on('SIGINT', () => void mock.close().then(() => process.exit(0)));
