import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { buildConnector } from 'undici';

/**
 * What the guarded client (SEMANTICS §9) may reach: the static rules (scheme, URL hygiene, IP literals, trusted hosts),
 * which run without the network so the API can apply them at submission time and answer 400 (S9), and the
 * connect-time address guard (S5, S6) that undici's agent runs for every new socket.
 */
export type UrlPurpose = 'media' | 'webhook';

export type UrlRejectReason = 'bad_url' | 'too_long' | 'scheme' | 'userinfo' | 'port' | 'denied_host' | 'blocked_address';

/** A static check failed: the URL can never be fetched (the API answers 400). */
export class UrlRejected extends Error {
  constructor(
    readonly reason: UrlRejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'UrlRejected';
  }
}

export type FetchFailure =
  | 'blocked_address'
  | 'redirect_blocked'
  | 'too_many_redirects'
  | 'too_large'
  | 'timeout'
  | 'bad_status'
  | 'bad_content_type'
  | 'network';

/** A fetch was attempted and refused or failed; the worker turns it into `input_unavailable` (S9). */
export class FetchFailed extends Error {
  constructor(
    readonly reason: FetchFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FetchFailed';
  }
}

export const MAX_URL_LENGTH = 2048;

/**
 * S4, the address policy: one deny table for every purpose (reference media, task callback URLs, registered webhook
 * endpoints) and every moment (the IP literal at submission, the pre-flight resolution, the connect-time lookup and
 * the connected peer). The blocks of the IANA IPv4 and IPv6 special-purpose registries are listed with their names, so
 * the rule can be audited line by line instead of resting on a library's classification (ipaddr.js, for one, calls
 * the IPv4-compatible `::7f00:1` — what WHATWG URL makes of `[::127.0.0.1]` — plain unicast). IPv6 forms that embed
 * or map an IPv4 address are refused whatever the IPv4 address is: the gateway only talks to native IPv6 peers. Any
 * IPv6 address outside global unicast 2000::/3 is refused too, listed or not (SEMANTICS S4).
 *
 * Order matters only for the name reported: a more specific block comes before the block containing it.
 */
