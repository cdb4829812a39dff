/**
 * The limits' store ([MN5] in ../events/SPEC.md): counted in Redis, and each node on its own while
 * Redis is down or silent. Needs the machine's Redis (127.0.0.1:6379).
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startTcpProxy } from '../test/tcp-proxy.js';
import { LimitStore } from './limits.js';

const REDIS = { host: '127.0.0.1', port: Number(process.env.PARLEY_TEST_REDIS_PORT ?? 6379) };
const rule = { points: 3, seconds: 60 };

async function store(address: string) {
  return LimitStore.redis({ url: `redis://${address}`, prefix: `parley:test:${crypto.randomBytes(6).toString('hex')}`, log: () => undefined });
}

describe('[MN5] limits in Redis', () => {
  it('two stores on one Redis share one count', async () => {
    const address = `${REDIS.host}:${REDIS.port}`;
    const prefix = `parley:test:${crypto.randomBytes(6).toString('hex')}`;
    const a = await LimitStore.redis({ url: `redis://${address}`, prefix, log: () => undefined });
    const b = await LimitStore.redis({ url: `redis://${address}`, prefix, log: () => undefined });
    try {
      const onA = a.limit('flood', rule);
      const onB = b.limit('flood', rule);
      expect(await onA.take('ann')).toEqual({ wait: 0, refusals: 0 });
      expect(await onB.take('ann')).toEqual({ wait: 0, refusals: 0 });
      expect(await onA.take('ann')).toEqual({ wait: 0, refusals: 0 });
      expect(await onB.take('ann')).toMatchObject({ refusals: 1 });
      expect(await onB.peek('ann')).toBeGreaterThan(0);
      expect(await onA.take('bob')).toEqual({ wait: 0, refusals: 0 });
      await onA.reset('ann');
      expect(await onB.peek('ann')).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a silent Redis is waited for at most 200 ms, and a take that timed out is counted once', async () => {
    const link = await startTcpProxy(REDIS);
    const limits = await store(link.address);
    try {
      const flood = limits.limit('flood', rule);
      expect((await flood.take('ann')).wait).toBe(0);
      link.pause();
      const started = Date.now();
      // Redis cannot answer: the node counts alone (1 of 3 in memory).
      expect((await flood.take('ann')).wait).toBe(0);
      expect(Date.now() - started).toBeLessThan(2000);
      // The connection then dies under the command that timed out: it is not counted again.
      link.cut();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await flood.take('ann')).wait).toBe(0);
      expect((await flood.take('ann')).wait).toBe(0);
      expect((await flood.take('ann')).refusals).toBe(1);
    } finally {
      link.restore();
      await limits.close();
      await link.close();
    }
  });
});
