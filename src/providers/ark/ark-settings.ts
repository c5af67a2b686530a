/**
 * Operator settings of an Ark channel (all optional; unknown keys are ignored):
 *
 * - `timeoutMs` (default 30 000): video create and cancel calls. A timeout after sending is an unknown outcome.
 * - `statusTimeoutMs` (default 15 000): task queries; a timeout there is just a transient read.
 * - `imageTimeoutMs` (default 120 000): Seedream is synchronous and can take tens of seconds per image.
 * - `watermark` (default false): sent on every create, because Ark's own default differs per kind (quirk 17).
 * - `serviceTier` (`default` | `flex`): video only; omitted unless set (flex is offline, not on 2.x).
 * - `executionExpiresAfter` (seconds, 3600–259200): video only; omitted → upstream default of 48 h.
 * - `imageSizeCase` (`upper` | `lower`, default `upper`): how Seedream size tiers are spelled for this channel's
 *   model (quirk 9: `2K` on 4.x, `2k` on 5.0 lite). `WxH` sizes are sent as they are.
 * - `imageOutputFormat` (`png` | `jpeg`): Seedream 5.x only; omitted unless set.
 *
 * Model ids are never hard-coded: the channel's `upstreamModel` (BytePlus or Volcengine id, or an `ep-…` endpoint
 * id) is sent as it is.
 */
export interface ArkSettings {
  timeoutMs: number;
  statusTimeoutMs: number;
  imageTimeoutMs: number;
  watermark: boolean;
  serviceTier?: 'default' | 'flex';
  executionExpiresAfter?: number;
  imageSizeCase: 'upper' | 'lower';
  imageOutputFormat?: 'png' | 'jpeg';
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

export function readArkSettings(raw: Record<string, unknown>): ArkSettings {
  const settings: ArkSettings = {
    timeoutMs: positive(raw.timeoutMs, 30_000),
    statusTimeoutMs: positive(raw.statusTimeoutMs, 15_000),
    imageTimeoutMs: positive(raw.imageTimeoutMs, 120_000),
    watermark: raw.watermark === true,
    imageSizeCase: raw.imageSizeCase === 'lower' ? 'lower' : 'upper',
  };
  if (raw.serviceTier === 'default' || raw.serviceTier === 'flex') settings.serviceTier = raw.serviceTier;
  if (typeof raw.executionExpiresAfter === 'number' && Number.isInteger(raw.executionExpiresAfter)) {
    settings.executionExpiresAfter = raw.executionExpiresAfter;
  }
  if (raw.imageOutputFormat === 'png' || raw.imageOutputFormat === 'jpeg') settings.imageOutputFormat = raw.imageOutputFormat;
  return settings;
}

/**
 * Context settings win over factory settings: the registry builds one adapter per provider id, while each
 * channel passes its own settings in the context.
 */
export function effectiveSettings(factory: Record<string, unknown>, context: Record<string, unknown> | undefined): ArkSettings {
  return readArkSettings({ ...factory, ...(context ?? {}) });
}
