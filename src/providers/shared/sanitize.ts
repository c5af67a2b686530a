/**
 * The one sanitizer of operator-facing text (issue 9). Upstream wording is worth keeping for operators, but an
 * error body or a socket error may carry the account's key, an authorisation header, request ids, or the upstream's
 * host and URLs — none of which may reach a task row, a log line or a customer (SEMANTICS E3, T14). Every message
 * that leaves an adapter passes through here: the adapter boundary (`withSafeMessages`, safe-messages.ts) applies
 * it to every `ProviderError` and thrown error, and adapters apply it themselves to the few messages they store
 * inside an operation.
 *
 * What is masked, in this order:
 *  1. the account's credential, verbatim wherever it appears (`known.credential`, when it has ≥ 4 characters);
 *  2. `Bearer …` / `Basic …` authorisation values → `Bearer ***`;
 *  3. URLs (`scheme://…`) → `[url]`;
 *  4. request / trace / log ids, with their label → removed; OpenAI-style `req_…` ids → `[request]`;
 *  5. API keys: `sk-…`, `xai-…`, `pk-…`, `rk-…`, `key-…` → `sk-***` …; masked echoes such as `sk-ab****wxyz` or
 *     `mo***ey` → `***`; the value after "API key provided" → `***`; team and key ids → `[stripped]`;
 *  6. hosts: the channel's own host (`known.baseUrl`), IP addresses (with a port or not), the address named by a
 *     socket error (`ECONNREFUSED ::1:443`, `ENOTFOUND api.example.com`, "attempted address: …"), `name.tld:port`,
 *     and DNS names under common TLDs → `[host]`;
 *  7. UUIDs and hex ids of 32+ digits → `[id]`;
 * then control characters (NUL included: PostgreSQL stores none in text or jsonb) become spaces, whitespace is collapsed,
 * the text is capped at 500 characters and any surrogate the cap split becomes U+FFFD. The function is idempotent (a message may
 * be sanitized twice on its way out) and never throws.
 */
export interface KnownSecrets {
  /** The account's credential, masked verbatim. */
  credential?: string | undefined;
  /** The channel's base URL: its host is masked wherever it appears. */
  baseUrl?: string | undefined;
}

const MAX_LENGTH = 500;
const KEY_PREFIXES = 'sk|xai|pk|rk|key';
/** A token this sanitizer already produced: kept as it is when a later rule would match it again. */
const ALREADY_MASKED = new RegExp(`^(?:(?:${KEY_PREFIXES})-)?\\*{3}$`, 'i');
/** TLDs whose dotted names are masked as hosts; file extensions (`.png`, `.json`) and code paths are left alone. */
const TLDS = 'com|net|org|io|ai|cn|co|dev|app|cloud|xyz|us|uk|de|jp|kr|sg|hk|tw|site|top|tech|info|local|internal|invalid|test|example|localhost';
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';

const RULES: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // 2. Authorisation values.
  [/\b(Bearer|Basic)\s+[^\s,;"')\]]+/gi, (_match, scheme: string) => `${scheme} ***`],
  // 3. URLs; trailing sentence punctuation stays outside the mask.
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (match) => `[url]${/[.,;:!?)\]]+$/.exec(match)?.[0] ?? ''}`],
  // 4. Request ids (Ark appends "Request id: …", DashScope "request_id", relays "(RequestId=…)").
  [/[\s,;(\[]*\b(?:request|trace|log)[ _-]?id\b\s*[:=]?\s*["']?[\w.:-]+["']?(?:\s*[)\]])?/gi, ''],
  [/\breq_[A-Za-z0-9]+/g, '[request]'],
  // 5. Keys and echoes of them.
  [new RegExp(`\\b(${KEY_PREFIXES})-[A-Za-z0-9_*.-]+`, 'gi'), (_match, prefix: string) => `${prefix}-***`],
  [/[\w-]*\*{2,}[\w-]*/g, (match) => (ALREADY_MASKED.test(match) ? match : '***')],
  [/\b(api key provided)\s*:?\s*([^\s,;()[\]]+?)(?=\.?(?:[\s,;()[\]]|$))/gi, (match, label: string, value: string) => (ALREADY_MASKED.test(value) ? match : `${label}: ***`)],
  [/\b(team|api key id|key id)\s*:?\s*(?=[\w-]*\d)[\w-]{6,}/gi, '$1 [stripped]'],
  // 6. Hosts.
  [/\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g, '[host]'],
  [/\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?/gi, '[host]'],
  // Node names the address after the code: always a host for DNS failures, an `address:port` for the others.
  [/\b(ENOTFOUND|EAI_AGAIN)\s+(?!\[host\])[^\s,;)]+/g, '$1 [host]'],
  [/\b(E(?:CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|TIMEDOUT|ADDRNOTAVAIL))\s+(?!\[host\])[^\s,;)]*[.:][^\s,;)]*/g, '$1 [host]'],
  [/\b(attempted address(?:es)?:\s*)(?!\[host\])[^\s,;)]+/gi, '$1[host]'],
  [new RegExp(`\\b(?:${LABEL}\\.)+${LABEL}:\\d{1,5}\\b`, 'gi'), '[host]'],
  [new RegExp(`\\b(?:${LABEL}\\.)+(?:${TLDS})\\b(?![.-]?\\w)`, 'gi'), '[host]'],
  [/\blocalhost(?::\d{1,5})?\b/gi, '[host]'],
  // 7. Opaque ids.
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '[id]'],
  [/\b[0-9a-f]{32,}\b/gi, '[id]'],
];

function hostsOf(baseUrl: string | undefined): string[] {
  if (!baseUrl) return [];
  try {
    const url = new URL(baseUrl);
    // The longer spelling first, so `host:port` is masked whole.
    return [...new Set([url.host, url.hostname])].filter((host) => host.length >= 3).sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

export function sanitize(message: string, known: KnownSecrets = {}): string {
  let text = typeof message === 'string' ? message : String(message);
  if (known.credential && known.credential.length >= 4) text = text.split(known.credential).join('***');
  for (const host of hostsOf(known.baseUrl)) text = text.split(host).join('[host]');
  for (const [pattern, replacement] of RULES) text = text.replace(pattern, replacement as never);
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  return (text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 3)}...` : text).toWellFormed();
}
