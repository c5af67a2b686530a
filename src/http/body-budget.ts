import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';

/**
 * Bounded memory under a burst of large requests (issue 8). Every request with a body holds its size — the
 * Content-Length, or the route's body limit when the length is not announced — from a per-process budget
 * (`MAX_INFLIGHT_BODY_MB`) until its response is closed. A request that does not fit gets `429 rate_limited` before its
 * body is read. The check runs in `preParsing`, after authentication, so anonymous traffic cannot take the budget.
 */
export class BodyBudget {
  private used = 0;

  constructor(private readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  hold(request: FastifyRequest, reply: FastifyReply): void {
    if (this.capacity === 0) return;
    const limit = request.routeOptions.bodyLimit ?? 1024 * 1024;
    const announced = Number(request.headers['content-length']);
    const chunked = request.headers['transfer-encoding'] !== undefined;
    if (!chunked && (!Number.isFinite(announced) || announced <= 0)) return;
    // An announced length past the route's limit is answered 413 by the parser without reading more than the limit.
    const size = chunked ? limit : Math.min(announced, limit);
    if (this.used + size > this.capacity && this.used > 0) {
      throw new AppError('rate_limited', 'Too many large request bodies are being received right now; retry shortly', { retryAfter: 1 });
    }
    this.used += size;
    let released = false;
    reply.raw.once('close', () => {
      if (released) return;
      released = true;
      this.used -= size;
    });
  }
}
