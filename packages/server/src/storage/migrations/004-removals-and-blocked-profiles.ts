import type { Kysely } from 'kysely';

// Removals: who was removed from which group, by whom and when. Deleting the member row alone
// forgot the removal, so any invite link let the person back in ([MB1] in
// ../../conversations/SPEC.md). A row lives until a member adds the person back by username.
//
// Blocked profiles: the blocked account's profile as the blocker last saw it, kept on the block,
// so a profile change after the block does not reach the blocker ([EL16] in ../../events/SPEC.md).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('removals')
    .addColumn('conversation_id', 'text', (column) => column.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('removed_by', 'text', (column) => column.notNull())
    .addColumn('removed_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('removals_pk', ['conversation_id', 'user_id'])
    .execute();
  // JSON text of a UserSummary; null for blocks made before this migration (shown live).
  await db.schema.alterTable('blocks').addColumn('profile_snapshot', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('blocks').dropColumn('profile_snapshot').execute();
  await db.schema.dropTable('removals').ifExists().execute();
}