export const DENIED_RANGES: ReadonlyArray<{ readonly cidr: string; readonly name: string }> = [
  // IANA IPv4 Special-Purpose Address Registry, plus multicast and the reserved class E space.
  { cidr: '0.0.0.0/8', name: '"this network" (RFC 791)' },
  { cidr: '10.0.0.0/8', name: 'private-use (RFC 1918)' },
  { cidr: '100.64.0.0/10', name: 'shared address space / CGN (RFC 6598)' },
  { cidr: '127.0.0.0/8', name: 'loopback (RFC 1122)' },
  { cidr: '169.254.0.0/16', name: 'link-local (RFC 3927)' },
  { cidr: '172.16.0.0/12', name: 'private-use (RFC 1918)' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments (RFC 6890)' },
  { cidr: '192.0.2.0/24', name: 'documentation TEST-NET-1 (RFC 5737)' },
  { cidr: '192.31.196.0/24', name: 'AS112-v4 (RFC 7535)' },
  { cidr: '192.52.193.0/24', name: 'AMT (RFC 7450)' },
  { cidr: '192.88.99.0/24', name: 'deprecated 6to4 relay anycast (RFC 7526)' },
  { cidr: '192.168.0.0/16', name: 'private-use (RFC 1918)' },
  { cidr: '192.175.48.0/24', name: 'direct delegation AS112 service (RFC 7534)' },
  { cidr: '198.18.0.0/15', name: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', name: 'documentation TEST-NET-2 (RFC 5737)' },
  { cidr: '203.0.113.0/24', name: 'documentation TEST-NET-3 (RFC 5737)' },
  { cidr: '224.0.0.0/4', name: 'multicast (RFC 5771)' },
  { cidr: '255.255.255.255/32', name: 'limited broadcast (RFC 919)' },
  { cidr: '240.0.0.0/4', name: 'reserved (RFC 1112)' },
  // IANA IPv6 Special-Purpose Address Registry, the IPv4-embedding forms, and the non-global blocks of RFC 4291.
  { cidr: '::/128', name: 'unspecified (RFC 4291)' },
  { cidr: '::1/128', name: 'loopback (RFC 4291)' },
  { cidr: '::/96', name: 'IPv4-compatible, deprecated (RFC 4291)' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped (RFC 4291)' },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated (RFC 6145)' },
  { cidr: '64:ff9b::/96', name: 'IPv4/IPv6 translation, NAT64 (RFC 6052)' },
  { cidr: '64:ff9b:1::/48', name: 'local-use IPv4/IPv6 translation (RFC 8215)' },
  { cidr: '100::/64', name: 'discard-only (RFC 6666)' },
  { cidr: '2001::/32', name: 'Teredo (RFC 4380)' },
  { cidr: '2001:2::/48', name: 'benchmarking (RFC 5180)' },
  { cidr: '2001:10::/28', name: 'deprecated ORCHID (RFC 4843)' },
  { cidr: '2001:20::/28', name: 'ORCHIDv2 (RFC 7343)' },
  { cidr: '2001:db8::/32', name: 'documentation (RFC 3849)' },
  { cidr: '2001::/23', name: 'IETF protocol assignments (RFC 2928)' },
  { cidr: '2002::/16', name: '6to4 (RFC 3056)' },
  { cidr: '2620:4f:8000::/48', name: 'direct delegation AS112 service (RFC 7534)' },
  { cidr: '3fff::/20', name: 'documentation (RFC 9637)' },
  { cidr: '5f00::/16', name: 'segment routing SIDs (RFC 9602)' },
  { cidr: 'fc00::/7', name: 'unique-local (RFC 4193)' },
  { cidr: 'fe80::/10', name: 'link-local (RFC 4291)' },
  { cidr: 'fec0::/10', name: 'site-local, deprecated (RFC 3879)' },
  { cidr: 'ff00::/8', name: 'multicast (RFC 4291)' },
];

const DENY_TABLE = DENIED_RANGES.map(({ cidr, name }) => ({ range: ipaddr.parseCIDR(cidr), name }));
/** IPv6 is allow-listed as well: only global unicast is ever reachable, whatever IANA assigns outside it later. */
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

/**
 * Why `address` may not be reached (the name of its deny-table entry or rule), or null for a public address. Only
 * canonical socket addresses are accepted: `net.isIP` first, because ipaddr also accepts shorthand such as "127.1",
 * which no resolver or socket ever reports. `ipaddr.parse` (not `process`) keeps `::ffff:127.0.0.1` an IPv6 address,
 * so a mapped address cannot pass as the IPv4 address inside it. ipaddr's own classification is kept as a last
 * check, so a block it knows and the table lacks is still refused.
 */
export function addressDenial(address: string | undefined | null): string | null {
  if (!address || isIP(address) === 0) return 'not an IP address';
  // A zone index (fe80::1%eth0) names an interface-local address; no public address carries one.
  if (address.includes('%')) return 'scoped address (zone index)';
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // IPv6 goes through the WHATWG serializer first (all hex, as checkUrl sees URL hosts): ipaddr reads the dotted
    // IPv4-compatible form "::127.0.0.1" as the mapped "::ffff:127.0.0.1", so the name reported would be wrong.
    parsed = ipaddr.parse(isIP(address) === 6 ? unbracket(new URL(`http://[${address}]/`).hostname) : address);
  } catch {
    return 'not an IP address';
  }
  const denied = DENY_TABLE.find(({ range }) => range[0].kind() === parsed.kind() && parsed.match(range));
  if (denied) return denied.name;
  if (parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST)) return 'outside global unicast 2000::/3 (RFC 4291)';
  const range = parsed.range();
  return range === 'unicast' ? null : `special-purpose (${range})`;
}

export function isPublicAddress(address: string | undefined | null): boolean {
  return addressDenial(address) === null;
}

