import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../../lib/errors.js';
import type { JsonValue } from '../../../providers/spec.js';
import type { CreateTaskResult } from '../../../workflows/create-task.js';
import type { RawReference } from '../../../workflows/references.js';

/** Schemas and helpers shared by the generation routes of every face. */
export const GENERATION_BODY_LIMIT = 64 * 1024 * 1024;

export const ReferenceSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('image'), Type.Literal('video'), Type.Literal('audio')]),
    url: Type.String({ minLength: 1, maxLength: GENERATION_BODY_LIMIT }),
    role: Type.Optional(Type.String({ maxLength: 64 })),
    strength: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('mid'), Type.Literal('high')])),
  },
  { additionalProperties: false },
);

export const References = Type.Array(ReferenceSchema, { maxItems: 32 });

/** Client data echoed back: an object of at most 16 keys (API.md §4). */
export const Metadata = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 16 });

export const CallbackUrl = Type.String({ minLength: 1, maxLength: 2048 });

/** `seconds` as an integer or a numeric string (the OpenAI client sends strings). */
export const Seconds = Type.Union([Type.Integer({ minimum: 1, maximum: 600 }), Type.String({ pattern: '^[0-9]{1,3}$' })]);

export function toSeconds(value: number | string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

export function toMetadata(value: Record<string, unknown> | undefined | null): Record<string, JsonValue> | null {
  if (value === undefined || value === null) return null;
  if (JSON.stringify(value).length > 16 * 1024) throw new AppError('invalid_request', 'metadata is too large (16 KiB at most)', { param: 'metadata' });
  return value as Record<string, JsonValue>;
}

export function toReferences(value: Array<{ type: RawReference['type']; url: string; role?: string; strength?: RawReference['strength'] }> | undefined): RawReference[] {
  return (value ?? []).map((reference) => ({
    type: reference.type,
    url: reference.url,
    ...(reference.role ? { role: reference.role } : {}),
    ...(reference.strength ? { strength: reference.strength } : {}),
  }));
}

/** I6: 202 + Location for a new task; 200 + `Idempotent-Replayed: true` with the current state for a replay. */
export function sendCreated(reply: FastifyReply, result: CreateTaskResult, location: string, body: unknown): FastifyReply {
  if (result.outcome === 'replay') return reply.status(200).header('Idempotent-Replayed', 'true').send(body);
  return reply.status(202).header('Location', location).send(body);
}
