import { AppError } from '../lib/errors.js';

/**
 * Input hygiene at the edge (issue 8). PostgreSQL can store neither a NUL character nor an unpaired UTF-16 surrogate
 * in text or jsonb, and a deeply nested document exhausts the stack of whatever walks it next (validation, canonical
 * fingerprints, JSON serialisation, the database). Every path parameter, query parameter and body — JSON or
 * multipart, at any depth, keys included — passes through `inspectInput` before validation, and is refused with a
 * 400 naming the parameter.
 */
export const MAX_JSON_DEPTH = 32;

/** Earliest and latest instants a timestamp parameter may name (both engines and JavaScript store them exactly). */
export const MIN_TIMESTAMP = Date.UTC(1970, 0, 1);
export const MAX_TIMESTAMP = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function badText(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (!text.isWellFormed()) return 'contains an unpaired UTF-16 surrogate';
  return null;
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

/**
 * Walks `value` without recursion. `root` names the top level in messages when the fault is the value itself (a
 * body that is a bare string); below it, paths are dotted (`messages.0.content`), as in validation errors.
 */
export function inspectInput(value: unknown, root = ''): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const where = item.path === '' ? root : item.path;
    if (typeof item.value === 'string') {
      const fault = badText(item.value);
      if (fault) throw new AppError('invalid_request', `${where || 'The request'} ${fault}`, where ? { param: where } : {});
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= MAX_JSON_DEPTH) {
      throw new AppError('invalid_request', `${where || 'The request body'} is nested deeper than ${MAX_JSON_DEPTH} levels`, where ? { param: where } : {});
    }
    if (Array.isArray(item.value)) {
      for (let index = item.value.length - 1; index >= 0; index -= 1) {
        stack.push({ value: item.value[index], path: join(item.path, index), depth: item.depth + 1 });
      }
      continue;
    }
    // Buffers (multipart files) are bytes, not text.
    if (Buffer.isBuffer(item.value)) continue;
    for (const [key, child] of Object.entries(item.value as Record<string, unknown>)) {
      const keyPath = join(item.path, key);
      const fault = badText(key);
      if (fault) throw new AppError('invalid_request', `A parameter name in ${where || 'the request'} ${fault}`, where ? { param: where } : {});
      stack.push({ value: child, path: keyPath, depth: item.depth + 1 });
    }
  }
}

/** Path and query parameters are flat: their names are the parameter names. */
export function inspectParameters(values: unknown): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    const fault = badText(name);
    if (fault) throw new AppError('invalid_request', `A parameter name ${fault}`);
    inspectInput(value, name);
  }
}

/** RFC 3339 timestamps with a four-digit year, between 1970 and 9999 (anything else is a 400 naming `param`). */
export function parseTimestamp(value: string, param: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(date.getTime())) {
    throw new AppError('invalid_request', `${param} must be an RFC 3339 timestamp`, { param });
  }
  if (date.getTime() < MIN_TIMESTAMP || date.getTime() > MAX_TIMESTAMP) {
    throw new AppError('invalid_request', `${param} must be between 1970-01-01 and 9999-12-31`, { param });
  }
  return date;
}
