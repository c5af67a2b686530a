import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, createServer as createNetServer, isIP, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressDenial,
  createGuardedLookup,
  createSafeFetch,
  DENIED_RANGES,
  FetchFailed,
  isPublicAddress,
  sniffMedia,
  UrlRejected,
  type Connector,
  type ResolvedAddress,
  type SafeFetch,
  type SafeFetchOptions,
} from '../../src/providers/shared/safe-fetch.js';
import { createConnector, parseTrustedHost } from '../../src/providers/shared/url-policy.js';

/**
 * SEMANTICS §9 (C50–C52) without leaving loopback: every socket goes through an injected connector that only ever
 * dials 127.0.0.1, and host names resolve through an injected resolver.
 */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(56, 1)]);
const MiB = 1024 * 1024;

interface Counters {
  connections: number;
  requests: string[];
}

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function counted(handler: (request: IncomingMessage, response: ServerResponse) => void): { server: Server; counters: Counters } {
  const counters: Counters = { connections: 0, requests: [] };
  const server = createHttpServer((request, response) => {
    counters.requests.push(request.url ?? '');
    handler(request, response);
  });
  server.on('connection', () => (counters.connections += 1));
  return { server, counters };
}

/** Streams `total` bytes with backpressure from one reused buffer, so a 50 MB body never exists in memory. */
function stream(response: ServerResponse, total: number, progress: { sent: number }): void {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  progress.sent = 0;
  const pump = () => {
    while (progress.sent < total && !response.destroyed) {
      const piece = progress.sent === 0 ? PNG : chunk.subarray(0, Math.min(chunk.length, total - progress.sent));
      progress.sent += piece.length;
      if (!response.write(piece)) return void response.once('drain', pump);
    }
    response.end();
  };
  pump();
}

const bigSent = { sent: 0 };
const media = counted((request, response) => {
  const path = request.url ?? '/';
  const chain = /^\/chain\/(\d+)$/.exec(path);
  if (chain) {
    const left = Number(chain[1]);
    if (left === 0) return void response.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    return void response.writeHead(302, { location: `/chain/${left - 1}` }).end();
  }
  switch (path) {
    case '/a.png':
    case '/png':
      return void response.writeHead(200, { 'content-type': 'image/png; charset=binary' }).end(PNG);
    case '/html':
      return void response.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>');
    case '/fake-png':
      return void response.writeHead(200, { 'content-type': 'image/png' }).end('definitely not a png');
    case '/octet':
      return void response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(PNG);
    case '/missing':
      return void response.writeHead(404, { 'content-type': 'text/plain' }).end('nope');
    case '/to-metadata':
      return void response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    case '/to-metadata-name':
      return void response.writeHead(302, { location: 'http://metadata.example/latest/meta-data/' }).end();
    case '/to-sink':
    case '/hook-redirect':
      return void response.writeHead(302, { location: `http://127.0.0.1:${sinkPort}/landing` }).end();
    case '/big':
      response.writeHead(200, { 'content-type': 'image/png', 'content-length': String(50_000_000) });
      return stream(response, 50_000_000, bigSent);
    case '/big-chunked':
      response.writeHead(200, { 'content-type': 'image/png' });
      return stream(response, 50_000_000, bigSent);
    case '/small-chunked':
      response.writeHead(200, { 'content-type': 'image/png' });
      return stream(response, 5_000, bigSent);
    case '/slow': {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.write(PNG.subarray(0, 1));
      let next = 1;
      const timer = setInterval(() => response.write(PNG.subarray(next, ++next)), 5000);
      return void response.on('close', () => clearInterval(timer));
    }
    case '/hang':
      return; // never answers: the headers timeout must fire
    case '/hook': {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        lastHook = { body: Buffer.concat(chunks).toString(), headers: request.headers };
        response.writeHead(204).end();
      });
      return;
    }
    case '/hook-fails':
      return void response.writeHead(500).end('down');
    default:
      return void response.writeHead(404).end();
  }
});
let lastHook: { body: string; headers: IncomingMessage['headers'] } | null = null;

// The target of redirects and of rejected URLs: it must never see a connection.
const sink = counted((_request, response) => response.writeHead(200, { 'content-type': 'image/png' }).end(PNG));

