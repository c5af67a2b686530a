/**
 * Price rules (SEMANTICS M1) as the forms edit them. A rule is integer credits per unit: `credits` is the flat rate,
 * `credits_by` refines it per variant (video resolutions; image qualities and sizes), token models price input and
 * output per million tokens. The catalogue's prices and a channel's upstream costs use the same shape.
 */
import { formatNumber } from '../../../shared/format';
import type { ModelType, PriceRule } from '../../types';

export const MODEL_TYPES: ModelType[] = ['video', 'image', 'music', 'chat', 'embedding'];

/** The unit each type is priced by (the server refuses any other). */
export const PRICE_UNIT: Record<ModelType, PriceRule['unit']> = { video: 'second', image: 'image', music: 'track', chat: 'token', embedding: 'token' };

/** Form text of a rule: every amount a string, so a half-typed number is kept until submit. */
export interface PriceDraft {
  credits: string;
  by: Record<string, string>;
  input: string;
  output: string;
}

export const EMPTY_DRAFT: PriceDraft = { credits: '', by: {}, input: '', output: '' };

export function priceDraft(rule: PriceRule | null | undefined): PriceDraft {
  if (!rule) return EMPTY_DRAFT;
  const by: Record<string, string> = {};
  for (const [key, value] of Object.entries(rule.credits_by ?? {})) by[key] = String(value);
  return {
    credits: rule.credits === undefined ? '' : String(rule.credits),
    by,
    input: rule.input_credits_per_million === undefined ? '' : String(rule.input_credits_per_million),
    output: rule.output_credits_per_million === undefined ? '' : String(rule.output_credits_per_million),
  };
}

/** The variant groups a price may be refined by, read from (possibly half-edited) capabilities. */
export function variantGroups(type: ModelType, capabilities: Record<string, unknown> | null): { title: string; names: string[] }[] {
  const names = (key: string) => {
    const value = capabilities?.[key];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  };
  if (type === 'video') return [{ title: 'Per resolution', names: names('resolutions') }];
  if (type === 'image') return [{ title: 'Per quality', names: names('qualities') }, { title: 'Per size', names: names('sizes') }];
  return [];
}

/**
 * The variant names of a model in its own capability order: video resolutions, image qualities then sizes (as the
 * capabilities list them), then any other list of names the capabilities hold.
 */
export function variantOrder(capabilities: Record<string, unknown> | null | undefined): string[] {
  if (!capabilities) return [];
  const order: string[] = [];
  const add = (value: unknown) => {
    if (!Array.isArray(value)) return;
    for (const item of value) if (typeof item === 'string' && !order.includes(item)) order.push(item);
  };
  const preferred = ['resolutions', 'qualities', 'sizes'];
  for (const key of preferred) add(capabilities[key]);
  for (const [key, value] of Object.entries(capabilities)) if (!preferred.includes(key)) add(value);
  return order;
}

/** `keys` sorted by the model's capability order (`variantOrder`); names it does not list keep their order, after. */
export function sortVariants(keys: string[], capabilities: Record<string, unknown> | null | undefined): string[] {
  const order = variantOrder(capabilities);
  const rank = (key: string) => {
    const index = order.indexOf(key);
    return index < 0 ? order.length : index;
  };
  return keys.map((key, index) => ({ key, index })).sort((a, b) => rank(a.key) - rank(b.key) || a.index - b.index).map((item) => item.key);
}

/** The entries of a `credits_by`/`amount_by` map in the model's capability order. */
export function variantEntries<T>(by: Record<string, T> | null | undefined, capabilities: Record<string, unknown> | null | undefined): [string, T][] {
  if (!by) return [];
  return sortVariants(Object.keys(by), capabilities).map((key) => [key, by[key]!]);
}

export interface DraftError {
  param: string;
  message: string;
}

const WHOLE = /^\d+$/;

/**
 * The rule a draft describes, or null when every amount is empty. `prefix` names the field in errors the way the
 * server does (`pricing`, `costs.<model>`), so local and server errors land on the same input.
 */
