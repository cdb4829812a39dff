import { type AssistantBacklog, type AssistantBacklogQuerySchema, ParleyError } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { toMessages } from '../messages/views.js';
import type { Database } from '../storage/schema.js';

/** A message whose event was written this much later than the message is a copy (a fork), not news [AB2]. */
export const COPIED_MESSAGE_MS = 60_000;

/** Where a page ended: its last message, in the backlog's order (conversation, time, id). */
interface Position {
  conversation_id: string;
  created_at: string;
  id: string;
}

/**
 * What people said in the bot's conversations that it has not decided on yet [AB2], one bounded
 * page [AB3], read conversation by conversation so that each read is one range of an index [AB4].
 * Whether a message was addressed to it is the assistant's policy to say, not the server's.
 */
export async function listBacklog(
  reader: Kysely<Database>,
  botId: string,
  query: z.output<typeof AssistantBacklogQuerySchema>,
): Promise<AssistantBacklog> {
  const since = new Date(query.since).toISOString();
  let after: Position | undefined;
  if (query.afterId !== undefined) {
    // Only a message of the bot's own conversations: another id tells nothing, not even that it exists.
    after = await reader
      .selectFrom('messages')
      .innerJoin('members', (join) => join.onRef('members.conversation_id', '=', 'messages.conversation_id').on('members.user_id', '=', botId))
      .select(['messages.conversation_id', 'messages.created_at', 'messages.id'])
      .where('messages.id', '=', query.afterId)
      .executeTakeFirst();
    if (!after) throw new ParleyError('INVALID_INPUT', 'afterId: no such message; pass the `next` of the previous page', { field: 'query.afterId' });
  }
  const from = after?.conversation_id;
  const conversations = await reader
    .selectFrom('members')
    .select('conversation_id')
    .where('user_id', '=', botId)
    .$if(from !== undefined, (rows) => rows.where('conversation_id', '>=', from ?? ''))
    .orderBy('conversation_id')
    .execute();
  const rows: Awaited<ReturnType<ReturnType<typeof backlogQuery>['execute']>> = [];
  for (const { conversation_id: conversationId } of conversations) {
    const remaining = query.limit - rows.length;
    if (remaining <= 0) break;
    rows.push(...(await backlogQuery(reader, botId, conversationId, since, after?.conversation_id === conversationId ? after : undefined, remaining).execute()));
  }
  const last = rows.at(-1);
  // A copy written long after the original is history of another group [AB2].
  const live = rows.filter((row) => row.event_at === null || Date.parse(row.event_at) - Date.parse(row.created_at) <= COPIED_MESSAGE_MS);
  const messages = await toMessages(
    reader,
    live.map(({ event_at: _eventAt, reply_to_author_id: _replyTo, ...row }) => row),
  );
  return {
    entries: messages.map((message, index) => ({ message, replyToAuthorId: live[index]?.reply_to_author_id ?? null })),
    next: last && rows.length === query.limit ? { since, afterId: last.id } : null,
  };
}

/**
 * The backlog of one conversation after `since` (and after `after`, the end of the previous page),
 * oldest first [AB4]: one range of the index on conversation, time and id (migration 013), read
 * in its order, so it stops after `limit` rows and never reads a long conversation's older history.
 */
export function backlogQuery(reader: Kysely<Database>, botId: string, conversationId: string, since: string, after: Position | undefined, limit: number) {
  return reader
    .selectFrom('messages')
    .leftJoin('messages as replied', 'replied.id', 'messages.reply_to_id')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .leftJoin('events', (join) =>
      join.onRef('events.conversation_id', '=', 'messages.conversation_id').onRef('events.seq', '=', 'messages.seq'),
    )
    .selectAll('messages')
    .select(['events.created_at as event_at', 'replied.author_id as reply_to_author_id'])
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.created_at', '>', since)
    .$if(after !== undefined, (rows) =>
      rows.where((eb) =>
        eb.or([
          eb('messages.created_at', '>', after?.created_at ?? ''),
          eb.and([eb('messages.created_at', '=', after?.created_at ?? ''), eb('messages.id', '>', after?.id ?? '')]),
        ]),
      ),
    )
    .where('users.kind', '=', 'human')
    .where('messages.deleted_at', 'is', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('assistant_decisions')
            .select('assistant_decisions.id')
            .whereRef('assistant_decisions.message_id', '=', 'messages.id')
            .where('assistant_decisions.bot_id', '=', botId),
        ),
      ),
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('assistant_turns')
            .select('assistant_turns.id')
            .whereRef('assistant_turns.trigger_message_id', '=', 'messages.id')
            .where('assistant_turns.bot_id', '=', botId),
        ),
      ),
    )
    .orderBy('messages.created_at')
    .orderBy('messages.id')
    .limit(limit);
}
