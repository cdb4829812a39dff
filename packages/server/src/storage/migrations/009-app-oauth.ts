import type { Kysely } from 'kysely';

// OAuth for remote apps (apps/SPEC.md [AP16]-[AP18]): which apps need a member's authorisation,
// the client Parley registered with each authorisation server, each member's tokens (sealed with
// AES-256-GCM), and the authorisations under way (state, PKCE verifier, the session they belong to).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apps').addColumn('oauth', 'integer', (column) => column.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('app_oauth_clients')
    .addColumn('app_id', 'text', (column) => column.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('issuer', 'text', (column) => column.notNull())
    .addColumn('sealed', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('app_oauth_clients_pk', ['app_id', 'issuer'])
    .execute();

  await db.schema
    .createTable('app_oauth_tokens')
    .addColumn('app_id', 'text', (column) => column.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('issuer', 'text', (column) => column.notNull())
    .addColumn('resource', 'text', (column) => column.notNull())
    .addColumn('sealed', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('app_oauth_tokens_pk', ['app_id', 'user_id', 'issuer'])
    .execute();

  await db.schema
    .createTable('app_oauth_flows')
    .addColumn('state_hash', 'text', (column) => column.primaryKey())
    .addColumn('app_id', 'text', (column) => column.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('session_id', 'text', (column) => column.notNull())
    .addColumn('sealed', 'text', (column) => column.notNull())
    .addColumn('return_to', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('app_oauth_flows_user').on('app_oauth_flows').columns(['user_id', 'app_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_oauth_flows').ifExists().execute();
  await db.schema.dropTable('app_oauth_tokens').ifExists().execute();
  await db.schema.dropTable('app_oauth_clients').ifExists().execute();
  await db.schema.alterTable('apps').dropColumn('oauth').execute();
}
