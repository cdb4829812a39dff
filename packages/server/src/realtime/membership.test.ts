import { describe, expect, it } from 'vitest';
import { admitMember } from '../conversations/membership.js';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { openStream, rawSocket } from '../test/streams.js';

// The member endpoints are built elsewhere; these tests change membership the way they will:
// the table row and its event in one write.
async function removeMember(server: TestServer, conversationId: string, userId: string, actorId: string) {
  await server.server.context.log.write(async (write) => {
    await write.db.deleteFrom('members').where('conversation_id', '=', conversationId).where('user_id', '=', userId).execute();
    await write.append(conversationId, { type: 'member-removed', actorId, userId });
  });
}

async function addMember(server: TestServer, conversationId: string, userId: string, actorId: string) {
  await server.server.context.log.write(async (write) => {
    const conversation = await write.db.selectFrom('conversations').selectAll().where('id', '=', conversationId).executeTakeFirstOrThrow();
    const user = await write.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow();
    await admitMember(write, { conversation, user, actorId, via: 'username' });
  });
}

async function send(sender: TestUser, conversationId: string, text: string) {
  return sender.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('membership on live sockets', () => {
  it('[EL7] a removed member receives member-removed on the open socket and then nothing more of that conversation', async () => {
    await using server = await startTestServer();
    const [ann, bob, cat] = [await server.user(), await server.user(), await server.user()];
    const created = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username, cat.user.username] } });
    const id = created.conversation.id;
    using bobStream = openStream(bob.client);
    using catStream = openStream(cat.client);
    await Promise.all([bobStream.stream.synced(), catStream.stream.synced()]);
    const bobRaw = await rawSocket(server.url, bob.client.token!);
    const annRaw = await rawSocket(server.url, ann.client.token!);

    await send(ann, id, 'before');
    await removeMember(server, id, bob.user.id, ann.user.id);
    await send(ann, id, 'after 1');
    annRaw.send({ type: 'typing', conversationId: id });
    await send(ann, id, 'after 2');
    await catStream.until(() => catStream.seqs(id).length === 4);
    await catStream.until(() => catStream.typing.length === 1);
    await pause(50);

    expect(catStream.seqs(id)).toEqual([2, 3, 4, 5]);
    expect(bobStream.seqs(id)).toEqual([2, 3]);
    expect(bobStream.events.at(-1)).toMatchObject({ type: 'member-removed', userId: bob.user.id, seq: 3 });
    expect(bobStream.typing).toEqual([]);
    const bobRawEvents = bobRaw.frames.flatMap((frame) => (frame.type === 'event' ? [frame.event.seq] : []));
    expect(bobRawEvents).toEqual([2, 3]);
    expect(bobStream.stream.positions).toEqual({});

    // Typing for it is refused now, and the socket stays open.
    const count = bobRaw.frames.length;
    bobRaw.send({ type: 'typing', conversationId: id });
    const error = await bobRaw.frame((frame) => frame.type === 'error', count);
    expect(error).toMatchObject({ error: { code: 'NOT_FOUND', field: 'frame.conversationId' } });
    expect(bobRaw.ws.readyState).toBe(bobRaw.ws.OPEN);
    bobRaw.ws.close();
    annRaw.ws.close();
  });

  it('[EL6] a new connection naming a conversation the account was removed from gets it in welcome.revoked and nothing of it', async () => {
    await using server = await startTestServer();
    const [ann, bob] = [await server.user(), await server.user()];
    const created = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const id = created.conversation.id;
    const kept = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } })).conversation.id;
    await send(ann, id, 'one');
    await removeMember(server, id, bob.user.id, ann.user.id);
    await send(ann, id, 'two');

    using named = openStream(bob.client, { positions: { [id]: 1, [kept]: 0 } });
    await named.stream.synced();
    expect(named.welcomes[0]).toMatchObject({ revoked: [id], conversations: [{ conversationId: kept, lastSeq: 1 }] });
    expect(named.revoked).toEqual([[id]]);
    expect(named.seqs(id)).toEqual([]);
    expect(named.seqs(kept)).toEqual([1]);
    expect(named.stream.positions).toEqual({ [kept]: 1 });
    await send(ann, id, 'three');
    await send(ann, kept, 'kept');
    await named.until(() => named.seqs(kept).length === 2);
    expect(named.seqs(id)).toEqual([]);

    using unnamed = openStream(bob.client);
    await unnamed.stream.synced();
    expect(unnamed.welcomes[0]?.revoked).toEqual([]);
  });

  it('[EL6] [EL13] removed while the stream was away: the reconnect reports it revoked and sends nothing of it', async () => {
    await using server = await startTestServer();
    const [ann, bob] = [await server.user(), await server.user()];
    const id = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } })).conversation.id;
    using stream = openStream(bob.client);
    await stream.stream.synced();
    await send(ann, id, 'hello');
    await stream.until(() => stream.seqs(id).length === 1);
    stream.hold();
    stream.stream.drop();
    // Closed at both ends: what follows happens while the stream is away.
    await stream.until(() => stream.closed === 1);
    await removeMember(server, id, bob.user.id, ann.user.id);
    await send(ann, id, 'behind your back');
    stream.release();
    await stream.until(() => stream.synced.length === 2);
    expect(stream.revoked).toEqual([[id]]);
    expect(stream.seqs(id)).toEqual([2]);
    expect(stream.stream.positions).toEqual({});
  });

  it('[EL8] a member added while connected receives the conversation from the member-added on', async () => {
    await using server = await startTestServer();
    const [ann, bob] = [await server.user(), await server.user()];
    const id = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [] } })).conversation.id;
    using bobStream = openStream(bob.client);
    await bobStream.stream.synced();
    await send(ann, id, 'before bob');
    await addMember(server, id, bob.user.id, ann.user.id);
    await send(ann, id, 'with bob');
    await bobStream.until(() => bobStream.seqs(id).length === 2);
    expect(bobStream.seqs(id)).toEqual([3, 4]);
    expect(bobStream.events[0]).toMatchObject({ type: 'member-added', member: { userId: bob.user.id } });
    expect(bobStream.stream.positions).toEqual({ [id]: 4 });
    // Typing now reaches the new member.
    const annRaw = await rawSocket(server.url, ann.client.token!);
    annRaw.send({ type: 'typing', conversationId: id });
    await bobStream.until(() => bobStream.typing.length === 1);
    annRaw.ws.close();
  });

  it('[EL8] conversation-created reaches every open socket of every initial member, and no one else', async () => {
    await using server = await startTestServer();
    const [ann, bob, cat, dan] = [await server.user(), await server.user(), await server.user(), await server.user()];
    const streams = {
      ann: openStream(ann.client),
      bobLaptop: openStream(bob.client),
      bobPhone: openStream(bob.client),
      cat: openStream(cat.client),
      dan: openStream(dan.client),
    };
    await Promise.all(Object.values(streams).map((stream) => stream.stream.synced()));
    const id = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username, cat.user.username] } })).conversation.id;
    await send(ann, id, 'welcome all');
    for (const name of ['ann', 'bobLaptop', 'bobPhone', 'cat'] as const) {
      const stream = streams[name];
      await stream.until(() => stream.seqs(id).length === 2);
      expect(stream.seqs(id), name).toEqual([1, 2]);
      expect(stream.events[0]?.type, name).toBe('conversation-created');
    }
    await pause(50);
    expect(streams.dan.events).toEqual([]);
    for (const stream of Object.values(streams)) stream.close();
  });
});
