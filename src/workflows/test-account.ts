import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import type { GenerationKind, StatusResult } from '../providers/spec.js';

/** The services an account test needs. */
export type TestAccountDeps = Pick<Deps, 'catalog' | 'channels' | 'clock' | 'router'>;

/**
 * `POST /api/accounts/:id/test` (API.md §8): one small generation on exactly this credential, outside the task
 * engine — no customer, no hold, no ledger entry. The outcome feeds the credential's health like any dispatch
 * (a rejected key is disabled). Upstream detail is shown: this is the operator's view.
 */
export interface AccountTestResult {
  ok: boolean;
  model: string;
  outcome: string;
  status: string | null;
  error: { class: string; message: string } | null;
  latency_ms: number;
}

export async function testAccount(deps: TestAccountDeps, credentialId: string, model: string | undefined, timeoutMs = 60_000): Promise<AccountTestResult> {
  const credential = await deps.channels.credential(credentialId);
  const channel = await deps.channels.channel(credential.channel_id);
  const publicModel = model ?? Object.keys(channel.models)[0];
  if (!publicModel || channel.models[publicModel] === undefined) {
    throw new AppError('invalid_request', 'The channel does not map this model', { param: 'model' });
  }
  const catalogModel = await deps.catalog.get(publicModel);
  const route = await deps.router.routeForCredential(credentialId, publicModel);
  if (!route) throw new AppError('not_found', 'No such account');
  const started = Date.now();
  const kind = catalogModel.type as GenerationKind;
  const request = { taskId: `acctest_${credentialId}_${started}`, kind, model: publicModel, prompt: 'genrelay credential test: a small red circle', references: [], ...(kind === 'video' ? { seconds: catalogModel.capabilities.durations?.min ?? 4 } : {}) };
  const context = { ...route.context, clock: deps.clock, attempt: 1 };
  const start = await route.adapter.start(request, context);
  await deps.router.report(route, start.outcome === 'accepted' ? null : start.error);
  if (start.outcome !== 'accepted') {
    return { ok: false, model: publicModel, outcome: start.outcome, status: null, error: { class: start.error.class, message: start.error.message }, latency_ms: Date.now() - started };
  }
  let status: StatusResult | null = start.completed ?? null;
  while (!status || status.status === 'queued' || status.status === 'running') {
    if (Date.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    status = await route.adapter.status(start.operation, context).catch(() => null);
  }
  const ok = status?.status === 'succeeded';
  return {
    ok,
    model: publicModel,
    outcome: 'accepted',
    status: status?.status ?? 'unknown',
    error: status?.error ? { class: status.error.class, message: status.error.message } : null,
    latency_ms: Date.now() - started,
  };
}
