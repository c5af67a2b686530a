import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Queryable } from '../../db/pool.js';
import { pruneBatch } from '../../db/prune.js';
import type { Clock } from '../../lib/clock.js';

/**
 * Mail of the customer console (verification, password reset, invitations). With `SMTP_URL` every message goes
 * through nodemailer's SMTP transport; without it the message, with its link, is written to the log and kept in
 * `mail_outbox`, which the operator reads at `GET /api/admin/mail-outbox`. Callers send only after their transaction
 * has committed, so a rolled-back change never mails a link; a failed SMTP delivery is logged, never thrown (the
 * change it announces is already committed — the user asks again: resend, reset).
 */
export type MailKind = 'verify' | 'reset' | 'invitation';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** The one link the mail carries (logged and listed in the outbox). */
  link: string;
  kind: MailKind;
}

export interface Mailer {
  readonly transport: 'smtp' | 'outbox';
  send(message: MailMessage): Promise<void>;
  /** The outbox the operator reads (mail kept when no SMTP_URL is set), newest first. */
  listOutbox(limit: number, before: bigint | null): Promise<OutboxRow[]>;
}

export interface MailerOptions {
  smtpUrl: string | null;
  from: string;
  db: Queryable;
  clock: Clock;
  logger: Logger;
}

export function createMailer(options: MailerOptions): Mailer {
  if (options.smtpUrl) return new SmtpMailer(nodemailer.createTransport(options.smtpUrl), options);
  return new OutboxMailer(options);
}

class SmtpMailer implements Mailer {
  readonly transport = 'smtp' as const;
  constructor(private readonly transporter: Transporter, private readonly options: MailerOptions) {}

  listOutbox(limit: number, before: bigint | null): Promise<OutboxRow[]> {
    return listOutbox(this.options.db, limit, before);
  }

  async send(message: MailMessage): Promise<void> {
    try {
      await this.transporter.sendMail({ from: this.options.from, to: message.to, subject: message.subject, text: message.text });
      this.options.logger.info({ to: message.to, kind: message.kind }, 'mail sent');
    } catch (error) {
      this.options.logger.warn({ err: error, to: message.to, kind: message.kind }, 'mail could not be sent over SMTP');
    }
  }
}

class OutboxMailer implements Mailer {
  readonly transport = 'outbox' as const;
  constructor(private readonly options: MailerOptions) {}

  listOutbox(limit: number, before: bigint | null): Promise<OutboxRow[]> {
    return listOutbox(this.options.db, limit, before);
  }

  async send(message: MailMessage): Promise<void> {
    this.options.logger.info({ to: message.to, kind: message.kind, link: message.link }, `mail (no SMTP_URL): ${message.subject}`);
    try {
      await this.options.db.query(
        'INSERT INTO mail_outbox (recipient, subject, body, link, kind, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [message.to, message.subject, message.text, message.link, message.kind, this.options.clock.now()],
      );
    } catch (error) {
      this.options.logger.warn({ err: error, to: message.to }, 'mail could not be kept in mail_outbox');
    }
  }
}

export interface OutboxRow {
  id: bigint;
  recipient: string;
  subject: string;
  body: string;
  link: string | null;
  kind: string;
  created_at: Date;
}

/** Newest first, a page at a time (`before`: the last id of the previous page). */
export async function listOutbox(db: Queryable, limit: number, before: bigint | null): Promise<OutboxRow[]> {
  return (await db.query<OutboxRow>(
    'SELECT * FROM mail_outbox WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2',
    [before, limit],
  )).rows;
}

/** How long the outbox keeps a message (pruneOutbox). */
export const OUTBOX_RETENTION_MS = 30 * 24 * 3_600_000;

/**
 * The sweeper's part (one batch per call): outbox messages older than OUTBOX_RETENTION_MS. Each row is a message
 * already delivered the only way the outbox delivers (logged, listed for the operator); nothing waits in it to be sent
 * or retried, and the link it carries died long before (a week at most, C2). Answers how many rows went.
 */
export function pruneOutbox(db: Queryable, now: Date): Promise<number> {
  return pruneBatch(db, 'mail_outbox', 'created_at <= $1', [new Date(now.getTime() - OUTBOX_RETENTION_MS)]);
}
