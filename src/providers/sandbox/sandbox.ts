import type {
  GenerationRequest,
  JsonValue,
  ProviderAdapter,
  ProviderContext,
  ProviderOutput,
  StartResult,
  StatusResult,
  UsageFacts,
} from '../spec.js';
import { videoDimensions } from '../../lib/video-size.js';
import { withSafeMessages } from '../shared/safe-messages.js';
import { makeMp4, makePng, makeWav } from './media.js';
import { findScenario, numberOption, parseScenarios } from './scenario.js';
import { createSandboxText } from './sandbox-text.js';

/**
 * The built-in sandbox (PROVIDERS §11.4): serves every test key and the demo. It keeps no state: the operation it
 * returns from `start` (accept time, scenario, phase durations) and the injected clock decide every `status`, so it
 * survives restarts and `kill -9` like a real upstream, and its creates are idempotent by task id.
 */
interface SandboxOperation {
  taskId: string;
  kind: GenerationRequest['kind'];
  acceptedAt: number;
  queueMs: number;
  runMs: number;
  outcome: 'success' | 'moderation_output' | 'expire' | 'timeout';
  seconds: number;
  resolution: string;
  ratio: string;
  size: string;
  quality: string;
  count: number;
}

const MUSIC_TRACKS = 2;
const MUSIC_SECONDS = 8;

export function createSandboxAdapter(settings: Record<string, unknown>): ProviderAdapter {
  const queueMs = typeof settings.queueMs === 'number' ? settings.queueMs : 2_000;
  const runMs = typeof settings.runMs === 'number' ? settings.runMs : 3_000;

  return withSafeMessages({
    id: 'sandbox',
    capabilities: { kinds: ['video', 'image', 'music'], cancel: true, idempotentCreates: true },
    text: createSandboxText(),

    async start(request: GenerationRequest, context: ProviderContext): Promise<StartResult> {
      const scenarios = parseScenarios(request.prompt);
      if (findScenario(scenarios, 'invalid_param')) {
        return { outcome: 'rejected', error: { class: 'invalid_request', message: 'sandbox: invalid_param scenario' } };
      }
      if (findScenario(scenarios, 'moderation_input')) {
        return { outcome: 'rejected', error: { class: 'moderation_input', message: 'sandbox: input moderated' } };
      }
      const serverError = findScenario(scenarios, 'server_error');
      if (serverError) {
        const times = numberOption(serverError, 'times');
        if (times === undefined || context.attempt <= times) {
          return { outcome: 'unknown', error: { class: 'upstream_error', message: 'sandbox: server_error scenario' } };
        }
      }
      const slowQueue = findScenario(scenarios, 'slow_queue');
      const outcome = findScenario(scenarios, 'moderation_output')
        ? 'moderation_output'
        : findScenario(scenarios, 'expire')
          ? 'expire'
          : findScenario(scenarios, 'timeout')
            ? 'timeout'
            : 'success';
      const operation: SandboxOperation = {
        taskId: request.taskId,
        kind: request.kind,
        acceptedAt: context.clock.now().getTime(),
        queueMs: slowQueue ? (numberOption(slowQueue, 'ms') ?? 60_000) : queueMs,
        runMs,
        outcome,
        seconds: request.seconds ?? 5,
        resolution: request.resolution ?? '720p',
        ratio: request.ratio ?? '16:9',
        size: request.size ?? '1024x1024',
        quality: request.quality ?? 'standard',
        count: request.n ?? 1,
      };
      return { outcome: 'accepted', operation: operation as unknown as JsonValue, providerTaskId: `sbx_${request.taskId}` };
    },

    async status(raw: JsonValue, context: ProviderContext): Promise<StatusResult> {
      const operation = raw as unknown as SandboxOperation;
      const elapsed = context.clock.now().getTime() - operation.acceptedAt;
      if (elapsed < operation.queueMs) return { status: 'queued', progress: 0 };
      const running = elapsed - operation.queueMs;
      if (operation.outcome === 'timeout' || running < operation.runMs) {
        const progress = operation.runMs === 0 ? 99 : Math.min(99, Math.floor((100 * running) / operation.runMs));
        return { status: 'running', progress };
      }
      if (operation.outcome === 'moderation_output') {
        return { status: 'failed', usage: { billable: false }, error: { class: 'moderation_output', message: 'sandbox: output moderated' } };
      }
      if (operation.outcome === 'expire') return { status: 'expired', usage: { billable: false } };
      return { status: 'succeeded', progress: 100, ...produce(operation) };
    },

    async cancel(raw: JsonValue, context: ProviderContext): Promise<{ cancelled: boolean }> {
      const operation = raw as unknown as SandboxOperation;
      const elapsed = context.clock.now().getTime() - operation.acceptedAt;
      const finished = operation.outcome !== 'timeout' && elapsed >= operation.queueMs + operation.runMs;
      return { cancelled: !finished };
    },
  });
}

function produce(operation: SandboxOperation): { outputs: ProviderOutput[]; usage: UsageFacts } {
  if (operation.kind === 'video') {
    const [width, height] = videoDimensions(operation.ratio, operation.resolution);
    const bytes = makeMp4(operation.taskId, { width, height, seconds: operation.seconds });
    return {
      outputs: [{ contentType: 'video/mp4', bytes, width, height, durationSeconds: operation.seconds }],
      usage: { video_seconds: operation.seconds, video_resolution: operation.resolution, billable: true },
    };
  }
  if (operation.kind === 'image') {
    const [requestedWidth, requestedHeight] = operation.size.split('x').map(Number) as [number, number];
    // Sandbox images keep the requested aspect but stay small (≤ 1024 px on the long side).
    const scale = Math.min(1, 1024 / Math.max(requestedWidth, requestedHeight));
    const width = Math.max(1, Math.round(requestedWidth * scale));
    const height = Math.max(1, Math.round(requestedHeight * scale));
    const outputs = Array.from({ length: operation.count }, (_, index) => ({
      contentType: 'image/png',
      bytes: makePng(`${operation.taskId}:${index}`, { width, height }),
      width,
      height,
    }));
    return {
      outputs,
      usage: { image_count: operation.count, image_size: operation.size, image_quality: operation.quality, billable: true },
    };
  }
  const outputs = Array.from({ length: MUSIC_TRACKS }, (_, index) => ({
    contentType: 'audio/wav',
    bytes: makeWav(`${operation.taskId}:${index}`, { seconds: MUSIC_SECONDS }),
    durationSeconds: MUSIC_SECONDS,
  }));
  return {
    outputs,
    usage: { music_tracks: MUSIC_TRACKS, music_seconds: MUSIC_TRACKS * MUSIC_SECONDS, generations: 1, billable: true },
  };
}
