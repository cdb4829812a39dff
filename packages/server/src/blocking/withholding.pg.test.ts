import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The withholding suite again, on PostgreSQL. Imported after the switch, hence the dynamic import.
setDefaultTestDatabase('postgres');
await import('./withholding.test.js');

it('runs the withholding suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
