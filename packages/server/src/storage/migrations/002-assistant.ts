import { type Kysely, sql } from 'kysely';

// The assistant: streamed turns, turn-taking decisions, personal memory and instructions, summaries.
// Portable types only, as in 001: SQLite and PostgreSQL share it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('assistant_turns')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('conversation_id', 'text', (column) => column.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('trigger_message_id', 'text')
    .addColumn('charged_user_id', 'text')
    .addColumn('bot_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('model', 'text')
    .addColumn('text', 'text', (column) => column.notNull().defaultTo(''))
    .addColumn('started_at', 'text', (column) => column.notNull())
    .addColumn('ended_at', 'text')
    .addColumn('message_id', 'text')
    .addColumn('error', 'text')
    .addColumn('last_delta_at', 'text', (column) => column.notNull())
    .addColumn('ended_by', 'text')
    // 1, 2, 3… within the conversation: orders its turns even when two share a millisecond.
    .addColumn('ordinal', 'integer', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('assistant_turns_conversation')
    .on('assistant_turns')
    .columns(['conversation_id', 'ordinal'])
    .unique()
    .execute();
  // One answer in flight per conversation, whatever node takes the request. The condition is
  // written as SQL: DDL takes no bound parameters.
  await db.schema
    .createIndex('assistant_turns_one_streaming')
    .on('assistant_turns')
    .column('conversation_id')
    .unique()
    .where(sql<boolean>`status = 'streaming'`)
    .execute();

  await db.schema
    .createTable('assistant_decisions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('conversation_id', 'text', (column) => column.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('message_id', 'text', (column) => column.notNull())
    .addColumn('bot_id', 'text', (column) => column.notNull())
    .addColumn('action', 'text', (column) => column.notNull())
    .addColumn('reason', 'text', (column) => column.notNull())
    .addColumn('rule', 'text')
    .addColumn('emoji', 'text')
    .addColumn('model', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('assistant_decisions_conversation')
    .on('assistant_decisions')
    .columns(['conversation_id', 'id'])
    .execute();
  await db.schema.createIndex('assistant_decisions_message').on('assistant_decisions').column('message_id').execute();

  await db.schema
    .createTable('memories')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('user_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('text', 'text', (column) => column.notNull())
    .addColumn('source', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('memories_user').on('memories').columns(['user_id', 'id']).execute();

  await db.schema
    .createTable('user_instructions')
    .addColumn('user_id', 'text', (column) => column.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('text', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('conversation_summaries')
    .addColumn('conversation_id', 'text', (column) => column.primaryKey().references('conversations.id').onDelete('cascade'))
    .addColumn('text', 'text', (column) => column.notNull())
    .addColumn('upto_seq', 'integer', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();

  // SQLite adds one column per statement.
  await db.schema.alterTable('messages').addColumn('turn_id', 'text').execute();
  await db.schema.alterTable('messages').addColumn('turn_status', 'text').execute();
  await db.schema.alterTable('messages').addColumn('turn_error', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['turn_error', 'turn_status', 'turn_id']) {
    await db.schema.alterTable('messages').dropColumn(column).execute();
  }
  for (const table of ['conversation_summaries', 'user_instructions', 'memories', 'assistant_decisions', 'assistant_turns']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
