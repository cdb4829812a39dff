/**
 * A Parley database for the fan-out benchmarks, written straight into storage (signing 10,000
 * people up through the API would spend minutes hashing passwords): `groups` groups of `members`
 * people each, every person in one group, each with a bearer token. The server then starts on it
 * as people run it. A SQLite file in a data folder, or a PostgreSQL database.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { openStorage, type StorageOptions } from '@parley/server';

export interface SeededGroup {
  id: string;
  /** Bearer tokens of the members, in order; the first created the group. */
  tokens: string[];
}

/** The SQLite database of a data folder, as the server opens it there. */
export function sqliteIn(dataDir: string): StorageOptions {
  return { kind: 'sqlite', file: path.join(dataDir, 'parley.sqlite'), durability: 'process' };
}

export async function seedParley(where: StorageOptions, groups: number, members: number): Promise<SeededGroup[]> {
  const storage = await openStorage(where);
  const now = new Date().toISOString();
  const expires = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const seeded: SeededGroup[] = [];
  const users: object[] = [];
  const sessions: object[] = [];
  const conversations: object[] = [];
  const memberships: object[] = [];
  for (let group = 0; group < groups; group += 1) {
    const id = crypto.randomUUID();
    const tokens: string[] = [];
    for (let member = 0; member < members; member += 1) {
      const userId = crypto.randomUUID();
      const token = crypto.randomBytes(24).toString('base64url');
      tokens.push(token);
      users.push({
        id: userId,
        username: `g${group}_m${member}`,
        display_name: `Member ${member} of ${group}`,
        password_hash: 'not a hash: signs in by token only',
        age_band: 'adult',
        kind: 'human',
        avatar_id: null,
        profile_complete: 1,
        group_chats_allowed: 1,
        created_at: now,
      });
      sessions.push({ token_hash: crypto.createHash('sha256').update(token).digest('hex'), user_id: userId, kind: 'token', created_at: now, expires_at: expires });
      memberships.push({ conversation_id: id, user_id: userId, role: member === 0 ? 'creator' : 'member', joined_at: now, last_read_seq: 0, notifications: 'all' });
      if (member === 0) {
        conversations.push({
          id,
          kind: 'group',
          title: `Bench ${group}`,
          created_by: userId,
          created_at: now,
          updated_at: now,
          last_seq: 0,
          member_limit: members,
          assistant_name: null,
          assistant_personality: null,
          assistant_mode: null,
          assistant_talkativeness: null,
          forked_from_id: null,
          forked_from_seq: null,
          direct_key: null,
        });
      }
    }
    seeded.push({ id, tokens });
  }
  const insert = async (table: 'users' | 'sessions' | 'conversations' | 'members', rows: object[]) => {
    for (let start = 0; start < rows.length; start += 500) {
      await storage.writer.insertInto(table).values(rows.slice(start, start + 500) as never).execute();
    }
  };
  await insert('users', users);
  await insert('sessions', sessions);
  await insert('conversations', conversations);
  await insert('members', memberships);
  await storage.close();
  return seeded;
}
