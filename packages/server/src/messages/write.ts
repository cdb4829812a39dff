import { type Attachment, type Message, mentionedUsernames } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { WriteContext } from '../events/event-log.js';
import { PreparedQuery } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';
import { type MessageRow, toMessage } from './views.js';

/**
 * A message to write. Its seq, its mentions (resolved among the conversation's members) and its
 * event come from `appendMessages`, the one place a message row is built [MW1].
 */
export interface NewMessage {
  id: string;
  authorId: string;
  text: string;
  replyToId: string | null;
  /** Shown in this order. */
  attachments: readonly Attachment[];
  /** The write's time unless given: a copy keeps the original's times. */
  createdAt?: string;
  editedAt?: string | null;
  /** An assistant's answer: its turn, how it ended, and the turn's error as stored (JSON text). */
  turn?: { id: string; status: NonNullable<MessageRow['turn_status']>; error: string | null };
}

/** A send's row, compiled once (see PreparedQuery); a batch (a copy) is built each time. */
const insertOne = new PreparedQuery((db, row: MessageRow) => db.insertInto('messages').values(row));

/** Usernames asked for at once: well under any database's limit of bound values. */
const MENTION_LOOKUP_CHUNK = 500;

/** Member ids by username, for the usernames given that belong to members of the conversation. */
async function membersNamed(db: Kysely<Database>, conversationId: string, usernames: readonly string[]): Promise<Map<string, string>> {
  const byName = new Map<string, string>();
  for (let start = 0; start < usernames.length; start += MENTION_LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom('members')
      .innerJoin('users', 'users.id', 'members.user_id')
      .select(['users.id', 'users.username'])
      .where('members.conversation_id', '=', conversationId)
      .where('users.username', 'in', usernames.slice(start, start + MENTION_LOOKUP_CHUNK))
      .execute();
    for (const row of rows) byName.set(row.username, row.id);
  }
  return byName;
}

/** Member ids for the `@usernames` in a text, in the order they are first named [MW2]. */
export async function resolveMentions(db: Kysely<Database>, conversationId: string, text: string): Promise<string[]> {
  const usernames = mentionedUsernames(text);
  if (usernames.length === 0) return [];
  const byName = await membersNamed(db, conversationId, usernames);
  return usernames.flatMap((name) => byName.get(name) ?? []);
}

/**
 * Appends messages to a conversation, in order, each as its row, its attachment links and its
 * `message-created` event, in the caller's write [MW1]. `conversation.lastSeq` is the
 * conversation's `last_seq` as read after `write.lock(conversation.id)`: the messages take the
 * numbers after it, and their events must get the same ones [MW3].
 */
export async function appendMessages(
  write: WriteContext,
  conversation: { id: string; lastSeq: number },
  actorId: string,
  messages: readonly NewMessage[],
): Promise<Message[]> {
  if (messages.length === 0) return [];
  const { db, now } = write;
  const mentioned = messages.map((message) => mentionedUsernames(message.text));
  const named = [...new Set(mentioned.flat())];
  const byName = named.length > 0 ? await membersNamed(db, conversation.id, named) : new Map<string, string>();
  const rows = messages.map((message, index): MessageRow => {
    const mentions = (mentioned[index] ?? []).flatMap((name) => byName.get(name) ?? []);
    return {
      id: message.id,
      conversation_id: conversation.id,
      seq: conversation.lastSeq + index + 1,
      author_id: message.authorId,
      text: message.text,
      mentions: JSON.stringify(mentions),
      reply_to_id: message.replyToId,
      created_at: message.createdAt ?? now,
      edited_at: message.editedAt ?? null,
      deleted_at: null,
      turn_id: message.turn?.id ?? null,
      turn_status: message.turn?.status ?? null,
      turn_error: message.turn?.error ?? null,
    };
  });
  const [one] = rows;
  // One message (a send, an answer) is inserted with its event, in the log's one-statement
  // append on PostgreSQL; a batch (a copy) with one insert, then one update and one insert.
  const single = rows.length === 1 && one ? insertOne.compiled(db, one) : undefined;
  if (!single) await db.insertInto('messages').values(rows).execute();
  const links = messages.flatMap((message) =>
    message.attachments.map((attachment, position) => ({ message_id: message.id, attachment_id: attachment.id, conversation_id: conversation.id, position })),
  );
  const created = rows.map((row, index) => toMessage(row, [...(messages[index]?.attachments ?? [])]));
  const events = created.map((message) => ({ type: 'message-created' as const, actorId, message }));
  const [event] = events;
  const appended = single && event ? [await write.append(conversation.id, event, single)] : await write.appendMany(conversation.id, events);
  // After the rows they point at.
  if (links.length > 0) await db.insertInto('message_attachments').values(links).execute();
  for (const [index, event] of appended.entries()) {
    const seq = created[index]?.seq;
    if (event.seq !== seq) throw new Error(`message seq ${seq} does not match its event ${event.seq}`);
  }
  return created;
}
