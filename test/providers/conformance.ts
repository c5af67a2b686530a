import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/lib/clock.js';
import { isTaskNotFound, taskNotFound } from '../../src/providers/shared/task-not-found.js';
import type { GenerationRequest, ProviderAdapter, ProviderContext, StartResult, StatusResult } from '../../src/providers/spec.js';
import type { MockContext } from '../mock-upstreams/shared/harness.js';

/**
 * The adapter conformance suite (issue 4): the same cases against every adapter and its mock upstream. A family's
 * test file calls `runConformance` with its adapter, its mock and what the family supports; family-specific cases
 * (quirks, shapes) live beside it.
 */
export interface ConformanceSpec {
  name: string;
  adapter: (settings: Record<string, unknown>) => ProviderAdapter;
  startMock: () => Promise<{ baseUrl: string; close: () => Promise<void>; control: MockContext }>;
  /** Appended to the mock's base URL to form the channel base URL (e.g. `/api/v3`). */
  basePath: string;
  request: Omit<GenerationRequest, 'taskId' | 'prompt'>;
  upstreamModel: string;
  settings?: Record<string, unknown>;
  /** Input moderation is a synchronous rejection (false: the task fails after acceptance, e.g. Suno). */
  moderationInputAtSubmit?: boolean;
  supportsModerationOutput?: boolean;
  supportsExpire?: boolean;
  /**
   * The task has an upstream status read, so the upstream can answer "task not found" (default true; false for
   * synchronous images, whose `status()` replays the create's answer).
   */
  supportsTaskNotFound?: boolean;
}

let sequence = 0;

