import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../lib/errors.js';

/** Shared request schemas. Every object schema rejects unknown properties (E4). */
export const Strict = { additionalProperties: false } as const;

export const Pagination = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  Strict,
);
export type PaginationQuery = Static<typeof Pagination>;

export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, Strict);

export const ModeSchema = Type.Union([Type.Literal('live'), Type.Literal('test')]);

/** Credits in JSON: integers within ±(2^53−1) (D7); strings and fractions fail validation. */
export const Credits = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });

export function pageLimit(query: { limit?: string }, fallback = 20, max = 100): number {
  if (query.limit === undefined) return fallback;
  const limit = Number(query.limit);
  if (limit < 1 || limit > max) {
    throw new AppError('invalid_request', `limit must be between 1 and ${max}`, { param: 'limit' });
  }
  return limit;
}

/** Lists answer `{object: "list", data, has_more}`; one extra row is fetched to know `has_more`. */
export function listPage<T>(rows: T[], limit: number) {
  return { object: 'list' as const, data: rows.slice(0, limit), has_more: rows.length > limit };
}

export { parseTimestamp } from './input-guard.js';
