import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The whole apps suite again, on PostgreSQL (directory, switches, calls and confirmations).
setDefaultTestDatabase('postgres');
await import('./apps.test.js');

it('runs the apps suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
