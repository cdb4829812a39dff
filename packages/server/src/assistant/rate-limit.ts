import { type LimitStore, windowOf } from '../abuse/limits.js';

/**
 * Assistant answers charged to the member whose message triggered them [AT9]: `burst` answers
 * per member in each window of `burst / perHour` hours, counted across nodes when they share
 * Redis. A refusal says whether it is the member's first in this window, so the assistant tells
 * them once rather than at every message.
 */
export class AssistantRateLimiter {
  readonly #limit;

  constructor(options: { burst: number; perHour: number; store: LimitStore }) {
    this.#limit = options.store.limit('assistant', windowOf(options.burst, options.perHour / 3600));
  }

  /** Charges one answer to `userId`: `wait` 0 when allowed, else seconds until one is, and whether to tell them. */
  async take(userId: string): Promise<{ wait: number; notify: boolean }> {
    const { wait, refusals } = await this.#limit.take(userId);
    return { wait, notify: refusals === 1 };
  }
}
