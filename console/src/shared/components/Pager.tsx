import { useState } from 'react';

/**
 * Cursor pagination (API.md §2.4): lists take `limit` and `after` (the last id seen) and answer
 * `{object: "list", data, has_more}`, newest first. The pager keeps the cursors of the pages already visited so
 * "Newer" can go back. It starts over whenever `resetKey` changes (put the filters in it).
 *
 *   const pager = usePager(JSON.stringify(filters));
 *   const list = useApiQuery<List<T>>('/x', { ...filters, after: pager.after });
 *   <Pager pager={pager} hasMore={list.data.has_more} nextCursor={list.data.data.at(-1)?.id} />
 */
export interface PagerState {
  after: string | undefined;
  page: number;
  next: (cursor: string) => void;
  previous: () => void;
  reset: () => void;
}

export function usePager(resetKey = ''): PagerState {
  const [state, setState] = useState<{ key: string; cursors: string[] }>({ key: resetKey, cursors: [] });
  const cursors = state.key === resetKey ? state.cursors : [];
  return {
    after: cursors.at(-1),
    page: cursors.length + 1,
    next: (cursor) => setState({ key: resetKey, cursors: [...cursors, cursor] }),
    previous: () => setState({ key: resetKey, cursors: cursors.slice(0, -1) }),
    reset: () => setState({ key: resetKey, cursors: [] }),
  };
}

export function Pager(props: { pager: PagerState; hasMore: boolean; nextCursor: string | undefined; label?: string }) {
  const { pager } = props;
  if (pager.page === 1 && !props.hasMore) return null;
  return (
    <nav className="pager" aria-label={props.label ?? 'Pages'}>
      <button type="button" className="button" disabled={pager.page === 1} onClick={pager.previous}>
        ← Newer
      </button>
      <span className="muted">Page {pager.page}</span>
      <button
        type="button"
        className="button"
        disabled={!props.hasMore || !props.nextCursor}
        onClick={() => props.nextCursor && pager.next(props.nextCursor)}
      >
        Older →
      </button>
    </nav>
  );
}