// A body that ends only when the connection closes, with no Content-Length and no chunked framing.
let untilCloseSent = 0;
const untilCloseSockets = new Set<Socket>();
const untilClose = createNetServer((socket) => {
  untilCloseSockets.add(socket);
  socket.on('close', () => untilCloseSockets.delete(socket));
  socket.once('data', () => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: image/png\r\nconnection: close\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    untilCloseSent = 0;
    const pump = () => {
      while (untilCloseSent < 50_000_000 && !socket.destroyed) {
        untilCloseSent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  socket.on('error', () => {});
});

let mediaPort = 0;
let sinkPort = 0;
let untilClosePort = 0;

const PUBLIC = '93.184.216.34';
const records: Record<string, string[]> = {
  'media.example': [PUBLIC],
  'hooks.example': ['93.184.216.35'],
  'rebind.example': [PUBLIC],
  'private.example': ['10.0.0.1'],
  'mixed.example': [PUBLIC, '10.0.0.1'],
  'metadata.example': ['169.254.169.254'],
  'dual.example': [PUBLIC, '2606:2800:220:1:248:1893:25c8:1946'],
};
const resolved: string[] = [];
const flips = new Map<string, number>();

async function resolve(hostname: string): Promise<ResolvedAddress[]> {
  resolved.push(hostname);
  // Public at submission and pre-flight, loopback by the time the socket is opened: DNS rebinding.
  const flipped = (flips.get(hostname) ?? 0) + 1;
  if (hostname.startsWith('flip')) flips.set(hostname, flipped);
  const addresses = hostname.startsWith('flip') ? [flipped === 1 ? PUBLIC : '127.0.0.1'] : records[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
}

/** Where the test connector may dial; `pretend` makes the socket report the vetted public address as its peer. */
const routes = new Map<string, { port: () => number; pretend: boolean }>([
  ['media.example', { port: () => mediaPort, pretend: true }],
  ['hooks.example', { port: () => mediaPort, pretend: true }],
  ['flip.example', { port: () => mediaPort, pretend: true }],
  [PUBLIC, { port: () => mediaPort, pretend: true }],
  ['rebind.example', { port: () => mediaPort, pretend: false }],
]);
const attempts: string[] = [];
const vetted: string[] = [];

const connector: Connector = (options, callback) => {
  attempts.push(options.hostname);
  const dial = (port: number, peer?: string) => {
    const socket: Socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      if (peer) Object.defineProperty(socket, 'remoteAddress', { value: peer, configurable: true });
      callback(null, socket);
    });
    socket.once('error', (error) => callback(error, null));
  };
  if (options.hostname === '127.0.0.1') return dial(Number(options.port));
  const route = routes.get(options.hostname);
  if (!route) return callback(new Error(`test connector refuses ${options.hostname}`), null);
  if (isIP(options.hostname) !== 0) return dial(route.port(), route.pretend ? options.hostname : undefined);
  // What net.connect would do: ask the guard's lookup, then connect to what it vetted.
  options.lookup(options.hostname, { all: true }, (error, addresses) => {
    if (error) return callback(error, null);
    const first = (addresses as Array<{ address: string }>)[0]!.address;
    vetted.push(first);
    dial(route.port(), route.pretend ? first : undefined);
  });
};

const clients: SafeFetch[] = [];
function client(overrides: Partial<SafeFetchOptions> = {}): SafeFetch {
  const created = createSafeFetch({ allowHttpMedia: true, trustedHosts: [], resolve, connector, ...overrides });
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}
function staticRejection(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return expect.fail('expected UrlRejected');
}
const rejected = (reason: string) => expect.objectContaining({ name: 'UrlRejected', reason });
const failed = (reason: string) => expect.objectContaining({ name: 'FetchFailed', reason });

beforeAll(async () => {
  [mediaPort, sinkPort, untilClosePort] = await Promise.all([listen(media.server), listen(sink.server), listen(untilClose)]);
});

afterAll(async () => {
  await Promise.all(clients.map((created) => created.close()));
  media.server.closeAllConnections();
  sink.server.closeAllConnections();
  for (const socket of untilCloseSockets) socket.destroy();
  await Promise.all([media.server, sink.server, untilClose].map((server) => new Promise((done) => server.close(done))));
});

describe('S4 address predicate', () => {
  it('accepts only public unicast addresses', () => {
    expect(isPublicAddress('93.184.216.34')).toBe(true);
    expect(isPublicAddress('2606:2800:220:1:248:1893:25c8:1946')).toBe(true);
    for (const address of ['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.0.1', '::1', '::ffff:127.0.0.1', '::ffff:93.184.216.34',
      '169.254.169.254', '100.64.0.1', 'fc00::1', 'fe80::1', '224.0.0.1', '0.0.0.0', '255.255.255.255', '::', '127.1', '', undefined]) {
      expect(isPublicAddress(address), String(address)).toBe(false);
    }
  });
});

/**
 * The S4 deny table, class by class, at every stage. Nothing in this block may leave the machine: names resolve
 * through `policyResolve`, and the only connectors are recorders that never dial (`tripwire`, `standInFor`). A refused
 * address that got past the guard shows up in `wouldDial` and fails the test without a packet being sent.
 */
const REFUSED: Array<[klass: string, address: string, named: string]> = [
  // IPv6 forms that embed or map an IPv4 address, whatever the IPv4 address inside.
  ['IPv4-compatible ::/96', '::7f00:1', 'IPv4-compatible'],
  ['IPv4-compatible, dotted', '::127.0.0.1', 'IPv4-compatible'],
  ['IPv4-compatible, public inside', '::5db8:d822', 'IPv4-compatible'],
  ['IPv4-mapped ::ffff:0:0/96', '::ffff:7f00:1', 'IPv4-mapped'],
  ['IPv4-mapped, public inside', '::ffff:93.184.216.34', 'IPv4-mapped'],
  ['IPv4-translated ::ffff:0:0:0/96', '::ffff:0:7f00:1', 'IPv4-translated'],
  ['NAT64 64:ff9b::/96', '64:ff9b::7f00:1', 'NAT64'],
  ['NAT64, public inside', '64:ff9b::5db8:d822', 'NAT64'],
  ['local-use NAT64 64:ff9b:1::/48', '64:ff9b:1::a00:1', 'local-use'],
  ['6to4 2002::/16', '2002:7f00:1::1', '6to4'],
  ['6to4, public inside', '2002:5db8:d822::1', '6to4'],
  ['Teredo 2001::/32', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  // The rest of the IANA IPv6 special-purpose registry.
  ['benchmarking 2001:2::/48', '2001:2::1', 'benchmarking'],
  ['ORCHID 2001:10::/28', '2001:10::1', 'ORCHID'],
  ['ORCHIDv2 2001:20::/28', '2001:2f::1', 'ORCHIDv2'],
  ['AMT, in 2001::/23', '2001:3::1', 'IETF protocol assignments'],
  ['AS112-v6, in 2001::/23', '2001:4:112::1', 'IETF protocol assignments'],
  ['top of 2001::/23', '2001:1ff:ffff::1', 'IETF protocol assignments'],
  ['documentation 2001:db8::/32', '2001:db8::1', 'documentation'],
  ['documentation 3fff::/20', '3fff:fff::1', 'documentation'],
  ['AS112 delegation 2620:4f:8000::/48', '2620:4f:8000::1', 'AS112'],
  ['discard 100::/64', '100::1', 'discard'],
  ['segment routing 5f00::/16', '5f00::1', 'segment routing'],
  ['unique-local fc00::/7', 'fd12:3456::1', 'unique-local'],
  ['link-local fe80::/10', 'fe80::1', 'link-local'],
  ['site-local fec0::/10', 'fec0::1', 'site-local'],
  ['multicast ff00::/8', 'ff02::1', 'multicast'],
  ['loopback ::1', '::1', 'loopback'],
  ['unspecified ::', '::', 'unspecified'],
  ['outside 2000::/3, above', '4000::1', '2000::/3'],
  ['outside 2000::/3, below', '1::1', '2000::/3'],
  // The IANA IPv4 special-purpose registry, multicast and class E.
  ['"this network" 0/8', '0.1.2.3', 'this network'],
  ['private 10/8', '10.0.0.1', 'private-use'],
  ['shared 100.64/10', '100.127.255.254', 'shared address space'],
  ['loopback 127/8', '127.255.0.1', 'loopback'],
  ['link-local / metadata 169.254/16', '169.254.169.254', 'link-local'],
  ['private 172.16/12', '172.31.255.254', 'private-use'],
  ['IETF assignments 192.0.0/24', '192.0.0.9', 'IETF protocol assignments'],
  ['TEST-NET-1 192.0.2/24', '192.0.2.1', 'TEST-NET-1'],
  ['AS112-v4 192.31.196/24', '192.31.196.1', 'AS112-v4'],
  ['AMT 192.52.193/24', '192.52.193.1', 'AMT'],
  ['6to4 relay 192.88.99/24', '192.88.99.1', '6to4 relay'],
  ['private 192.168/16', '192.168.0.1', 'private-use'],
  ['AS112 delegation 192.175.48/24', '192.175.48.1', 'AS112'],
  ['benchmarking 198.18/15', '198.19.255.254', 'benchmarking'],
  ['TEST-NET-2 198.51.100/24', '198.51.100.1', 'TEST-NET-2'],
  ['TEST-NET-3 203.0.113/24', '203.0.113.1', 'TEST-NET-3'],
  ['multicast 224/4', '239.255.255.250', 'multicast'],
  ['reserved 240/4', '240.0.0.1', 'reserved'],
  ['limited broadcast', '255.255.255.255', 'limited broadcast'],
];
// Public, several of them just outside a refused block.
const ALLOWED = ['93.184.216.34', '1.1.1.1', '100.128.0.1', '172.32.0.1', '192.0.1.1', '198.20.0.1', '223.255.255.254',
  '2606:4700:4700::1111', '2001:4860:4860::8888', '2001:200::1', '2003::1', '2a00:1450:4001::1'];
const bracketed = (address: string) => (isIP(address) === 6 ? `[${address}]` : address);

const policyRecords = new Map<string, string[]>();
/** host-N.example answers with the Nth address; flip-N.example answers public once (pre-flight), then the Nth address. */
function policyResolve(hostname: string): Promise<ResolvedAddress[]> {
  let addresses = policyRecords.get(hostname);
  if (hostname.startsWith('flip-')) {
    const seen = (flips.get(hostname) ?? 0) + 1;
    flips.set(hostname, seen);
    if (seen === 1) addresses = [PUBLIC];
  }
  if (!addresses) return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  return Promise.resolve(addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 })));
}
REFUSED.forEach(([, address], index) => {
  policyRecords.set(`host-${index}.example`, [address]);
  policyRecords.set(`mixed-${index}.example`, [PUBLIC, address]);
  policyRecords.set(`flip-${index}.example`, [address]);
});
ALLOWED.forEach((address, index) => policyRecords.set(`public-${index}.example`, [address]));

