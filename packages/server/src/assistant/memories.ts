import type { Memory } from '@parley/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { Database, MemoriesTable } from '../storage/schema.js';

export type MemoryRow = Selectable<MemoriesTable>;

export function toMemory(row: MemoryRow): Memory {
  return { id: row.id, text: row.text, source: row.source, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** A person's memories, oldest first. */
export async function listMemoriesOf(db: Kysely<Database>, userId: string): Promise<Memory[]> {
  const rows = await db.selectFrom('memories').selectAll().where('user_id', '=', userId).orderBy('id').execute();
  return rows.map(toMemory);
}

export async function instructionsOf(db: Kysely<Database>, userId: string): Promise<string> {
  const row = await db.selectFrom('user_instructions').select('text').where('user_id', '=', userId).executeTakeFirst();
  return row?.text ?? '';
}