export function draftToRule(type: ModelType, draft: PriceDraft, prefix: string): { rule: PriceRule | null; error: DraftError | null } {
  const unit = PRICE_UNIT[type];
  const amount = (text: string, param: string): number | DraftError | undefined => {
    const trimmed = text.trim();
    if (trimmed === '') return undefined;
    if (!WHOLE.test(trimmed)) return { param, message: 'Whole credits (an integer, 0 or more).' };
    return Number(trimmed);
  };
  const rule: PriceRule = { unit };
  if (unit === 'token') {
    const input = amount(draft.input, `${prefix}.input_credits_per_million`);
    if (typeof input === 'object') return { rule: null, error: input };
    if (input !== undefined) rule.input_credits_per_million = input;
    if (type === 'chat') {
      const output = amount(draft.output, `${prefix}.output_credits_per_million`);
      if (typeof output === 'object') return { rule: null, error: output };
      if (output !== undefined) rule.output_credits_per_million = output;
    }
    const empty = rule.input_credits_per_million === undefined && rule.output_credits_per_million === undefined;
    return { rule: empty ? null : rule, error: null };
  }
  const flat = amount(draft.credits, `${prefix}.credits`);
  if (typeof flat === 'object') return { rule: null, error: flat };
  if (flat !== undefined) rule.credits = flat;
  if (type !== 'music') {
    const by: Record<string, number> = {};
    for (const [key, text] of Object.entries(draft.by)) {
      const value = amount(text, `${prefix}.credits_by.${key}`);
      if (typeof value === 'object') return { rule: null, error: value };
      if (value !== undefined) by[key] = value;
    }
    if (Object.keys(by).length > 0) rule.credits_by = by;
  }
  const empty = rule.credits === undefined && rule.credits_by === undefined;
  return { rule: empty ? null : rule, error: null };
}

const UNIT_WORD: Record<PriceRule['unit'], string> = { second: 's', image: 'image', track: 'track', token: '1M tokens' };

/**
 * One line: `720p 100 · 1080p 200 cr/s`, `flat 500 cr/image`, `in 1,500 · out 6,000 cr/1M tokens`. Variants in the
 * model's capability order when its `capabilities` are given.
 */
export function summarizeRule(rule: PriceRule | null | undefined, capabilities?: Record<string, unknown> | null): string {
  if (!rule) return '—';
  const unit = UNIT_WORD[rule.unit] ?? rule.unit;
  if (rule.unit === 'token') {
    const parts = [];
    if (rule.input_credits_per_million !== undefined) parts.push(`in ${formatNumber(rule.input_credits_per_million)}`);
    if (rule.output_credits_per_million !== undefined) parts.push(`out ${formatNumber(rule.output_credits_per_million)}`);
    return parts.length ? `${parts.join(' · ')} cr/${unit}` : '—';
  }
  const parts = variantEntries(rule.credits_by, capabilities).map(([key, value]) => `${key} ${formatNumber(value)}`);
  if (rule.credits !== undefined) parts.push(parts.length ? `other ${formatNumber(rule.credits)}` : formatNumber(rule.credits));
  return parts.length ? `${parts.join(' · ')} cr/${unit}` : '—';
}

/** The rows of a rule for a table: variant (null = flat) and credits per unit, variants in capability order. */
export function ruleRows(rule: PriceRule | null | undefined, capabilities?: Record<string, unknown> | null): { variant: string; credits: number; unit: string }[] {
  if (!rule) return [];
  const unit = rule.unit === 'token' ? 'per 1M tokens' : `per ${rule.unit}`;
  if (rule.unit === 'token') {
    return [
      ...(rule.input_credits_per_million !== undefined ? [{ variant: 'input tokens', credits: rule.input_credits_per_million, unit }] : []),
      ...(rule.output_credits_per_million !== undefined ? [{ variant: 'output tokens', credits: rule.output_credits_per_million, unit }] : []),
    ];
  }
  const rows = variantEntries(rule.credits_by, capabilities).map(([variant, credits]) => ({ variant, credits, unit }));
  if (rule.credits !== undefined) rows.push({ variant: rows.length ? 'any other variant' : 'flat', credits: rule.credits, unit });
  return rows;
}
