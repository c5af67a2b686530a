import type { ReactNode } from 'react';

export interface Column<T> {
  /** Stable key of the column. */
  key: string;
  header: ReactNode;
  render: (row: T) => ReactNode;
  /** `num` right-aligns numbers; `wrap` lets long ids and text break. */
  className?: 'num' | 'wrap' | 'nowrap' | 'actions';
}

/**
 * A plain table: a header row, one row per item, an empty state. It never scrolls the page sideways: long values
 * wrap, and on narrow screens the table scrolls inside its own box.
 */
export function DataTable<T>(props: {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  empty: ReactNode;
  caption?: ReactNode;
  /** Visually hide the caption but keep it for screen readers. */
  captionHidden?: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className="table">
        {props.caption && <caption className={props.captionHidden ? 'visually-hidden' : undefined}>{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th key={column.key} scope="col" className={column.className}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td className="table-empty" colSpan={props.columns.length}>
                {props.empty}
              </td>
            </tr>
          ) : (
            props.rows.map((row) => (
              <tr key={props.rowKey(row)}>
                {props.columns.map((column) => (
                  <td key={column.key} className={column.className}>
                    {column.render(row)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
