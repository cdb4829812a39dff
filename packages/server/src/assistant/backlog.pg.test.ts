import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The backlog suite again, on PostgreSQL (its keyset paging and joins). Imported after the
// switch, hence the dynamic import.
setDefaultTestDatabase('postgres');
await import('./backlog.test.js');

it('runs the backlog suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
