import type { AssistantBacklog, AssistantBacklogQuerySchema } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { toMessages } from '../messages/views.js';
import type { Database } from '../storage/schema.js';

/** A message whose event was written this much later than the message is a copy (a fork), not news [AB2]. */
export const COPIED_MESSAGE_MS = 60_000;

/**
 * What people said in the bot's conversations that it has not decided on yet [AB2], one bounded
 * page [AB3]. Whether a message was addressed to it is the assistant's policy to say, not the server's.
 */
export async function listBacklog(
  reader: Kysely<Database>,
  botId: string,
  query: z.output<typeof AssistantBacklogQuerySchema>,
): Promise<AssistantBacklog> {
  const rows = await backlogQuery(reader, botId, query).execute();
  const last = rows.at(-1);
  // A copy written long after the original is history of another group [AB2].
  const live = rows.filter((row) => row.event_at === null || Date.parse(row.event_at) - Date.parse(row.created_at) <= COPIED_MESSAGE_MS);
  const messages = await toMessages(
    reader,
    live.map(({ event_at: _eventAt, reply_to_author_id: _replyTo, ...row }) => row),
  );
  return {
    entries: messages.map((message, index) => ({ message, replyToAuthorId: live[index]?.reply_to_author_id ?? null })),
    next: last && rows.length === query.limit ? { since: last.created_at, afterId: last.id } : null,
  };
}

/**
 * The backlog's one statement [AB4]: found by conversation, then time (the index of migration
 * 013), so its cost follows the window, never a conversation's whole history.
 */
export function backlogQuery(reader: Kysely<Database>, botId: string, query: z.output<typeof AssistantBacklogQuerySchema>) {
  const since = new Date(query.since).toISOString();
  return reader
    .selectFrom('messages')
    .innerJoin('members', (join) =>
      join.onRef('members.conversation_id', '=', 'messages.conversation_id').on('members.user_id', '=', botId),
    )
    .leftJoin('messages as replied', 'replied.id', 'messages.reply_to_id')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .leftJoin('events', (join) =>
      join.onRef('events.conversation_id', '=', 'messages.conversation_id').onRef('events.seq', '=', 'messages.seq'),
    )
    .selectAll('messages')
    .select(['events.created_at as event_at', 'replied.author_id as reply_to_author_id'])
    .where((eb) =>
      query.afterId === undefined
        ? eb('messages.created_at', '>', since)
        : eb.or([
            eb('messages.created_at', '>', since),
            eb.and([eb('messages.created_at', '=', since), eb('messages.id', '>', query.afterId)]),
          ]),
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
    .limit(query.limit);
}
