/**
 * The operator-chosen prefix of API keys (SEMANTICS K1: `<prefix>_<mode>_<secret><check>`, modules/keys/key-format.ts).
 * Here, at the bottom of the layers, because configuration validates it at start-up.
 */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,9}$/;

export function assertValidPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`API key prefix "${prefix}" must match ${PREFIX_PATTERN}`);
  }
}
