import { type AssistantDecision, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Selectable } from 'kysely';
import type { ServerContext } from '../context.js';
import { requireMembership } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import { newSortableId } from '../ids/ids.js';
import type { AssistantDecisionsTable } from '../storage/schema.js';
import { requireBotMember } from './access.js';

type DecisionRow = Selectable<AssistantDecisionsTable>;

function toDecision(row: DecisionRow): AssistantDecision {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    messageId: row.message_id,
    action: row.action,
    reason: row.reason,
    rule: row.rule,
    emoji: row.emoji,
    model: row.model,
    createdAt: row.created_at,
  };
}

/** Why the assistant answered, reacted or kept quiet: recorded by the bot, readable by every member [AD1]. */
export function registerDecisionRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'listDecisions', async ({ auth, params, query }) => {
    await requireMembership(reader, params.conversationId, auth.userId);
    let rows = reader.selectFrom('assistant_decisions').selectAll().where('conversation_id', '=', params.conversationId);
    if (query.messageId !== undefined) rows = rows.where('message_id', '=', query.messageId);
    const found = await rows.orderBy('id', 'desc').limit(query.limit).execute();
    return { decisions: found.map(toDecision) };
  });

  bindRoute(app, context, 'recordDecision', async ({ auth, params, body }) => {
    if (body.action === 'react' && body.emoji === undefined) {
      throw new ParleyError('INVALID_INPUT', 'body.emoji: a reaction names its emoji', { field: 'body.emoji' });
    }
    if (body.action !== 'react' && body.emoji !== undefined) {
      throw new ParleyError('INVALID_INPUT', 'body.emoji: only a reaction has an emoji', { field: 'body.emoji' });
    }
    const row = await context.log.write(async ({ db, now }) => {
      await requireBotMember(db, params.conversationId, auth.userId);
      const message = await db
        .selectFrom('messages')
        .select('id')
        .where('id', '=', body.messageId)
        .where('conversation_id', '=', params.conversationId)
        .executeTakeFirst();
      if (!message) throw new ParleyError('NOT_FOUND', 'no such message in this conversation', { field: 'body.messageId' });
      const decision: DecisionRow = {
        id: newSortableId(),
        conversation_id: params.conversationId,
        message_id: body.messageId,
        bot_id: auth.userId,
        action: body.action,
        reason: body.reason,
        rule: body.rule ?? null,
        emoji: body.emoji ?? null,
        model: body.model ?? null,
        created_at: now,
      };
      await db.insertInto('assistant_decisions').values(decision).execute();
      return decision;
    });
    return toDecision(row);
  });
}
