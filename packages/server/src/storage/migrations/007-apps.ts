import type { Kysely } from 'kysely';

// Administrators and apps (MCP servers): the directory, which apps are on in each conversation,
// and every tool call with its confirmation. Portable types only, as in 001.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('admin', 'integer', (column) => column.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('apps')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('transport', 'text', (column) => column.notNull())
    .addColumn('url', 'text')
    .addColumn('command', 'text')
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('listing', 'text')
    .addColumn('listing_hash', 'text')
    .addColumn('approved_hash', 'text')
    .addColumn('error', 'text')
    .addColumn('added_by', 'text', (column) => column.notNull())
    .addColumn('reviewed_by', 'text')
    .addColumn('reviewed_at', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('conversation_apps')
    .addColumn('conversation_id', 'text', (column) => column.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (column) => column.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('enabled_by', 'text', (column) => column.notNull())
    .addColumn('enabled_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('conversation_apps_pk', ['conversation_id', 'app_id'])
    .execute();

  await db.schema
    .createTable('app_calls')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('client_id', 'text', (column) => column.notNull())
    .addColumn('conversation_id', 'text', (column) => column.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (column) => column.notNull())
    .addColumn('app_name', 'text', (column) => column.notNull())
    .addColumn('tool', 'text', (column) => column.notNull())
    .addColumn('arguments', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('asked_by', 'text', (column) => column.notNull())
    .addColumn('requested_by', 'text', (column) => column.notNull())
    .addColumn('turn_id', 'text')
    .addColumn('read_only', 'integer', (column) => column.notNull())
    .addColumn('approval', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'text')
    .addColumn('result', 'text')
    .addColumn('is_error', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('result_bytes', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('ended_at', 'text')
    // 1, 2, 3… within the conversation: lists its calls in order.
    .addColumn('ordinal', 'integer', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('app_calls_conversation').on('app_calls').columns(['conversation_id', 'ordinal']).unique().execute();
  // A retry of a call with the caller's own id finds the call it made.
  await db.schema.createIndex('app_calls_client_id').on('app_calls').columns(['conversation_id', 'requested_by', 'client_id']).unique().execute();

  // "Approve for this conversation": later calls of this tool asked by this member run without asking.
  await db.schema
    .createTable('app_call_grants')
    .addColumn('conversation_id', 'text', (column) => column.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (column) => column.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('tool', 'text', (column) => column.notNull())
    .addColumn('user_id', 'text', (column) => column.notNull())
    .addColumn('granted_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('app_call_grants_pk', ['conversation_id', 'app_id', 'tool', 'user_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_call_grants').ifExists().execute();
  await db.schema.dropTable('app_calls').ifExists().execute();
  await db.schema.dropTable('conversation_apps').ifExists().execute();
  await db.schema.dropTable('apps').ifExists().execute();
  await db.schema.alterTable('users').dropColumn('admin').execute();
}
