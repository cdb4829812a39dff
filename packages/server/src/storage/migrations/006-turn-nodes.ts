import type { Kysely } from 'kysely';

// The node that holds each streaming answer, so that a node starting again ends only its own
// (assistant/SPEC.md [AT8]). Turns from before have none, and are ended by any node's restart.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('assistant_turns').addColumn('node_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('assistant_turns').dropColumn('node_id').execute();
}
