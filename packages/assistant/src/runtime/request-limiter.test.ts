import { describe, expect, it } from 'vitest';
import { RequestLimiter } from './request-limiter.js';

/** A task that runs until its test lets it finish. */
function held(log: string[], name: string): { task: () => Promise<string>; finish: () => void } {
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
    finish: () => finish(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the catch-up limiter', () => {
  it('[RC8] runs at most its concurrency at once, the others in the order they came', async () => {
    const limiter = new RequestLimiter(2);
    const log: string[] = [];
    const tasks = ['a', 'b', 'c', 'd'].map((name) => held(log, name));
    const results = tasks.map(({ task }) => limiter.run(task));
    await tick();
    expect(log).toEqual(['start a', 'start b']);
    tasks[1]!.finish();
    await tick();
    expect(log).toEqual(['start a', 'start b', 'end b', 'start c']);
    tasks[0]!.finish();
    tasks[2]!.finish();
    tasks[3]!.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(log.filter((line) => line.startsWith('start'))).toEqual(['start a', 'start b', 'start c', 'start d']);
  });

  it('[RC8] gives a failed task\'s slot to the next one', async () => {
    const limiter = new RequestLimiter(1);
    const failed = limiter.run(() => Promise.reject(new Error('the server said no')));
    const next = limiter.run(() => Promise.resolve('ran'));
    await expect(failed).rejects.toThrow('the server said no');
    expect(await next).toBe('ran');
  });

  it('[RC8] refuses a concurrency that is not a whole number of at least 1', () => {
    for (const bad of [0, -2, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new RequestLimiter(bad)).toThrow(/catchUpConcurrency must be a whole number/);
  });
});
