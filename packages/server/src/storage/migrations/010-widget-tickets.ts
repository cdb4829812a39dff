import type { Kysely } from 'kysely';

// Tickets to widgets (apps/SPEC.md [AP20]): the widget origin serves a tool call's widget only to
// the address a member of the conversation was given, for the listing approved then. Stored, not
// signed, so any node of an installation serves a ticket another node gave.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('widget_tickets')
    .addColumn('token_hash', 'text', (column) => column.primaryKey())
    .addColumn('user_id', 'text', (column) => column.notNull())
    .addColumn('conversation_id', 'text', (column) => column.notNull())
    .addColumn('app_id', 'text', (column) => column.notNull())
    .addColumn('call_id', 'text', (column) => column.notNull())
    .addColumn('uri', 'text', (column) => column.notNull())
    .addColumn('listing_hash', 'text', (column) => column.notNull())
    .addColumn('host_origin', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('widget_tickets_expires').on('widget_tickets').columns(['expires_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('widget_tickets').ifExists().execute();
}
