import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// Sending again on PostgreSQL, where racing sends of one id meet at the insert's unique violation.
setDefaultTestDatabase('postgres');
await import('./send.test.js');

it('runs the sending suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
