import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * Fixed-window rate limits (R2) behind one interface: memory (exact in one process) or Redis (exact across
 * instances). A store failure fails open for limits only (R3): the caller proceeds and counts the error.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  windowSeconds: number;
  storeError: boolean;
}

export interface RateLimiter {
  consume(subject: string, limit: number, windowSeconds?: number): Promise<RateDecision>;
}

export class FlexibleRateLimiter implements RateLimiter {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly redis: Redis | null) {}

  private limiter(limit: number, windowSeconds: number): RateLimiterAbstract {
    const id = `${limit}:${windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const options = { points: limit, duration: windowSeconds, keyPrefix: `gr_rl_${limit}_${windowSeconds}` };
      limiter = this.redis
        ? new RateLimiterRedis({ ...options, storeClient: this.redis, useRedisPackage: false, rejectIfRedisNotReady: true })
        : new RateLimiterMemory(options);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  async consume(subject: string, limit: number, windowSeconds = 60): Promise<RateDecision> {
    try {
      const result = await this.limiter(limit, windowSeconds).consume(subject, 1);
      return decision(true, limit, windowSeconds, result);
    } catch (error) {
      if (error instanceof RateLimiterRes) return decision(false, limit, windowSeconds, error);
      return { allowed: true, limit, remaining: limit, resetSeconds: windowSeconds, windowSeconds, storeError: true };
    }
  }
}

function decision(allowed: boolean, limit: number, windowSeconds: number, result: RateLimiterRes): RateDecision {
  return {
    allowed,
    limit,
    remaining: Math.max(0, result.remainingPoints),
    resetSeconds: Math.max(allowed ? 0 : 1, Math.ceil(result.msBeforeNext / 1000)),
    windowSeconds,
    storeError: false,
  };
}
