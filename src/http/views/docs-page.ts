import { escapeHtml, htmlPage } from './html.js';

/**
 * `GET /docs`: the API reference, rendered on the server from the OpenAPI document (openapi/document.ts), grouped
 * by face; each operation with its method, path, authentication, parameters, request body fields and error
 * statuses with their codes. Plain HTML and inline CSS: no script, no external asset, readable offline.
 */
type Json = Record<string, any>;

const SCHEME_LABEL: Record<string, string> = {
  apiKeyBearer: 'API key (Authorization: Bearer)',
  apiKeyHeader: 'API key (X-API-Key)',
  operatorBearer: 'Operator key (Authorization: Bearer)',
};

/** A short type description of a JSON Schema: `string (1–64)`, `integer ≥ 1`, `"a" | "b"`, `array of string`. */
export function describeSchema(schema: Json | undefined, depth = 0): string {
  if (!schema || typeof schema !== 'object') return 'any';
  if (depth > 3) return '…';
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((value: unknown) => JSON.stringify(value)).join(' | ');
  for (const key of ['anyOf', 'oneOf']) {
    if (Array.isArray(schema[key])) return schema[key].map((each: Json) => describeSchema(each, depth + 1)).join(' | ');
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type;
  const bounds: string[] = [];
  if (schema.minLength !== undefined || schema.maxLength !== undefined) bounds.push(`${schema.minLength ?? 0}–${schema.maxLength ?? '∞'} chars`);
  if (schema.minimum !== undefined) bounds.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) bounds.push(`≤ ${schema.maximum}`);
  if (schema.maxItems !== undefined) bounds.push(`≤ ${schema.maxItems} items`);
  if (schema.pattern !== undefined) bounds.push(`pattern ${schema.pattern}`);
  let text = type ?? (schema.properties ? 'object' : 'any');
  if (type === 'array' && schema.items) text = `array of ${describeSchema(schema.items, depth + 1)}`;
  if (type === 'object' && schema.properties) text = `object {${Object.keys(schema.properties).join(', ')}}`;
  else if (type === 'object' && schema.patternProperties) text = 'object (map)';
  return bounds.length ? `${text} (${bounds.join(', ')})` : text;
}

function authText(operation: Json): string {
  const requirements = (operation.security ?? []) as Json[];
  if (requirements.length === 0) return 'none';
  return requirements.map((requirement) => {
    const names = Object.keys(requirement);
    return names.length === 0 ? 'none (alternative)' : names.map((name) => SCHEME_LABEL[name] ?? name).join(' + ');
  }).join(' or ');
}

function table(head: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  return `<table><thead><tr>${head.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
}

function bodyFields(requestBody: Json | undefined): string {
  if (!requestBody) return '';
  const content = requestBody.content as Record<string, Json>;
  const types = Object.keys(content);
  const schema = (content['application/json'] ?? content[types[0]!])?.schema as Json | undefined;
  const properties = (schema?.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema?.required ?? []) as string[]);
  const rows = Object.entries(properties).map(([name, property]) => [
    `<code>${escapeHtml(name)}</code>`, escapeHtml(describeSchema(property)), required.has(name) ? 'yes' : '',
    escapeHtml(property.description ?? ''),
  ]);
  const open = schema?.additionalProperties === false ? '' : ' <span class="muted">(other fields accepted)</span>';
  return `<p><strong>Request body</strong> <span class="muted">${escapeHtml(types.join(', '))}</span>${open}</p>` +
    (rows.length ? table(['Field', 'Type', 'Required', 'Notes'], rows) : '<p class="muted">Any JSON object.</p>');
}

function operationHtml(path: string, method: string, operation: Json): string {
  const anchor = String(operation.operationId ?? `${method}-${path}`);
  const parameters = ((operation.parameters ?? []) as Json[]).map((parameter) => [
    `<code>${escapeHtml(parameter.name)}</code>`, escapeHtml(parameter.in), parameter.required ? 'yes' : '',
    escapeHtml(describeSchema(parameter.schema)), escapeHtml(parameter.description ?? ''),
  ]);
  const errors = Object.entries((operation.responses ?? {}) as Record<string, Json>)
    .filter(([status]) => /^[45]/.test(status))
    .map(([status, response]) => [`<code>${escapeHtml(status)}</code>`, escapeHtml(response.description ?? '')]);
  return `<section class="card" id="${escapeHtml(anchor)}">
<h3><span class="method">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(operation.summary ?? '')}${operation.description ? ` <span class="muted">${escapeHtml(operation.description)}</span>` : ''}</p>
<dl><dt>Auth</dt><dd>${escapeHtml(authText(operation))}</dd></dl>
${parameters.length ? `<p><strong>Parameters</strong></p>${table(['Name', 'In', 'Required', 'Type', 'Notes'], parameters)}` : ''}
${bodyFields(operation.requestBody as Json | undefined)}
${errors.length ? `<p><strong>Errors</strong></p>${table(['Status', 'Meaning and codes'], errors)}` : ''}
</section>`;
}

export function renderDocsPage(document: Json): string {
  const tags = (document.tags ?? []) as Json[];
  const byTag = new Map<string, string[]>(tags.map((tag) => [tag.name as string, []]));
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    for (const [method, operation] of Object.entries(item)) {
      const tag = (operation.tags?.[0] ?? 'other') as string;
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(operationHtml(path, method, operation));
    }
  }
  const schemas = (document.components?.schemas ?? {}) as Record<string, Json>;
  const errorShapes = Object.entries(schemas)
    .map(([name, schema]) => `<li><code>${escapeHtml(name)}</code> — ${escapeHtml(schema.description ?? '')}: <code>${escapeHtml(describeSchema(schema))}</code></li>`)
    .join('');
  const toc = tags.map((tag) => `<a href="#face-${escapeHtml(tag.name)}">${escapeHtml(tag.name)}</a>`).join(' ');
  const sections = [...byTag.entries()]
    .filter(([, operations]) => operations.length > 0)
    .map(([name, operations]) => {
      const tag = tags.find((each) => each.name === name);
      return `<h2 id="face-${escapeHtml(name)}">${escapeHtml(name)}</h2><p class="muted">${escapeHtml(tag?.description ?? '')}</p>\n${operations.join('\n')}`;
    })
    .join('\n');
  const info = (document.info ?? {}) as Json;
  const body = `<h1>${escapeHtml(info.title ?? 'API reference')} <span class="muted">${escapeHtml(info.version ?? '')}</span></h1>
<p>${escapeHtml(info.description ?? '')} Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).
Prices: <a href="/models">/models</a>.</p>
<p>Error bodies by face:</p><ul>${errorShapes}</ul>
<nav>${toc}</nav>
${sections}`;
  return htmlPage(`${info.title ?? 'API'} reference`, body);
}
