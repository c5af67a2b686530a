import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import type { Route } from '../modules/routing/router.js';
import type { GenerationKind, ProviderOutput, StatusResult } from '../providers/spec.js';

/** The services an account test needs. */
export type TestAccountDeps = Pick<Deps, 'catalog' | 'channels' | 'clock' | 'router' | 'media' | 'safeFetch'>;

/**
 * `POST /api/accounts/:id/test` (API.md §8): one small generation on exactly this credential, outside the task
 * engine — no customer, no hold, no ledger entry. The outcome feeds the credential's health like any dispatch
 * (a rejected key is disabled). Upstream detail is shown: this is the operator's view.
 *
 * What the generation produced is copied to durable storage like a task's result (through the guarded client, from
 * the channel's trusted origins), as files of no customer (purpose `account_test`, migration 0013), and shown as the
 * task views show results: `result: {url, assets}` with signed genrelay links. No task names these files, so the
 * sweeper's orphan reaper deletes them about an hour later; the links then answer 404.
 */
export interface AccountTestAsset {
  url: string;
  content_type: string;
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
}

export interface AccountTestResult {
  ok: boolean;
  model: string;
  outcome: string;
  status: string | null;
  error: { class: string; message: string } | null;
  latency_ms: number;
  result: { url: string; assets: AccountTestAsset[] } | null;
}

const FAMILY: Record<GenerationKind, 'video' | 'image' | 'audio'> = { video: 'video', image: 'image', music: 'audio' };

/** Copies the test's outputs to storage and signs a link to each (the media service's one signer). */
async function storeOutputs(deps: TestAccountDeps, route: Route, kind: GenerationKind, outputs: ProviderOutput[]): Promise<AccountTestResult['result']> {
  const assets: AccountTestAsset[] = [];
  for (const output of outputs) {
    let bytes = output.bytes;
    let contentType = output.contentType;
    if (!bytes && output.url) {
      const fetched = await deps.safeFetch.fetchMedia(output.url, FAMILY[kind], { extraTrustedOrigins: route.trustedOrigins });
      bytes = fetched.bytes;
      contentType = fetched.contentType;
    }
    if (!bytes) continue;
    const file = await deps.media.store({
      customerId: null, mode: 'live', taskId: null, purpose: 'account_test', bytes, contentType,
      width: output.width ?? null, height: output.height ?? null, durationSeconds: output.durationSeconds ?? null,
    });
    assets.push({ url: deps.media.signedUrl(file.id).url, content_type: file.content_type, width: file.width, height: file.height, duration_seconds: file.duration_seconds });
  }
  return assets.length > 0 ? { url: assets[0]!.url, assets } : null;
}

export async function testAccount(deps: TestAccountDeps, credentialId: string, model: string | undefined, timeoutMs = 60_000): Promise<AccountTestResult> {
  const credential = await deps.channels.credential(credentialId);
  if (credential.credential_encrypted === '') {
    throw new AppError('conflict', 'This account\'s credential was deleted; give it a new one (PATCH /api/accounts/:id) before testing it');
  }
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
    return { ok: false, model: publicModel, outcome: start.outcome, status: null, error: { class: start.error.class, message: start.error.message }, latency_ms: Date.now() - started, result: null };
  }
  let status: StatusResult | null = start.completed ?? null;
  while (!status || status.status === 'queued' || status.status === 'running') {
    if (Date.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    status = await route.adapter.status(start.operation, context).catch(() => null);
  }
  const ok = status?.status === 'succeeded';
  let error: AccountTestResult['error'] = status?.error ? { class: status.error.class, message: status.error.message } : null;
  let result: AccountTestResult['result'] = null;
  if (ok && status?.outputs?.length) {
    try {
      result = await storeOutputs(deps, route, kind, status.outputs);
    } catch (failure) {
      // The credential worked; only the copy of its output failed (e.g. a result host the channel does not trust).
      error = { class: 'result_unavailable', message: `The upstream succeeded but its output could not be stored: ${(failure as Error).message}` };
    }
  }
  return {
    ok,
    model: publicModel,
    outcome: 'accepted',
    status: status?.status ?? 'unknown',
    error,
    latency_ms: Date.now() - started,
    result,
  };
}
