import type { FastifyServerOptions } from 'fastify';

/**
 * Route validators compiled on first use (issue 14). Fastify compiles every route's body, querystring and params
 * schema with Ajv when the app starts (`listen`/`ready`): about 0.3 s of a warm start for the ~300 routes, most of
 * which a given process never serves. This Ajv plugin (Fastify's `ajv.plugins` option) makes `ajv.compile` hand back
 * a stand-in that compiles the real validator the first time a request reaches it and delegates to it from then on:
 * the same Ajv instance, options and schema, so the same checks and the same errors (and so the same 4xx bodies).
 *
 * A schema Ajv cannot compile no longer stops the start; it would answer 500 on the route's first request. The test
 * test/integration/route-validators.test.ts compiles every registered route's schemas (compileNow below), so a
 * broken schema still fails CI.
 */
type AjvPlugin = Extract<NonNullable<NonNullable<FastifyServerOptions['ajv']>['plugins']>[number], (...args: never[]) => unknown>;
type Ajv = Parameters<AjvPlugin>[0];

/** What Fastify uses of a validator: the call, `errors` after a failed one, and `schemaEnv` (Ajv's). */
interface Validator {
  (data: unknown, context?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

const REAL = Symbol('genrelay.realValidator');

interface Deferred extends Validator {
  [REAL]: () => Validator;
}

function deferred(compile: () => Validator): Validator {
  let compiled: Validator | undefined;
  const real = () => (compiled ??= compile());
  const validate = ((data: unknown, context?: unknown): unknown => {
    const target = real();
    const valid = target(data, context);
    validate.errors = target.errors;
    return valid;
  }) as Deferred;
  // Fastify hands the request to validators that have `schemaEnv` (Ajv's do), so Ajv may replace a root value:
  // reading it is the first use.
  Object.defineProperty(validate, 'schemaEnv', { get: () => real().schemaEnv });
  validate[REAL] = real;
  return validate;
}

export const compileOnFirstUse: AjvPlugin = (ajv: Ajv) => {
  const compile = ajv.compile.bind(ajv) as (schema: unknown, meta?: boolean) => Validator;
  // Schemas with an $id (none today) and async ones keep Ajv's own path: Fastify looks an $id up in Ajv before
  // compiling it again, and async validators report errors differently.
  const replacement = (schema: unknown, meta?: boolean): Validator =>
    typeof schema === 'object' && schema !== null && !('$id' in schema) && !('$async' in schema)
      ? deferred(() => compile(schema, meta))
      : compile(schema, meta);
  ajv.compile = replacement as unknown as Ajv['compile'];
  return ajv;
};

/** The compiled validator behind `validator` (compiling it now if it was deferred); throws what Ajv throws. */
export function compileNow(validator: unknown): unknown {
  const real = (validator as Partial<Deferred> | null)?.[REAL];
  return real ? real() : validator;
}
