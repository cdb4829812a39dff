import type { Kysely } from 'kysely';

// The assistant's backlog (assistant/SPEC.md [AB4]) reads each of the bot's conversations from a
// moment on. By time alone (005's index) SQLite's planner preferred the conversation index and
// read a conversation's whole history to keep its last minutes: 0.5–0.9 s per call at 1,000,000
// messages, on the thread that serves every request. By conversation, then time, it reads only
// the window. The old index served nothing else.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('messages_conversation_created').on('messages').columns(['conversation_id', 'created_at', 'id']).execute();
  await db.schema.dropIndex('messages_created').ifExists().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('messages_created').on('messages').columns(['created_at', 'id']).execute();
  await db.schema.dropIndex('messages_conversation_created').ifExists().execute();
}
