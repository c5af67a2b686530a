import { MODEL_TYPES, type ListPrice, type PriceLine, type PriceListEntry, type PriceListOptions } from '../../modules/catalog/price-list.js';
import type { ModelType } from '../../modules/catalog/types.js';
import { escapeHtml, htmlPage } from './html.js';

/** `GET /models`: the public price list as HTML (API.md §11), built from `buildPriceList`. */
const TYPE_TITLES: Record<ModelType, string> = { video: 'Video', image: 'Image', music: 'Music', chat: 'Chat', embedding: 'Embeddings' };

const UNIT_LABEL: Record<PriceLine['unit'], string> = { second: 'per second', image: 'per image', track: 'per generation', '1M tokens': 'per 1M tokens' };

function money(amount: string | number, currency: string): string {
  const value = typeof amount === 'number' ? amount : Number(amount);
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 6 }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}

const credits = (value: number) => `${value.toLocaleString('en-US')} credits`;

function listCell(list: ListPrice | null, options: PriceListOptions): string {
  if (!list) return '<span class="muted">—</span>';
  return `${escapeHtml(money(list.amount, list.currency || options.currency))} <span class="muted">/ ${escapeHtml(list.unit)}</span>`;
}

function describeLimit(key: string, value: unknown): string | null {
  if (value === null || value === undefined || value === false) return null;
  if (key === 'durations' && typeof value === 'object') {
    const range = value as { min?: number; max?: number };
    return `Duration ${range.min}–${range.max} s`;
  }
  const label = key.replace(/^max_/, 'max ').replace(/_/g, ' ');
  if (Array.isArray(value)) return `${label[0]!.toUpperCase()}${label.slice(1)}: ${value.join(', ')}`;
  if (value === true) return `${label[0]!.toUpperCase()}${label.slice(1)}`;
  if (typeof value === 'number') return `${label[0]!.toUpperCase()}${label.slice(1)}: ${value.toLocaleString('en-US')}`;
  return `${label}: ${String(value)}`;
}

function modelCard(entry: PriceListEntry, options: PriceListOptions): string {
  const limits = Object.entries(entry.limits)
    .map(([key, value]) => describeLimit(key, value))
    .filter((text): text is string => text !== null)
    .map((text) => `<li>${escapeHtml(text)}</li>`)
    .join('');
  const rows = entry.lines
    .map(
      (line) => `<tr><td>${escapeHtml(line.variant ?? 'all')}</td><td>${escapeHtml(UNIT_LABEL[line.unit])}</td>` +
        `<td class="num">${escapeHtml(money(line.amount, options.currency))}</td><td class="num">${escapeHtml(credits(line.credits))}</td>` +
        `<td>${listCell(line.list_price, options)}</td>` +
        `<td>${line.discount_percent !== null ? `<span class="good">${line.discount_percent} % below list</span>` : ''}</td></tr>`,
    )
    .join('');
  const headline = entry.discount_percent !== null ? ` <span class="good">${entry.discount_percent} % or more below list</span>` : '';
  return `<section class="card" id="${escapeHtml(entry.id)}">
<h3>${escapeHtml(entry.name)} <code>${escapeHtml(entry.id)}</code>${headline}</h3>
<p><span class="tag">${escapeHtml(entry.type)}</span><span class="tag">${escapeHtml(entry.category)}</span>` +
    `<span class="tag">${escapeHtml(`${entry.input_modalities.join('+')} → ${entry.output_modalities.join('+')}`)}</span></p>
${entry.description ? `<p>${escapeHtml(entry.description)}</p>` : ''}
${limits ? `<ul class="muted">${limits}</ul>` : ''}
<table><thead><tr><th>Variant</th><th>Unit</th><th class="num">Price (${escapeHtml(options.currency)})</th><th class="num">Credits</th><th>Official list price</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>
</section>`;
}

export function renderPricePage(entries: PriceListEntry[], options: PriceListOptions, type: ModelType | undefined): string {
  const filters = [`<a href="/models"${type === undefined ? ' aria-current="page"' : ''}>All</a>`]
    .concat(MODEL_TYPES.map((each) => `<a href="/models?type=${each}"${type === each ? ' aria-current="page"' : ''}>${TYPE_TITLES[each]}</a>`))
    .join(' ');
  const sections = MODEL_TYPES.map((each) => {
    const models = entries.filter((entry) => entry.type === each);
    if (models.length === 0) return '';
    return `<h2 id="type-${each}">${TYPE_TITLES[each]}</h2>\n${models.map((entry) => modelCard(entry, options)).join('\n')}`;
  }).join('\n');
  const body = `<h1>Models and prices</h1>
<p>Prices in ${escapeHtml(options.currency)}; ${escapeHtml(options.creditsPerUnit.toLocaleString('en-US'))} credits = ${escapeHtml(money(1, options.currency))}.
Prepaid credits are charged per unit shown; a failed, cancelled or expired task costs nothing.
The same list as JSON: <a href="/api/pricing">/api/pricing</a>. API reference: <a href="/docs">/docs</a>.</p>
<nav>${filters}</nav>
${sections || '<p class="muted">No model is priced yet.</p>'}`;
  return htmlPage(type === undefined ? 'Models and prices' : `${TYPE_TITLES[type]} models and prices`, body);
}
