import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFixtureApp } from '@parley/apps/test';
import type { AppCall } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { createPostgresDatabase } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { freePort, startParley } from './test/processes.js';

/**
 * Two `parley` processes on one PostgreSQL database; the one running a tool call is killed with
 * -9 in the middle of it ([AP15] in packages/server/src/apps/SPEC.md): the other node leaves the
 * call alone while its lease runs, the killed node started again fails it at once, and a call
 * whose node never comes back is failed by the other node when its lease runs out.
 */
interface Node {
  readonly url: string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const port = await freePort();
  const child = await startParley(env, port);
  return { url: `http://127.0.0.1:${port}`, kill: (signal) => child.kill(signal) };
}

async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('tool calls of a node killed with -9', () => {
  it('[AP15] are failed interrupted: by that node when it starts again, or by another node once their lease ran out, never left running', async () => {
    const database = await createPostgresDatabase();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-app-calls-'));
    await using app = await startFixtureApp();
    const nodes: Node[] = [];
    try {
      const shared = {
        DATABASE_URL: database.url,
        PARLEY_ASSISTANT: 'off',
        PARLEY_ASSISTANT_TOKEN: crypto.randomBytes(24).toString('base64url'),
        PARLEY_DATA_DIR: dataDir,
        PARLEY_DURABILITY: 'process',
        PARLEY_LOG_LEVEL: 'warn',
      };
      // Node A's calls have a long lease at first: only its own restart may end them.
      const long = { ...shared, PARLEY_NODE_ID: 'node-a', PARLEY_APP_TIMEOUT_MS: '60000' };
      let a = await startNode(long);
      nodes.push(a);
      const b = await startNode({ ...shared, PARLEY_NODE_ID: 'node-b', PARLEY_APP_TIMEOUT_MS: '2000', PARLEY_APP_LEASE_GRACE_MS: '500' });
      nodes.push(b);

      const password = 'correct horse battery staple';
      const suffix = crypto.randomBytes(3).toString('hex');
      const ann = await ParleyClient.signUp(a.url, { username: `ann_${suffix}`, password, displayName: 'Ann' });
      const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
      await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Calls' } })).conversation.id;
      await ann.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
      const onB = new ParleyClient({ baseUrl: b.url, token: ann.client.token! });
      const read = (callId: string) => () => onB.api.getAppCall({ params: { conversationId: group, callId } });

      /** Starts a slow call on node A, waits until the app has it, and kills A with -9. */
      const callThenKill = async (query: string): Promise<AppCall> => {
        const onA = new ParleyClient({ baseUrl: a.url, token: ann.client.token! });
        const before = app.calls.length;
        const request = onA.api
          .callAppTool({ params: { conversationId: group, appId: added.id }, body: { id: crypto.randomUUID(), tool: 'slow_search', arguments: JSON.stringify({ query, seconds: 120 }) } })
          .catch(() => undefined);
        await until(async () => app.calls.length, (count) => count > before, 'the app to receive the call');
        await a.kill('SIGKILL');
        await request;
        const calls = await onB.api.listAppCalls({ params: { conversationId: group } });
        const call = calls.calls.find((item) => item.arguments.query === query);
        expect(call).toBeDefined();
        return call!;
      };

      // 1. Killed mid-call: the other node leaves the call running (its lease has not run out, its node may come back)…
      const first = await callThenKill('first');
      expect(first.status).toBe('running');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await read(first.id)()).status).toBe('running');
      // …and the node started again under its name fails it at once, for the group to see.
      a = await startNode(long);
      nodes.push(a);
      const recovered = await read(first.id)();
      expect(recovered).toMatchObject({ status: 'failed', result: null });
      expect(recovered.error).toMatch(/^interrupted:/);
      expect(recovered.endedAt).not.toBeNull();
      const events = await onB.api.listEvents({ params: { conversationId: group } });
      expect(events.events.filter((event) => event.type === 'app-call-updated' && event.call.id === first.id).at(-1)).toMatchObject({ call: recovered });

      // 2. Killed mid-call for good, with a short lease this time: node B fails the call once the lease ran out.
      await a.kill('SIGTERM');
      a = await startNode({ ...long, PARLEY_APP_TIMEOUT_MS: '1500', PARLEY_APP_LEASE_GRACE_MS: '500' });
      nodes.push(a);
      const second = await callThenKill('second');
      const swept = await until(read(second.id), (call) => call.status !== 'running', 'node B to fail the call whose lease ran out');
      expect(swept).toMatchObject({ status: 'failed' });
      expect(swept.error).toMatch(/^interrupted:/);
      expect(swept.error).not.toBe(recovered.error);
    } finally {
      for (const node of nodes) await node.kill('SIGTERM');
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
