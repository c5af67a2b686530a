import type { ProviderAdapter, ProviderContext, ProviderError, StartResult, StatusResult, TextAdapter, TextResult } from '../spec.js';
import { sanitize } from './sanitize.js';

/**
 * The adapter boundary for messages (issue 9): every factory returns its adapter through `withSafeMessages`, so
 * every message that leaves it — the `ProviderError` of a start, a status, a completed result or a text answer, and
 * the message of anything thrown — has passed the one sanitizer (sanitize.ts) with the call's own credential and
 * base URL. Adapters therefore need not remember to sanitize each message they build; they still sanitize the
 * messages they store inside an operation (the operation leaves the adapter as opaque JSON).
 */
type Known = Pick<ProviderContext, 'credential' | 'baseUrl'>;

function safeError<T extends ProviderError | undefined | null>(error: T, known: Known): T {
  return error ? ({ ...error, message: sanitize(error.message, known) } as T) : error;
}

function safeStatus(result: StatusResult, known: Known): StatusResult {
  return result.error ? { ...result, error: safeError(result.error, known) } : result;
}

function safeStart(result: StartResult, known: Known): StartResult {
  if (result.outcome !== 'accepted') return { ...result, error: safeError(result.error, known) };
  return result.completed ? { ...result, completed: safeStatus(result.completed, known) } : result;
}

function safeText(result: TextResult, known: Known): TextResult {
  if (!result.ok) return { ...result, error: safeError(result.error, known) };
  if (!result.stream) return result;
  return { ...result, error: () => safeError(result.error(), known) };
}

/** Runs an adapter call; a thrown error keeps its type but leaves with sanitized messages. */
async function guarded<T>(known: Known, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error) {
      error.message = sanitize(error.message, known);
      // Read errors of some families carry the canonical error too.
      const carried = (error as { error?: unknown }).error;
      if (carried && typeof carried === 'object' && typeof (carried as ProviderError).message === 'string') {
        (carried as ProviderError).message = sanitize((carried as ProviderError).message, known);
      }
    }
    throw error;
  }
}

export function withSafeText(text: TextAdapter): TextAdapter {
  const safe: TextAdapter = {
    chat: (body, stream, context) => guarded(context, async () => safeText(await text.chat(body, stream, context), context)),
  };
  const embeddings = text.embeddings;
  if (embeddings) safe.embeddings = (body, context) => guarded(context, async () => safeText(await embeddings.call(text, body, context), context));
  return safe;
}

export function withSafeMessages(adapter: ProviderAdapter): ProviderAdapter {
  const { start, status, cancel, text, balance } = adapter;
  const safe: ProviderAdapter = {
    ...adapter,
    start: (request, context) => guarded(context, async () => safeStart(await start.call(adapter, request, context), context)),
    status: (operation, context) => guarded(context, async () => safeStatus(await status.call(adapter, operation, context), context)),
    ...(cancel ? { cancel: (operation, context) => guarded(context, () => cancel.call(adapter, operation, context)) } : {}),
    ...(text ? { text: withSafeText(text) } : {}),
    ...(balance ? { balance: (context) => guarded(context, () => balance.call(adapter, context)) } : {}),
  };
  return safe;
}