export function runConformance(spec: ConformanceSpec): void {
  describe(`${spec.name} adapter conformance`, () => {
    async function withMock<T>(work: (adapter: ProviderAdapter, context: ProviderContext, mock: MockContext) => Promise<T>): Promise<T> {
      const mock = await spec.startMock();
      try {
        const adapter = spec.adapter(spec.settings ?? {});
        const context: ProviderContext = {
          clock: new ManualClock(),
          upstreamModel: spec.upstreamModel,
          baseUrl: `${mock.baseUrl}${spec.basePath}`,
          credential: 'mock-key',
          settings: spec.settings ?? {},
          attempt: 1,
        };
        return await work(adapter, context, mock.control);
      } finally {
        await mock.close();
      }
    }

    function request(prompt: string): GenerationRequest {
      sequence += 1;
      return { ...spec.request, taskId: `task_conformance${sequence}`, prompt };
    }

    async function finalStatus(adapter: ProviderAdapter, context: ProviderContext, mock: MockContext, started: StartResult): Promise<StatusResult> {
      expect(started.outcome).toBe('accepted');
      if (started.outcome !== 'accepted') throw new Error('not accepted');
      if (started.completed) return started.completed;
      let operation = started.operation;
      for (let step = 0; step < 50; step += 1) {
        const status = await adapter.status(operation, context);
        if (status.operation !== undefined) operation = status.operation;
        if (!['queued', 'running'].includes(status.status)) return status;
        mock.offsetMs += 50;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error('task never finished');
    }

    it('success: accepted once, then succeeded with outputs and billable usage', async () => {
      await withMock(async (adapter, context, mock) => {
        const generation = request('a lighthouse at dusk');
        const started = await adapter.start(generation, context);
        const status = await finalStatus(adapter, context, mock, started);
        expect(status.status).toBe('succeeded');
        expect(status.outputs?.length).toBeGreaterThan(0);
        for (const output of status.outputs ?? []) expect(output.url !== undefined || output.bytes !== undefined).toBe(true);
        expect(status.usage?.billable).toBe(true);
        expect(mock.stats.creates[generation.taskId]).toBe(1);
        if (started.outcome === 'accepted') expect(JSON.stringify(started.operation)).not.toContain('mock-key');
      });
    });

    it('input moderation → content policy class, nothing accepted as success', async () => {
      await withMock(async (adapter, context, mock) => {
        const started = await adapter.start(request('bad [[scenario:moderation_input]]'), context);
        if (spec.moderationInputAtSubmit === false) {
          const status = await finalStatus(adapter, context, mock, started);
          expect(status.status).toBe('failed');
          expect(status.error?.class).toBe('moderation_input');
          expect(status.usage?.billable ?? false).toBe(false);
        } else {
          expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'moderation_input' } });
        }
      });
    });

    if (spec.supportsModerationOutput !== false) {
      it('output moderation → failed moderation_output, not billable', async () => {
        await withMock(async (adapter, context, mock) => {
          const status = await finalStatus(adapter, context, mock, await adapter.start(request('x [[scenario:moderation_output]]'), context));
          expect(status.status).toBe('failed');
          expect(status.error?.class).toBe('moderation_output');
          expect(status.usage?.billable ?? false).toBe(false);
        });
      });
    }

    if (spec.supportsExpire) {
      it('upstream expiry → expired', async () => {
        await withMock(async (adapter, context, mock) => {
          const status = await finalStatus(adapter, context, mock, await adapter.start(request('x [[scenario:expire]]'), context));
          expect(status.status).toBe('expired');
        });
      });
    }

    if (spec.supportsTaskNotFound !== false) {
      it('task not found upstream → the one typed answer, identical for every provider, never remembered', async () => {
        await withMock(async (adapter, context) => {
          const started = await adapter.start(request('x [[scenario:not_found]]'), context);
          expect(started.outcome).toBe('accepted');
          if (started.outcome !== 'accepted') return;
          for (let read = 0; read < 2; read += 1) {
            const status = await adapter.status(started.operation, context);
            expect(isTaskNotFound(status)).toBe(true);
            // Exactly the shared shape: no family-specific status, class, usage facts or replacement operation.
            expect(typeof status.error?.message).toBe('string');
            expect(status).toEqual(taskNotFound(status.error!.message));
            expect(status.error!.message).not.toContain('mock-key');
          }
        });
      });

      it('a task the upstream does not know for a moment after the create reads normally afterwards', async () => {
        await withMock(async (adapter, context, mock) => {
          // Counted in reads, not time: a slow machine cannot make the first read miss the window.
          const started = await adapter.start(request('x [[scenario:not_found;reads=1]]'), context);
          expect(started.outcome).toBe('accepted');
          if (started.outcome !== 'accepted') return;
          expect(isTaskNotFound(await adapter.status(started.operation, context))).toBe(true);
          const status = await finalStatus(adapter, context, mock, started);
          expect(status.status).toBe('succeeded');
          expect(status.usage?.billable).toBe(true);
        });
      });
    }

    it.each([
      ['rate_limited;retry_after=7', 'rejected', 'rate_limited'],
      ['unauthorized', 'rejected', 'auth'],
      ['quota_exhausted', 'rejected', 'upstream_quota'],
      ['invalid_param', 'rejected', 'invalid_request'],
      ['server_error', 'unknown', 'upstream_error'],
    ])('create with [[scenario:%s]] → %s %s', async (scenario, outcome, errorClass) => {
      await withMock(async (adapter, context) => {
        const started = await adapter.start(request(`x [[scenario:${scenario}]]`), context);
        expect(started).toMatchObject({ outcome, error: { class: errorClass } });
        if (scenario.startsWith('rate_limited') && started.outcome !== 'accepted') expect(started.error.retryAfterSeconds).toBe(7);
      });
    });

    it('a wrong credential → auth', async () => {
      await withMock(async (adapter, context) => {
        const started = await adapter.start(request('x'), { ...context, credential: 'wrong-key' });
        expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'auth' } });
      });
    });

    it('a refused connection → rejected (network): the create surely never left; the message names no host or key', async () => {
      const closed = await spec.startMock();
      const baseUrl = `${closed.baseUrl}${spec.basePath}`;
      await closed.close();
      const adapter = spec.adapter(spec.settings ?? {});
      const context: ProviderContext = {
        clock: new ManualClock(),
        upstreamModel: spec.upstreamModel,
        baseUrl,
        credential: 'mock-key',
        settings: spec.settings ?? {},
        attempt: 1,
      };
      const started = await adapter.start(request('x'), context);
      expect(started).toMatchObject({ outcome: 'rejected', error: { class: 'network' } });
      if (started.outcome === 'accepted') return;
      for (const forbidden of [new URL(baseUrl).host, '127.0.0.1', 'mock-key']) expect(started.error.message).not.toContain(forbidden);
    });

    it('a connection that never answers → unknown (network), within the adapter timeout', async () => {
      await withMock(async (adapter, context) => {
        const started = await adapter.start(request('x [[scenario:conn_reset]]'), context);
        expect(started.outcome).toBe('unknown');
      });
    });
  });
}
