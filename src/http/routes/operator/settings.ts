import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../../app-type.js';
import { getSettings, updateSettings, type SettingsDeps } from '../../../workflows/settings.js';
import { auditContext, type ClientIpDeps } from '../../plugins/api-key-auth.js';
import { operatorActor, operatorAuth, type OperatorAuthDeps } from '../../plugins/operator-auth.js';
import { Strict } from '../../schemas.js';

/**
 * Operator settings (API.md §8 "Settings"): `GET /api/admin/settings` → `{signup_mode, topup_min_amount,
 * topup_max_amount, topup_bonus_tiers}`; `PATCH` changes any of them, audited as `settings.update` in the same
 * transaction. `signup_mode` (default `invite`) says how new customers may sign up: `open`, `invite` or `closed`.
 * The top-up limits are minor units of the price currency; a bonus tier adds `bonus_percent` % credits to orders
 * of at least `min_amount`.
 */
const SignupMode = Type.Union([Type.Literal('open'), Type.Literal('invite'), Type.Literal('closed')]);
const Amount = Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 });
const BonusTier = Type.Object({ min_amount: Amount, bonus_percent: Type.Integer({ minimum: 0, maximum: 100 }) }, Strict);
const PatchSettings = Type.Object({
  signup_mode: Type.Optional(SignupMode),
  topup_min_amount: Type.Optional(Amount),
  topup_max_amount: Type.Optional(Amount),
  topup_bonus_tiers: Type.Optional(Type.Array(BonusTier, { maxItems: 20 })),
}, { ...Strict, minProperties: 1 });

/** What the settings routes use: the settings workflow, operator auth and the client address for the audit. */
export type SettingsRouteDeps = SettingsDeps & OperatorAuthDeps & ClientIpDeps;

export function registerSettingsRoutes(app: App, deps: SettingsRouteDeps): void {
  const config = { face: 'operator' as const };
  const onRequest = operatorAuth(deps);

  app.get('/api/admin/settings', { config, onRequest, schema: { summary: 'Operator settings (signup mode, top-up limits and bonus tiers)' } }, async () => getSettings(deps));

  app.patch<{ Body: Static<typeof PatchSettings> }>(
    '/api/admin/settings',
    { config, onRequest, schema: { body: PatchSettings, summary: 'Change operator settings (audited)' } },
    async (request) => updateSettings(deps, request.body, auditContext(deps, request, operatorActor(request))),
  );
}
