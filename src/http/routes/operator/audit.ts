import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import type { AuditLog } from '../../../modules/audit/service.js';
import { AppError } from '../../../lib/errors.js';
import { isoOrNull } from '../../../lib/time.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { Pagination, Strict, pageLimit, parseTimestamp } from '../../schemas.js';

/**
 * `GET /api/admin/audit`: the append-only audit log, newest first, filterable by target, action, actor and time
 * (`from` inclusive, `to` exclusive, RFC 3339 1970–9999); `after` = the last id of the previous page.
 */
const Query = Type.Composite(
  [
    Pagination,
    Type.Object({
      target_type: Type.Optional(Type.String({ maxLength: 64 })),
      target_id: Type.Optional(Type.String({ maxLength: 64 })),
      action: Type.Optional(Type.String({ maxLength: 64 })),
      actor: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
      from: Type.Optional(Type.String({ maxLength: 64 })),
      to: Type.Optional(Type.String({ maxLength: 64 })),
    }),
  ],
  Strict,
);

/** What the audit route uses: operator auth and the audit log. */
export type AuditRouteDeps = OperatorAuthDeps & { audit: AuditLog };

export function registerAuditRoutes(app: App, deps: AuditRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/audit',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { querystring: Query } },
    async (request) => {
      const limit = pageLimit(request.query);
      let before: bigint | undefined;
      if (request.query.after !== undefined) {
        const match = /^aud_(\d{1,18})$/.exec(request.query.after);
        if (!match) throw new AppError('invalid_request', 'after must be an audit event id (aud_…)', { param: 'after' });
        before = BigInt(match[1]!);
      }
      const from = request.query.from === undefined ? undefined : parseTimestamp(request.query.from, 'from');
      const to = request.query.to === undefined ? undefined : parseTimestamp(request.query.to, 'to');
      if (from && to && to.getTime() < from.getTime()) throw new AppError('invalid_request', 'to must not be before from', { param: 'to' });
      const rows = await deps.audit.list({
        targetType: request.query.target_type,
        targetId: request.query.target_id,
        action: request.query.action,
        actor: request.query.actor,
        from,
        to,
        limit: limit + 1,
        before,
      });
      return {
        object: 'list',
        has_more: rows.length > limit,
        data: rows.slice(0, limit).map((row) => ({
          id: `aud_${row.id}`,
          actor: row.actor,
          action: row.action,
          target_type: row.target_type,
          target_id: row.target_id,
          ip: row.ip,
          user_agent: row.user_agent,
          before: row.before,
          after: row.after,
          created_at: isoOrNull(row.created_at),
        })),
      };
    },
  );
}
