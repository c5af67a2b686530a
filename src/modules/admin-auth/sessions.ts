import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { Queryable } from '../../db/pool.js';
import { PRUNE_BATCH, pruneBatch } from '../../db/prune.js';
import { AppError } from '../../lib/errors.js';
import { sha256Hex } from '../../lib/hash.js';
import type { IdGenerator } from '../../lib/ids.js';
import type { Metrics } from '../../lib/metrics.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { AdminRow } from './admins.js';

/**
 * Console sessions in the database (SEMANTICS A6–A8). The cookie carries 256 random bits; the table stores only
 * their SHA-256, so a leaked table names no usable session. Each session holds a 256-bit CSRF token that changes
 * with the id. Lifecycle: anonymous pre-session → `mfa_pending` (≤ 5 min) → `authenticated`, a new id at each step;
 * idle timeout 30 min and absolute 8 h; expired rows are deleted when met, swept (200) when sessions are created and by
 * the periodic sweeper (pruneExpiredSessions). Revoking a session deletes its row.
 */
export type SessionState = 'anonymous' | 'mfa_pending' | 'authenticated';

export const SESSION_COOKIE = '__Host-gr_session';
export const IDLE_TIMEOUT_MS = 30 * 60_000;
export const ABSOLUTE_TIMEOUT_MS = 8 * 3_600_000;
export const MFA_PENDING_MS = 5 * 60_000;

export interface SessionRow {
  id_hash: string;
  public_id: string;
  admin_id: string | null;
  state: SessionState;
  csrf_token: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

/** A session found from its cookie, with the admin it belongs to and the cookie id (needed to rotate it). */
export interface LoadedSession extends SessionRow {
  cookieId: string;
  admin: AdminRow | null;
}

export interface NewSession {
  state: SessionState;
  adminId: string | null;
  ip: string | null;
  userAgent: string | null;
  now: Date;
  /** The absolute end; defaults by state (5 min for mfa_pending, 8 h otherwise). */
  expiresAt?: Date;
}

export interface CreatedSession {
  cookieId: string;
  row: SessionRow;
}

const COOKIE_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Where a kind of console session lives: the operator console's `admin_sessions` (owner column `admin_id`, users in
 * `admins`) or the customer console's `customer_sessions` (`user_id`, `customer_users`). The lifecycle, hashing,
 * timeouts and sweeping are the same for both; only the tables differ, so one never reads the other's sessions.
 */
export interface SessionTable {
  sessions: 'admin_sessions' | 'customer_sessions';
  ownerColumn: 'admin_id' | 'user_id';
  users: 'admins' | 'customer_users';
}

export const ADMIN_SESSIONS: SessionTable = { sessions: 'admin_sessions', ownerColumn: 'admin_id', users: 'admins' };
export const CUSTOMER_SESSIONS: SessionTable = { sessions: 'customer_sessions', ownerColumn: 'user_id', users: 'customer_users' };

/** 256 random bits, base64url (43 characters). */
export function newSecretToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionIdHash(cookieId: string): string {
  return sha256Hex(cookieId);
}

/** When a session stops being valid: the absolute end, or (except while waiting for the TOTP step) 30 min idle. */
export function sessionEnds(row: Pick<SessionRow, 'state' | 'last_seen_at' | 'expires_at'>): { idle: Date | null; absolute: Date } {
  const idle = row.state === 'mfa_pending' ? null : new Date(row.last_seen_at.getTime() + IDLE_TIMEOUT_MS);
  return { idle, absolute: row.expires_at };
}

export function isSessionExpired(row: Pick<SessionRow, 'state' | 'last_seen_at' | 'expires_at'>, now: Date): boolean {
  const ends = sessionEnds(row);
  return now.getTime() >= ends.absolute.getTime() || (ends.idle !== null && now.getTime() >= ends.idle.getTime());
}

export async function createSession(tx: Queryable, ids: IdGenerator, session: NewSession, table: SessionTable = ADMIN_SESSIONS): Promise<CreatedSession> {
  const cookieId = newSecretToken();
  const lifetime = session.state === 'mfa_pending' ? MFA_PENDING_MS : ABSOLUTE_TIMEOUT_MS;
  const expiresAt = session.expiresAt ?? new Date(session.now.getTime() + lifetime);
  await pruneExpiredSessions(tx, session.now, table, 200);
  const result = await tx.query<SessionRow>(
    `INSERT INTO ${table.sessions} (id_hash, public_id, ${table.ownerColumn}, state, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING *`,
    [sessionIdHash(cookieId), ids('ses'), session.adminId, session.state, newSecretToken(), session.ip, session.userAgent, session.now, expiresAt],
  );
  return { cookieId, row: result.rows[0]! };
}

/**
 * The limit `admitPreSession` applies (`CONSOLE_PRESESSIONS_PER_MINUTE`) and the limiter it counts with
 * (`Deps.rateLimiter`: Redis when configured, memory otherwise).
 */