/** A refused address for a message, with the registry block that refused it, so operators and customers see why. */
export function describeRefused(address: string | undefined | null): string {
  return `${address || '?'} (${addressDenial(address) ?? 'refused'})`;
}

/** WHATWG URL keeps IPv6 literals in brackets; sockets and ipaddr want them bare. */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** A trailing dot names the same host, so it must not slip a name past the deny-list or the trust list. */
function canonicalName(hostname: string): string {
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

export function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'http:' ? 80 : 443;
}

interface TrustedHost {
  hostname: string;
  port: number | null;
}

/**
 * Parses one `SAFE_FETCH_TRUSTED_HOSTS` entry (`name`, `name:port`, `1.2.3.4:port`, `::1`, `[::1]:port`). The host
 * goes through the URL parser so it compares equal to the canonical host of the URLs it must match.
 */
export function parseTrustedHost(entry: string): TrustedHost {
  const text = entry.trim();
  const bracketed = isIP(text) === 6 ? `[${text}]` : text;
  const match = /^([^/@?#\s]+?)(?::(\d{1,5}))?$/.exec(bracketed);
  const host = match?.[1];
  if (!match || !host) throw new TypeError(`Invalid trusted host "${entry}"`);
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    throw new TypeError(`Invalid trusted host "${entry}"`);
  }
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && (port < 1 || port > 65535)) throw new TypeError(`Invalid port in trusted host "${entry}"`);
  return { hostname: canonicalName(hostname), port };
}

/**
 * S11. A host entry without a port trusts the host on every port (test receivers listen on ephemeral ports); with a
 * port it trusts only that port. Origins (a channel's own base URL) must match scheme, host and port exactly.
 */
export class TrustList {
  private readonly hosts: TrustedHost[];
  private readonly origins: Set<string>;

  constructor(hosts: readonly string[], origins: readonly string[] = []) {
    this.hosts = hosts.filter((entry) => entry.trim() !== '').map(parseTrustedHost);
    this.origins = new Set();
    for (const origin of origins) {
      try {
        this.origins.add(new URL(origin).origin);
      } catch {
        // An unparsable origin trusts nothing; failing closed is the safe direction.
      }
    }
  }

  withOrigins(origins: readonly string[] | undefined): TrustList {
    if (!origins || origins.length === 0) return this;
    const copy = new TrustList([], origins);
    copy.hosts.push(...this.hosts);
    for (const origin of this.origins) copy.origins.add(origin);
    return copy;
  }

  trusts(url: URL): boolean {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (this.origins.has(url.origin)) return true;
    const hostname = canonicalName(url.hostname);
    const port = effectivePort(url);
    return this.hosts.some((entry) => entry.hostname === hostname && (entry.port === null || entry.port === port));
  }
}

export interface UrlRules {
  allowHttpMedia: boolean;
  deniedHosts: readonly string[];
  allowedPorts: readonly number[];
}

export interface CheckedUrl {
  url: URL;
  trusted: boolean;
}

function isDenied(hostname: string, deniedHosts: readonly string[]): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  return deniedHosts.some((raw) => {
    const entry = canonicalName(raw.trim().toLowerCase());
    // "*.example.com" / ".example.com" deny every subdomain; a bare name denies exactly that name.
    if (entry.startsWith('*.')) return hostname.endsWith(entry.slice(1));
    if (entry.startsWith('.')) return hostname.endsWith(entry);
    return entry !== '' && hostname === entry;
  });
}

