import type { Kysely } from 'kysely';

// Uploads by their uploader and age: the per-account limit on unsent uploads reads them at every
// upload, and the sweep of old unsent ones by age (attachments/unsent-uploads.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('attachments_uploader').on('attachments').columns(['uploader_id', 'created_at']).execute();
  await db.schema.createIndex('attachments_created').on('attachments').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('attachments_created').ifExists().execute();
  await db.schema.dropIndex('attachments_uploader').ifExists().execute();
}
