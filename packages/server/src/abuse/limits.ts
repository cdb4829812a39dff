import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';

/** At most `points` takes per key in each window of `seconds`. */
export interface LimitRule {
  points: number;
  seconds: number;
}

/** What a take says: `wait` 0 when allowed, else seconds until a take is; `refusals` in this window, this one included. */
export interface Taken {
  wait: number;
  refusals: number;
}

/**
 * The rule of a token bucket (`burst` at once, refilled at `perSecond`) as a window: `burst`
 * takes per `burst / perSecond` seconds, the same sustained rate (at a window's edge, up to twice
 * the burst may pass).
 */
export function windowOf(burst: number, perSecond: number): LimitRule {
  return { points: burst, seconds: Math.max(1, Math.round(burst / perSecond)) };
}

/** How long a Redis answer may take before the node decides alone (a network pause must not hold a send). */
const REDIS_TIMEOUT_MS = 200;

/** Loads the Redis client with the first connection: a node without REDIS_URL never needs it, and a restarted node's clients wait on its start-up. */
async function makeClient(url: string) {
  const { createClient } = await import('@redis/client');
  return createClient({
    url,
    // A count that cannot be sent now is made by this node alone, not queued.
    disableOfflineQueue: true,
    pingInterval: 5000,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
}

type RedisClient = Awaited<ReturnType<typeof makeClient>>;

/**
 * Where the counters live: in this process (one node), or in Redis, shared by every node of an
 * installation ([MN5] in ../events/SPEC.md). A Redis that is down or slow to answer leaves each
 * node counting on its own until it is back, rather than refusing or holding requests.
 */
export class LimitStore {
  readonly #redis: RedisClient | undefined;
  readonly #prefix: string;

  private constructor(redis: RedisClient | undefined, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  static memory(): LimitStore {
    return new LimitStore(undefined, '');
  }

  /** Connects to `url`; rejects if Redis cannot be reached. Keys are `<prefix>:limit:<name>:<key>`. */
  static async redis(options: { url: string; prefix: string; log: (message: string) => void }): Promise<LimitStore> {
    const client = await makeClient(options.url);
    let connected = false;
    client.on('error', (error: unknown) => {
      if (connected) options.log(`redis limits: ${error instanceof Error ? error.message : String(error)}`);
    });
    try {
      await client.connect();
    } catch (error) {
      client.destroy();
      throw error;
    }
    connected = true;
    return new LimitStore(client, options.prefix);
  }

  /** A limit named `name` (its keys are apart from other limits'). */
  limit(name: string, rule: LimitRule): RateLimit {
    const memory = new RateLimiterMemory({ points: rule.points, duration: rule.seconds, keyPrefix: name });
    if (!this.#redis) return new RateLimit(rule, memory);
    const shared = new RateLimiterRedis({
      storeClient: this.#redis,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      points: rule.points,
      duration: rule.seconds,
      keyPrefix: `${this.#prefix}:limit:${name}`,
    });
    // The insurance is the wrapper's alone: were the Redis limiter insured too, a command that
    // timed out and then failed would be counted twice in memory.
    return new RateLimit(rule, new RLWrapperTimeouts({ limiter: shared, timeoutMs: REDIS_TIMEOUT_MS, insuranceLimiter: memory }));
  }

  async close(): Promise<void> {
    if (this.#redis?.isOpen) await this.#redis.close().catch(() => undefined);
  }
}

type Limiter = RateLimiterMemory | RLWrapperTimeouts;

function isResult(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && 'consumedPoints' in value && 'msBeforeNext' in value;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** A limit keyed by a string (a user id, an address): `rule.points` takes per window of `rule.seconds`. */
export class RateLimit {
  readonly #rule: LimitRule;
  readonly #limiter: Limiter;

  constructor(rule: LimitRule, limiter: Limiter) {
    this.#rule = rule;
    this.#limiter = limiter;
  }

  /** Takes one. */
  async take(key: string): Promise<Taken> {
    try {
      await this.#limiter.consume(key, 1);
      return { wait: 0, refusals: 0 };
    } catch (refused) {
      // The library rejects with the count when over the limit, with an Error when no store answered.
      if (!isResult(refused)) throw refused;
      return { wait: seconds(refused.msBeforeNext), refusals: refused.consumedPoints - this.#rule.points };
    }
  }

  /** Seconds until a take is allowed (0 now), without taking one. */
  async peek(key: string): Promise<number> {
    const current = await this.#limiter.get(key);
    return current && current.consumedPoints >= this.#rule.points ? seconds(current.msBeforeNext) : 0;
  }

  /** Forgets the key's count. */
  async reset(key: string): Promise<void> {
    await this.#limiter.delete(key);
  }
}
