import type { CanonicalStatus } from '../spec.js';

/**
 * Status tables as data (issue 9, PROVIDERS §0.2, quirk 11). Each family declares one table: the upstream status
 * spellings it has seen (documented ones and the synonyms resellers and older versions use) → canonical state. The
 * functions here apply any table the same way:
 *
 * - spellings are compared normalised: trimmed, lowercase, spaces and dashes as `_` (`In-Progress` = `in_progress`),
 *   so tables are written in that form;
 * - a spelling that is not in the table is reported as non-terminal `running` with `known: false` (the caller keeps
 *   it for operators as `unknown_status`), so the gateway's own deadline — not a guess — ends a task that never
 *   reaches a known state;
 * - a status never moves backwards: once `running` was reported, a later `queued` (a lagging replica, a re-queue)
 *   is still `running`; terminal answers are always taken.
 *
 * A table may map to family-specific states besides the canonical ones (DashScope's `UNKNOWN` → `unknown_task`).
 */
export type StatusTable<State extends string = CanonicalStatus> = Readonly<Record<string, State>>;

export interface TableReading<State extends string = CanonicalStatus> {
  status: State | 'running';
  /** False when the spelling was not in the table. */
  known: boolean;
}

export function normaliseStatus(raw: unknown): string {
  return typeof raw === 'string' ? raw.trim().toLowerCase().replace(/[\s-]+/g, '_') : '';
}

export function readStatus<State extends string = CanonicalStatus>(table: StatusTable<State>, raw: unknown): TableReading<State> {
  const key = normaliseStatus(raw);
  const status = Object.hasOwn(table, key) ? table[key] : undefined;
  return status !== undefined ? { status, known: true } : { status: 'running', known: false };
}

export function isTerminal(status: CanonicalStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

/** The status to report after `seen` (the highest non-terminal status reported so far): never backwards. */
export function forward<Next extends CanonicalStatus>(seen: 'queued' | 'running' | undefined, next: Next): Next | 'running' {
  return next === 'queued' && seen === 'running' ? 'running' : next;
}
