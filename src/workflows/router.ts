import type { CatalogModel } from '../modules/catalog/types.js';
import type { TaskRow } from '../modules/tasks/types.js';
import { createAdapter } from '../providers/registry.js';
import type { ProviderAdapter, ProviderContext } from '../providers/spec.js';

/**
 * Picks the provider route of a task. Test keys always run on the built-in sandbox (SEMANTICS K11); live routes
 * come from operator channels (group, priority, weight, credentials), which arrive with the routing work —
 * until then a live request finds no route and is answered 503 `provider_capacity_unavailable` (R7).
 */
export interface Route {
  providerId: string;
  channelId: string | null;
  adapter: ProviderAdapter;
  context: Omit<ProviderContext, 'clock' | 'attempt'>;
  /** Origins whose result URLs are trusted for this route (SEMANTICS S11: the channel's own base URL). */
  trustedOrigins: string[];
}

export interface Router {
  /** Whether a new task for this model could be served now (R7), decided before the hot path. */
  hasRoute(mode: 'live' | 'test', model: CatalogModel): boolean;
  /** The route for dispatching a task. */
  routeFor(task: TaskRow): Route | null;
  /** The route a submitted task runs on, for status, cancel and sweeping. */
  routeOf(task: TaskRow): Route | null;
}

export class SandboxRouter implements Router {
  private readonly sandbox: ProviderAdapter;

  constructor(sandboxSettings: Record<string, unknown>) {
    this.sandbox = createAdapter('sandbox', sandboxSettings);
  }

  private sandboxRoute(task: TaskRow): Route {
    return {
      providerId: 'sandbox',
      channelId: null,
      adapter: this.sandbox,
      context: { upstreamModel: task.model, settings: {} },
      trustedOrigins: [],
    };
  }

  hasRoute(mode: 'live' | 'test', model: CatalogModel): boolean {
    return mode === 'test' && this.sandbox.capabilities.kinds.includes(model.type as never);
  }

  routeFor(task: TaskRow): Route | null {
    return task.mode === 'test' ? this.sandboxRoute(task) : null;
  }

  routeOf(task: TaskRow): Route | null {
    return task.provider === 'sandbox' || task.mode === 'test' ? this.sandboxRoute(task) : null;
  }
}
