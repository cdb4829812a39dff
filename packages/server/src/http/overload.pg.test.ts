import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The same load shedding on PostgreSQL, where the writes wait in several lanes.
setDefaultTestDatabase('postgres');
await import('./overload.test.js');

it('runs the load-shedding suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