/** S2, S3 and the IP-literal half of S5. Throws UrlRejected; never touches the network. */
export function checkUrl(input: string, purpose: UrlPurpose, rules: UrlRules, trust: TrustList): CheckedUrl {
  if (input.length > MAX_URL_LENGTH) throw new UrlRejected('too_long', `URL longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new UrlRejected('bad_url', 'URL cannot be parsed');
  }
  // Canonicalisation (percent-encoding, IDNA) can lengthen a URL, so the canonical form is held to the limit too.
  if (url.href.length > MAX_URL_LENGTH) throw new UrlRejected('too_long', `URL longer than ${MAX_URL_LENGTH} characters`);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UrlRejected('scheme', `scheme ${url.protocol} is not allowed`);
  const trusted = trust.trusts(url);
  const httpAllowed = trusted || (purpose === 'media' && url.protocol === 'http:' && rules.allowHttpMedia);
  if (url.protocol === 'http:' && !httpAllowed) throw new UrlRejected('scheme', `http is not allowed for ${purpose} URLs`);
  if (url.username !== '' || url.password !== '') throw new UrlRejected('userinfo', 'URL must not contain credentials');
  const hostname = canonicalName(url.hostname);
  if (hostname === '') throw new UrlRejected('bad_url', 'URL has no host');
  if (isDenied(hostname, rules.deniedHosts)) throw new UrlRejected('denied_host', `host ${hostname} is not allowed`);
  const port = effectivePort(url);
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  // A trusted entry already matched this port (or names no port), so it is the operator's allow-listing of it.
  if (!trusted && port !== defaultPort && !rules.allowedPorts.includes(port)) {
    throw new UrlRejected('port', `port ${port} is not allowed`);
  }
  const literal = unbracket(url.hostname);
  if (!trusted && isIP(literal) !== 0 && !isPublicAddress(literal)) {
    throw new UrlRejected('blocked_address', `address ${describeRefused(literal)} is not a public address`);
  }
  return { url, trusted };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** What a connector is handed: undici's connect options plus the lookup it must use for host names. */
export type ConnectOptions = buildConnector.Options & { lookup: LookupFunction };
export type Connector = (options: ConnectOptions, callback: buildConnector.Callback) => void;

/**
 * The connect-time lookup (S6). Net calls it with `{ all: true }` when it wants every address (autoSelectFamily) and
 * without when it wants one; both shapes are answered. When guarded, one non-public record fails the whole name, so
 * a rebinding answer cannot be mixed in with a public one.
 */
function createLookup(resolve: Resolver, guarded: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (records) => {
        const rejected = guarded ? records.find((record) => !isPublicAddress(record.address)) : undefined;
        if (rejected) {
          callback(new FetchFailed('blocked_address', `${hostname} resolves to non-public ${describeRefused(rejected.address)}`), '');
          return;
        }
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const usable = family === 0 ? records : records.filter((record) => record.family === family);
        const first = usable[0];
        if (!first) {
          callback(Object.assign(new Error(`${hostname} has no usable address`), { code: 'ENOTFOUND' }), '');
        } else if (options.all) {
          callback(null, usable.map(({ address, family: kind }) => ({ address, family: kind })));
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}

export function createGuardedLookup(resolve: Resolver): LookupFunction {
  return createLookup(resolve, true);
}

/**
 * S5/S6 at connect time. IP literals never reach the lookup, so they are checked here; every socket's peer is checked
 * after connect, which also catches a connector or resolver that hands back something other than what was vetted.
 */
export function createConnector(
  guarded: boolean,
  resolve: Resolver,
  connectTimeoutMs: number,
  injected?: Connector,
): buildConnector.connector {
  const lookup = createLookup(resolve, guarded);
  const open: Connector = injected ?? buildConnector({ timeout: connectTimeoutMs, lookup });
  return (options, callback) => {
    const host = unbracket(options.hostname);
    if (guarded && isIP(host) !== 0 && !isPublicAddress(host)) {
      callback(new FetchFailed('blocked_address', `address ${describeRefused(host)} is not a public address`), null);
      return;
    }
    open({ ...options, lookup }, (error, socket) => {
      if (error) return callback(error, null);
      if (guarded && !isPublicAddress(socket.remoteAddress)) {
        socket.destroy();
        return callback(new FetchFailed('blocked_address', `connected peer ${describeRefused(socket.remoteAddress)} is not a public address`), null);
      }
      callback(null, socket);
    });
  };
}

