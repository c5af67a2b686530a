import type { Queryable } from '../db/pool.js';
import type { Deps } from '../deps.js';
import { AppError } from '../lib/errors.js';
import { isoOrNull } from '../lib/time.js';
import { recordAudit, type AuditContext } from '../modules/audit/service.js';
import { modelRow, unknownModels } from '../modules/catalog/store.js';
import type { PriceRule } from '../modules/catalog/types.js';
import { validatePricing } from '../modules/catalog/validate.js';
import type { ChannelInput, ChannelRow, CredentialPatch, CredentialRow } from '../modules/channels/service.js';
import { channelProviderIds, createAdapter, isInternalProvider, isProvider } from '../providers/registry.js';
import { readAccountBalance, type AccountBalanceDeps } from './account-balance.js';
import { testAccount, type AccountTestResult, type TestAccountDeps } from './test-account.js';

/**
 * Operator changes to channels and the upstream credential pool (API.md §8, K13): each change and its audit row are
 * written in one transaction, so there is never a change without its row nor a row without its change. The routing
 * snapshot is dropped again after the commit. Credentials are encrypted at rest and never shown after creation: the
 * audited view is the one the operator API answers with.
 */
export type ChannelsDeps = Pick<Deps, 'db' | 'channels' | 'clock'>;

export function channelView(row: ChannelRow, now: Date) {
  return {
    id: row.id, object: 'channel', name: row.name, provider: row.provider, base_url: row.base_url, models: row.models,
    group: row.group_name, priority: row.priority, weight: row.weight, enabled: row.enabled, retry: row.retry, settings: row.settings,
    costs: row.costs ?? {},
    health: row.open_until && row.open_until.getTime() > now.getTime() ? 'open' : row.consecutive_failures > 0 ? 'degraded' : 'healthy',
    consecutive_failures: row.consecutive_failures, open_until: isoOrNull(row.open_until),
    created_at: isoOrNull(row.created_at), updated_at: isoOrNull(row.updated_at),
  };
}

export function accountView(row: CredentialRow, now: Date) {
  const cooling = row.cooldown_until && row.cooldown_until.getTime() > now.getTime();
  return {
    id: row.id, object: 'account', channel_id: row.channel_id, label: row.label,
    status: row.status === 'disabled' ? 'disabled' : cooling ? 'cooldown' : 'active',
    cooldown_until: cooling ? isoOrNull(row.cooldown_until) : null, disabled_reason: row.disabled_reason,
    remaining_balance: row.remaining_balance, balance: row.remaining_balance === null ? null : Number(row.remaining_balance),
    balance_checked_at: isoOrNull(row.balance_checked_at), last_used_at: isoOrNull(row.last_used_at), uses: Number(row.uses),
    created_at: isoOrNull(row.created_at),
  };
}

/**
 * A channel's credential pool in counts: accounts in the pool (`total` = active + cooldown + disabled, the states the
 * account view shows) and, apart, accounts whose secret was deleted (kept for the tasks that name them).
 */
export function accountsSummary(credentials: CredentialRow[], now: Date) {
  const summary = { total: 0, active: 0, cooldown: 0, disabled: 0, deleted: 0 };
  for (const credential of credentials) {
    if (credential.credential_encrypted === '') {
      summary.deleted += 1;
      continue;
    }
    summary.total += 1;
    const state = accountView(credential, now).status as 'active' | 'cooldown' | 'disabled';
    summary[state] += 1;
  }
  return summary;
}

/** `GET /api/admin/channels`: every channel (highest priority first) with its pool summary. */
export async function listChannelsWithAccounts(deps: Pick<ChannelsDeps, 'channels' | 'clock'>) {
  const now = deps.clock.now();
  const [channels, credentials] = await Promise.all([deps.channels.listChannels(), deps.channels.listCredentials(null)]);
  return channels.map((row) => ({ ...channelView(row, now), accounts: accountsSummary(credentials.filter((credential) => credential.channel_id === row.id), now) }));
}

/** `GET /api/admin/channels/:id`: the list item of one channel (404 `not_found` for an unknown id). */
export async function getChannelWithAccounts(deps: Pick<ChannelsDeps, 'channels' | 'clock'>, id: string) {
  const now = deps.clock.now();
  const row = await deps.channels.channel(id);
  return { ...channelView(row, now), accounts: accountsSummary(await deps.channels.listCredentials(id), now) };
}

/** The provider list never changes while the process runs (the registry is code): built once. */
let providerCache: ReturnType<typeof describeProvider>[] | null = null;

function describeProvider(id: string) {
  const adapter = createAdapter(id, {});
  const readsBalance = adapter.balance !== undefined;
  const switched = createAdapter(id, { balance: !readsBalance }).balance !== undefined;
  const types: string[] = [...adapter.capabilities.kinds];
  if (adapter.text) types.push('chat');
  if (adapter.text?.embeddings) types.push('embedding');
  return {
    id, object: 'provider' as const, types,
    capabilities: { callbacks: adapter.capabilities.callbacks === true, cancel: adapter.capabilities.cancel, idempotent_creates: adapter.capabilities.idempotentCreates },
    reads_balance: readsBalance, balance_setting: switched !== readsBalance, settings_keys: null as string[] | null,
  };
}

/**
 * `GET /api/admin/providers`: the upstream providers an operator may configure a channel for, read from the registry
 * (an adapter is built with default settings and its declared capabilities are read; nothing is called). `types` are
 * the task types it serves (generation kinds, then `chat` / `embedding` when it has a text adapter). `reads_balance`
 * says whether, with default settings, it reads an account's upstream balance; `balance_setting` whether the
 * channel setting `balance` switches that (PROVIDERS §8.1). The registry declares no settings schema, so
 * `settings_keys` is null.
 */
