import ipaddr from 'ipaddr.js';

/** IP allow-lists and trusted proxies (K9): CIDR matching with IPv4-mapped IPv6 normalised to IPv4. */
export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseCidr(text: string): Cidr | null {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

export function normalizeAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    // `process` turns ::ffff:a.b.c.d into a.b.c.d so allow-lists written for IPv4 match.
    return ipaddr.process(text);
  } catch {
    return null;
  }
}

/**
 * A socket peer's address in canonical text. Peers repeat (every request of a keep-alive connection, every connection
 * of one client), and parsing one with ipaddr.js was about 1 % of a billed chat request's CPU, so the answers are kept
 * — at most `PEERS_KEPT`, all dropped at once when full (a flood of new addresses costs a parse each, as before).
 */
const PEERS_KEPT = 10_000;
const peers = new Map<string, string>();

function canonicalPeer(peer: string): string {
  let text = peers.get(peer);
  if (text === undefined) {
    text = normalizeAddress(peer)?.toString() ?? peer;
    if (peers.size >= PEERS_KEPT) peers.clear();
    peers.set(peer, text);
  }
  return text;
}

export function matchesAny(address: string, cidrs: readonly Cidr[]): boolean {
  const parsed = normalizeAddress(address);
  if (!parsed) return false;
  return cidrs.some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
}

/**
 * The client address: the socket peer, unless the peer is a trusted proxy, in which case the rightmost
 * `X-Forwarded-For` hop that is not itself a trusted proxy.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: readonly Cidr[]): string {
  if (trusted.length === 0 || !forwardedFor || !matchesAny(peer, trusted)) return canonicalPeer(peer);
  const hops = forwardedFor.split(',').map((hop) => hop.trim()).filter(Boolean);
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = hops[index]!;
    if (!matchesAny(hop, trusted)) return normalizeAddress(hop)?.toString() ?? hop;
  }
  return normalizeAddress(hops[0] ?? peer)?.toString() ?? peer;
}