const wouldDial: string[] = [];
function standIn(remoteAddress: string): Socket {
  const socket = { remoteAddress, destroyed: false, destroy: () => ((socket.destroyed = true), socket) };
  return socket as unknown as Socket;
}
/**
 * A connector that never dials: a literal is recorded as is, a name through the guard's lookup (as net.connect would
 * do). `tripwire` then fails the connection, so a regression fails fast instead of talking to a stand-in; `standInFor`
 * hands back a stand-in socket, for the public addresses whose way through is under test.
 */
function recorder(handBack: boolean): Connector {
  return (options, callback) => {
    const dial = (address: string) => {
      wouldDial.push(address);
      if (handBack) return callback(null, standIn(address));
      callback(new Error(`tripwire: the guard let ${address} through to the connector`), null);
    };
    const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0) return dial(host);
    options.lookup(host, { all: true }, (error, addresses) => {
      if (error) return callback(error, null);
      dial((addresses as Array<{ address: string }>)[0]!.address);
    });
  };
}
const tripwire = recorder(false);
const standInFor = recorder(true);
function connectThrough(open: Connector, hostname: string): Promise<Error | Socket> {
  const connect = createConnector(true, policyResolve, 1_000, open);
  return new Promise((done) => connect({ hostname, host: hostname, protocol: 'https:', port: '443' }, (error, socket) => done(error ?? socket!)));
}

