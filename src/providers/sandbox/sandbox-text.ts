import { createHash } from 'node:crypto';
import type { ProviderContext, TextAdapter, TextResult, TextStreamEvent, TokenUsage } from '../spec.js';
import { findScenario, parseScenarios } from './scenario.js';

/**
 * The sandbox's chat and embeddings (PROVIDERS §11.4): deterministic answers with usage, streamed or not, for test
 * keys on text models. Scenario tokens in the messages pick failures: `moderation_input`, `rate_limited`,
 * `server_error` (before output) and `midstream_error` (after a few chunks).
 */
const EMBEDDING_DIMENSIONS = 64;

function promptText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  return messages.map((message) => {
    const content = (message as { content?: unknown }).content;
    return typeof content === 'string' ? content : JSON.stringify(content ?? '');
  }).join('\n');
}

function usageOf(prompt: string, words: number): TokenUsage {
  return { tokens_in: Math.max(1, Math.ceil(Buffer.byteLength(prompt) / 4)), tokens_out: words, tokens_reasoning: 0 };
}

function openAiUsage(usage: TokenUsage) {
  return { prompt_tokens: usage.tokens_in, completion_tokens: usage.tokens_out, total_tokens: usage.tokens_in + usage.tokens_out };
}

function failure(prompt: string): TextResult | null {
  const scenarios = parseScenarios(prompt);
  if (findScenario(scenarios, 'moderation_input')) return { ok: false, error: { class: 'moderation_input', message: 'sandbox: input moderated' }, status: 400 };
  if (findScenario(scenarios, 'rate_limited')) return { ok: false, error: { class: 'rate_limited', message: 'sandbox: rate limited', retryAfterSeconds: 1 }, status: 429 };
  if (findScenario(scenarios, 'server_error')) return { ok: false, error: { class: 'upstream_error', message: 'sandbox: server error' }, status: 500 };
  return null;
}

export function createSandboxText(): TextAdapter {
  return {
    async chat(body: Record<string, unknown>, stream: boolean, context: ProviderContext): Promise<TextResult> {
      const prompt = promptText(body);
      const failed = failure(prompt);
      if (failed) return failed;
      const digest = createHash('sha256').update(prompt).digest('hex').slice(0, 8);
      const words = `This is the genrelay sandbox answering (${digest}). ${prompt.replace(/\[\[scenario:[^\]]*\]\]/g, '').trim().slice(0, 80)}`.split(/\s+/).filter(Boolean);
      const maxTokens = Number(body.max_completion_tokens ?? body.max_tokens ?? Infinity);
      const output = words.slice(0, Math.max(1, Math.min(words.length, maxTokens)));
      const usage = usageOf(prompt, output.length);
      const id = `chatcmpl-sbx${digest}`;
      const created = Math.floor(context.clock.now().getTime() / 1000);
      const model = String(body.model);
      const finish = output.length < words.length ? 'length' : 'stop';
      if (!stream) {
        return {
          ok: true,
          stream: false,
          usage,
          body: {
            id, object: 'chat.completion', created, model,
            choices: [{ index: 0, message: { role: 'assistant', content: output.join(' '), refusal: null }, logprobs: null, finish_reason: finish }],
            usage: openAiUsage(usage),
          },
        };
      }
      const midstream = Boolean(findScenario(parseScenarios(prompt), 'midstream_error'));
      let streamError: { class: 'upstream_error'; message: string } | null = null;
      let reported: TokenUsage | null = null;
      let ended = false;
      const chunk = (delta: Record<string, unknown>, finishReason: string | null): TextStreamEvent => {
        const json = { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], usage: null };
        return { data: JSON.stringify(json), json };
      };
      // One event per batch, as an upstream that writes each chunk on its own is read.
      async function* events(): AsyncIterable<TextStreamEvent[]> {
        yield [chunk({ role: 'assistant', content: '', refusal: null }, null)];
        for (const [index, word] of output.entries()) {
          if (midstream && index === 2) {
            streamError = { class: 'upstream_error', message: 'sandbox: midstream error' };
            ended = true;
            const json = { error: { message: 'The server had an error while processing your request.', type: 'server_error' } };
            yield [{ data: JSON.stringify(json), json }];
            return;
          }
          yield [chunk({ content: index === 0 ? word : ` ${word}` }, null)];
        }
        yield [chunk({}, finish)];
        reported = usage;
        ended = true;
        const json = { id, object: 'chat.completion.chunk', created, model, choices: [], usage: openAiUsage(usage) };
        yield [{ data: JSON.stringify(json), json }];
      }
      return { ok: true, stream: true, events: events(), usage: () => reported, error: () => streamError, ended: () => ended, abort: () => {} };
    },

    async embeddings(body: Record<string, unknown>): Promise<TextResult> {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const text = inputs.map((input) => (typeof input === 'string' ? input : JSON.stringify(input))).join('\n');
      const failed = failure(text);
      if (failed) return failed;
      const dimensions = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, 4096) : EMBEDDING_DIMENSIONS;
      const base64 = body.encoding_format === 'base64';
      const data = inputs.map((input, index) => {
        const seed = createHash('sha256').update(`${index}:${typeof input === 'string' ? input : JSON.stringify(input)}`).digest();
        const vector = Array.from({ length: dimensions }, (_, position) => (seed[position % 32]! - 128) / 128);
        const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      });
      const tokens = Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));
      return {
        ok: true,
        stream: false,
        usage: { tokens_in: tokens, tokens_out: 0 },
        body: { object: 'list', data, model: String(body.model), usage: { prompt_tokens: tokens, total_tokens: tokens } },
      };
    },
  };
}
