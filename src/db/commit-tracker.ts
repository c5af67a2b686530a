import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which requests have committed a change (issue 8: "a committed change never answers an error"). With
 * `TRACK_COMMITS=true` the HTTP layer runs each request inside `trackCommits`; the database handle marks the scope
 * when a transaction commits or a statement that writes succeeds outside one. An internal error answered after a
 * commit is then a bug that the error mapper logs and counts (`genrelay_committed_then_failed_total`), and that the
 * fuzz suite asserts never happens (the test suite runs with tracking on).
 *
 * Off by default: the scope travels in an AsyncLocalStorage, which on Node 20 turns on promise hooks for every promise
 * of the process — measured 5–7 % of genrelay's CPU per billed chat request (docs/PERFORMANCE.md). Until a request
 * has been tracked, every function here returns at once and no hook is installed.
 */
export interface CommitScope {
  committed: boolean;
}

const scopes = new AsyncLocalStorage<CommitScope>();
/** Whether any request has been tracked in this process (the storage, and its promise hooks, exist from then on). */
let active = false;

/** Statements that change data outside an explicit transaction: DML, and the hold functions called with SELECT. */
const WRITE = /\b(INSERT|UPDATE|DELETE|gr_create_task|gr_resolve_hold|gr_reserve_group|gr_resolve_group)\b/i;

export function trackCommits<T>(scope: CommitScope, run: () => T): T {
  active = true;
  return scopes.run(scope, run);
}

export function noteStatement(text: string): void {
  if (!active) return;
  const scope = scopes.getStore();
  if (scope && !scope.committed && WRITE.test(text)) scope.committed = true;
}

export function noteCommit(): void {
  if (!active) return;
  const scope = scopes.getStore();
  if (scope) scope.committed = true;
}

/** The scope of the request running now, if any (group commit keeps it to mark the request later). */
export function currentScope(): CommitScope | undefined {
  return active ? scopes.getStore() : undefined;
}

/** Runs `run` outside every request's scope: a statement shared by many requests marks none of them by itself. */
export function untracked<T>(run: () => T): T {
  if (!active) return run();
  return scopes.run(undefined as unknown as CommitScope, run);
}

export function markCommitted(scope: CommitScope): void {
  scope.committed = true;
}
