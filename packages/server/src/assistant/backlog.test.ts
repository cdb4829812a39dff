import { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { say } from '../test/assistant.js';
import { failure, messageId, startTestServer } from '../test/harness.js';
import { backlogQuery } from './backlog.js';

describe("the assistant's backlog", () => {
    it('[AB1] is for a bot only: a person is refused before the query is read, a stranger is asked to sign in', async () => {
      await using server = await startTestServer();
      const ann = await server.user();
      expect(await failure(ann.client.api.listAssistantBacklog({ query: { since: new Date(0).toISOString() } }))).toMatchObject({ code: 'FORBIDDEN' });
      // An invalid query from a person is still FORBIDDEN: nothing is parsed for them.
      const response = await fetch(`${server.url}/api/assistant/backlog?since=yesterday&limit=9999`, { headers: { authorization: `Bearer ${ann.client.token}` } });
      expect(response.status).toBe(403);
      const anonymous = await fetch(`${server.url}/api/assistant/backlog?since=${new Date(0).toISOString()}`);
      expect(anonymous.status).toBe(401);
      const bot = await fetch(`${server.url}/api/assistant/backlog?since=yesterday`, { headers: { authorization: `Bearer ${server.assistant.token}` } });
      expect(bot.status).toBe(400);
    });

    it('[AB2] lists the people\'s messages it has not decided on, with whom they reply to; not decided, answered, deleted, its own or copied ones', async () => {
      await using server = await startTestServer();
      const ann = await server.user();
      const bob = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } })).conversation.id;
      const bot = server.assistant.client;
      const since = new Date(Date.now() - 60_000).toISOString();

      const decided = await say(ann.client, group, 'Parley, decided');
      await bot.api.recordDecision({ params: { conversationId: group }, body: { messageId: decided.id, action: 'silent', reason: 'test' } });
      const answered = await say(ann.client, group, 'Parley, answered');
      const turnId = messageId();
      await bot.api.startTurn({ params: { conversationId: group }, body: { id: turnId, triggerMessageId: answered.id } });
      const answer = await bot.api.endTurn({ params: { conversationId: group, turnId }, body: { status: 'completed', text: 'Done.' } });
      const deleted = await say(bob.client, group, 'oops');
      await bob.client.api.deleteMessage({ params: { conversationId: group, messageId: deleted.id } });
      const plain = await say(bob.client, group, 'anyone up for lunch?');
      const reply = await bob.client.api.sendMessage({
        params: { conversationId: group },
        body: { id: messageId(), text: 'thanks', replyToId: answer.messageId! },
      });
      // Not a member: a direct conversation between the two people.
      const direct = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
      await say(ann.client, direct, 'just us');

      const { entries, next } = await bot.api.listAssistantBacklog({ query: { since } });
      expect(entries.map((entry) => [entry.message.id, entry.replyToAuthorId])).toEqual([
        [plain.id, null],
        [reply.id, server.assistant.userId],
      ]);
      expect(next).toBeNull();

      // History copied into a new group keeps its time: left out [AB2].
      // The group's messages (and their events) are made 30 minutes old; the copies are written now.
      const old = new Date(Date.now() - 30 * 60_000).toISOString();
      const writer = server.server.context.storage.writer;
      await writer.updateTable('messages').set({ created_at: old }).where('conversation_id', '=', group).execute();
      await writer.updateTable('events').set({ created_at: old }).where('conversation_id', '=', group).execute();
      const fork = (await bob.client.api.forkConversation({ params: { conversationId: group }, body: {} })).conversation.id;
      const late = await say(bob.client, fork, 'Parley, new here');
      const after = await bot.api.listAssistantBacklog({ query: { since: new Date(Date.now() - 60 * 60_000).toISOString() } });
      expect(after.entries.map((entry) => entry.message.id).sort()).toEqual([plain.id, reply.id, late.id].sort());
    });

    it('[AB3] pages oldest first with a bounded limit; the next query continues where the last page ended', async () => {
      await using server = await startTestServer();
      const ann = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Many' } })).conversation.id;
      const sent = [];
      for (let index = 0; index < 5; index += 1) sent.push(await say(ann.client, group, `message ${index}`));
      // Two of them share a time: the id orders them.
      await server.server.context.storage.writer.updateTable('messages').set({ created_at: sent[1]!.createdAt }).where('id', '=', sent[2]!.id).execute();
      const bot = server.assistant.client;
      const seen: string[] = [];
      let query: { since: string; afterId?: string } = { since: new Date(Date.now() - 60_000).toISOString() };
      let pages = 0;
      for (;;) {
        const page = await bot.api.listAssistantBacklog({ query: { ...query, limit: 2 } });
        expect(page.entries.length).toBeLessThanOrEqual(2);
        seen.push(...page.entries.map((entry) => entry.message.id));
        pages += 1;
        if (!page.next) break;
        query = page.next;
      }
      expect(seen.sort()).toEqual(sent.map((message) => message.id).sort());
      expect(new Set(seen).size).toBe(5);
      expect(pages).toBe(3);
      expect(await failure(bot.api.listAssistantBacklog({ query: { since: query.since, limit: 201 } }))).toMatchObject({ code: 'INVALID_INPUT' });
    });

    it('[AB4] reads the window, not the history: a conversation of 20,000 old messages is read from `since` on, in index order', async () => {
      await using server = await startTestServer();
      const ann = await server.user();
      const group = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Long' } })).conversation.id;
      const { writer, reader } = server.server.context.storage;
      // A month-old history written in bulk, seqs below the messages sent now.
      const old = Date.now() - 30 * 86_400_000;
      await writer.updateTable('conversations').set({ last_seq: 20_000 }).where('id', '=', group).execute();
      for (let first = 1; first <= 20_000; first += 500) {
        const rows = Array.from({ length: 500 }, (_, index) => ({
          id: `old-${first + index}`,
          conversation_id: group,
          seq: first + index,
          author_id: ann.user.id,
          text: `old ${first + index}`,
          mentions: '[]',
          reply_to_id: null,
          created_at: new Date(old + (first + index) * 1000).toISOString(),
          edited_at: null,
          deleted_at: null,
        }));
        await writer.insertInto('messages').values(rows).execute();
      }
      const recent = [await say(ann.client, group, 'Parley, one'), await say(ann.client, group, 'Parley, two')];
      const query = { since: new Date(Date.now() - 60_000).toISOString(), limit: 100 };
      const page = await server.assistant.client.api.listAssistantBacklog({ query });
      expect(page.entries.map((entry) => entry.message.id)).toEqual(recent.map((message) => message.id));

      // The plan SQLite chose for each conversation: one range of the index from `since` on, read in
      // its order (no sort of the whole window), so the limit stops the read.
      // PostgreSQL plans by its statistics: fresh ones, as autovacuum keeps them.
      if (server.server.context.storage.kind === 'postgres') await writer.executeQuery(CompiledQuery.raw('analyze messages'));
      for (const after of [undefined, { conversation_id: group, created_at: recent[0]!.createdAt, id: recent[0]!.id }]) {
        const compiled = backlogQuery(reader, server.assistant.userId, group, query.since, after, 100).compile();
        if (server.server.context.storage.kind === 'postgres') {
          const plan = await reader.executeQuery<{ 'QUERY PLAN': unknown }>(CompiledQuery.raw(`explain (format json) ${compiled.sql}`, [...compiled.parameters]));
          const nodes = JSON.stringify(plan.rows[0]?.['QUERY PLAN']);
          expect(nodes).toMatch(/"Index Name":"messages_conversation_created"/);
          expect(nodes).not.toMatch(/"Node Type":"Sort"/);
          continue;
        }
        const plan = await reader.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${compiled.sql}`, [...compiled.parameters]));
        const details = plan.rows.map((row) => row.detail);
        expect(details.filter((detail) => /^(SEARCH|SCAN) messages /.test(detail))).toEqual([
          expect.stringMatching(/^SEARCH messages USING INDEX messages_conversation_created \(conversation_id=\? AND created_at>\?\)$/),
        ]);
        expect(details.filter((detail) => detail.includes('TEMP B-TREE'))).toEqual([]);
      }
      // Paged by one: the cursor is the last message, whatever its time.
      const first = await server.assistant.client.api.listAssistantBacklog({ query: { ...query, limit: 1 } });
      expect(first.entries.map((entry) => entry.message.id)).toEqual([recent[0]!.id]);
      const second = await server.assistant.client.api.listAssistantBacklog({ query: { ...first.next!, limit: 1 } });
      expect(second.entries.map((entry) => entry.message.id)).toEqual([recent[1]!.id]);
      expect(await failure(server.assistant.client.api.listAssistantBacklog({ query: { since: query.since, afterId: messageId() } }))).toMatchObject({ code: 'INVALID_INPUT', field: 'query.afterId' });
      // A message of a conversation the bot is not in is no cursor either: a direct one between two people.
      const bob = await server.user();
      const direct = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
      const elsewhere = await say(ann.client, direct, 'just us');
      expect(await failure(server.assistant.client.api.listAssistantBacklog({ query: { since: query.since, afterId: elsewhere.id } }))).toMatchObject({ code: 'INVALID_INPUT', field: 'query.afterId' });
    });
});
