import { useState } from 'react';
import { Checkbox } from '../../../shared/components';
import { JsonBlock } from './JsonBlock';

/**
 * An audit event's `before` and `after`, readable: one row per field (nested objects flattened to dotted paths, arrays
 * kept whole), changed fields marked, unchanged ones hidden unless asked for; the raw JSON side by side below.
 */
type Flat = Map<string, string>;

const MAX_DEPTH = 4;

function flatten(value: unknown, prefix = '', depth = 0, out: Flat = new Map()): Flat {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < MAX_DEPTH && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) flatten(child, prefix ? `${prefix}.${key}` : key, depth + 1, out);
    return out;
  }
  if (prefix === '' && (value === null || value === undefined)) return out;
  out.set(prefix || '(value)', value === undefined ? 'undefined' : JSON.stringify(value));
  return out;
}

export interface DiffRow {
  path: string;
  before: string | undefined;
  after: string | undefined;
  change: 'added' | 'removed' | 'changed' | 'same';
}

export function diffRows(before: unknown, after: unknown): DiffRow[] {
  const a = flatten(before);
  const b = flatten(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.map((path) => {
    const left = a.get(path);
    const right = b.get(path);
    const change = left === undefined ? 'added' : right === undefined ? 'removed' : left === right ? 'same' : 'changed';
    return { path, before: left, after: right, change };
  });
}

export function AuditDiff(props: { before: unknown; after: unknown }) {
  const [showSame, setShowSame] = useState(false);
  const rows = diffRows(props.before, props.after);
  const onlyAfter = props.before === null || props.before === undefined;
  const changed = rows.filter((row) => row.change !== 'same');
  const visible = showSame ? rows : changed;
  return (
    <div className="stack">
      <p className="muted small">
        {onlyAfter
          ? 'This event records the state after the change only.'
          : props.after === null || props.after === undefined
            ? 'This event records the state before the change only (a deletion).'
            : `${changed.length} of ${rows.length} fields changed.`}
      </p>
      {!onlyAfter && rows.length > 0 && <Checkbox label="Show unchanged fields" checked={showSame} onChange={setShowSame} />}
      {visible.length === 0 ? (
        <p className="empty">{rows.length === 0 ? 'No details were recorded.' : 'No field changed.'}</p>
      ) : (
        <div className="table-wrap">
          <table className="table diff">
            <caption className="visually-hidden">Fields before and after</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((row) => (
                <tr key={row.path} className={`diff-${row.change}`}>
                  <th scope="row" className="mono">
                    {row.path}
                    {row.change !== 'same' && <span className="visually-hidden"> ({row.change})</span>}
                  </th>
                  <td className="mono diff-before">{row.before ?? <span className="muted">—</span>}</td>
                  <td className="mono diff-after">{row.after ?? <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <details className="raw-json">
        <summary>Raw JSON</summary>
        <div className="grid-2 no-margin">
          <div>
            <h3 className="subheading">Before</h3>
            <JsonBlock value={props.before} label="Before" empty="Nothing recorded." />
          </div>
          <div>
            <h3 className="subheading">After</h3>
            <JsonBlock value={props.after} label="After" empty="Nothing recorded." />
          </div>
        </div>
      </details>
    </div>
  );
}
