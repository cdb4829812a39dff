import path from 'node:path';
import type { Kysely } from 'kysely';
import { openStorage } from '../storage/database.js';
import type { ServerConfig } from '../config.js';
import type { Database } from '../storage/schema.js';

/**
 * Administrators [AP1]: an account marked so in the database (the first person to sign up on a
 * fresh install, or one made an administrator with `parley admin add USERNAME`), or one whose
 * username `PARLEY_ADMINS` names. A bot account is never one.
 */
export function isAdmin(config: Pick<ServerConfig, 'admins'>, user: { admin: number; username: string; kind: 'human' | 'bot' }): boolean {
  if (user.kind !== 'human') return false;
  return user.admin === 1 || config.admins.includes(user.username);
}

/** Marks (or unmarks) an account as an administrator; false when there is no such username. */
export async function setAdmin(db: Kysely<Database>, username: string, admin: boolean): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ admin: admin ? 1 : 0 })
    .where('username', '=', username.replace(/^@/, '').toLowerCase())
    .where('kind', '=', 'human')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * `parley admin add|remove USERNAME`: opens the installation's storage (migrating it), marks or
 * unmarks the account, and closes it. Safe beside a running node: the change is one UPDATE, and
 * sessions read the mark on every request.
 */
export async function setAdministrator(config: Pick<ServerConfig, 'databaseUrl' | 'dataDir' | 'durability'>, username: string, admin: boolean): Promise<boolean> {
  const storage = await openStorage(
    config.databaseUrl
      ? { kind: 'postgres', url: config.databaseUrl, poolSize: 1 }
      : { kind: 'sqlite', file: path.join(config.dataDir, 'parley.sqlite'), durability: config.durability },
  );
  try {
    return await setAdmin(storage.writer, username, admin);
  } finally {
    await storage.close();
  }
}
