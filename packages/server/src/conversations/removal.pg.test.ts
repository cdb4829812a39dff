import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The removal suite again, on PostgreSQL. Imported after the switch, hence the dynamic import.
setDefaultTestDatabase('postgres');
await import('./removal.test.js');

it('runs the removal suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