describe('S4 address policy, class by class', () => {
  it('refuses every class and names the registry block', () => {
    for (const [klass, address, named] of REFUSED) {
      expect(isPublicAddress(address), klass).toBe(false);
      expect(addressDenial(address), klass).toContain(named);
    }
    for (const address of ALLOWED) expect(addressDenial(address), address).toBeNull();
    expect(addressDenial('fe80::1%eth0')).toContain('zone index');
    expect(addressDenial('127.1')).toBe('not an IP address');
  });

  it('refuses the first and the last address of every table entry', () => {
    expect(DENIED_RANGES.length).toBeGreaterThan(40);
    for (const { cidr } of DENIED_RANGES) {
      const kind = cidr.includes(':') ? ipaddr.IPv6 : ipaddr.IPv4;
      for (const edge of [kind.networkAddressFromCIDR(cidr), kind.broadcastAddressFromCIDR(cidr)]) {
        expect(isPublicAddress(edge.toString()), `${cidr}: ${edge.toString()}`).toBe(false);
      }
    }
  });

  it('refuses every class at submission, as media, callback and endpoint URLs, before any connection', async () => {
    const safe = client({ resolve: policyResolve, connector: tripwire });
    for (const [klass, address] of REFUSED) {
      const url = `https://${bracketed(address)}/x`;
      expect(staticRejection(() => safe.validateUrl(url, 'media')), klass).toEqual(rejected('blocked_address'));
      expect(staticRejection(() => safe.validateUrl(url, 'webhook')), klass).toEqual(rejected('blocked_address'));
      expect(await failure(safe.fetchMedia(url, 'image')), klass).toEqual(rejected('blocked_address'));
      expect(await failure(safe.postWebhook(url, '{}', {})), klass).toEqual(rejected('blocked_address'));
    }
    expect(wouldDial).toEqual([]);
  });

  it('refuses host forms that the URL parser normalises into a refused address', () => {
    const safe = client({ resolve: policyResolve, connector: tripwire });
    const forms: Array<[string, string]> = [
      ['https://[::ffff:7f00:1]/', '[::ffff:7f00:1]'],
      ['https://[::127.0.0.1]/', '[::7f00:1]'],
      ['https://[0:0:0:0:0:ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
      ['https://[::ffff:169.254.169.254]/', '[::ffff:a9fe:a9fe]'],
      ['https://[::ffff:0:127.0.0.1]/', '[::ffff:0:7f00:1]'],
      ['https://[64:ff9b::127.0.0.1]/', '[64:ff9b::7f00:1]'],
      ['https://[64:FF9B:1::10.0.0.1]/', '[64:ff9b:1::a00:1]'],
      ['https://[2002:7f00:0001::]/', '[2002:7f00:1::]'],
      ['https://[FE80::1]/', '[fe80::1]'],
      ['https://0x7f.1/', '127.0.0.1'],
      ['https://2130706433/', '127.0.0.1'],
      ['https://2130706433./', '127.0.0.1'],
      ['https://017700000001/', '127.0.0.1'],
      ['https://0x7f000001/', '127.0.0.1'],
      ['https://127.1/', '127.0.0.1'],
      ['https://127.0.0.1./', '127.0.0.1'],
      ['https://0/', '0.0.0.0'],
      ['https://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
      ['https://0251.0376.0251.0376/', '169.254.169.254'],
      ['https://3232235521/', '192.168.0.1'],
    ];
    for (const [url, host] of forms) {
      expect(new URL(url).hostname, url).toBe(host);
      expect(staticRejection(() => safe.validateUrl(url, 'media')), url).toEqual(rejected('blocked_address'));
      expect(staticRejection(() => safe.validateUrl(url, 'webhook')), url).toEqual(rejected('blocked_address'));
    }
    // A zone index does not even parse as a URL host.
    expect(staticRejection(() => safe.validateUrl('https://[fe80::1%25eth0]/', 'webhook'))).toEqual(rejected('bad_url'));
  });

  it('refuses every class when a name resolves to it: pre-flight, alone or next to a public record', async () => {
    const safe = client({ resolve: policyResolve, connector: tripwire });
    for (const [index, [klass]] of REFUSED.entries()) {
      for (const name of [`host-${index}.example`, `mixed-${index}.example`]) {
        expect(safe.validateUrl(`https://${name}/x`, 'webhook').hostname).toBe(name); // a name passes the static rules
        expect(await failure(safe.fetchMedia(`https://${name}/x`, 'image')), `${klass} ${name}`).toEqual(failed('blocked_address'));
        expect(await failure(safe.postWebhook(`https://${name}/x`, '{}', {})), `${klass} ${name}`).toEqual(failed('blocked_address'));
      }
    }
    expect(wouldDial).toEqual([]);
  });

  it('refuses every class at connect time: a rebinding answer, the guarded lookup and the connector', async () => {
    const safe = client({ resolve: policyResolve, connector: tripwire });
    const lookup = createGuardedLookup(policyResolve);
    const ask = (hostname: string, all: boolean) =>
      new Promise<unknown>((done) => lookup(hostname, { all }, (error, address) => done(error ?? address)));
    for (const [index, [klass, address]] of REFUSED.entries()) {
      // Public at pre-flight, refused by the time the socket is opened: the connector's lookup refuses it.
      expect(await failure(safe.fetchMedia(`https://flip-${index}.example/x`, 'image')), klass).toEqual(failed('blocked_address'));
      expect(flips.get(`flip-${index}.example`), klass).toBe(2);
      expect(await ask(`host-${index}.example`, true), klass).toEqual(failed('blocked_address'));
      expect(await ask(`mixed-${index}.example`, false), klass).toEqual(failed('blocked_address'));
      expect(await connectThrough(tripwire, `host-${index}.example`), klass).toEqual(failed('blocked_address'));
      // An IP literal never reaches the lookup; the connector checks it before opening anything.
      expect(await connectThrough(tripwire, bracketed(address)), klass).toEqual(failed('blocked_address'));
    }
    expect(wouldDial).toEqual([]);
  });

  it('refuses a connected peer in every class, whatever the connector was asked for', async () => {
    for (const [klass, address] of REFUSED) {
      let handed: Socket | null = null;
      const liar: Connector = (_options, callback) => callback(null, (handed = standIn(address)));
      expect(await connectThrough(liar, PUBLIC), klass).toEqual(failed('blocked_address'));
      expect(handed!.destroyed, klass).toBe(true);
    }
  });

  it('lets public addresses through at every stage, still without dialling', async () => {
    const safe = client({ resolve: policyResolve, connector: standInFor });
    const lookup = createGuardedLookup(policyResolve);
    const before = wouldDial.length;
    for (const [index, address] of ALLOWED.entries()) {
      expect(safe.validateUrl(`https://${bracketed(address)}/x`, 'media').hostname).toBe(bracketed(address));
      expect(safe.validateUrl(`https://${bracketed(address)}/x`, 'webhook').hostname).toBe(bracketed(address));
      const answer = await new Promise((done) => lookup(`public-${index}.example`, {}, (error, found) => done(error ?? found)));
      expect(answer, address).toBe(address);
      const literal = await connectThrough(standInFor, bracketed(address));
      expect((literal as Socket).remoteAddress, address).toBe(address);
      const named = await connectThrough(standInFor, `public-${index}.example`);
      expect((named as Socket).remoteAddress, address).toBe(address);
    }
    expect(wouldDial.slice(before)).toEqual(ALLOWED.flatMap((address) => [address, address]));
    wouldDial.length = before;
  });
});

describe('C50: static rules and address policy', () => {
  it('rejects internal reference-media URLs before any connection, even with http media allowed', async () => {
    const safe = client({ allowedPorts: [sinkPort] });
    const urls = ['http://127.0.0.1/', 'http://localhost/', 'http://10.1.2.3/', 'http://192.168.0.1/',
      'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0/', 'http://2130706433/',
      'http://0x7f.1/', 'http://foo.localhost/', 'http://LOCALHOST./', 'http://100.64.0.1/', 'http://[fc00::1]/', `http://127.0.0.1:${sinkPort}/`];
    for (const url of urls) {
      expect(staticRejection(() => safe.validateUrl(url, 'media')), url).toBeInstanceOf(UrlRejected);
      expect(await failure(safe.fetchMedia(url, 'image')), url).toBeInstanceOf(UrlRejected);
    }
    expect(attempts).toEqual([]);
    expect(sink.counters.connections).toBe(0);
  });

  it('rejects the same hosts as webhook and callback URLs over https', async () => {
    const safe = client();
    const urls = ['https://127.0.0.1/hook', 'https://localhost/hook', 'https://10.1.2.3/hook', 'https://192.168.0.1/hook',
      'https://169.254.169.254/latest/meta-data/', 'https://[::1]/hook', 'https://[::ffff:127.0.0.1]/hook'];
    for (const url of urls) {
      expect(staticRejection(() => safe.validateUrl(url, 'webhook')), url).toBeInstanceOf(UrlRejected);
      expect(await failure(safe.postWebhook(url, '{}', {})), url).toBeInstanceOf(UrlRejected);
    }
    // Webhooks are https-only whatever ALLOW_HTTP_MEDIA says.
    expect(staticRejection(() => safe.validateUrl(`http://${PUBLIC}/hook`, 'webhook'))).toEqual(rejected('scheme'));
    expect(attempts).toEqual([]);
  });

  it('enforces schemes, userinfo, length, ports and the deny-list', () => {
    const safe = client({ deniedHosts: ['blocked.example', '*.internal.example'] });
    const strict = client({ allowHttpMedia: false, allowedPorts: [8443] });
    const cases: Array<[string, string]> = [
      ['file:///etc/passwd', 'scheme'], ['ftp://media.example/a.png', 'scheme'], ['data:image/png;base64,AAAA', 'scheme'],
      ['javascript:alert(1)', 'scheme'], ['not a url', 'bad_url'], ['https://user:pass@media.example/a.png', 'userinfo'],
      ['https://user@media.example/a.png', 'userinfo'], ['https://media.example:8443/a.png', 'port'], ['http://media.example:8080/', 'port'],
      ['https://media.example:80/', 'port'], ['https://blocked.example/a.png', 'denied_host'], ['https://a.internal.example/', 'denied_host'],
      [`https://media.example/${'a'.repeat(2049 - 'https://media.example/'.length)}`, 'too_long'],
    ];
    for (const [url, reason] of cases) expect(staticRejection(() => safe.validateUrl(url, 'media')), url).toEqual(rejected(reason));
    expect(safe.validateUrl(`https://media.example/${'a'.repeat(2048 - 'https://media.example/'.length)}`, 'media').hostname).toBe('media.example');
    expect(safe.validateUrl('https://internal.example/a.png', 'media').hostname).toBe('internal.example');
    expect(strict.validateUrl('https://media.example:8443/a.png', 'media').port).toBe('8443');
    expect(staticRejection(() => strict.validateUrl(`http://${PUBLIC}/a.png`, 'media'))).toEqual(rejected('scheme'));
    expect(safe.validateUrl(`http://${PUBLIC}/a.png`, 'media').href).toBe(`http://${PUBLIC}/a.png`);
  });

  it('passes a name that resolves publicly and fetches it through the connector at the vetted address', async () => {
    const safe = client();
    resolved.length = 0;
    expect(safe.validateUrl('https://media.example/a.png', 'media').href).toBe('https://media.example/a.png');
    expect(resolved).toEqual([]); // validation is static; resolution happens only in the worker
    const result = await safe.fetchMedia('https://media.example/a.png', 'image');
    expect(result).toEqual({ bytes: PNG, contentType: 'image/png', finalUrl: 'https://media.example/a.png' });
    expect(resolved).toEqual(['media.example', 'media.example']); // pre-flight, then the connect-time lookup
    expect(vetted).toContain(PUBLIC);
  });

  it('checks a public IP literal directly, never through the resolver', async () => {
    const safe = client();
    resolved.length = 0;
    expect((await safe.fetchMedia(`https://${PUBLIC}/png`, 'image')).contentType).toBe('image/png');
    expect(resolved).toEqual([]);
  });

  it('blocks a name with a private record, alone or next to a public one', async () => {
    const safe = client();
    const before = media.counters.connections;
    expect(await failure(safe.fetchMedia('https://private.example/a.png', 'image'))).toEqual(failed('blocked_address'));
    expect(await failure(safe.fetchMedia('https://mixed.example/a.png', 'image'))).toEqual(failed('blocked_address'));
    expect(await failure(safe.postWebhook('https://private.example/hook', '{}', {}))).toEqual(failed('blocked_address'));
    expect(attempts).not.toContain('private.example');
    expect(attempts).not.toContain('mixed.example');
    expect(media.counters.connections).toBe(before);
  });

  it('re-checks at connect time: a rebinding answer fails the lookup before any socket opens', async () => {
    const safe = client();
    const before = media.counters.connections;
    expect(await failure(safe.fetchMedia('https://flip.example/a.png', 'image'))).toEqual(failed('blocked_address'));
    expect(flips.get('flip.example')).toBe(2);
    expect(media.counters.connections).toBe(before);
  });

  it('re-checks the connected peer: a socket whose remote address is loopback is refused', async () => {
    const safe = client();
    expect(await failure(safe.fetchMedia('https://rebind.example/rebind.png', 'image'))).toEqual(failed('blocked_address'));
    expect(media.counters.requests).not.toContain('/rebind.png');
  });

  it('guards the default undici connector through the net lookup hook', async () => {
    // No injected connector: real sockets, so only loopback names and trusted loopback hosts are used here.
    const safe = client({ connector: undefined, trustedHosts: [`127.0.0.1:${mediaPort}`] });
    expect((await safe.fetchMedia(`http://127.0.0.1:${mediaPort}/png`, 'image')).contentType).toBe('image/png');
    const before = media.counters.connections;
    expect(await failure(safe.fetchMedia('https://flip-default.example/a.png', 'image'))).toEqual(failed('blocked_address'));
    expect(await failure(safe.postWebhook('https://flip-hook.example/hook', '{}', {}))).toEqual(failed('blocked_address'));
    expect(flips.get('flip-default.example')).toBe(2);
    expect(media.counters.connections).toBe(before);
  });

  it('answers both shapes of the lookup callback and vets every record', async () => {
    const lookup = createGuardedLookup(resolve);
    const call = (hostname: string, options: { all?: boolean; family?: number }) =>
      new Promise<unknown>((done) => lookup(hostname, options, (error, address, family) => done(error ?? { address, family })));
    expect(await call('media.example', { all: true })).toEqual({ address: [{ address: PUBLIC, family: 4 }], family: undefined });
    expect(await call('media.example', {})).toEqual({ address: PUBLIC, family: 4 });
    expect(await call('dual.example', { all: true, family: 6 })).toEqual({
      address: [{ address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 }],
      family: undefined,
    });
    expect(await call('mixed.example', { all: true })).toEqual(failed('blocked_address'));
    expect(await call('metadata.example', {})).toEqual(failed('blocked_address'));
  });

  it('uses an injected dispatcher after the static and pre-flight checks', async () => {
    let dispatched = 0;
    const dispatcher = new Agent({
      connect: (_options, callback) => {
        dispatched += 1;
        const socket = netConnect(mediaPort, '127.0.0.1');
        socket.once('connect', () => callback(null, socket));
        socket.once('error', (error) => callback(error, null));
      },
    });
    const safe = client({ dispatcher });
    expect((await safe.fetchMedia('https://media.example/a.png', 'image')).contentType).toBe('image/png');
    expect(await failure(safe.fetchMedia('https://private.example/a.png', 'image'))).toEqual(failed('blocked_address'));
    expect(dispatched).toBe(1);
    await dispatcher.close();
  });
});

describe('C51: redirects', () => {
  const trusted = () => client({ trustedHosts: [`127.0.0.1:${mediaPort}`] });

  it('blocks a hop to the metadata address without contacting it', async () => {
    const local = `http://127.0.0.1:${mediaPort}`;
    expect(await failure(trusted().fetchMedia(`${local}/to-metadata`, 'image'))).toEqual(failed('redirect_blocked'));
    expect(await failure(client({ allowHttpMedia: false, trustedHosts: [`127.0.0.1:${mediaPort}`] }).fetchMedia(`${local}/to-metadata`, 'image')))
      .toEqual(failed('redirect_blocked'));
    // The literal C51 case: a public URL whose server redirects inward.
    expect(await failure(client().fetchMedia('https://media.example/to-metadata', 'image'))).toEqual(failed('redirect_blocked'));
    expect(await failure(trusted().fetchMedia(`${local}/to-metadata-name`, 'image'))).toEqual(failed('blocked_address'));
    expect(await failure(trusted().fetchMedia(`${local}/to-sink`, 'image'))).toEqual(failed('redirect_blocked'));
    expect(attempts).not.toContain('169.254.169.254');
    expect(attempts).not.toContain('metadata.example');
    expect(sink.counters.connections).toBe(0);
  });

  it('follows at most three hops', async () => {
    const safe = trusted();
    const local = `http://127.0.0.1:${mediaPort}`;
    const result = await safe.fetchMedia(`${local}/chain/3`, 'image');
    expect(result.finalUrl).toBe(`${local}/chain/0`);
    media.counters.requests.length = 0;
    expect(await failure(safe.fetchMedia(`${local}/chain/4`, 'image'))).toEqual(failed('too_many_redirects'));
    expect(media.counters.requests).toEqual(['/chain/4', '/chain/3', '/chain/2', '/chain/1']);
  });

  it('never follows a redirect for a webhook', async () => {
    const safe = trusted();
    const response = await safe.postWebhook(`http://127.0.0.1:${mediaPort}/hook-redirect`, '{}', {});
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`http://127.0.0.1:${sinkPort}/landing`);
    expect((await client().postWebhook('https://hooks.example/hook-redirect', '{}', {})).status).toBe(302);
    expect(sink.counters.connections).toBe(0);
  });
});

describe('C52: limits and content checks', () => {
  const local = () => `http://127.0.0.1:${mediaPort}`;
  const trusted = (overrides: Partial<SafeFetchOptions> = {}) => client({ trustedHosts: ['127.0.0.1'], ...overrides });

  it('refuses a declared 50 MB image without reading it', async () => {
    expect(await failure(trusted().fetchMedia(`${local()}/big`, 'image'))).toEqual(failed('too_large'));
    expect(bigSent.sent).toBeLessThan(30_000_000);
  });

  it('aborts at the cap when the length is not declared', async () => {
    expect(await failure(trusted().fetchMedia(`${local()}/big-chunked`, 'image'))).toEqual(failed('too_large'));
    expect(bigSent.sent).toBeLessThan(40_000_000);
    expect(await failure(trusted().fetchMedia(`http://127.0.0.1:${untilClosePort}/`, 'image'))).toEqual(failed('too_large'));
    expect(untilCloseSent).toBeLessThan(40_000_000);
    // The per-call cap applies to the streamed count too, and never raises the configured one.
    expect(await failure(trusted().fetchMedia(`${local()}/small-chunked`, 'image', { maxBytes: 1_000 }))).toEqual(failed('too_large'));
    expect(await failure(trusted({ maxBytes: { image: 1_000 } }).fetchMedia(`${local()}/small-chunked`, 'image', { maxBytes: 20 * MiB })))
      .toEqual(failed('too_large'));
  });

  it('times out a server that sends one byte every five seconds', async () => {
    const started = Date.now();
    expect(await failure(trusted({ mediaTimeoutMs: 300 }).fetchMedia(`${local()}/slow`, 'image'))).toEqual(failed('timeout'));
    // At the deadline, not when the next byte comes (5 s): seconds of margin for a loaded machine.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await failure(trusted({ headersTimeoutMs: 200 }).fetchMedia(`${local()}/hang`, 'image'))).toEqual(failed('timeout'));
    expect(await failure(trusted({ webhookTimeoutMs: 300 }).postWebhook(`${local()}/hang`, '{}', {}))).toEqual(failed('timeout'));
  });

  it('rejects bodies that are not the expected media', async () => {
    const safe = trusted();
    expect(await failure(safe.fetchMedia(`${local()}/html`, 'image'))).toEqual(failed('bad_content_type'));
    expect(await failure(safe.fetchMedia(`${local()}/fake-png`, 'image'))).toEqual(failed('bad_content_type'));
    expect(await failure(safe.fetchMedia(`${local()}/octet`, 'image'))).toEqual(failed('bad_content_type'));
    expect(await failure(safe.fetchMedia(`${local()}/png`, 'video'))).toEqual(failed('bad_content_type'));
    expect(await failure(safe.fetchMedia(`${local()}/missing`, 'image'))).toEqual(expect.objectContaining({ reason: 'bad_status', status: 404 }));
  });

  it('recognises each family by its magic bytes', () => {
    const bytes = (...parts: Array<string | number[]>) =>
      Buffer.concat([...parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))), Buffer.alloc(16)]);
    expect(sniffMedia(PNG, 'image')).toBe('image/png');
    expect(sniffMedia(bytes([0xff, 0xd8, 0xff, 0xe0]), 'image')).toBe('image/jpeg');
    expect(sniffMedia(bytes('GIF89a'), 'image')).toBe('image/gif');
    expect(sniffMedia(bytes('RIFF\0\0\0\0WEBPVP8 '), 'image')).toBe('image/webp');
    expect(sniffMedia(bytes('\0\0\0\x18ftypisom'), 'video')).toBe('video/mp4');
    expect(sniffMedia(bytes('\0\0\0\x14ftypqt  '), 'video')).toBe('video/quicktime');
    expect(sniffMedia(bytes([0x1a, 0x45, 0xdf, 0xa3], 'B\x82\x84webm'), 'video')).toBe('video/webm');
    expect(sniffMedia(bytes('RIFF\0\0\0\0WAVEfmt '), 'audio')).toBe('audio/wav');
    expect(sniffMedia(bytes('ID3\x04'), 'audio')).toBe('audio/mpeg');
    expect(sniffMedia(bytes([0xff, 0xfb, 0x90, 0x64]), 'audio')).toBe('audio/mpeg');
    expect(sniffMedia(bytes('OggS'), 'audio')).toBe('audio/ogg');
    expect(sniffMedia(bytes('fLaC'), 'audio')).toBe('audio/flac');
    expect(sniffMedia(bytes('\0\0\0\x20ftypM4A '), 'audio')).toBe('audio/mp4');
    expect(sniffMedia(PNG, 'audio')).toBeNull();
    expect(sniffMedia(bytes('<html>'), 'image')).toBeNull();
    expect(sniffMedia(bytes([0xff, 0xf1]), 'audio')).toBeNull(); // AAC ADTS, not MP3
  });
});

