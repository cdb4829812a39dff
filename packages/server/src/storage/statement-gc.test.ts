import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../../..');
const churn = path.join(import.meta.dirname, 'fixtures/statement-churn.ts');

describe('SQLite statements and the garbage collector', () => {
  // better-sqlite3 12 on Node 24 aborted the whole process when a statement was collected
  // (`Assertion failed: (env) != nullptr` in `Statement::~Statement()`): `npm start` died within
  // seconds, and so did the storage tests. It takes a process of its own, on the Node running
  // the tests, to see an abort and to force collections.
  it('regression: a garbage-collected statement does not abort the process (Statement::~Statement, env != nullptr)', () => {
    const child = spawnSync(process.execPath, ['--expose-gc', '--conditions=parley-source', '--import', 'tsx', churn, '3'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const report = `status ${child.status}, signal ${child.signal}\n${child.stderr}`;
    expect(child.signal, report).toBeNull();
    expect(child.status, report).toBe(0);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as { prepared: number; collected: number; node: string };
    expect(result.node).toBe(process.version);
    // The statements really were dropped and collected, not merely prepared.
    expect(result.prepared).toBeGreaterThanOrEqual(4500);
    expect(result.collected).toBeGreaterThanOrEqual(1000);
  }, 150_000);
});
