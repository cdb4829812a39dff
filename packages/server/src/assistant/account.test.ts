import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { startServer } from '../server.js';
import { failure, people, silentLogger, startTestServer } from '../test/harness.js';
import { rawSocket } from '../test/streams.js';

describe('[AS1] the assistant account', () => {
  it('is a bot account made at startup, whose generated token is kept in the data directory (0600) and read again after a restart', async () => {
    await using server = await startTestServer();
    const { userId, token } = server.assistant;
    expect(server.server.assistant).toEqual({ userId, token });
    const me = await server.assistant.client.api.getMe();
    expect(me).toMatchObject({ id: userId, username: 'assistant', kind: 'bot', profileComplete: true });
    const file = path.join(server.dataDir, 'assistant-token');
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(token);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    await server.restart();
    expect(server.assistant).toMatchObject({ userId, token });
    expect((await new ParleyClient({ baseUrl: server.url, token }).api.getMe()).id).toBe(userId);
    // Its session never expires.
    const session = await server.server.context.storage.reader.selectFrom('sessions').select('expires_at').where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(session.expires_at.startsWith('9999')).toBe(true);
  });

  it('takes a configured token; a new one replaces the old, and a malformed one stops the start', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-test-'));
    const config = { port: 0, dataDir, durability: 'process' as const };
    try {
      const first = 'a'.repeat(40);
      const second = 'b'.repeat(40);
      let server = await startServer({ config: { ...config, assistantToken: first }, logger: silentLogger() });
      expect(server.assistant.token).toBe(first);
      const userId = server.assistant.userId;
      expect(fs.existsSync(path.join(dataDir, 'assistant-token'))).toBe(false);
      await server.close();
      server = await startServer({ config: { ...config, assistantToken: second }, logger: silentLogger() });
      try {
        expect(server.assistant).toEqual({ userId, token: second });
        expect((await new ParleyClient({ baseUrl: server.url, token: second }).api.getMe()).id).toBe(userId);
        expect(await failure(new ParleyClient({ baseUrl: server.url, token: first }).api.getMe())).toMatchObject({ code: 'UNAUTHENTICATED' });
      } finally {
        await server.close();
      }
      await expect(startServer({ config: { ...config, assistantToken: 'short' }, logger: silentLogger() })).rejects.toThrow(/PARLEY_ASSISTANT_TOKEN/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps its name: nobody signs up as or renames themselves to @assistant', async () => {
    await using server = await startTestServer();
    expect(
      await failure(ParleyClient.signUp(server.url, { username: 'Assistant', password: 'correct horse battery staple', displayName: 'Fake' })),
    ).toMatchObject({ code: 'USERNAME_TAKEN', field: 'body.username' });
    const ann = await server.user();
    expect(await failure(ann.client.api.updateMe({ body: { username: 'assistant' } }))).toMatchObject({ code: 'USERNAME_TAKEN', field: 'body.username' });
    expect((await ann.client.api.getMe()).username).toBe(ann.user.username);
  });
});

describe('[AS2] the assistant as a member', () => {
  it('joins every group and assistant conversation as they are made, is told of them live, and never joins a direct one', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const botSocket = await rawSocket(server.url, server.assistant.token);
    const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'G', usernames: [bob.user.username] } });
    expect(group.members.map((member) => [member.userId, member.role])).toEqual([
      [ann.user.id, 'creator'],
      [bob.user.id, 'member'],
      [server.assistant.userId, 'assistant'],
    ]);
    const created = await botSocket.frame((frame) => frame.type === 'event' && frame.event.type === 'conversation-created');
    expect(created).toMatchObject({ event: { conversationId: group.conversation.id, members: [{}, {}, { userId: server.assistant.userId, role: 'assistant', user: { kind: 'bot' } }] } });

    const chat = await ann.client.api.createConversation({ body: { kind: 'assistant' } });
    expect(chat.members.map((member) => member.role)).toEqual(['creator', 'assistant']);
    const direct = await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } });
    expect(direct.members.map((member) => member.userId)).toEqual([ann.user.id, bob.user.id]);
    expect(await failure(ann.client.api.createConversation({ body: { kind: 'direct', username: 'assistant' } }))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'body.username',
    });
    expect(await failure(server.assistant.client.api.getConversation({ params: { conversationId: direct.conversation.id } }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('takes no seat: a full group still has it, an invite counts people only, and naming it changes nothing', async () => {
    await using server = await startTestServer({ config: { groupMemberLimit: 2 } });
    const ann = await server.user();
    const bob = await server.user();
    const cat = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username, 'assistant'] } });
    expect(group.members.map((member) => member.userId)).toEqual([ann.user.id, bob.user.id, server.assistant.userId]);
    expect(await failure(ann.client.api.addMember({ params: { conversationId: group.conversation.id }, body: { username: cat.user.username } }))).toMatchObject({
      code: 'GROUP_FULL',
    });
    expect(await failure(ann.client.api.addMember({ params: { conversationId: group.conversation.id }, body: { username: 'assistant' } }))).toMatchObject({
      code: 'ALREADY_MEMBER',
    });
    const invite = await ann.client.api.createInvite({ params: { conversationId: group.conversation.id }, body: {} });
    expect(await cat.client.api.previewInvite({ params: { token: invite.token! } })).toMatchObject({ memberCount: 2, memberLimit: 2 });
    await ann.client.api.removeMember({ params: { conversationId: group.conversation.id, userId: bob.user.id } });
    await cat.client.api.joinInvite({ params: { token: invite.token! }, body: {} });
    const { members } = await cat.client.api.listMembers({ params: { conversationId: group.conversation.id } });
    expect(people(members).map((member) => member.userId)).toEqual([ann.user.id, cat.user.id]);
    expect(members.at(-1)?.userId).toBe(server.assistant.userId);
  });

  it('cannot be removed and does not leave', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group' } })).conversation.id;
    expect(await failure(ann.client.api.removeMember({ params: { conversationId: group, userId: server.assistant.userId } }))).toMatchObject({
      code: 'FORBIDDEN',
      field: 'params.userId',
    });
    expect(await failure(server.assistant.client.api.leaveConversation({ params: { conversationId: group } }))).toMatchObject({ code: 'FORBIDDEN' });
    const { members } = await ann.client.api.listMembers({ params: { conversationId: group } });
    expect(members.map((member) => member.userId)).toEqual([ann.user.id, server.assistant.userId]);
  });

  it('is let back into a conversation that lacks it (a database from before the assistant) at startup, with member-added', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Old' } })).conversation.id;
    await server.server.context.log.write(async ({ db }) => {
      await db.deleteFrom('members').where('user_id', '=', server.assistant.userId).execute();
    });
    expect((await ann.client.api.listMembers({ params: { conversationId: group } })).members).toHaveLength(1);
    await server.restart();
    const { members } = await ann.client.api.listMembers({ params: { conversationId: group } });
    expect(members.map((member) => [member.userId, member.role])).toEqual([
      [ann.user.id, 'creator'],
      [server.assistant.userId, 'assistant'],
    ]);
    const { events } = await ann.client.api.listEvents({ params: { conversationId: group } });
    expect(events.at(-1)).toMatchObject({ type: 'member-added', member: { userId: server.assistant.userId, role: 'assistant' } });
  });
});
