import { INJECTION_TEXT, startFixtureApp, type FixtureApp } from '@parley/apps/test';
import type { AppCall, ConversationEvent, Message } from '@parley/protocol';
import { EventStream } from '@parley/sdk';
import { failure, messageId, silentLogger, startTestServer, type TestServer, type TestUser } from '@parley/server/test';
import { describe, expect, it } from 'vitest';
import { loadModels } from '../providers/models.js';
import { type ScriptedModelServer, startScriptedOpenAiServer } from '../test/index.js';
import { toolNameOf } from './app-tools.js';
import { AssistantRuntime } from './assistant-runtime.js';

interface Scene extends AsyncDisposable {
  server: TestServer;
  model: ScriptedModelServer;
  app: FixtureApp;
  ann: TestUser;
  bob: TestUser;
  carol: TestUser;
  group: string;
  appId: string;
  /** Bob's view of the group's events. */
  events: ConversationEvent[];
  until(check: () => boolean, what: string): Promise<void>;
}

/** Ann (the first account, an administrator) approved the fixture app; Bob switched it on in a group of three. */
async function scene(): Promise<Scene> {
  const server = await startTestServer();
  const model = await startScriptedOpenAiServer();
  const app = await startFixtureApp();
  const models = loadModels({
    PARLEY_MODEL_PROVIDER: 'openai-compatible',
    PARLEY_MODEL: 'test-model',
    PARLEY_MODEL_BASE_URL: model.url,
    PARLEY_MODEL_API_KEY: 'test-key',
    PARLEY_MODEL_TIMEOUT_MS: '1500',
    PARLEY_MODEL_MAX_RETRIES: '0',
  });
  const assistant = new AssistantRuntime({ baseUrl: server.url, token: server.assistant.token, models, logger: silentLogger() });
  await assistant.start();
  const ann = await server.user();
  const bob = await server.user();
  const carol = await server.user();
  const added = await ann.client.api.createApp({ body: { name: 'Weather', url: app.url } });
  await ann.client.api.reviewApp({ params: { appId: added.id }, body: { decision: 'approve', hash: added.listing!.hash } });
  const group = (
    await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username, carol.user.username] } })
  ).conversation.id;
  await bob.client.api.setConversationApp({ params: { conversationId: group, appId: added.id }, body: { enabled: true } });
  const events: ConversationEvent[] = [];
  const stream = new EventStream(bob.client, { event: (event) => events.push(event) });
  await stream.synced();
  return {
    server,
    model,
    app,
    ann,
    bob,
    carol,
    group,
    appId: added.id,
    events,
    until(check, what) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = () => {
          if (check()) return resolve();
          if (Date.now() - started > 8000) return reject(new Error(`timed out waiting for ${what}`));
          setTimeout(poll, 10);
        };
        poll();
      });
    },
    async [Symbol.asyncDispose]() {
      stream.close();
      await assistant.close();
      await model.close();
      await app.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

const answers = (events: ConversationEvent[]): Message[] =>
  events.flatMap((event) => (event.type === 'message-created' && event.message.turn ? [event.message] : []));
const calls = (events: ConversationEvent[]): AppCall[] =>
  events.flatMap((event) => (event.type === 'app-call-created' || event.type === 'app-call-updated' ? [event.call] : []));

function ask(user: TestUser, conversationId: string, text: string) {
  return user.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

/** The messages of the model's nth request, as JSON text. */
function requestText(model: ScriptedModelServer, index: number): string {
  return JSON.stringify(model.requests[index]?.body ?? {});
}

describe('the assistant calls the tools of the apps switched on', () => {
  it('[RT-AP1] offers the model-visible tools, runs a read-only one at once, and hands its output back as untrusted data', async () => {
    await using s = await scene();
    const weather = toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'get_weather' });
    s.model.push({ kind: 'tool-calls', calls: [{ name: weather, input: { city: 'Lyon' } }] }, { kind: 'text', chunks: ['21 °C in Lyon.'] });
    await ask(s.bob, s.group, '@assistant what is the weather in Lyon?');
    await s.until(() => answers(s.events).length === 1, 'the answer');
    expect(answers(s.events)[0]?.text).toBe('21 °C in Lyon.');
    expect(s.app.calls).toEqual([{ tool: 'get_weather', arguments: { city: 'Lyon' } }]);
    const body = s.model.requests[0]?.body as { tools?: Array<{ function: { name: string } }> } | undefined;
    const offered = (body?.tools ?? []).map((tool) => tool.function.name);
    expect(offered).toContain(weather);
    expect(offered).toContain(toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'delete_note' }));
    // The widget-only tool is never offered to the model [AP8].
    expect(offered).not.toContain(toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'refresh_card' }));
    const second = requestText(s.model, 1);
    expect(second).toContain('Lyon: 21 °C');
    expect(second).toMatch(/untrusted data from a third party/);
    expect(second).toMatch(/<untrusted-data-[A-Za-z0-9_-]+>/);
    const [call] = (await s.carol.client.api.listAppCalls({ params: { conversationId: s.group } })).calls;
    expect(call).toMatchObject({ status: 'completed', askedBy: s.bob.user.id, requestedBy: s.server.assistant.userId, approval: 'read-only' });
  });

  it('[RT-AP1] an app switched off, or back in review after its tools changed, is offered to the model no more', async () => {
    await using s = await scene();
    const weather = toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'get_weather' });
    const offered = (index: number) =>
      ((s.model.requests[index]?.body as { tools?: Array<{ function: { name: string } }> } | undefined)?.tools ?? []).map((tool) => tool.function.name);
    const answered = async (count: number, text: string) => {
      s.model.push({ kind: 'text', chunks: [text] });
      await ask(s.bob, s.group, `@assistant ${text}`);
      await s.until(() => answers(s.events).length === count, `answer ${count}`);
    };
    await answered(1, 'first');
    expect(offered(0)).toContain(weather);

    await s.bob.client.api.setConversationApp({ params: { conversationId: s.group, appId: s.appId }, body: { enabled: false } });
    await answered(2, 'second');
    expect(offered(1).filter((name) => name.startsWith('Weather__'))).toEqual([]);

    // On again, then its tools change: back in review, it is offered nowhere, not even where it is on.
    await s.bob.client.api.setConversationApp({ params: { conversationId: s.group, appId: s.appId }, body: { enabled: true } });
    s.app.drift(true);
    expect((await s.ann.client.api.refreshApp({ params: { appId: s.appId } })).status).toBe('review');
    await answered(3, 'third');
    expect(offered(2).filter((name) => name.startsWith('Weather__'))).toEqual([]);
    expect(s.app.calls).toEqual([]);
  });

  it('[RT-AP2] a write call waits for the asker: another member is refused, the asker approves, then it runs', async () => {
    await using s = await scene();
    const del = toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'delete_note' });
    s.model.push({ kind: 'tool-calls', calls: [{ name: del, input: { id: 'n1' } }] }, { kind: 'text', chunks: ['Deleted.'] });
    await ask(s.bob, s.group, '@assistant delete note n1');
    await s.until(() => calls(s.events).some((call) => call.status === 'pending'), 'the confirmation card');
    const pending = calls(s.events).find((call) => call.status === 'pending')!;
    expect(pending).toMatchObject({ tool: 'delete_note', arguments: { id: 'n1' }, askedBy: s.bob.user.id });
    expect(s.app.calls).toEqual([]);
    const refused = await failure(s.carol.client.api.decideAppCall({ params: { conversationId: s.group, callId: pending.id }, body: { decision: 'approve-once' } }));
    expect(refused.code).toBe('FORBIDDEN');
    expect(s.app.calls).toEqual([]);
    await s.bob.client.api.decideAppCall({ params: { conversationId: s.group, callId: pending.id }, body: { decision: 'approve-once' } });
    await s.until(() => answers(s.events).length === 1, 'the answer');
    expect(answers(s.events)[0]?.text).toBe('Deleted.');
    expect(s.app.calls).toEqual([{ tool: 'delete_note', arguments: { id: 'n1' } }]);
    expect(requestText(s.model, 1)).toContain('deleted note n1');
  });

  it('[RT-AP4] a denial runs nothing and goes back to the model, which says so', async () => {
    await using s = await scene();
    const del = toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'delete_note' });
    s.model.push({ kind: 'tool-calls', calls: [{ name: del, input: { id: 'n1' } }] }, { kind: 'text', chunks: ['I did not delete it: you said no.'] });
    await ask(s.bob, s.group, '@assistant delete note n1');
    await s.until(() => calls(s.events).some((call) => call.status === 'pending'), 'the confirmation card');
    const pending = calls(s.events).find((call) => call.status === 'pending')!;
    await s.bob.client.api.decideAppCall({ params: { conversationId: s.group, callId: pending.id }, body: { decision: 'deny' } });
    await s.until(() => answers(s.events).length === 1, 'the answer');
    expect(s.app.calls).toEqual([]);
    expect(requestText(s.model, 1)).toContain('denied this call');
  });

  it('[RT-AP3] output that asks for another call gets a confirmation card, never a silent call', async () => {
    await using s = await scene();
    const inbox = toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'read_inbox' });
    const del = toolNameOf({ id: s.appId, name: 'Weather' }, { name: 'delete_note' });
    // A model that falls for the injected text and calls the destructive tool.
    s.model.push(
      { kind: 'tool-calls', calls: [{ name: inbox, input: {} }] },
      { kind: 'tool-calls', calls: [{ name: del, input: { id: 'all' } }] },
      { kind: 'text', chunks: ['Not deleted.'] },
    );
    await ask(s.bob, s.group, '@assistant read my inbox');
    await s.until(() => calls(s.events).some((call) => call.tool === 'delete_note' && call.status === 'pending'), 'the confirmation card');
    expect(requestText(s.model, 1)).toContain(JSON.stringify(INJECTION_TEXT).slice(1, 40));
    expect(s.app.calls.map((call) => call.tool)).toEqual(['read_inbox']);
    const pending = calls(s.events).find((call) => call.tool === 'delete_note')!;
    await s.bob.client.api.decideAppCall({ params: { conversationId: s.group, callId: pending.id }, body: { decision: 'deny' } });
    await s.until(() => answers(s.events).length === 1, 'the answer');
    expect(s.app.calls.map((call) => call.tool)).toEqual(['read_inbox']);
  });
});
