import {
  QueryClient,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryKey,
  type UseQueryOptions,
} from '@tanstack/react-query';
import { api, apiRequest, isApiError, type Method, type Query } from './api';

/**
 * TanStack Query glue. Query keys are the API path split into segments plus the query object:
 *
 *   useApiQuery('/public/customers/cus_1')        → key ['public', 'customers', 'cus_1', {}]
 *
 * so invalidating a path prefix refreshes everything below it: `invalidate: ['/public/customers']` refreshes the
 * list, every customer and their keys and ledgers.
 */
export function pathKey(path: string, query?: Query): QueryKey {
  const segments = path.split('?')[0]!.split('/').filter(Boolean);
  return query === undefined ? segments : [...segments, cleanQuery(query)];
}

function cleanQuery(query: Query): Record<string, string | number | boolean> {
  const clean: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') clean[key] = value;
  }
  return clean;
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // Client errors (4xx) will not get better by retrying.
        retry: (count, error) => !(isApiError(error) && error.status >= 400 && error.status < 500) && count < 2,
      },
      mutations: { retry: false },
    },
  });
}

type ApiQueryOptions<T> = Omit<UseQueryOptions<T, Error, T, QueryKey>, 'queryKey' | 'queryFn'>;

/** GET `path` (below the API base) with `query`; pass `enabled: false` to wait for an id. */
export function useApiQuery<T>(path: string, query?: Query, options?: ApiQueryOptions<T>) {
  return useQuery<T, Error, T, QueryKey>({
    queryKey: pathKey(path, query ?? {}),
    queryFn: ({ signal }) => api.get<T>(path, query, signal),
    ...options,
  });
}

export interface ApiMutationOptions<TVars, TResult> {
  method: Exclude<Method, 'GET'>;
  /** The path, or a function of the mutation's variables. */
  path: string | ((vars: TVars) => string);
  /** The JSON body; default: the variables themselves (none for DELETE). */
  body?: (vars: TVars) => unknown;
  /** Path prefixes whose queries are refreshed after success. */
  invalidate?: string[] | ((vars: TVars, result: TResult) => string[]);
  onSuccess?: (result: TResult, vars: TVars) => void;
}

/** A mutation against the API; on success the `invalidate` prefixes are refetched. Errors are `ApiError`s. */
export function useApiMutation<TVars = void, TResult = unknown>(options: ApiMutationOptions<TVars, TResult>) {
  const client = useQueryClient();
  return useMutation<TResult, Error, TVars>({
    mutationFn: (vars) => {
      const path = typeof options.path === 'function' ? options.path(vars) : options.path;
      const body = options.body ? options.body(vars) : options.method === 'DELETE' ? undefined : (vars ?? {});
      return apiRequest<TResult>(options.method, path, { body });
    },
    onSuccess: async (result, vars) => {
      const prefixes = typeof options.invalidate === 'function' ? options.invalidate(vars, result) : (options.invalidate ?? []);
      await Promise.all(prefixes.map((prefix) => client.invalidateQueries({ queryKey: pathKey(prefix) })));
      options.onSuccess?.(result, vars);
    },
  });
}
