import { RateLimiter } from '../abuse/rate-limiter.js';
import type { Clock } from '../events/event-log.js';

/** Members remembered as told at most; past it the oldest are forgotten (they are told again). */
const MAX_NOTIFIED = 100_000;

/**
 * Assistant answers charged to the member whose message triggered them [AT9]: a bucket of
 * `burst` per member that refills at `perHour`. A refusal says whether it is the member's first
 * since their last answer, so the assistant tells them once rather than at every message.
 */
export class AssistantRateLimiter {
  readonly #buckets: RateLimiter;
  /** Members refused since their last answer. */
  readonly #notified = new Set<string>();

  constructor(options: { burst: number; perHour: number; clock: Clock }) {
    this.#buckets = new RateLimiter({ capacity: options.burst, refillPerSecond: options.perHour / 3600, clock: options.clock });
  }

  /** Charges one answer to `userId`: `wait` 0 when allowed, else seconds until one is, and whether to tell them. */
  take(userId: string): { wait: number; notify: boolean } {
    const wait = this.#buckets.take(userId);
    if (wait === 0) {
      this.#notified.delete(userId);
      return { wait, notify: false };
    }
    if (this.#notified.has(userId)) return { wait, notify: false };
    if (this.#notified.size >= MAX_NOTIFIED) {
      const oldest = this.#notified.values().next();
      if (!oldest.done) this.#notified.delete(oldest.value);
    }
    this.#notified.add(userId);
    return { wait, notify: true };
  }
}
