import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../../../lib/errors.js';
import { isoOrNull } from '../../../lib/time.js';
import type { Mailer } from '../../../modules/mail/mailer.js';
import type { App } from '../../app-type.js';
import { operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { Pagination, Strict, pageLimit } from '../../schemas.js';

/**
 * `GET /api/admin/mail-outbox` (API.md §8 "Mail"): without SMTP_URL the customer console's mail (verification, reset
 * and invitation links) is kept here, newest first, a page at a time (`after`: the last id of the previous page).
 * Console viewers get 403: the links in it are live credentials.
 */
const Query = Type.Composite([Pagination], Strict);

export type MailOutboxRouteDeps = OperatorAuthDeps & { mailer: Mailer };

export function registerMailOutboxRoutes(app: App, deps: MailOutboxRouteDeps): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/mail-outbox',
    { config: { face: 'operator' }, onRequest: operatorAuth(deps), schema: { querystring: Query, summary: 'Mail kept while no SMTP server is configured' } },
    async (request) => {
      // The outbox holds live verification, reset and invitation links: reading it can take over an account, so a
      // console viewer (read-only everywhere else) is refused; operators, owners and the operator key read it.
      if (request.operator?.kind === 'admin' && request.operator.role === 'viewer') {
        throw new AppError('forbidden', 'Viewers cannot read the mail outbox: it holds live sign-in links');
      }
      const limit = pageLimit(request.query, 50, 200);
      const after = request.query.after;
      if (after !== undefined && !/^[0-9]{1,18}$/.test(after)) throw new AppError('invalid_request', 'after must be a mail id', { param: 'after' });
      const rows = await deps.mailer.listOutbox(limit + 1, after === undefined ? null : BigInt(after));
      return {
        data: rows.slice(0, limit).map((row) => ({
          id: String(row.id), to: row.recipient, subject: row.subject, kind: row.kind, link: row.link, body: row.body, created_at: isoOrNull(row.created_at),
        })),
        has_more: rows.length > limit,
      };
    },
  );
}
