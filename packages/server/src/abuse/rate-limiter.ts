import type { Clock } from '../events/event-log.js';

/**
 * Token buckets keyed by a string: `capacity` tokens, refilled at `refillPerSecond`. In memory,
 * per node: a limit that protects this node's resources.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #refillPerSecond: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; updated: number }>();

  constructor(options: { capacity: number; refillPerSecond: number; clock: Clock }) {
    this.#capacity = options.capacity;
    this.#refillPerSecond = options.refillPerSecond;
    this.#clock = options.clock;
  }

  /** Takes a token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string): number {
    const bucket = this.#refill(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#refillPerSecond));
  }

  /** Seconds until a token is available, without taking one. */
  peek(key: string): number {
    const bucket = this.#refill(key);
    return bucket.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / this.#refillPerSecond));
  }

  reset(key: string): void {
    this.#buckets.delete(key);
  }

  #refill(key: string): { tokens: number; updated: number } {
    const now = this.#clock.now().getTime();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.#capacity, updated: now };
      this.#buckets.set(key, bucket);
      if (this.#buckets.size > 100_000) this.#sweep(now);
      return bucket;
    }
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + ((now - bucket.updated) / 1000) * this.#refillPerSecond);
    bucket.updated = now;
    return bucket;
  }

  /** Forgets full buckets so the map does not grow without bound. */
  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      const tokens = bucket.tokens + ((now - bucket.updated) / 1000) * this.#refillPerSecond;
      if (tokens >= this.#capacity) this.#buckets.delete(key);
    }
  }
}
