import { type Attachment, type Message, mentionedUsernames } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import { getUser } from '../accounts/users.js';
import type { ServerContext } from '../context.js';
import type { WriteContext } from '../events/event-log.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import { type MessageRow, toAttachment, toMessage } from '../messages/views.js';
import { requireMember } from './access.js';
import { createConversationIn, resolveGroupPeople } from './routes.js';
import { loadView } from './views.js';

/**
 * Rows copied per round: bounded memory, and few enough bound values per statement for SQLite
 * (10 columns × 200 rows) and PostgreSQL.
 */
const COPY_CHUNK = 200;

/**
 * Copies the messages of `sourceId` up to `upTo` into `targetId`, oldest first, each as a new
 * message with its own `message-created` event. Deleted messages and reactions are not copied;
 * authors, texts, times and attachments are; mentions are resolved again among the new group's
 * members; a reply keeps its target only when that target was copied. The events' actor is the
 * person who started the group (they caused the copy), while each message keeps its author.
 */
async function copyMessages(
  write: WriteContext,
  options: { sourceId: string; targetId: string; upTo: number; actorId: string },
): Promise<number> {
  const { sourceId, targetId, upTo, actorId } = options;
  const { db } = write;
  const memberRows = await db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select(['users.id', 'users.username'])
    .where('members.conversation_id', '=', targetId)
    .execute();
  const memberByUsername = new Map(memberRows.map((row) => [row.username, row.id]));
  const newIds = new Map<string, string>();
  let after = 0;
  let copied = 0;
  for (;;) {
    const sources = await db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', sourceId)
      .where('seq', '>', after)
      .where('seq', '<=', upTo)
      .where('deleted_at', 'is', null)
      .orderBy('seq')
      .limit(COPY_CHUNK)
      .execute();
    const last = sources.at(-1);
    if (!last) break;
    after = last.seq;

    const sourceLinks = await db
      .selectFrom('message_attachments')
      .innerJoin('attachments', 'attachments.id', 'message_attachments.attachment_id')
      .selectAll('attachments')
      .select(['message_attachments.message_id', 'message_attachments.position'])
      .where(
        'message_attachments.message_id',
        'in',
        sources.map((row) => row.id),
      )
      .orderBy('message_attachments.position')
      .execute();
    const attachmentsOf = new Map<string, Attachment[]>();
    for (const link of sourceLinks) {
      const list = attachmentsOf.get(link.message_id) ?? [];
      list.push(toAttachment(link));
      attachmentsOf.set(link.message_id, list);
    }

    const { last_seq: lastSeq } = await db.selectFrom('conversations').select('last_seq').where('id', '=', targetId).executeTakeFirstOrThrow();
    const copies = sources.map((source, index) => {
      const id = newId();
      newIds.set(source.id, id);
      const attachments = attachmentsOf.get(source.id) ?? [];
      const mentions = mentionedUsernames(source.text).flatMap((name) => memberByUsername.get(name) ?? []);
      const row: MessageRow = {
        id,
        conversation_id: targetId,
        seq: lastSeq + index + 1,
        author_id: source.author_id,
        text: source.text,
        mentions: JSON.stringify(mentions),
        // Replies point back in time, so a copied target already has its new id here.
        reply_to_id: source.reply_to_id !== null ? (newIds.get(source.reply_to_id) ?? null) : null,
        created_at: source.created_at,
        edited_at: source.edited_at,
        deleted_at: null,
        // An assistant's answer keeps how it ended (a stopped or failed answer still shows so).
        turn_id: source.turn_id,
        turn_status: source.turn_status,
        turn_error: source.turn_error,
      };
      const message: Message = {
        id,
        conversationId: targetId,
        seq: row.seq,
        authorId: row.author_id,
        text: row.text,
        mentions,
        replyToId: row.reply_to_id,
        attachments,
        reactions: [],
        createdAt: row.created_at,
        editedAt: row.edited_at,
        deletedAt: null,
        turn: toMessage(row, []).turn,
      };
      return { row, message };
    });
    await db
      .insertInto('messages')
      .values(copies.map((copy) => copy.row))
      .execute();
    const links = copies.flatMap(({ message }) =>
      message.attachments.map((attachment, position) => ({
        message_id: message.id,
        attachment_id: attachment.id,
        conversation_id: targetId,
        position,
      })),
    );
    if (links.length > 0) await db.insertInto('message_attachments').values(links).execute();
    const messages = copies.map((copy) => copy.message);
    const events = await write.appendMany(
      targetId,
      messages.map((message) => ({ type: 'message-created' as const, actorId, message })),
    );
    for (const [index, event] of events.entries()) {
      if (event.seq !== messages[index]?.seq) throw new Error(`copied message seq ${messages[index]?.seq} does not match its event ${event.seq}`);
    }
    copied += copies.length;
    if (sources.length < COPY_CHUNK) break;
  }
  return copied;
}

export function registerForkRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'forkConversation', async ({ auth, params, body }) => {
    const id = await context.log.write(async (write) => {
      const { conversation: source } = await requireMember(write.db, params.conversationId, auth.userId);
      const me = await getUser(write.db, auth.userId);
      const people = await resolveGroupPeople(write, me, body.usernames, context.config.groupMemberLimit);
      const group = await createConversationIn(write, {
        kind: 'group',
        title: body.title ?? (source.kind === 'group' ? source.title : null),
        people,
        memberLimit: context.config.groupMemberLimit,
        forkedFrom: { conversationId: source.id, seq: source.last_seq },
        assistantId: context.assistant.userId,
      });
      // The source is only read: its log and messages stay exactly as they were.
      await copyMessages(write, { sourceId: source.id, targetId: group.id, upTo: source.last_seq, actorId: auth.userId });
      return group.id;
    });
    return loadView(context.storage.writer, auth.userId, id);
  });
}