describe('S11: trusted hosts', () => {
  it('lets a trusted loopback host through on http, for media and webhooks', async () => {
    const safe = client({ allowHttpMedia: false, trustedHosts: ['127.0.0.1'] });
    expect((await safe.fetchMedia(`http://127.0.0.1:${mediaPort}/png`, 'image')).contentType).toBe('image/png');
    const response = await safe.postWebhook(`http://127.0.0.1:${mediaPort}/hook`, '{"a":1}', { 'webhook-id': 'msg_1' });
    expect(response.status).toBe(204);
    expect(lastHook?.body).toBe('{"a":1}');
    expect(lastHook?.headers['content-type']).toBe('application/json');
    expect(lastHook?.headers['webhook-id']).toBe('msg_1');
    expect((await safe.postWebhook(`http://127.0.0.1:${mediaPort}/hook-fails`, '{}', {})).status).toBe(500);
  });

  it('keeps every other rule for trusted hosts', () => {
    const safe = client({ trustedHosts: ['127.0.0.1', 'localhost', `[::1]:${mediaPort}`] });
    expect(staticRejection(() => safe.validateUrl(`http://u:p@127.0.0.1:${mediaPort}/png`, 'media'))).toEqual(rejected('userinfo'));
    expect(staticRejection(() => safe.validateUrl(`http://localhost:${mediaPort}/png`, 'media'))).toEqual(rejected('denied_host'));
    expect(staticRejection(() => safe.validateUrl(`file:///etc/passwd`, 'media'))).toEqual(rejected('scheme'));
    expect(safe.validateUrl(`http://[::1]:${mediaPort}/hook`, 'webhook').hostname).toBe('[::1]');
    expect(staticRejection(() => safe.validateUrl(`http://[::1]:${sinkPort}/hook`, 'webhook'))).toBeInstanceOf(UrlRejected);
  });

  it('trusts a host:port entry on that port only', async () => {
    const safe = client({ trustedHosts: [`127.0.0.1:${sinkPort}`] });
    expect(await failure(safe.fetchMedia(`http://127.0.0.1:${mediaPort}/png`, 'image'))).toEqual(rejected('port'));
  });

  it('applies extraTrustedOrigins to that call only', async () => {
    const safe = client({ allowHttpMedia: false });
    const origin = `http://127.0.0.1:${mediaPort}`;
    const result = await safe.fetchMedia(`${origin}/png`, 'image', { extraTrustedOrigins: [origin] });
    expect(result.contentType).toBe('image/png');
    expect(await failure(safe.fetchMedia(`${origin}/png`, 'image'))).toEqual(rejected('scheme'));
    expect(await failure(safe.fetchMedia(`http://127.0.0.1:${sinkPort}/png`, 'image', { extraTrustedOrigins: [origin] }))).toBeInstanceOf(UrlRejected);
    expect(staticRejection(() => safe.validateUrl(`${origin}/png`, 'media'))).toEqual(rejected('scheme'));
    expect(sink.counters.connections).toBe(0);
  });

  it('parses trusted host entries canonically', () => {
    expect(parseTrustedHost('[::1]:8080')).toEqual({ hostname: '[::1]', port: 8080 });
    expect(parseTrustedHost('::1')).toEqual({ hostname: '[::1]', port: null });
    expect(parseTrustedHost('Media.Example.:443')).toEqual({ hostname: 'media.example', port: 443 });
    expect(() => parseTrustedHost('user@host')).toThrow(TypeError);
  });
});

// FetchFailed is part of the contract the worker branches on.
it('exports FetchFailed with its reason and status', () => {
  const error = new FetchFailed('bad_status', 'x', 404);
  expect([error.reason, error.status, error.name]).toEqual(['bad_status', 404, 'FetchFailed']);
});