export function listProviders() {
  providerCache ??= channelProviderIds().map(describeProvider);
  return providerCache;
}

/** Operators configure channels of upstream providers only; internal ones (the sandbox) are not theirs to add. */
function checkProvider(provider: string | undefined): void {
  if (provider !== undefined && (!isProvider(provider) || isInternalProvider(provider))) {
    throw new AppError('invalid_request', `Unknown provider "${provider}"; one of: ${channelProviderIds().join(', ')}`, { param: 'provider' });
  }
}

/** Every public model a channel maps must be in the catalogue (disabled ones count): else 400 `unknown_model`. */
async function checkModels(tx: Queryable, models: Record<string, string> | undefined): Promise<void> {
  const unknown = await unknownModels(tx, Object.keys(models ?? {}));
  if (unknown.length > 0) {
    throw new AppError('unknown_model', `The catalogue has no model ${unknown.map((id) => `"${id}"`).join(', ')}; add it with POST /api/admin/models first`, { param: `models.${unknown[0]}` });
  }
}

/**
 * M11: each cost is for a model the channel maps, in the rule shape the catalogue would accept as that model's price
 * (unit of its type, variants it allows; the schema already made every amount a non-negative integer). Checked on
 * the channel as it will be stored, so a change of `models` cannot leave a cost for a model no longer mapped.
 */
async function checkCosts(tx: Queryable, models: Record<string, string>, costs: Record<string, PriceRule> | undefined): Promise<void> {
  for (const [model, rule] of Object.entries(costs ?? {})) {
    if (models[model] === undefined) {
      throw new AppError('invalid_request', `costs names "${model}", which this channel does not map in models`, { param: `costs.${model}` });
    }
    const row = await modelRow(tx, model);
    try {
      validatePricing(row.type, row.capabilities, rule);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      throw new AppError(error.code, error.message, { param: `costs.${model}${error.param ? error.param.replace(/^pricing/, '') : ''}` });
    }
  }
}

async function audited<T>(deps: ChannelsDeps, change: (tx: Queryable, now: Date) => Promise<T>): Promise<T> {
  const result = await deps.db.transaction((tx) => change(tx, deps.clock.now()));
  deps.channels.invalidate();
  return result;
}

export async function createChannel(deps: ChannelsDeps, input: ChannelInput, audit: AuditContext): Promise<ChannelRow> {
  checkProvider(input.provider);
  return audited(deps, async (tx, now) => {
    await checkModels(tx, input.models);
    await checkCosts(tx, input.models, input.costs);
    const row = await deps.channels.createChannel(input, tx);
    await recordAudit(tx, audit, { action: 'channel.create', targetType: 'channel', targetId: row.id, after: channelView(row, now) }, now);
    return row;
  });
}

export async function updateChannel(deps: ChannelsDeps, id: string, patch: Partial<ChannelInput>, audit: AuditContext): Promise<ChannelRow> {
  checkProvider(patch.provider);
  return audited(deps, async (tx, now) => {
    const row = await deps.channels.updateChannel(id, patch, tx);
    await checkModels(tx, patch.models);
    if (patch.costs !== undefined || patch.models !== undefined) await checkCosts(tx, row.models, row.costs);
    await recordAudit(tx, audit, { action: 'channel.update', targetType: 'channel', targetId: row.id, after: channelView(row, now) }, now);
    return row;
  });
}

export async function createAccount(deps: ChannelsDeps, channelId: string, credential: string, label: string | null, audit: AuditContext): Promise<CredentialRow> {
  return audited(deps, async (tx, now) => {
    const row = await deps.channels.addCredential(channelId, credential, label, tx);
    await recordAudit(tx, audit, { action: 'account.create', targetType: 'account', targetId: row.id, after: accountView(row, now) }, now);
    return row;
  });
}

/** Enable/disable, relabel, or rotate the secret (`account.rotate` when a new credential is given). */
export async function updateAccount(deps: ChannelsDeps, id: string, patch: CredentialPatch, audit: AuditContext): Promise<CredentialRow> {
  return audited(deps, async (tx, now) => {
    const row = await deps.channels.updateCredential(id, patch, tx);
    await recordAudit(tx, audit, { action: patch.credential ? 'account.rotate' : 'account.update', targetType: 'account', targetId: row.id, after: accountView(row, now) }, now);
    return row;
  });
}

/** The credential is wiped and the account disabled; the row stays for the tasks that name it. */
export async function deleteAccount(deps: ChannelsDeps, id: string, audit: AuditContext): Promise<void> {
  await audited(deps, async (tx, now) => {
    await deps.channels.deleteCredential(id, tx);
    await recordAudit(tx, audit, { action: 'account.delete', targetType: 'account', targetId: id, after: null }, now);
  });
}

/**
 * The operator's test generation on one account (workflows/test-account.ts), then its audit row. The generation runs
 * outside any transaction (T3: no transaction is open during a provider call); the health it feeds back is written
 * as for any dispatch.
 */
export async function testAccountAudited(deps: ChannelsDeps & TestAccountDeps & AccountBalanceDeps, id: string, model: string | undefined, audit: AuditContext): Promise<AccountTestResult & { balance: number | null }> {
  const tested = await testAccount(deps, id, model);
  // Where the upstream reports a balance, the test reads it too (account-balance.ts).
  const reading = await readAccountBalance(deps, id);
  const result = { ...tested, balance: reading?.amount ?? null };
  await recordAudit(deps.db, audit, { action: 'account.test', targetType: 'account', targetId: id, after: { ok: result.ok, status: result.status } }, deps.clock.now());
  return result;
}
