/**
 * Chat latency benchmark (issue 5): genrelay in front of the OpenAI-compatible mock upstream, side by side in one run
 * with a direct call to the mock and with a minimal Node reverse proxy (the floor any gateway pays). Reports
 * requests/s and p50/p99 latency of each, and genrelay's ratios to the floor.
 *
 *   npx tsx bench/chat-latency.ts [seconds=8] [connections=10] [stream=false]
 *
 * Uses PostgreSQL at TEST_DATABASE_URL (creates and drops its own database). Client and servers share the machine's
 * cores, so compare ratios from one run, not absolute figures across machines.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pino from 'pino';
import { parseConfig } from '../src/config/index.js';
import { loadSecrets } from '../src/config/secrets.js';
import { buildDeps } from '../src/deps.js';
import { openDb } from '../src/db/pool.js';
import { migrate } from '../src/db/migrate.js';
import { buildServer } from '../src/http/server.js';
import { createCustomer } from '../src/workflows/customers.js';
import { creditWallet } from '../src/workflows/credits.js';
import { createKey } from '../src/workflows/keys.js';
import { adminQuery, databaseUrl } from '../test/harness/databases.js';
import { startChatMock } from '../test/mock-upstreams/openai-compatible/server.js';

const SECONDS = Number(process.argv[2] ?? 8);
const CONNECTIONS = Number(process.argv[3] ?? 10);
const STREAM = process.argv[4] === 'true';

async function load(url: string, key: string, model: string) {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say three short words.' }], stream: STREAM }),
  });
  return { requests_per_second: Math.round(result.requests.average), p50_ms: result.latency.p50, p99_ms: result.latency.p99, errors: result.errors, non_2xx: result.non2xx };
}

async function main(): Promise<void> {
  const mock = await startChatMock({ key: null });
  // The floor: a minimal reverse proxy that only pipes bytes.
  const target = new URL(mock.baseUrl);
  const proxy = createServer((incoming, outgoing) => {
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(outgoing);
    });
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyAddress = proxy.address();
  const proxyUrl = `http://127.0.0.1:${typeof proxyAddress === 'object' && proxyAddress ? proxyAddress.port : 0}`;

  const name = `gr_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'genrelay-bench-'));
  const config = parseConfig({ DATABASE_URL: databaseUrl(name), DATA_DIR: dataDir, OPERATOR_API_KEY: 'bench-operator-key-0123456789', DEMO: 'false', LOG_LEVEL: 'silent', PORT: '0' });
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir, poolSize: 20 });
  await migrate(db);
  const deps = await buildDeps(config, loadSecrets(config), { db, logger: pino({ level: 'silent' }), skipMigrations: true });
  await deps.catalog.seedDefaults();
  const channel = await deps.channels.createChannel({ name: 'bench', provider: 'openai-compatible', base_url: mock.baseUrl, models: { 'grok-4-fast': 'mock-chat' }, settings: { requests_per_second: 1_000_000 } });
  await deps.channels.addCredential(channel.id, 'bench-key', 'bench');
  const actor = { actor: 'bench', ip: null, userAgent: null };
  const customer = await createCustomer(deps, { name: 'bench', email: null, status: 'active', group: 'default', plan: {} }, actor);
  await creditWallet(deps, customer.id, { amount: 10n ** 12n, reason: 'bench', reference: null, mode: 'live' }, actor);
  const key = await createKey(deps, { customerId: customer.id, name: 'bench', mode: 'live', scopes: [], allowedModels: null, ipAllowlist: [], rateLimitRpm: null, maxConcurrency: null, expiresAt: null, createdBy: 'bench', rotatedFrom: null }, actor);
  const app = buildServer(deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const appAddress = app.server.address();
  const genrelayUrl = `http://127.0.0.1:${typeof appAddress === 'object' && appAddress ? appAddress.port : 0}`;

  const direct = await load(`${mock.baseUrl}/chat/completions`, 'bench-key', 'mock-chat');
  const floor = await load(`${proxyUrl}/v1/chat/completions`, 'bench-key', 'mock-chat');
  const gateway = await load(`${genrelayUrl}/v1/chat/completions`, key.plaintext, 'grok-4-fast');
  console.log(JSON.stringify({
    seconds: SECONDS, connections: CONNECTIONS, stream: STREAM, direct, minimal_proxy: floor, genrelay: gateway,
    genrelay_vs_proxy: {
      throughput_ratio: Number((gateway.requests_per_second / floor.requests_per_second).toFixed(2)),
      p50_added_ms: Number((gateway.p50_ms - floor.p50_ms).toFixed(2)),
      p99_added_ms: Number((gateway.p99_ms - floor.p99_ms).toFixed(2)),
    },
  }, null, 2));
  await app.close();
  // Requests autocannon cut off at the end are still settling; give them a moment before checking.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const open = await db.query<{ count: bigint }>("SELECT COUNT(*) AS count FROM reservations WHERE status = 'held'");
  if (Number(open.rows[0]!.count) !== 0) console.error(`warning: ${open.rows[0]!.count} held reservations remain`);
  await deps.close();
  await db.close();
  await mock.close();
  proxy.close();
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
