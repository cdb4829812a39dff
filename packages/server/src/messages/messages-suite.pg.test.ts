import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The whole messages suite again, on PostgreSQL: every server it starts without naming a
// database gets a fresh PostgreSQL one. Imported after the switch, hence the dynamic import.
setDefaultTestDatabase('postgres');
await import('./messages.test.js');

it('runs the messages suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
