import { describe, expect, it } from 'vitest';
import { messageId, startTestServer, type TestServer, type TestUser } from '../test/harness.js';
import { type HeldStream, openStream } from '../test/streams.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

async function send(sender: TestUser, conversationId: string, text: string) {
  return sender.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text } });
}

async function group(server: TestServer, creator: TestUser, others: TestUser[]) {
  const created = await creator.client.api.createConversation({
    body: { kind: 'group', title: 'Resume', usernames: others.map((other) => other.user.username) },
  });
  return created.conversation.id;
}

/** Every message id appears once: no duplicate delivery. */
function messageIds(stream: HeldStream): string[] {
  return stream.events.flatMap((event) => (event.type === 'message-created' ? [event.message.id] : []));
}

describe('resume', () => {
  it('[EL5] [EL13] after a dropped socket, every event arrives exactly once and in order, including those sent during the outage', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const id = await group(server, bob, [ann]);
    using a = openStream(ann.client);
    await a.stream.synced();
    for (let index = 0; index < 3; index += 1) await send(bob, id, `before ${index}`);
    await a.until(() => a.seqs(id).length === 3);

    a.hold();
    a.stream.drop();
    await a.until(() => a.closed === 1);
    // The outage: the stream cannot reconnect until released.
    for (let index = 0; index < 4; index += 1) await send(bob, id, `during ${index}`);
    const releasing = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      a.release();
    })();
    // Sent while the stream reconnects and catches up.
    await Promise.all(range(0, 4).map((index) => send(bob, id, `racing ${index}`)));
    await releasing;
    await a.until(() => a.seqs(id).length === 12);
    await a.stream.synced();
    for (let index = 0; index < 2; index += 1) await send(bob, id, `after ${index}`);
    await a.until(() => a.seqs(id).length === 14);
    await new Promise((resolve) => setTimeout(resolve, 50));

    // conversation-created (seq 1) came before the stream connected.
    expect(a.seqs(id)).toEqual(range(2, 15));
    expect(new Set(messageIds(a)).size).toBe(14);
    expect(a.opened).toBe(2);
    expect(a.stream.positions[id]).toBe(15);
    expect(a.errors).toEqual([]);
  });

  it('[EL5] a new stream resumes from the positions an old one held', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const first = await group(server, bob, [ann]);
    const second = await group(server, bob, [ann]);
    const old = openStream(ann.client);
    await old.stream.synced();
    await send(bob, first, 'one');
    await send(bob, second, 'one');
    await old.until(() => old.events.length === 2);
    const positions = old.stream.positions;
    old.close();
    expect(positions).toEqual({ [first]: 2, [second]: 2 });

    for (let index = 0; index < 3; index += 1) await send(bob, first, `missed ${index}`);
    await send(bob, second, 'missed');
    using resumed = openStream(ann.client, { positions });
    await resumed.stream.synced();
    expect(resumed.synced).toEqual([{ type: 'synced', replayed: 4 }]);
    expect(resumed.seqs(first)).toEqual([3, 4, 5]);
    expect(resumed.seqs(second)).toEqual([3]);
    await send(bob, first, 'live');
    await resumed.until(() => resumed.seqs(first).length === 4);
    expect(resumed.seqs(first)).toEqual([3, 4, 5, 6]);
  });

  it('[EL5] a stream from position 0 receives the whole log, conversation-created first', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const id = await group(server, bob, [ann]);
    for (let index = 0; index < 5; index += 1) await send(bob, id, `message ${index}`);
    using stream = openStream(ann.client, { positions: { [id]: 0 } });
    await stream.stream.synced();
    expect(stream.seqs(id)).toEqual(range(1, 6));
    expect(stream.events[0]?.type).toBe('conversation-created');
    expect(stream.synced[0]?.replayed).toBe(6);
  });

  it('[EL5] [EL13] a conversation the stream never heard from before a drop still resumes from where welcome put it', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const id = await group(server, bob, [ann]);
    using a = openStream(ann.client);
    await a.stream.synced();
    // No event of the conversation yet: the position comes from welcome's lastSeq.
    expect(a.stream.positions).toEqual({ [id]: 1 });
    a.hold();
    a.stream.drop();
    await a.until(() => a.closed === 1);
    await send(bob, id, 'while away');
    a.release();
    await a.until(() => a.seqs(id).length === 1);
    expect(a.seqs(id)).toEqual([2]);
  });

  it('[EL5] [EL13] after a server restart the stream reconnects and resumes without loss or duplicate', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const id = await group(server, bob, [ann]);
    using a = openStream(ann.client, { maxBackoffMs: 200 });
    await a.stream.synced();
    await send(bob, id, 'before');
    await a.until(() => a.seqs(id).length === 1);
    await server.restart();
    await send(bob, id, 'after 1');
    await send(bob, id, 'after 2');
    await a.until(() => a.seqs(id).length === 3, 10_000);
    expect(a.seqs(id)).toEqual([2, 3, 4]);
    expect(a.opened).toBeGreaterThanOrEqual(2);
    expect(a.errors).toEqual([]);
  });

  it('[EL4] [EL5] soak: many conversations, concurrent senders and random drops; every client gets every event once, in order', async () => {
    await using server = await startTestServer({ config: { floodLimit: { burst: 100_000, perMinute: 1_000_000 } } });
    // A fixed seed keeps a failure reproducible.
    let seed = 0x2f6b1d;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const people = await Promise.all(range(1, 8).map(() => server.user()));
    const groups: Array<{ id: string; members: TestUser[] }> = [];
    for (let index = 0; index < 6; index += 1) {
      const members = people.filter(() => random() < 0.6);
      const creator = people[index % people.length]!;
      const others = members.filter((member) => member !== creator).slice(0, 5);
      groups.push({ id: await group(server, creator, others), members: [creator, ...others] });
    }
    const streams = people.map((person) => openStream(person.client));
    await Promise.all(streams.map((stream) => stream.stream.synced()));
    const start = new Map(streams.map((stream, index) => [index, new Map(stream.welcomes[0]!.conversations.map((row) => [row.conversationId, row.lastSeq]))]));

    // Sending goes on until the sockets were dropped and reopened enough times (a fast machine
    // sends 40 messages a group before many drops), or the deadline says reconnecting is broken.
    const deadline = Date.now() + 8000;
    const reopened = () => streams.reduce((sum, stream) => sum + stream.opened, 0) - streams.length;
    let dropping = true;
    const dropper = (async () => {
      while (dropping) {
        await new Promise((resolve) => setTimeout(resolve, 20 + random() * 80));
        streams[Math.floor(random() * streams.length)]!.stream.drop();
      }
    })();
    let sent = 0;
    await Promise.all(
      groups.map(async ({ id, members }) => {
        for (let index = 0; (index < 40 || reopened() <= 10) && Date.now() < deadline; index += 1) {
          // Two members at once: concurrent senders in the same conversation.
          await Promise.all(members.slice(0, 2).map((member) => send(member, id, `soak ${index}`)));
          sent += Math.min(2, members.length);
        }
      }),
    );
    dropping = false;
    await dropper;
    expect(sent).toBeGreaterThan(100);

    const finals = new Map<string, number>();
    for (const { id, members } of groups) {
      const page = await members[0]!.client.api.listEvents({ params: { conversationId: id }, query: { after: 0, limit: 1000 } });
      finals.set(id, page.lastSeq);
    }
    for (const [index, stream] of streams.entries()) {
      const person = people[index]!;
      const mine = groups.filter((entry) => entry.members.includes(person));
      await stream.until(() => mine.every(({ id }) => stream.stream.positions[id] === finals.get(id)), 10_000);
      for (const { id } of mine) {
        const from = start.get(index)!.get(id)!;
        expect(stream.seqs(id), `${person.user.username} in ${id}`).toEqual(range(from + 1, finals.get(id)!));
      }
      const others = groups.filter((entry) => !entry.members.includes(person));
      for (const { id } of others) expect(stream.seqs(id)).toEqual([]);
      expect(stream.errors).toEqual([]);
    }
    expect(reopened()).toBeGreaterThan(10);
    for (const stream of streams) stream.close();
  });
});