export interface PreSessionLimitDeps {
  config: Pick<Config, 'consolePreSessionsPerMinute'>;
  rateLimiter: RateLimiter;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Counts one new anonymous pre-session of `table`'s console from `ip` before it is created (SEMANTICS A13), in a fixed
 * one-minute window per console and IP. A browser opens one when a tab loads the console without a live cookie (first
 * visit, after logout or expiry), so it stays far below the limit; a script asking for sessions in a loop gets
 * 429 `rate_limited` with `Retry-After` (the seconds left in the window) instead of a row per request. An unavailable
 * limiter store lets it through (R3).
 */
export async function admitPreSession(deps: PreSessionLimitDeps, table: SessionTable, ip: string): Promise<void> {
  const limit = deps.config.consolePreSessionsPerMinute;
  if (limit === 0) return;
  const decision = await deps.rateLimiter.consume(`pre-session:${table.sessions}:${ip}`, limit, 60);
  if (decision.storeError) {
    deps.metrics.increment('genrelay_ratelimit_store_errors_total', 'Rate limiter store failures (requests let through)');
    deps.logger.warn({ ip, table: table.sessions }, 'rate limiter store unavailable; pre-session allowed');
  } else if (!decision.allowed) {
    throw new AppError('rate_limited', 'Too many new console sessions from this address; try again later', { retryAfter: Math.max(1, decision.resetSeconds) });
  }
}

/**
 * The live session row a cookie names and its owner's row (null for a pre-session), or null (malformed, unknown or
 * expired id; an expired row is deleted; a row whose owner is gone is not a session).
 */
export async function loadSessionRow<U>(db: Queryable, cookieId: string | undefined, now: Date, table: SessionTable): Promise<{ row: SessionRow; owner: U | null } | null> {
  if (!cookieId || !COOKIE_ID.test(cookieId)) return null;
  const idHash = sessionIdHash(cookieId);
  const result = await db.query<SessionRow>(`SELECT * FROM ${table.sessions} WHERE id_hash = $1`, [idHash]);
  const row = result.rows[0];
  if (!row) return null;
  if (isSessionExpired(row, now)) {
    await db.query(`DELETE FROM ${table.sessions} WHERE id_hash = $1`, [idHash]);
    return null;
  }
  const ownerId = (row as unknown as Record<string, string | null>)[table.ownerColumn];
  if (!ownerId) return { row, owner: null };
  const owner = (await db.query<U & object>(`SELECT * FROM ${table.users} WHERE id = $1`, [ownerId])).rows[0] ?? null;
  return owner ? { row, owner } : null;
}

/** The live session a cookie names, or null (a malformed, unknown or expired id; an expired row is deleted). */
export async function loadSession(db: Queryable, cookieId: string | undefined, now: Date): Promise<LoadedSession | null> {
  const loaded = await loadSessionRow<AdminRow>(db, cookieId, now, ADMIN_SESSIONS);
  return loaded ? { ...loaded.row, cookieId: cookieId!, admin: loaded.owner } : null;
}

/** Activity moves the idle deadline. */
export async function touchSession(db: Queryable, idHash: string, now: Date, table: SessionTable = ADMIN_SESSIONS): Promise<void> {
  await db.query(`UPDATE ${table.sessions} SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2`, [idHash, now]);
}

export async function deleteSession(tx: Queryable, idHash: string, table: SessionTable = ADMIN_SESSIONS): Promise<boolean> {
  const result = await tx.query(`DELETE FROM ${table.sessions} WHERE id_hash = $1`, [idHash]);
  return (result.rowCount ?? 0) > 0;
}

/** Revokes every session of one owner in a table (customer users: password change or reset, removal). */
export async function deleteOwnerSessions(tx: Queryable, ownerId: string, table: SessionTable): Promise<number> {
  const result = await tx.query(`DELETE FROM ${table.sessions} WHERE ${table.ownerColumn} = $1`, [ownerId]);
  return result.rowCount ?? 0;
}

/** Revokes every session of an admin (password change, privilege change, TOTP reset, disable). */
export async function deleteAdminSessions(tx: Queryable, adminId: string): Promise<number> {
  const result = await tx.query('DELETE FROM admin_sessions WHERE admin_id = $1', [adminId]);
  return result.rowCount ?? 0;
}

export interface SessionListRow extends SessionRow {
  email: string;
}

/** Signed-in and half-signed-in sessions (anonymous pre-sessions belong to nobody), newest first. */
export async function listSessions(db: Queryable, adminId: string | null, now: Date): Promise<SessionListRow[]> {
  const result = await db.query<SessionListRow>(
    `SELECT s.*, a.email FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
      WHERE ($1::text IS NULL OR s.admin_id = $1) AND s.expires_at > $2
      ORDER BY s.created_at DESC, s.public_id DESC LIMIT 1000`,
    [adminId, now],
  );
  return result.rows.filter((row) => !isSessionExpired(row, now));
}

export async function findSessionByPublicId(db: Queryable, publicId: string): Promise<SessionRow | null> {
  const result = await db.query<SessionRow>('SELECT * FROM admin_sessions WHERE public_id = $1', [publicId]);
  return result.rows[0] ?? null;
}

/**
 * Expired rows (isSessionExpired: past the absolute end, or idle 30 min outside the TOTP step), a batch at a time:
 * 200 whenever a session is created, so pre-sessions opened by visitors who never sign in do not pile up, and a full
 * batch from the periodic sweeper. An expired row is no session any more (loadSessionRow deletes it when met, and no
 * list shows it). Answers how many rows went.
 */
export function pruneExpiredSessions(db: Queryable, now: Date, table: SessionTable, limit = PRUNE_BATCH): Promise<number> {
  return pruneBatch(db, table.sessions, "expires_at <= $1 OR (state <> 'mfa_pending' AND last_seen_at <= $2)",
    [now, new Date(now.getTime() - IDLE_TIMEOUT_MS)], limit);
}
