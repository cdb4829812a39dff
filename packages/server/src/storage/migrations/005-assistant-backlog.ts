import type { Kysely } from 'kysely';

// The assistant's backlog (assistant/backlog-routes.ts) reads messages by time, and whether a
// turn already answered each one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('messages_created').on('messages').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('assistant_turns_trigger').on('assistant_turns').column('trigger_message_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('assistant_turns_trigger').ifExists().execute();
  await db.schema.dropIndex('messages_created').ifExists().execute();
}
