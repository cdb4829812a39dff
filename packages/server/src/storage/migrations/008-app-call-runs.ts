import type { Kysely } from 'kysely';

// Who runs each tool call, for how long it may, and the progress it reported (apps/SPEC.md
// [AP12], [AP15]): a node starting again fails its own calls left running, and any node fails a
// call whose lease ran out. Calls from before have none, and are failed by any node's start.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('app_calls').addColumn('node_id', 'text').execute();
  await db.schema.alterTable('app_calls').addColumn('lease_until', 'text').execute();
  await db.schema.alterTable('app_calls').addColumn('progress', 'text').execute();
  await db.schema.createIndex('app_calls_status').on('app_calls').columns(['status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('app_calls_status').ifExists().execute();
  await db.schema.alterTable('app_calls').dropColumn('progress').execute();
  await db.schema.alterTable('app_calls').dropColumn('lease_until').execute();
  await db.schema.alterTable('app_calls').dropColumn('node_id').execute();
}
