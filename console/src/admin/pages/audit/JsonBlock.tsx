/**
 * A JSON value shown as indented text (request bodies, capabilities, upstream errors). Never rendered as HTML.
 * Arrays of plain values and small flat objects stay on one line, so capabilities read as a short list.
 */
const INLINE_MAX = 72;

function isPlain(value: unknown): boolean {
  return value === null || typeof value !== 'object';
}

export function formatJson(value: unknown, indent = ''): string {
  if (isPlain(value)) return JSON.stringify(value) ?? 'null';
  const next = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inline = `[${value.map((item) => formatJson(item)).join(', ')}]`;
    if (value.every(isPlain) && inline.length + indent.length <= INLINE_MAX) return inline;
    return `[\n${value.map((item) => `${next}${formatJson(item, next)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  const inline = `{${entries.map(([key, item]) => `${JSON.stringify(key)}: ${formatJson(item)}`).join(', ')}}`;
  if (entries.every(([, item]) => isPlain(item)) && entries.length <= 4 && inline.length + indent.length <= INLINE_MAX) return inline;
  return `{\n${entries.map(([key, item]) => `${next}${JSON.stringify(key)}: ${formatJson(item, next)}`).join(',\n')}\n${indent}}`;
}

export function JsonBlock(props: { value: unknown; label: string; empty?: string }) {
  const { value } = props;
  const blank = value === null || value === undefined || (typeof value === 'object' && Object.keys(value as object).length === 0);
  if (blank) return <p className="muted">{props.empty ?? '—'}</p>;
  return (
    <pre className="json" role="region" aria-label={props.label} tabIndex={0}>
      {formatJson(value)}
    </pre>
  );
}
