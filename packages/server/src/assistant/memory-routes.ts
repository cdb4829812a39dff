import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import type { WriteContext } from '../events/event-log.js';
import { bindRoute } from '../http/bind.js';
import { newSortableId } from '../ids/ids.js';
import type { Database } from '../storage/schema.js';
import { requireBotMember } from './access.js';
import { instructionsOf, listMemoriesOf, type MemoryRow, toMemory } from './memories.js';

/** Memories one person may hold: bounds what a one-to-one chat's context carries. */
export const MAX_MEMORIES_PER_USER = 1000;

async function addMemory(write: WriteContext, userId: string, text: string, source: MemoryRow['source']): Promise<MemoryRow> {
  const count = await write.db
    .selectFrom('memories')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  if (Number(count.count) >= MAX_MEMORIES_PER_USER) {
    throw new ParleyError('CONFLICT', `at most ${MAX_MEMORIES_PER_USER} memories are kept; delete some first`);
  }
  const row: MemoryRow = { id: newSortableId(), user_id: userId, text, source, created_at: write.now, updated_at: write.now };
  await write.db.insertInto('memories').values(row).execute();
  return row;
}

/** A memory of the caller's own, or NOT_FOUND: another person's memory is not revealed to exist [AM1]. */
async function requireOwnMemory(db: Kysely<Database>, userId: string, memoryId: string): Promise<MemoryRow> {
  const row = await db.selectFrom('memories').selectAll().where('id', '=', memoryId).where('user_id', '=', userId).executeTakeFirst();
  if (!row) throw new ParleyError('NOT_FOUND', 'no such memory', { field: 'params.memoryId' });
  return row;
}

/**
 * Personal memory and custom instructions: each person's own, used only in their one-to-one
 * assistant chats [AM1]–[AM2]. The assistant saves a memory only from such a chat.
 */
export function registerMemoryRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'getInstructions', async ({ auth }) => ({ text: await instructionsOf(reader, auth.userId) }));

  bindRoute(app, context, 'updateInstructions', async ({ auth, body }) => {
    await context.log.write(async ({ db, now }) => {
      const existing = await db.selectFrom('user_instructions').select('user_id').where('user_id', '=', auth.userId).executeTakeFirst();
      if (existing) {
        await db.updateTable('user_instructions').set({ text: body.text, updated_at: now }).where('user_id', '=', auth.userId).execute();
      } else {
        await db.insertInto('user_instructions').values({ user_id: auth.userId, text: body.text, updated_at: now }).execute();
      }
    });
    return { text: body.text };
  });

  bindRoute(app, context, 'listMemories', async ({ auth }) => ({ memories: await listMemoriesOf(reader, auth.userId) }));

  bindRoute(app, context, 'createMemory', async ({ auth, body }) =>
    toMemory(await context.log.write((write) => addMemory(write, auth.userId, body.text, 'user'))),
  );

  bindRoute(app, context, 'updateMemory', async ({ auth, params, body }) =>
    toMemory(
      await context.log.write(async ({ db, now }) => {
        const row = await requireOwnMemory(db, auth.userId, params.memoryId);
        await db.updateTable('memories').set({ text: body.text, updated_at: now }).where('id', '=', row.id).execute();
        return { ...row, text: body.text, updated_at: now };
      }),
    ),
  );

  bindRoute(app, context, 'deleteMemory', async ({ auth, params }) => {
    await context.log.write(async ({ db }) => {
      const row = await requireOwnMemory(db, auth.userId, params.memoryId);
      await db.deleteFrom('memories').where('id', '=', row.id).execute();
    });
  });

  bindRoute(app, context, 'rememberForOwner', async ({ auth, params, body }) =>
    toMemory(
      await context.log.write(async (write) => {
        const { conversation } = await requireBotMember(write.db, params.conversationId, auth.userId);
        // Nothing said in a group or a direct conversation is saved to anyone's memory [AM2].
        if (conversation.kind !== 'assistant') {
          throw new ParleyError('FORBIDDEN', `memories are saved only from a one-to-one assistant chat, not a ${conversation.kind} conversation`, {
            field: 'params.conversationId',
          });
        }
        return addMemory(write, conversation.created_by, body.text, 'assistant');
      }),
    ),
  );
}
