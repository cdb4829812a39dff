import { expect, it } from 'vitest';
import { setDefaultTestDatabase, startTestServer } from '../test/harness.js';

// The OAuth suite again, on PostgreSQL (clients, sealed tokens, authorisations under way, waiting calls).
setDefaultTestDatabase('postgres');
await import('./app-oauth.test.js');

it('runs the apps OAuth suite on PostgreSQL', async () => {
  await using server = await startTestServer();
  expect(server.server.context.storage.kind).toBe('postgres');
});
