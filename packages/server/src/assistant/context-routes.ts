import { type AssistantContext, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { loadMembers, toConversation } from '../conversations/views.js';
import { bindRoute } from '../http/bind.js';
import { requireBotMember } from './access.js';
import { instructionsOf, listMemoriesOf } from './memories.js';

/** What the assistant may know of a conversation, and the summary it keeps of it [AC1]–[AC3]. */
export function registerContextRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'getAssistantContext', async ({ auth, params }) => {
    const { conversation } = await requireBotMember(reader, params.conversationId, auth.userId);
    const members = (await loadMembers(reader, [conversation.id])).get(conversation.id) ?? [];
    // One teen among the people makes the stricter policy apply to everyone [AC2].
    const teen = await reader
      .selectFrom('members')
      .innerJoin('users', 'users.id', 'members.user_id')
      .select('users.id')
      .where('members.conversation_id', '=', conversation.id)
      .where('users.kind', '=', 'human')
      .where('users.age_band', '=', 'teen')
      .executeTakeFirst();
    // Personal memory and instructions: only the owner's, only in their one-to-one chat [AC1].
    const ownerId = conversation.created_by;
    const personal: AssistantContext['personal'] =
      conversation.kind === 'assistant'
        ? { userId: ownerId, instructions: await instructionsOf(reader, ownerId), memories: await listMemoriesOf(reader, ownerId) }
        : null;
    const summary = await reader
      .selectFrom('conversation_summaries')
      .select(['text', 'upto_seq'])
      .where('conversation_id', '=', conversation.id)
      .executeTakeFirst();
    return {
      conversation: toConversation(conversation),
      members,
      contentPolicy: teen ? ('teen' as const) : ('standard' as const),
      personal,
      summary: summary ? { text: summary.text, uptoSeq: summary.upto_seq } : null,
    };
  });

  bindRoute(app, context, 'saveSummary', async ({ auth, params, body }) => {
    await context.log.write(async ({ db, now }) => {
      const { conversation } = await requireBotMember(db, params.conversationId, auth.userId);
      if (body.uptoSeq > conversation.last_seq) {
        throw new ParleyError('INVALID_INPUT', `body.uptoSeq: the conversation ends at ${conversation.last_seq}`, { field: 'body.uptoSeq' });
      }
      const existing = await db
        .selectFrom('conversation_summaries')
        .select('conversation_id')
        .where('conversation_id', '=', conversation.id)
        .executeTakeFirst();
      if (existing) {
        await db
          .updateTable('conversation_summaries')
          .set({ text: body.text, upto_seq: body.uptoSeq, updated_at: now })
          .where('conversation_id', '=', conversation.id)
          .execute();
      } else {
        await db
          .insertInto('conversation_summaries')
          .values({ conversation_id: conversation.id, text: body.text, upto_seq: body.uptoSeq, updated_at: now })
          .execute();
      }
    });
    return { text: body.text, uptoSeq: body.uptoSeq };
  });
}
